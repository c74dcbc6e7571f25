"""The real-time audio engine: FIFO, output stage, voices, clock, engine and backends.

Real-time rules (DESIGN.md): the audio callback only copies from the FIFO; the render
thread runs ahead by a bounded lookahead; every gate onset lands at
``edge_time + gate_latency``.
"""
