"""Dataset preparation: formats, rates, channels, trimming, skipping, splits, cache."""

import numpy as np
import pytest
import soundfile

from neurorack.ml.dataset import (
    DatasetError,
    PrepareOptions,
    build_set,
    load_cache,
    random_crops,
    resample,
    save_cache,
    split_of,
    trim_silence,
)
from neurorack.ml.descriptors import HOP


def tone(rate: int, seconds: float, frequency_hz: float = 300.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * frequency_hz * t) * np.exp(-t / 0.1)


@pytest.fixture
def kit(tmp_path):
    folder = tmp_path / "Kit"
    (folder / "sub").mkdir(parents=True)
    silence = np.zeros(4410)
    stereo = np.stack([tone(44100, 0.3), tone(44100, 0.3)], axis=1)
    soundfile.write(folder / "a.wav", np.concatenate([silence, tone(44100, 0.3)]), 44100)
    soundfile.write(folder / "sub" / "b.flac", stereo, 44100)
    soundfile.write(folder / "c.aiff", tone(96000, 0.2), 96000, subtype="PCM_24")
    (folder / "broken.wav").write_bytes(b"RIFF not really a wave file")
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_every_format_rate_and_channel_count_becomes_48k_mono_and_broken_files_are_counted(kit):
    data = build_set([kit])
    assert data.names == ["Kit/a.wav", "Kit/c.aiff", "Kit/sub/b.flac"]
    assert [name for name, _ in data.skipped] == ["Kit/broken.wav"]
    for audio, descriptors in zip(data.audio, data.descriptors):
        assert audio.ndim == 1 and len(audio) % HOP == 0
        assert descriptors.shape == (len(audio) // HOP, 5)
    # leading silence is trimmed: the tone starts within the first few samples
    assert np.abs(data.audio[0][:100]).max() > 0.01
    assert abs(len(data.audio[0]) - 0.3 * 48000) < 2 * HOP
    # pitch survives the rate conversion
    assert np.allclose(np.median(data.descriptors[1][2:20, 3]), 300.0, rtol=0.01)


def test_no_readable_audio_is_an_error(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"nope")
    with pytest.raises(DatasetError, match="no readable audio files"):
        build_set([tmp_path])
    with pytest.raises(DatasetError, match="not a folder"):
        build_set([tmp_path / "missing"])


def test_resampling_keeps_a_tone_and_its_length():
    out = resample(np.sin(2 * np.pi * 1000 * np.arange(44100) / 44100), 44100, 48000)
    assert len(out) == 48000
    expected = np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)
    assert np.abs(out[1000:-1000] - expected[1000:-1000]).max() < 1e-3


def test_trimming_and_normalisation():
    audio = np.concatenate([np.zeros(1000), [0.5, -0.25], np.full(10, 1e-5), np.zeros(500)])
    assert len(trim_silence(audio, -60.0, pre_roll=0)) == 2
    from neurorack.ml.dataset import prepare

    prepared = prepare(np.concatenate([np.zeros(100), tone(48000, 0.1)]), 48000, PrepareOptions(normalise_db=-6.0))
    assert np.isclose(np.abs(prepared).max(), 10 ** (-6 / 20), atol=1e-6)


def test_split_is_reproducible_and_roughly_proportional():
    names = [f"Kit/{i}.wav" for i in range(2000)]
    splits = [split_of(n) for n in names]
    assert splits == [split_of(n) for n in names]
    assert 0.07 < splits.count("test") / 2000 < 0.13
    assert 0.07 < splits.count("valid") / 2000 < 0.13


def test_cache_round_trip_keeps_names_splits_descriptors_and_audio(kit, tmp_path):
    data = build_set([kit])
    loaded = load_cache(save_cache(data, tmp_path / "cache.npz"))
    assert loaded.names == data.names and loaded.splits == data.splits
    assert loaded.skipped == data.skipped
    assert loaded.info["folders"] == ["Kit"]
    for a, b in zip(loaded.audio, data.audio):
        assert np.abs(a - b).max() < 1.0 / 32767 + 1e-7
    for a, b in zip(loaded.descriptors, data.descriptors):
        assert np.array_equal(a, b)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="not a readable dataset cache"):
        load_cache(tmp_path / "bad.npz")


def test_random_crops_are_frame_aligned_and_pad_short_sounds(kit):
    data = build_set([kit])
    descriptors, audio = random_crops(data, 200, 6, np.random.default_rng(0))
    assert descriptors.shape == (6, 200, 5) and audio.shape == (6, 200 * HOP)
    assert np.all(descriptors[:, -1, 0] == -90.0)  # every sound is shorter than 200 frames: silence at the end
