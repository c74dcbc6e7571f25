"""The audio callback in its own process, on a real JACK server: it plays the engine's FIFO from
shared memory, runs at the top real-time priority, and never outlives the daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from neurorack.audio.backends.audio_process import AudioProcessBackend
from neurorack.audio.engine import Engine, GateEdge
from neurorack.audio.voices import TestVoice
from neurorack.config.module import AudioSettings
from neurorack.errors import NeurorackError
from neurorack.realtime import CALLBACK_PRIORITY, RENDER_PRIORITY
from tests.jack_fixtures import jack_server  # noqa: F401  (fixture)


def rt_allowed() -> bool:
    result = subprocess.run([sys.executable, "-c", "from neurorack.realtime import raise_quietly as r; print(r(1))"],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip() == "True"


def test_the_audio_process_plays_the_engine_and_its_callback_outranks_every_thread(jack_server):  # noqa: F811
    engine = Engine(TestVoice(48000), AudioSettings(device=None))
    backend = AudioProcessBackend(engine)
    backend.start()
    try:
        assert backend.process.pid != os.getpid() and backend.device_name == "system"
        before = engine.timeline.count
        engine.post_gate(GateEdge(time.monotonic()))
        time.sleep(0.5)
        played = engine.timeline.count - before
        assert 0.8 * 0.5 * 48000 / 128 < played < 1.2 * 0.5 * 48000 / 128  # the child's callbacks, seen here
        assert engine.onsets and engine.fifo.read_index > engine.onsets[-1].sample  # the hit was played
        if rt_allowed():
            assert backend.callback_realtime is True and backend.callback_priority >= CALLBACK_PRIORITY > RENDER_PRIORITY
        else:
            assert backend.callback_realtime is False
        os.kill(backend.process.pid, signal.SIGINT)  # Ctrl-C reaches the whole group: the daemon decides when to stop
        time.sleep(0.3)
        assert backend.error is None and engine.timeline.count > before + played
    finally:
        backend.stop()
    assert backend.process is None and engine.is_faded_out


def test_an_unknown_device_is_named_by_the_audio_process(jack_server):  # noqa: F811
    backend = AudioProcessBackend(Engine(TestVoice(48000)), device="no-such-interface")
    with pytest.raises(NeurorackError, match="(?s)no output device matches 'no-such-interface'.*system"):
        backend.start()
    assert backend.process is None


ORPHAN = """
import os, sys
from neurorack.audio.backends.audio_process import AudioProcessBackend
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice
backend = AudioProcessBackend(Engine(TestVoice(48000)))
backend.start()
print(backend.process.pid, flush=True)
os.kill(os.getpid(), 9)
"""


def test_the_audio_process_ends_when_the_daemon_is_killed(jack_server):  # noqa: F811
    daemon = subprocess.run([sys.executable, "-c", ORPHAN], capture_output=True, text=True, timeout=60, check=False)
    assert daemon.returncode == -signal.SIGKILL, daemon.stderr
    child = int(daemon.stdout.split()[0])
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and os.path.exists(f"/proc/{child}") and not _zombie(child):
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{child}") or _zombie(child)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
