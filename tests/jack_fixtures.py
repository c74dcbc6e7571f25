"""A JACK dummy-driver server shared by the real-time tests (started once per module)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from neurorack_bench.jack_server import JackDummyServer


@pytest.fixture(scope="module")
def jack_server():
    """A real real-time server: ``jackd -d dummy -r 48000 -p 128``."""
    with JackDummyServer(48000, 128) as server:
        yield server


def run_neurorack(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter, so PortAudio initialises while JACK is up."""
    return subprocess.run([sys.executable, "-m", "neurorack", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def run_json(*args: str, timeout: float = 120, env: dict | None = None) -> dict:
    result = run_neurorack(*args, timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
