"""Dataset preparation: formats, rates, channels, trimming, skipping, splits, cache."""

import numpy as np
import pytest
import soundfile

from neurorack.core.descriptors import HOP
from neurorack.ml.dataset import (
    HELDOUT_KITS,
    SPLITS,
    TRAINING_KITS,
    DatasetError,
    OneShotSet,
    PrepareOptions,
    build_set,
    kit_folders,
    load_cache,
    random_crops,
    save_cache,
    split_of,
    trim_silence,
)


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


def test_trimming_and_normalisation():
    audio = np.concatenate([np.zeros(1000), [0.5, -0.25], np.full(10, 1e-5), np.zeros(500)])
    assert len(trim_silence(audio, -60.0, pre_roll=0)) == 2
    from neurorack.ml.dataset import prepare

    prepared = prepare(np.concatenate([np.zeros(100), tone(48000, 0.1)]), 48000, PrepareOptions(normalise_db=-6.0))
    assert np.isclose(np.abs(prepared).max(), 10 ** (-6 / 20), atol=0.5 / 32767 + 1e-7)


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
    # a fresh build and its cache hold the same numbers, so results never depend on the cache
    for a, b in zip(loaded.audio, data.audio):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    for a, b in zip(loaded.descriptors, data.descriptors):
        assert np.array_equal(a, b)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="not a readable dataset cache"):
        load_cache(tmp_path / "bad.npz")


def test_prepared_audio_lies_on_the_int16_grid_and_is_clipped_there(tmp_path):
    from neurorack.ml.dataset import prepare

    rng = np.random.default_rng(3)
    loud = np.concatenate([1.7 * rng.standard_normal(2000), 0.3 * rng.standard_normal(20000)])
    prepared = prepare(loud, 44100)
    steps = prepared.astype(np.float64) * 32767
    assert np.abs(steps - np.round(steps)).max() < 1e-3 and np.abs(prepared).max() == 1.0
    # quieter than half a step is zero, not a tiny float
    assert np.count_nonzero(prepare(np.concatenate([[0.5], np.full(100, 1e-6)]), 48000, PrepareOptions(trim_db=-120))) == 1
    # and a cache of it gives back the same float32 values
    data = OneShotSet(["K/a.wav"], [prepared], [np.zeros((len(prepared) // HOP, 5), np.float32)], ["train"], [])
    assert np.array_equal(load_cache(save_cache(data, tmp_path / "c.npz")).audio[0], prepared)


def test_held_out_kits_get_their_own_split_and_never_reach_train(tmp_path):
    assert SPLITS == ("train", "valid", "test", "heldout")
    assert set(TRAINING_KITS).isdisjoint(HELDOUT_KITS) and len(TRAINING_KITS) == 10
    for kit in HELDOUT_KITS:
        assert split_of(f"{kit}/x.wav") == "heldout"
        assert split_of(f"{kit}/sub/deeper/y.flac", valid_fraction=0.0, test_fraction=0.0) == "heldout"
    # by the top folder only: a training kit's file named like a held-out kit stays in the hash split
    assert split_of(f"Audiophob/{HELDOUT_KITS[0]}/x.wav") in ("train", "valid", "test")
    for name in (HELDOUT_KITS[0], "Kit"):
        (tmp_path / name).mkdir()
        for i in range(12):
            soundfile.write(tmp_path / name / f"{i}.wav", tone(44100, 0.05, 200.0 + 20 * i), 44100)
    data = build_set([tmp_path / HELDOUT_KITS[0], tmp_path / "Kit"])
    by_kit = {name: {s for n, s in zip(data.names, data.splits) if n.startswith(name + "/")}
              for name in (HELDOUT_KITS[0], "Kit")}
    assert by_kit[HELDOUT_KITS[0]] == {"heldout"}
    assert "heldout" not in by_kit["Kit"] and "train" in by_kit["Kit"]
    for split in ("train", "valid", "test"):
        assert not any(n.startswith(HELDOUT_KITS[0] + "/") for n in data.subset(split).names)
    assert len(data.subset("heldout")) == 12


def test_kit_folders_lists_the_chosen_kits_and_names_the_package_when_missing(tmp_path):
    for kit in (*TRAINING_KITS, *HELDOUT_KITS, "Some Other Kit"):
        (tmp_path / kit).mkdir()
    assert [f.name for f in kit_folders("training", tmp_path)] == list(TRAINING_KITS)
    assert [f.name for f in kit_folders("heldout", tmp_path)] == list(HELDOUT_KITS)
    assert [f.name for f in kit_folders("all", tmp_path)] == list(TRAINING_KITS + HELDOUT_KITS)
    with pytest.raises(DatasetError, match="expected 'training', 'heldout' or 'all'"):
        kit_folders("test", tmp_path)
    (tmp_path / HELDOUT_KITS[1]).rmdir()
    assert len(kit_folders("training", tmp_path)) == 10
    with pytest.raises(DatasetError, match=f"hydrogen-drumkits.*|.*{HELDOUT_KITS[1]}"):
        kit_folders("all", tmp_path)
    with pytest.raises(DatasetError, match="hydrogen-drumkits"):
        kit_folders("training", tmp_path / "missing")


def test_random_crops_are_frame_aligned_and_pad_short_sounds(kit):
    data = build_set([kit])
    descriptors, audio = random_crops(data, 200, 6, np.random.default_rng(0))
    assert descriptors.shape == (6, 200, 5) and audio.shape == (6, 200 * HOP)
    assert np.all(descriptors[:, -1, 0] == -90.0)  # every sound is shorter than 200 frames: silence at the end


def test_commands_default_to_the_training_and_held_out_kits(kit, tmp_path, monkeypatch):
    import argparse

    from neurorack.cli import ml
    from neurorack.ml import dataset

    asked = []
    monkeypatch.setattr(dataset, "kit_folders", lambda which="all": asked.append(which) or [kit])
    monkeypatch.setattr(ml, "DEFAULT_CACHE_DIR", tmp_path / "cache")
    data = ml.dataset_for(argparse.Namespace(cache=None), [])
    assert asked == ["all"] and data.names == ["Kit/a.wav", "Kit/c.aiff", "Kit/sub/b.flac"]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    # explicit folders still win, and the second call reads the cache
    again = ml.dataset_for(argparse.Namespace(cache=None), [str(kit)])
    assert asked == ["all"] and again.names == data.names
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
