"""neurorack.audio.wav: 16-bit PCM WAV files, written atomically."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from neurorack.audio.wav import read_wav, to_pcm16, write_wav


def test_to_pcm16_scales_rounds_and_clips():
    pcm = np.frombuffer(to_pcm16(np.array([0.0, 1.0, -1.0, 0.5, 2.0, -3.0])), dtype="<i2")
    np.testing.assert_array_equal(pcm, [0, 32767, -32767, 16384, 32767, -32767])


def test_to_pcm16_interleaves_channels_frame_by_frame():
    pcm = np.frombuffer(to_pcm16(np.array([[0.5, -0.5], [1.0, 0.0]])), dtype="<i2")
    np.testing.assert_array_equal(pcm, [16384, -16384, 32767, 0])


def test_mono_round_trip_is_within_one_pcm_step(tmp_path):
    rng = np.random.default_rng(9)
    samples = rng.uniform(-1, 1, 4800)
    path = write_wav(tmp_path / "mono.wav", samples, 48000)
    assert path == tmp_path / "mono.wav"
    back, rate = read_wav(path)
    assert rate == 48000
    assert back.dtype == np.float32
    assert back.shape == (4800, 1)
    assert np.abs(back[:, 0] - samples).max() <= 1 / 32767


def test_stereo_round_trip_keeps_channels_apart(tmp_path):
    t = np.arange(2205) / 44100
    samples = np.stack([0.8 * np.sin(2 * np.pi * 440 * t), -0.3 * np.ones_like(t)], axis=1)
    back, rate = read_wav(write_wav(tmp_path / "stereo.wav", samples, 44100))
    assert rate == 44100
    assert back.shape == (2205, 2)
    assert np.abs(back - samples).max() <= 1 / 32767


def test_written_file_is_16_bit_pcm_with_the_given_rate(tmp_path):
    write_wav(tmp_path / "x.wav", np.zeros((10, 2), dtype=np.float32), 96000)
    with wave.open(str(tmp_path / "x.wav"), "rb") as handle:
        assert (handle.getnchannels(), handle.getsampwidth(), handle.getframerate(), handle.getnframes()) == (
            2, 2, 96000, 10)


def test_atomic_write_leaves_no_temp_file_and_replaces_the_old_file(tmp_path):
    path = tmp_path / "take.wav"
    write_wav(path, np.full(100, 0.5), 48000)
    write_wav(path, np.full(50, -0.25), 48000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]
    back, _ = read_wav(path)
    assert back.shape == (50, 1)
    assert back[0, 0] == pytest.approx(-0.25, abs=1 / 32767)


def test_read_wav_refuses_anything_but_16_bit(tmp_path):
    path = tmp_path / "eight.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(1)
        handle.setframerate(8000)
        handle.writeframes(bytes(16))
    with pytest.raises(ValueError, match="only 16-bit PCM"):
        read_wav(path)
