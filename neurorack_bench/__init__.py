"""Benchmarks that print JSON: ``neurorack bench realtime`` and, later, controls, model, soak, faults."""
