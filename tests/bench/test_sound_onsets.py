"""Gate-to-sound latency: each gate's sound found in the engine's output. Proven offline, on the
offline backend's virtual clock, with voices whose sound starts a known number of samples
after their gate (no JACK server needed)."""

from __future__ import annotations

import numpy as np
import pytest

from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.audio.output_recorder import OutputRecorder
from neurorack.audio.voices import TestVoice
from neurorack.config.module import AudioSettings, ModuleConfig
from neurorack.core.events import GateEdge
from neurorack_bench.realtime import GateTimes, make_voice, with_block_size
from neurorack_bench.sound_onsets import onset_in

RATE = 48000


class Delayed:
    """``voice`` with a pre-onset silence: each hit starts ``delay`` samples after its trigger."""

    def __init__(self, voice, delay: int):
        self.voice = voice
        self.delay = delay
        self.name = f"{voice.name}, {delay} samples late"
        self._countdown = -1  # samples until the pending hit (-1: none)
        self._velocity = 1.0

    def trigger(self, velocity: float = 1.0) -> None:
        self._countdown, self._velocity = self.delay, velocity

    def render(self, out: np.ndarray) -> None:
        if 0 <= self._countdown < len(out):
            self.voice.render(out[:self._countdown])
            self.voice.trigger(self._velocity)
            self.voice.render(out[self._countdown:])
            self._countdown = -1
            return
        self.voice.render(out)
        if self._countdown >= 0:
            self._countdown -= len(out)

    def reset(self) -> None:
        self.voice.reset()
        self._countdown = -1


class Drone:
    """A tone that never stops and ignores its gates."""

    name = "drone"

    def __init__(self):
        self._phase = 0

    def trigger(self, velocity: float = 1.0) -> None:
        pass

    def render(self, out: np.ndarray) -> None:
        out[:] = 0.3 * np.sin(2 * np.pi * 110 / RATE * (self._phase + np.arange(len(out))))
        self._phase += len(out)

    def reset(self) -> None:
        pass


def _gate_times(voice, block_size: int, period_s: float, gates: int = 6) -> tuple[GateTimes, Engine]:
    """Play ``gates`` gates ``period_s`` apart through the engine offline; measure them as the benches do."""
    engine = Engine(voice, AudioSettings(block_size=block_size))
    engine.recorder = OutputRecorder()
    edges = [GateEdge(0.3 + period_s * index + 0.00123 * index) for index in range(gates)]  # anywhere in a block
    render_offline(engine, edges[-1].time_s + 0.2, edges)
    times = GateTimes()
    times.add(list(engine.onsets), engine)
    return times, engine


@pytest.mark.parametrize("block_size", [64, 128])
@pytest.mark.parametrize("delay", [0, 37, 1000])
def test_a_sound_that_starts_a_known_delay_after_its_gate_is_found_within_two_samples(block_size, delay):
    times, engine = _gate_times(Delayed(TestVoice(RATE), delay), block_size, period_s=1.0)
    assert times.missed == 0 and len(times.sound) == len(times.gate) == 6
    # the engine places each onset at the configured latency; its sound starts `delay` samples later
    assert np.allclose(times.gate, engine.gate_latency_s * 1000, atol=0.5 * 1000 / RATE)
    assert np.allclose(np.subtract(times.sound, times.gate), delay * 1000 / RATE, atol=2 * 1000 / RATE)


@pytest.mark.parametrize("block_size", [64, 128])
def test_the_default_models_kick_over_its_own_tail_moves_by_exactly_the_delay_added(block_size):
    # As `bench realtime --voice model` plays it: the shipped drums-v2, its bank's first sound,
    # a gate every 250 ms, so each hit starts over the last one's tail.
    config = with_block_size(ModuleConfig(), block_size)
    measured = []
    for delay in (0, 600):
        voice, instrument, _ = make_voice("model", config)
        assert instrument.model_name == "drums-v2" and instrument.current_sound == "Kick"
        times, _ = _gate_times(Delayed(voice, delay), block_size, period_s=0.25, gates=8)
        assert times.missed == 0 and len(times.sound) == 8
        late_ms = np.subtract(times.sound, times.gate) - delay * 1000 / RATE
        assert np.all((late_ms >= 0.0) & (late_ms < 5.0))  # the kick's attack, from the onset the engine placed
        measured.append(np.asarray(times.sound))
    assert np.allclose(measured[1] - measured[0], 600 * 1000 / RATE, atol=1000 / RATE)


def test_a_gate_whose_sound_does_not_rise_over_what_rings_is_missed():
    times, _ = _gate_times(Drone(), 128, period_s=0.25)
    assert times.missed == 6 and times.sound == [] and len(times.gate) == 6


def test_the_onset_is_the_first_sample_40_db_under_the_peak_after_a_pre_onset_silence():
    samples = np.zeros(1000)
    samples[600:] = np.linspace(0.0, 1.0, 400)  # a slow attack: -40 dB at sample 600 + 4
    assert onset_in(samples, 100) == 604


def test_over_a_tail_the_sound_must_rise_6_db_above_what_rang_before_its_gate():
    tail = 0.1 * np.cos(2 * np.pi * 50 / RATE * np.arange(3000))  # 50 Hz still ringing at -20 dBFS
    samples = tail.copy()
    samples[2000:] += 0.8 * np.exp(-np.arange(1000) / 200)  # a loud hit at sample 2000
    assert onset_in(samples, 1200) == 2000
    assert onset_in(tail, 1200) is None  # nothing new: not an onset
    assert onset_in(np.zeros(3000), 1200) is None
