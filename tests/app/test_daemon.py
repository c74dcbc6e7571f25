"""The daemon notices when its audio stops (a dead clock thread, a hung device) and exits
with a clear error instead of claiming a clean stop; out-of-memory start-up failures are one
clear line."""

from __future__ import annotations

import errno
import threading
import time
from dataclasses import replace

import pytest

from neurorack import cli
from neurorack.app.daemon import AUDIO_STALL_S, AudioStopped, audio_stall, run_daemon
from neurorack.audio.backends.sound_device import NoAudioDevice
from neurorack.config.module import ModuleConfig


class Backend:
    error = None


class NoDevice:
    """A sound device backend that finds no device, so the daemon falls back to its WAV clock."""

    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        raise NoAudioDevice("no output device (test)")

    def stop(self):
        pass


def test_audio_stall_needs_the_counter_to_stand_still_long_enough():
    backend = Backend()
    reason, seen = audio_stall(10, (5, 0.0), 1.0, backend)
    assert reason is None and seen == (10, 1.0)
    reason, seen = audio_stall(10, seen, 1.0 + AUDIO_STALL_S - 0.1, backend)
    assert reason is None and seen == (10, 1.0)
    reason, _ = audio_stall(10, seen, 1.0 + AUDIO_STALL_S, backend)
    assert "no audio callback for 3.0 s" in reason
    backend.error = "out of memory"
    reason, _ = audio_stall(11, (10, 0.0), 0.1, backend)
    assert reason == "the audio backend stopped: out of memory"


def test_a_dead_wav_clock_thread_stops_the_daemon_with_an_error(tmp_path, monkeypatch, caplog):
    """The paced WAV clock thread runs out of memory converting samples: the daemon says so
    and does not exit 0."""
    from neurorack.app import daemon
    from neurorack.audio.backends import paced_wav

    def out_of_memory(samples):
        raise MemoryError

    monkeypatch.setattr(daemon, "SoundDeviceBackend", NoDevice)
    monkeypatch.setattr(paced_wav, "to_pcm16", out_of_memory)
    config = replace(ModuleConfig(), models_dir=str(tmp_path / "no-models"), state_dir=str(tmp_path / "state"))
    started = time.monotonic()
    with pytest.raises(AudioStopped, match="the audio backend stopped: out of memory"):
        run_daemon(config, mock=True, wav_path=tmp_path / "out.wav", seconds=20.0)
    assert time.monotonic() - started < 10.0  # noticed within a check, not at the end of the run
    assert "stopped cleanly" not in caplog.text
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("failure", [
    RuntimeError("can't start new thread"),
    MemoryError(),
    OSError(errno.ENOMEM, "Cannot allocate memory"),
])
def test_out_of_memory_at_start_up_is_one_clear_line(monkeypatch, capsys, failure):
    def dispatch(args):
        try:
            raise failure
        except Exception as exc:
            raise ImportError("cannot import name 'Image' from 'PIL'") from exc

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    assert cli.main(["run", "--mock"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurorack: error: out of memory") and err.count("\n") == 1


def test_a_dead_render_thread_is_one_line_and_stops_the_daemon(tmp_path, monkeypatch, caplog):
    """The render thread dies of an exception CPython raises when it cannot allocate: no
    traceback, and the daemon ends with an error."""
    from neurorack.app import daemon
    from neurorack.audio import render_thread

    def broken(self):
        time.sleep(0.2)
        raise SystemError("error return without exception set")

    monkeypatch.setattr(daemon, "SoundDeviceBackend", NoDevice)
    monkeypatch.setattr(render_thread.RenderThread, "run", broken)
    config = replace(ModuleConfig(), models_dir=str(tmp_path / "no-models"), state_dir=str(tmp_path / "state"))
    with pytest.raises(AudioStopped, match="neurorack-render died: out of memory"):
        run_daemon(config, mock=True, wav_path=tmp_path / "out.wav", seconds=20.0)
    died = [r for r in caplog.records if r.getMessage().startswith("thread ")]
    assert len(died) == 1 and died[0].exc_info is None
    assert not isinstance(threading.excepthook, daemon.ThreadDeaths)  # the hook is put back


def test_a_thread_death_with_no_memory_left_to_log_it_is_still_one_line(monkeypatch, capfd):
    """Logging the death itself runs out of memory: a line made in advance goes to stderr, and
    no traceback of the hook comes out."""
    from neurorack.app import daemon

    def no_memory(*args, **kwargs):
        raise MemoryError

    deaths = daemon.ThreadDeaths()
    monkeypatch.setattr(daemon.log, "error", no_memory)
    thread = threading.Thread(name="neurorack-render")
    deaths(threading.ExceptHookArgs((MemoryError, MemoryError(), None, thread)))
    err = capfd.readouterr().err
    assert err == "neurorack: thread neurorack-render died: out of memory\n"
    assert deaths.audio == ["neurorack-render died: out of memory"]


def test_a_start_up_failure_after_the_audio_started_stops_the_audio_threads(tmp_path, monkeypatch):
    """Nothing keeps playing into interpreter shutdown (where NumPy in a daemon thread crashes)."""
    from neurorack.app import assemble, daemon

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(daemon, "SoundDeviceBackend", NoDevice)
    monkeypatch.setattr(assemble, "start_module_ui", no_memory)
    config = replace(ModuleConfig(), models_dir=str(tmp_path / "no-models"), state_dir=str(tmp_path / "state"))
    with pytest.raises(MemoryError):
        run_daemon(config, mock=True, wav_path=tmp_path / "out.wav", seconds=5.0)
    audio = [t.name for t in threading.enumerate() if t.name in daemon.AUDIO_THREADS]
    assert audio == []


def test_too_little_address_space_to_start_the_audio_is_one_clear_error(tmp_path, monkeypatch):
    """Checked before the audio threads start, where OpenBLAS would end the process instead."""
    from neurorack import memory_limits
    from neurorack.app import daemon

    monkeypatch.setattr(daemon, "SoundDeviceBackend", NoDevice)
    monkeypatch.setattr(memory_limits, "address_space_left", lambda: 50 << 20)
    config = replace(ModuleConfig(), models_dir=str(tmp_path / "no-models"), state_dir=str(tmp_path / "state"))
    with pytest.raises(memory_limits.OutOfAddressSpace, match="leaves 50 MiB and starting the audio needs"):
        run_daemon(config, mock=True, wav_path=tmp_path / "out.wav", seconds=5.0)
    assert [t.name for t in threading.enumerate() if t.name in daemon.AUDIO_THREADS] == []
