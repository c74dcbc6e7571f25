"""sd_notify datagrams, received on a real AF_UNIX socket."""

from __future__ import annotations

import os
import socket

import pytest

from neurorack.service.notify import Notifier, watchdog_interval_s


@pytest.fixture
def receiver(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(2)
    yield sock
    sock.close()


def test_ready_sends_ready_and_status_in_one_datagram(receiver):
    with Notifier(receiver.getsockname()) as notifier:
        assert notifier.ready("playing test voice")
    assert receiver.recv(4096) == b"READY=1\nSTATUS=playing test voice"


def test_each_message_is_its_own_datagram(receiver):
    with Notifier(receiver.getsockname()) as notifier:
        notifier.watchdog()
        notifier.status("3 dropouts")
        notifier.stopping()
    assert [receiver.recv(4096) for _ in range(3)] == [b"WATCHDOG=1", b"STATUS=3 dropouts",
                                                       b"STOPPING=1\nSTATUS=stopping"]


def test_a_newline_in_a_value_cannot_inject_a_field(receiver):
    with Notifier(receiver.getsockname()) as notifier:
        notifier.status("voice\nREADY=1")
    assert receiver.recv(4096) == b"STATUS=voice READY=1"


def test_abstract_socket_address_with_at_sign():
    name = f"neurorack-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        with Notifier("@" + name) as notifier:
            notifier.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_without_notify_socket_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier.from_environment()
    assert not notifier.is_enabled
    assert notifier.ready("x") is False


def test_a_vanished_socket_is_reported_once_and_never_raises(tmp_path, caplog):
    with Notifier(str(tmp_path / "gone")) as notifier:
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
    assert len([r for r in caplog.records if "cannot notify systemd" in r.getMessage()]) == 1


@pytest.mark.parametrize("usec, pid, expected", [
    ("2000000", None, 2.0),
    ("500000", "self", 0.5),
    ("500000", "1", None),      # meant for another process
    ("0", None, None),
    (None, None, None),
    ("soon", None, None),
])
def test_watchdog_interval_from_environment(monkeypatch, usec, pid, expected):
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert watchdog_interval_s() == expected
