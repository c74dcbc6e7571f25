"""The watchdog pings only while the callback counter advances."""

from __future__ import annotations

import socket
import time

import pytest

from neurorack.service.notify import Notifier
from neurorack.service.watchdog import AudioWatchdog


@pytest.fixture
def receiver(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    yield sock
    sock.close()


def _drain(sock) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(4096))
        except BlockingIOError:
            return got


def test_check_pings_when_the_counter_moved_and_withholds_when_it_did_not(receiver):
    count = [0]
    with Notifier(receiver.getsockname()) as notifier:
        watchdog = AudioWatchdog(notifier, lambda: count[0], timeout_s=1.0)
        count[0] = 5
        assert watchdog.check(0) == 5
        assert _drain(receiver) == [b"WATCHDOG=1"]
        assert watchdog.check(5) == 5
        assert watchdog.is_stalled
        assert _drain(receiver) == [b"STATUS=audio stalled after 5 callbacks"]
        watchdog.check(5)  # still stalled: no repeated status, no ping
        assert _drain(receiver) == []
        count[0] = 6
        watchdog.check(5)
        assert not watchdog.is_stalled
        assert _drain(receiver) == [b"WATCHDOG=1"]
        assert watchdog.pings == 2


def test_thread_pings_at_a_quarter_of_the_timeout_while_audio_flows(receiver):
    started = time.monotonic()
    with Notifier(receiver.getsockname()) as notifier, \
            AudioWatchdog(notifier, lambda: int((time.monotonic() - started) * 1000), timeout_s=0.2) as watchdog:
        time.sleep(0.55)
    pings = [m for m in _drain(receiver) if m == b"WATCHDOG=1"]
    assert 5 <= len(pings) <= 12  # every 0.05 s for 0.55 s, with room for a slow machine
    assert watchdog.pings == len(pings)


def test_close_stops_the_pings(receiver):
    count = iter(range(10**9))
    with Notifier(receiver.getsockname()) as notifier:
        watchdog = AudioWatchdog(notifier, lambda: next(count), timeout_s=0.1).start()
        time.sleep(0.1)
        watchdog.close()
        _drain(receiver)
        time.sleep(0.1)
        assert _drain(receiver) == []


def test_timeout_must_be_positive():
    with pytest.raises(ValueError):
        AudioWatchdog(Notifier(None), lambda: 0, timeout_s=0)
