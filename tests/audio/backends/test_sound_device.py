"""Device selection, and the daemon on a real JACK server through PortAudio."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from neurorack.audio.backends.sound_device import SWITCH_INTERVAL_S, NoAudioDevice, select_output_device
from neurorack.errors import NeurorackError
from tests.jack_fixtures import jack_server, run_neurorack  # noqa: F401  (fixture)


class PortAudioListing:
    """The three sounddevice query calls, answering with a fixed device list."""

    def __init__(self, devices, hostapis, default_output=-1):
        self._devices = devices
        self._hostapis = hostapis
        self.default = type("Default", (), {"device": (-1, default_output)})()

    def query_devices(self, index=None):
        return self._devices if index is None else self._devices[index]

    def query_hostapis(self, index=None):
        return self._hostapis if index is None else self._hostapis[index]


ALSA_AND_JACK = PortAudioListing(
    devices=[
        {"name": "USB Audio CODEC", "hostapi": 0, "max_output_channels": 2},
        {"name": "Mic only", "hostapi": 0, "max_output_channels": 0},
        {"name": "system", "hostapi": 1, "max_output_channels": 2},
    ],
    hostapis=[{"name": "ALSA", "default_output_device": 0}, {"name": "JACK Audio Connection Kit",
                                                              "default_output_device": 2}],
    default_output=0,
)


def test_jack_is_preferred_when_no_device_is_configured():
    assert select_output_device(ALSA_AND_JACK, None) == 2


def test_device_is_found_by_part_of_its_name_or_index():
    assert select_output_device(ALSA_AND_JACK, "usb") == 0
    assert select_output_device(ALSA_AND_JACK, 2) == 2


def test_unknown_device_lists_the_available_ones():
    with pytest.raises(NeurorackError) as error:
        select_output_device(ALSA_AND_JACK, "focusrite")
    message = str(error.value)
    assert "no output device matches 'focusrite'" in message
    assert "USB Audio CODEC" in message and "system" in message and "Mic only" not in message
    with pytest.raises(NeurorackError, match="no output device number 1"):
        select_output_device(ALSA_AND_JACK, 1)


def test_no_device_at_all_points_to_mock_and_demo():
    empty = PortAudioListing([], [{"name": "ALSA", "default_output_device": -1}])
    with pytest.raises(NoAudioDevice, match="--mock.*demo"):
        select_output_device(empty, None)


def test_run_mock_on_jack_stops_cleanly_on_sigterm(jack_server, tmp_path):  # noqa: F811
    process = subprocess.Popen([sys.executable, "-m", "neurorack", "run", "--mock", "--wav",
                                str(tmp_path / "unused.wav")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "audio: system, 48000 Hz" in stderr  # played on JACK, not into the WAV fallback
    assert "ms, audio callback: native" in stderr  # the start-up log says which audio callback plays
    assert "stopped cleanly" in stderr
    assert not (tmp_path / "unused.wav").exists()


def test_sample_rate_the_server_refuses_gives_a_clear_error(jack_server, tmp_path):  # noqa: F811
    config = tmp_path / "config.yaml"
    config.write_text("audio:\n  sample_rate: 44100\n")
    result = run_neurorack("--config", str(config), "run", "--mock", "--seconds", "1")
    assert result.returncode == 2
    assert "refuses 44100 Hz" in result.stderr
    assert "Traceback" not in result.stderr


CALLBACK_PRIORITY_PROBE = """
import os, sys, time
os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # not the test process's; threads inherit it
from neurorack.audio.backends.sound_device import SoundDeviceBackend
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice

def fifo_threads():
    threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    return {os.sched_getparam(tid).sched_priority: os.sched_getaffinity(tid) for tid in threads
            if os.sched_getscheduler(tid) == os.SCHED_FIFO}

cpu = int(sys.argv[2])
before = fifo_threads()
backend = SoundDeviceBackend(Engine(TestVoice(48000)), native_callback=sys.argv[1] == "native", cpu=cpu)
backend.start()
time.sleep(0.3)
during = fifo_threads()
backend.stop()
audio_threads_pinned = all(during[p] == {cpu} for p in (70, 80) if p in during)
print(backend.callback_description["runs"], backend.callback_realtime, max(before, default=0), max(during, default=0),
      backend.callback_pinned, audio_threads_pinned, sys.getswitchinterval())
"""


@pytest.mark.parametrize("kind", ["native", "python"])
def test_the_audio_callback_raises_itself_above_every_other_thread(jack_server, kind):  # noqa: F811
    """JACK gives its clients' threads a priority below its own (5 under jackd -R); the
    callback, in C or in Python, lifts its thread above the render thread and the ADC
    poller on its first call, and pins it, and the render thread, to audio.cpu."""
    from neurorack.realtime import CALLBACK_PRIORITY, RENDER_PRIORITY

    probe = "from neurorack.realtime import raise_quietly as r; print(r(1))"
    allowed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             check=True).stdout.strip() == "True"
    cpu = str(max(os.sched_getaffinity(0)))
    result = subprocess.run([sys.executable, "-c", CALLBACK_PRIORITY_PROBE, kind, cpu], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr
    played, reported, highest_before, highest_during, pinned, audio_threads_pinned, switch = result.stdout.split()
    assert played == kind
    assert float(switch) == pytest.approx(SWITCH_INTERVAL_S[kind])  # a callback in C: the render thread keeps the lock longer
    assert pinned == "True" and audio_threads_pinned == "True"
    assert int(highest_before) < CALLBACK_PRIORITY
    if allowed:
        assert reported == "True"
        assert int(highest_during) == CALLBACK_PRIORITY > RENDER_PRIORITY
    else:
        assert reported == "False"
        assert "the audio callback runs below priority" in result.stderr


def test_without_the_built_library_the_python_callback_plays_and_says_why(jack_server, tmp_path):  # noqa: F811
    process = subprocess.run([sys.executable, "-c", NOT_BUILT_PROBE, str(tmp_path)], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert process.returncode == 0, process.stderr
    kind, played, described = process.stdout.split(maxsplit=2)
    assert (kind, played) == ("python", "played")
    described = json.loads(described)
    assert described["runs"] == "python" and described["why"].startswith("the C callback was not built at install")
    assert "the audio callback runs in Python" in process.stderr
    assert "apt-get install gcc libc6-dev" in process.stderr
    assert "ms, audio callback: python (the C callback was not built at install" in process.stderr  # the start-up line


NOT_BUILT_PROBE = """
import json, sys, time
from pathlib import Path
import neurorack.audio.backends.native_callback as native_callback
from neurorack.audio.backends.sound_device import SoundDeviceBackend
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice
from neurorack.logging_setup import setup_logging

setup_logging("info")
native_callback.LIBRARY = Path(sys.argv[1]) / native_callback.LIBRARY.name  # as if pip had not built it
engine = Engine(TestVoice(48000))
backend = SoundDeviceBackend(engine)
backend.start()
time.sleep(0.3)
backend.stop()
print(backend.callback_description["runs"], "played" if engine.timeline.count > 50 else "silent", json.dumps(backend.callback_description))
"""
