"""A benchmark that started JACK's dummy server stops it when it is killed: SIGTERM unwinds
it cleanly, and even SIGKILL takes the server down with it (no jackd left with parent 1).

These tests use server names of their own (``JACK_DEFAULT_SERVER``), so they never touch a
JACK server that someone else started. The names are fixed, not per run: JACK frees a dead
server's registry slot only when a server of the same name starts again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurorack_bench.jack_server import REGISTRY, JackDummyServer, jack_is_running

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
    environment = dict(os.environ, JACK_DEFAULT_SERVER=f"neurorack-test-killed-{sig.name}")
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


def test_a_registry_full_of_dead_servers_is_cleared():
    """Eight servers killed outright fill JACK's eight registry slots ("Too many servers
    already active"); the bench's next start clears the dead slots and runs. The slots are
    cleared in place, so this process, which has the registry mapped, finds servers after."""
    jack_is_running()  # this process maps the registry now, as a test runner with JACK fixtures does
    for slot in range(8):  # until every slot holds a dead server
        name = f"neurorack-test-dead-{slot}"
        server = subprocess.Popen([shutil.which("jackd"), "-r", "-d", "dummy", "-r", "48000", "-p", "128"],
                                  env=dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_AUDIO_RESERVATION="1"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not (REGISTRY.exists() and f":{name}:".encode() in REGISTRY.read_bytes()):
            if server.poll() is not None:
                break  # refused: the registry is full
            assert time.monotonic() < deadline, f"{name} neither registered nor gave up"
            time.sleep(0.05)
        server.kill()
        server.wait()
    environment = dict(os.environ, JACK_DEFAULT_SERVER="neurorack-test-after-dead")
    bench = subprocess.run([sys.executable, "-m", "neurorack", "bench", "realtime", "--seconds", "1",
                            "--no-baseline", "--json"], cwd=ROOT, env=environment, capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert bench.returncode == 0, bench.stderr
    assert "slots of JACK's server registry" in bench.stderr
    with JackDummyServer() as server:
        assert server.started_here and jack_is_running()


SLOW_CLIENT = """
import time
import sounddevice as sd
jack = [api for api in sd.query_hostapis() if "JACK" in api["name"]]
def callback(outdata, frames, time_info, status):
    outdata.fill(0)
    time.sleep(0.01)  # four cycles' time in every cycle
with sd.OutputStream(device=jack[0]["default_output_device"], samplerate=48000, blocksize=128, channels=1,
                     callback=callback):
    time.sleep(0.5)
"""


def test_the_server_log_tells_its_own_late_cycles_from_a_late_client(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "neurorack-test-xruns")
    with JackDummyServer(48000, 128) as server:
        assert server.started_here
        time.sleep(0.2)
        stalled = time.monotonic()
        os.kill(server.process.pid, signal.SIGSTOP)  # the host holds the server up for 50 ms
        time.sleep(0.05)
        os.kill(server.process.pid, signal.SIGCONT)
        time.sleep(0.3)
        resumed = time.monotonic()
        stall = server.xruns(since=stalled)
        assert stall.server_late >= 1
        assert server.xruns(until=stalled).server_late + stall.server_late == server.xruns().server_late

        subprocess.run([sys.executable, "-c", SLOW_CLIENT], check=True, timeout=60, stdin=subprocess.DEVNULL,
                       capture_output=True)
        time.sleep(0.2)
        assert server.xruns(since=resumed).client_late >= 1
    assert server.xruns() is None  # stopped: its log went with it


def test_a_server_started_elsewhere_has_no_xrun_log_for_us(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "neurorack-test-xruns")
    with JackDummyServer(48000, 128) as ours, JackDummyServer(48000, 128) as theirs:
        assert ours.started_here and not theirs.started_here
        assert ours.xruns() is not None and theirs.xruns() is None


def test_a_server_given_a_core_runs_every_thread_on_it(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "neurorack-test-xruns")
    ours = os.sched_getaffinity(0)
    core = max(ours)
    with JackDummyServer(48000, 128, cpu=core) as server:
        assert server.started_here
        threads = list(Path(f"/proc/{server.process.pid}/task").iterdir())
        assert len(threads) > 1  # the driver's timer thread among them
        assert {frozenset(os.sched_getaffinity(int(thread.name))) for thread in threads} == {frozenset({core})}
    assert os.sched_getaffinity(0) == ours  # only the server's child process was pinned
