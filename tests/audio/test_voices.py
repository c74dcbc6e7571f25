"""neurorack.audio.voices: the built-in test voice and the deliberately slow one."""

from __future__ import annotations

import time

import numpy as np
import pytest

from neurorack.audio.voices import BusyVoice, TestVoice

SR = 48000


def render(voice, frames: int, block: int = 128) -> np.ndarray:
    out = np.zeros(frames)
    for start in range(0, frames, block):
        voice.render(out[start:start + block])
    return out


def test_voice_is_silent_before_any_trigger():
    voice = TestVoice(SR)
    out = np.full(256, 5.0)
    voice.render(out)
    np.testing.assert_array_equal(out, np.zeros(256))


def test_trigger_starts_a_hit_on_the_very_next_sample():
    voice = TestVoice(SR)
    voice.trigger(1.0)
    out = render(voice, 512)
    assert out[0] != 0.0
    assert np.abs(out).max() > 0.3


def test_same_seed_renders_the_same_samples_and_another_seed_differs():
    outs = []
    for seed in (0, 0, 1):
        voice = TestVoice(SR, seed=seed)
        voice.trigger(0.8)
        outs.append(render(voice, 2048))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_rendering_in_blocks_of_any_size_gives_the_same_samples():
    one = TestVoice(SR)
    one.trigger()
    whole = np.zeros(4096)
    one.render(whole)
    other = TestVoice(SR)
    other.trigger()
    parts = []
    for n in (100, 28, 1, 1000, 2967):
        part = np.zeros(n)
        other.render(part)
        parts.append(part)
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-12)


def test_velocity_scales_the_hit_and_is_clamped_to_zero_one():
    outs = {}
    for velocity in (1.0, 0.5, 3.0, -1.0):
        voice = TestVoice(SR)
        voice.trigger(velocity)
        outs[velocity] = render(voice, 1024)
    np.testing.assert_allclose(outs[0.5], 0.5 * outs[1.0], atol=1e-12)
    np.testing.assert_array_equal(outs[3.0], outs[1.0])
    np.testing.assert_array_equal(outs[-1.0], np.zeros(1024))


def test_hit_is_loudest_at_the_start_and_fades():
    voice = TestVoice(SR)
    voice.trigger(1.0)
    out = render(voice, SR)
    window = SR // 100
    energy = [float(np.sum(out[start:start + window] ** 2)) for start in range(0, SR, window)]
    assert energy[0] == max(energy)
    assert energy[-1] < 1e-6 * energy[0]


def test_tone_decays_by_60_db_over_decay_s_and_then_goes_exactly_silent():
    voice = TestVoice(SR, frequency_hz=100.0, decay_s=0.2)
    voice.trigger(1.0)
    out = render(voice, SR)
    # after the noise burst, the tone follows 0.6 * 10^(-3 t / decay_s)
    start = int(0.2 * SR)
    period = out[start:start + SR // 100]
    peak = int(np.argmax(np.abs(period))) + start
    envelope = 0.6 * 10 ** (-3 * (peak / SR) / 0.2)
    assert abs(out[peak]) == pytest.approx(envelope, rel=0.01)
    assert envelope == pytest.approx(0.6e-3, rel=0.1)
    # once both levels are below 1e-6 the voice writes exact zeros
    assert (out[int(0.45 * SR):] == 0.0).all()


def test_tone_has_the_requested_frequency():
    voice = TestVoice(SR, frequency_hz=220.0, decay_s=5.0)
    voice.trigger(1.0)
    out = render(voice, SR)
    tail = out[SR // 2:]  # the noise burst is long gone
    spectrum = np.abs(np.fft.rfft(tail))
    peak_hz = np.argmax(spectrum) * SR / len(tail)
    assert peak_hz == pytest.approx(220.0, abs=2.0)


def test_retrigger_restarts_the_tone_phase_and_level():
    voice = TestVoice(SR, noise_decay_s=1e-4)  # noise gone after a few samples
    voice.trigger(1.0)
    first = render(voice, 2000)
    render(voice, 777)
    voice.trigger(1.0)
    second = render(voice, 2000)
    np.testing.assert_allclose(second[100:], first[100:], atol=1e-9)


def test_reset_returns_to_silence_and_restores_the_noise_seed():
    voice = TestVoice(SR)
    voice.trigger(1.0)
    first = render(voice, 1000)
    voice.reset()
    np.testing.assert_array_equal(render(voice, 256), np.zeros(256))
    voice.trigger(1.0)
    np.testing.assert_array_equal(render(voice, 1000), first)


def test_render_of_an_empty_block_changes_nothing():
    voice = TestVoice(SR)
    voice.trigger(1.0)
    voice.render(np.zeros(0))
    reference = TestVoice(SR)
    reference.trigger(1.0)
    np.testing.assert_array_equal(render(voice, 256), render(reference, 256))


def test_busy_voice_takes_at_least_busy_ms_and_renders_the_test_voice():
    busy = BusyVoice(SR, busy_ms=2.0)
    plain = TestVoice(SR)
    busy.trigger(1.0)
    plain.trigger(1.0)
    a, b = np.zeros(128), np.zeros(128)
    started = time.perf_counter()
    busy.render(a)
    assert time.perf_counter() - started >= 0.002
    plain.render(b)
    np.testing.assert_array_equal(a, b)
    assert busy.name != plain.name
