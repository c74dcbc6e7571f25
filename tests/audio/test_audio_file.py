"""neurorack.audio.audio_file: audio files read (any common format) and written (16-bit PCM WAV,
atomically or streamed), through soundfile; checked against the standard library's reader."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from neurorack.audio.audio_file import AudioFileError, WavStream, read_audio, read_mono, to_pcm16, write_wav


def test_to_pcm16_scales_rounds_and_clips():
    pcm = to_pcm16(np.array([0.0, 1.0, -1.0, 0.5, 2.0, -3.0]))
    np.testing.assert_array_equal(pcm, [0, 32767, -32767, 16384, 32767, -32767])


def test_the_written_file_is_the_standard_librarys_16_bit_pcm(tmp_path):
    samples = np.stack([np.linspace(-1, 1, 10), np.full(10, 0.5)], axis=1)
    write_wav(tmp_path / "x.wav", samples, 96000)
    with wave.open(str(tmp_path / "x.wav"), "rb") as handle:
        assert (handle.getnchannels(), handle.getsampwidth(), handle.getframerate(), handle.getnframes()) == (
            2, 2, 96000, 10)
        frames = np.frombuffer(handle.readframes(10), dtype="<i2").reshape(10, 2)
    np.testing.assert_array_equal(frames, to_pcm16(samples))
    assert (tmp_path / "x.wav").stat().st_size == 44 + 10 * 2 * 2  # no chunk but fmt and data


def test_mono_and_stereo_round_trips_are_within_a_pcm_step(tmp_path):
    rng = np.random.default_rng(9)
    mono = rng.uniform(-1, 1, 4800)
    back, rate = read_audio(write_wav(tmp_path / "mono.wav", mono, 48000))
    assert rate == 48000 and back.shape == (4800, 1) and back.dtype == np.float64
    assert np.abs(back[:, 0] - mono).max() <= 2 / 32767
    stereo = np.stack([0.8 * np.sin(np.arange(2205) / 7), -0.3 * np.ones(2205)], axis=1)
    back, rate = read_audio(write_wav(tmp_path / "stereo.wav", stereo, 44100))
    assert rate == 44100 and back.shape == (2205, 2)
    assert np.abs(back - stereo).max() <= 2 / 32767
    averaged, _ = read_mono((tmp_path / "stereo.wav").read_bytes())
    assert np.abs(averaged - stereo.mean(axis=1)).max() <= 2 / 32767


@pytest.mark.parametrize("width, ints, expected", [
    (1, bytes([128, 255, 0]), [0.0, 127 / 128, -1.0]),
    (3, (0x400000).to_bytes(3, "little") + (0xC00000).to_bytes(3, "little"), [0.5, -0.5]),
])
def test_8_and_24_bit_pcm_read_scaled_by_their_full_range(tmp_path, width, ints, expected):
    path = tmp_path / "x.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(width)
        handle.setframerate(8000)
        handle.writeframes(ints)
    data, rate = read_audio(path)
    assert rate == 8000
    np.testing.assert_allclose(data[:, 0], expected, atol=1e-9)


def test_atomic_write_leaves_no_temp_file_and_replaces_the_old_file(tmp_path):
    path = tmp_path / "take.wav"
    write_wav(path, np.full(100, 0.5), 48000)
    write_wav(path, np.full(50, -0.25), 48000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]
    back, _ = read_audio(path)
    assert back.shape == (50, 1) and back[0, 0] == pytest.approx(-0.25, abs=2 / 32767)


def test_a_stream_is_a_whole_wav_once_closed(tmp_path):
    stream = WavStream(tmp_path / "run.wav", 48000)
    for block in (np.full(64, 0.25), np.full(36, -0.5)):
        stream.write(to_pcm16(block))
    stream.close()
    with wave.open(str(tmp_path / "run.wav"), "rb") as handle:
        assert (handle.getnframes(), handle.getframerate(), handle.getsampwidth()) == (100, 48000, 2)


@pytest.mark.parametrize("content", [b"hello\n", b"RIFF\x04\x00\x00\x00WAVE", b""])
def test_what_is_not_audio_says_what_was_expected(tmp_path, content):
    path = tmp_path / "notes.wav"
    path.write_bytes(content)
    for source in (path, content):
        with pytest.raises(AudioFileError) as info:
            read_audio(source, name=path)
        message = str(info.value)
        assert message.startswith(f"{path}: cannot read it as audio (") and "()" not in message
        assert "expected WAV (8-, 16-, 24- or 32-bit PCM, or float), FLAC or AIFF" in message
