"""The module put together: one assembly of engine, controls, instrument and UI, and what runs
it (the daemon, the offline demo, the terminal keys of the mock)."""
