"""A benchmark that started JACK's dummy server stops it when it is killed: SIGTERM unwinds
it cleanly, and even SIGKILL takes the server down with it (no jackd left with parent 1).

Each run uses a server name of its own (``JACK_DEFAULT_SERVER``), so it never touches a
JACK server that someone else started."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("jackd") is None, reason="jackd is not installed")

ROOT = Path(__file__).resolve().parents[2]


def children_named(parent: int, name: str) -> list[int]:
    """Pids of ``parent``'s children whose command is ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command = stat[stat.index("(") + 1:stat.rindex(")")]
        parent_pid = int(stat[stat.rindex(")") + 2:].split()[1])
        if parent_pid == parent and command == name:
            found.append(int(entry.name))
    return found


def is_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.parametrize("sig, exit_code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGKILL, -9)])
def test_a_killed_bench_leaves_no_jack_server_running(sig, exit_code):
    environment = dict(os.environ, JACK_DEFAULT_SERVER=f"neurorack-test-{os.getpid()}-{sig}")
    bench = subprocess.Popen([sys.executable, "-m", "neurorack", "bench", "realtime", "--seconds", "60",
                              "--no-baseline", "--json"], cwd=ROOT, env=environment,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        servers: list[int] = []
        while not servers and time.monotonic() < deadline and bench.poll() is None:
            servers = children_named(bench.pid, "jackd")
            time.sleep(0.05)
        assert servers, f"the bench started no jackd: {bench.stderr.read().decode() if bench.poll() else ''}"
        time.sleep(1.0)  # the server is up and the engine runs on it
        bench.send_signal(sig)
        _, stderr = bench.communicate(timeout=30)
        assert bench.returncode == exit_code, stderr.decode()
        if sig == signal.SIGTERM:
            assert b"Traceback" not in stderr
        deadline = time.monotonic() + 10
        while is_alive(servers[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not is_alive(servers[0]), "the bench's jackd survived it"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
