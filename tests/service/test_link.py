"""The daemon's link to systemd, on a real engine driven by hand."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice
from neurorack.service.link import ServiceLink
from neurorack.service.notify import Notifier


@pytest.fixture
def receiver(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(2)
    yield sock
    sock.close()


def _play(engine: Engine, blocks: int, starve: bool = False) -> None:
    out = np.zeros((engine.block_size, 1), dtype=np.float32)
    for k in range(blocks):
        if not starve:
            engine.render_block()
        engine.pull(out, 1.0 + k * engine.block_size / engine.sample_rate, 0.0)


def test_status_lines_count_callbacks_and_dropouts(receiver):
    engine = Engine(TestVoice(48000))
    link = ServiceLink(Notifier(receiver.getsockname()), watchdog_s=None)
    link.ready(engine, "WAV file run.wav")
    assert receiver.recv(4096) == (b"READY=1\nSTATUS=playing test voice on WAV file run.wav; 0 dropouts "
                                   b"(0 underflows, 0 late renders) in 0 callbacks")
    _play(engine, 10)
    _play(engine, 3, starve=True)  # the FIFO runs dry: three late renders
    link.report(engine)
    assert receiver.recv(4096) == (b"STATUS=playing test voice on WAV file run.wav; 3 dropouts "
                                   b"(0 underflows, 3 late renders) in 13 callbacks")
    link.stopping()
    assert receiver.recv(4096) == b"STOPPING=1\nSTATUS=stopping: fading out"
    link.close()


def test_a_stalled_watchdog_keeps_its_status_line(receiver):
    engine = Engine(TestVoice(48000))
    link = ServiceLink(Notifier(receiver.getsockname()), watchdog_s=60.0)
    link.ready(engine, "dev")
    receiver.recv(4096)
    link.watchdog.check(engine.timeline.count)  # no callbacks since: stalled
    assert receiver.recv(4096) == b"STATUS=audio stalled after 0 callbacks"
    link.report(engine)
    receiver.settimeout(0.2)
    with pytest.raises(TimeoutError):
        receiver.recv(4096)
    link.close()
