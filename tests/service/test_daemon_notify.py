"""The daemon under a simulated systemd: a datagram socket as ``$NOTIFY_SOCKET``.

The daemon runs in its own process (``neurorack run --mock``, audio paced in real time into
a WAV file) through tests/service/stalling_daemon.py, which adds markers and a way to stall
the audio callback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

WATCHDOG_USEC = 400_000  # 0.4 s: the daemon checks the callback counter every 0.1 s
REPO = Path(__file__).resolve().parents[2]


class NotifyListener:
    """Collects the datagrams sent to a bound AF_UNIX socket, as (arrival time, fields)."""

    def __init__(self, path: Path):
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))
        self.messages: list[tuple[float, dict[str, str]]] = []

    def collect(self, seconds: float, until: str | None = None) -> list[dict[str, str]]:
        """Receive for ``seconds`` (or until a message holds the key ``until``); returns them."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.socket.settimeout(left)
            try:
                data = self.socket.recv(4096)
            except TimeoutError:
                break
            fields = dict(line.split("=", 1) for line in data.decode().split("\n"))
            self.messages.append((time.monotonic(), fields))
            got.append(fields)
            if until is not None and until in fields:
                break
        return got


@pytest.fixture
def daemon(tmp_path):
    listener = NotifyListener(tmp_path / "notify")
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": str(WATCHDOG_USEC),
           # never join a JACK server that another test may run: the audio goes to the paced WAV file
           "JACK_DEFAULT_SERVER": f"neurorack-notify-test-{os.getpid()}", "JACK_NO_START_SERVER": "1"}
    env.pop("WATCHDOG_PID", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.service.stalling_daemon", "run", "--mock", "--seconds", "60",
         "--wav", str(tmp_path / "run.wav")],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield process, listener
    if process.poll() is None:
        process.kill()
    process.communicate()


def _keys(messages):
    return [key for fields in messages for key in fields]


def test_ready_after_voice_and_stream_watchdog_follows_audio_and_sigterm_stops(daemon):
    process, listener = daemon
    before_ready = listener.collect(30, until="READY")
    keys = _keys(before_ready)
    assert "READY" in keys, (keys, process.poll())
    ready = before_ready[-1]
    assert keys.index("TEST_VOICE_LOADED") < keys.index("TEST_STREAM_STARTED") < keys.index("READY")
    assert "WATCHDOG" not in keys
    assert ready["READY"] == "1" and ready["STATUS"].startswith("playing ") and "on WAV file" in ready["STATUS"]

    flowing = listener.collect(1.2)
    assert sum("WATCHDOG" in m for m in flowing) >= 6, flowing  # one per 0.1 s check

    process.send_signal(signal.SIGUSR1)
    stalling = listener.collect(2.0, until="TEST_STALLED") + listener.collect(1.0, until="STATUS")
    assert stalling[-1].get("STATUS", "").startswith("audio stalled after"), stalling
    stalled = listener.collect(1.2)
    assert sum("WATCHDOG" in m for m in stalled) == 0, stalled

    process.send_signal(signal.SIGUSR2)
    resumed = listener.collect(1.2)
    assert sum("WATCHDOG" in m for m in resumed) >= 6, resumed

    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    stopping = listener.collect(10, until="STOPPING")
    assert "STOPPING" in _keys(stopping)
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - sent < 10  # the unit's TimeoutStopSec
    stderr = process.stderr.read()
    assert "audio callbacks stopped" in stderr and "audio callbacks resumed" in stderr
    assert "Traceback" not in stderr
