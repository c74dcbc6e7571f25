"""The ``neurorack`` command with test hooks, for the sd_notify harness.

Hooks (test code only; the package has none):

* it sends ``TEST_VOICE_LOADED=1`` and ``TEST_STREAM_STARTED=1`` to ``$NOTIFY_SOCKET`` right
  after the voice is built and the audio stream has started, so the harness can check that
  ``READY=1`` comes after both;
* SIGUSR1 makes the audio callback block (a stalled driver: the callback counter stops), and
  sends ``TEST_STALLED=1`` once it blocks; SIGUSR2 lets it go on.

Usage: python -m tests.service.stalling_daemon <neurorack arguments>
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

from neurorack.app import assemble, daemon
from neurorack.audio.engine import Engine
from neurorack.cli import main

_flowing = threading.Event()
_flowing.set()
_marker = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)


def _mark(text: str) -> None:
    _marker.sendto(text.encode(), os.environ["NOTIFY_SOCKET"])


def _marked_open_instrument(original):
    def open_instrument(*args, **kwargs):
        loaded = original(*args, **kwargs)  # the model (or the test voice) is built
        _mark("TEST_VOICE_LOADED=1")
        return loaded
    return open_instrument


def _marked_start(original):
    def start(self):
        original(self)
        _mark("TEST_STREAM_STARTED=1")
    return start


_pull = Engine.pull


def _stallable_pull(self, out, now, stream_time):
    if not _flowing.is_set():
        _mark("TEST_STALLED=1")
        _flowing.wait()
    _pull(self, out, now, stream_time)


if __name__ == "__main__":
    assemble.open_instrument = _marked_open_instrument(assemble.open_instrument)
    daemon.PacedWavBackend.start = _marked_start(daemon.PacedWavBackend.start)
    daemon.SoundDeviceBackend.start = _marked_start(daemon.SoundDeviceBackend.start)
    Engine.pull = _stallable_pull
    signal.signal(signal.SIGUSR1, lambda *_: _flowing.clear())
    signal.signal(signal.SIGUSR2, lambda *_: _flowing.set())
    sys.exit(main(sys.argv[1:]))
