"""Trajectories from one-shots and breakpoints; the CSV template format and its errors."""

import os
import wave
from pathlib import Path

import numpy as np
import pytest

from neurorack.config.sound_bank import Curves
from neurorack.instrument.trajectory import (
    MAX_ONE_SHOT_BYTES,
    MAX_TEMPLATE_BYTES,
    TemplateError,
    from_audio,
    from_curves,
    load_template,
    read_one_shot,
    save_template,
)

SR = 48000


def decaying_tone(pitch=330.0, seconds=1.0, tail_s=1.0):
    t = np.arange(int(seconds * SR)) / SR
    tone = 0.8 * np.sin(2 * np.pi * pitch * t) * np.exp(-t / 0.1)
    return np.concatenate([np.zeros(2400), tone, np.zeros(int(tail_s * SR))])


def test_a_one_shot_gives_its_pitch_a_falling_loudness_and_no_silent_tail():
    trajectory = from_audio(decaying_tone())
    frames = trajectory.frames
    confident = frames[:, 4] > 0.8
    assert np.median(frames[confident, 3]) == pytest.approx(330.0, rel=0.01)
    assert frames[2, 0] > frames[-1, 0] + 40.0
    assert trajectory.duration_s < 1.0  # the silent second after it is cut


def test_a_silent_one_shot_is_refused():
    with pytest.raises(TemplateError, match="silent"):
        from_audio(np.zeros(SR))


def test_breakpoints_glide_linearly_in_db_and_logarithmically_in_hz():
    trajectory = from_curves(Curves(duration_s=1.0, loudness_db=[[0, -10], [1, -30]], pitch_hz=[[0, 100], [1, 400]]))
    frames = trajectory.frames
    middle = len(frames) // 2
    assert frames[middle, 0] == pytest.approx(-20.0, abs=0.2)
    assert frames[middle, 3] == pytest.approx(200.0, rel=0.01)  # the geometric middle
    assert frames[0, 1] == pytest.approx(1000.0)  # unset: the default centroid


def test_templates_round_trip_and_bad_ones_name_the_line(tmp_path):
    trajectory = from_audio(decaying_tone())
    path = save_template(tmp_path / "t.csv", trajectory, "from test")
    again = load_template(path)
    np.testing.assert_allclose(again.frames, trajectory.frames, rtol=1e-5, atol=1e-4)
    lines = path.read_text().splitlines()
    lines[4] = "1,2,three,4,5"
    path.write_text("\n".join(lines))
    with pytest.raises(TemplateError, match=r"t.csv:5: expected 5 numbers"):
        load_template(path)
    path.write_text(path.read_text().replace("hop=256", "hop=512"))
    with pytest.raises(TemplateError, match="hop 512, the model needs 256"):
        load_template(path)
    with pytest.raises(TemplateError, match="not found"):
        load_template(tmp_path / "missing.csv")


def test_24_bit_stereo_wav_at_44_1_khz_is_read_as_mono_at_48_khz(tmp_path):
    t = np.arange(44100) / 44100
    left = 0.5 * np.sin(2 * np.pi * 441 * t)
    ints = np.round(np.stack([left, left], axis=1) * (1 << 23)).astype(np.int32).reshape(-1)
    raw = np.stack([ints & 0xFF, (ints >> 8) & 0xFF, (ints >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
    path = tmp_path / "s.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(3)
        handle.setframerate(44100)
        handle.writeframes(raw)
    audio = read_one_shot(path)
    assert len(audio) == 48000
    assert np.max(np.abs(audio)) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("content", [b"hello\n", b"RIFF\x04\x00\x00\x00WAVE", b""])
def test_a_file_that_is_not_a_wav_says_what_was_expected(tmp_path, content):
    path = tmp_path / "notes.wav"
    path.write_bytes(content)
    with pytest.raises(TemplateError) as info:
        read_one_shot(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot read it as audio (") and "()" not in message
    assert "expected WAV (8-, 16-, 24- or 32-bit PCM, or float), FLAC or AIFF" in message


@pytest.mark.parametrize("kind", ["fifo", "dev_zero_link", "dev_zero"])
def test_a_template_or_one_shot_that_is_a_fifo_or_a_device_is_refused_at_once(tmp_path, kind):
    from neurorack_bench.faults import time_limit

    path = tmp_path / "kick.wav"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero_link":
        path.symlink_to("/dev/zero")
    else:
        path = Path("/dev/zero")
    says = "a FIFO" if kind == "fifo" else "a character device"
    for read in (load_template, read_one_shot):
        with time_limit(10), pytest.raises(TemplateError, match=f"^{path}: is not a regular file: {says}$"):
            read(path)


def test_a_template_outside_its_folder_is_refused_and_not_echoed(tmp_path):
    folder = tmp_path / "bank"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("loudness_db,centroid_hz,flatness,pitch_hz,pitch_confidence\ns3cret\n")
    (folder / "kick.csv").symlink_to("../secret.csv")
    with pytest.raises(TemplateError) as info:
        load_template(folder / "kick.csv", folder=folder)
    assert "outside" in str(info.value) and "s3cret" not in str(info.value)


def test_templates_and_one_shots_have_a_size_cap(tmp_path):
    for name, cap, read in (("t.csv", MAX_TEMPLATE_BYTES, load_template), ("o.wav", MAX_ONE_SHOT_BYTES, read_one_shot)):
        with open(tmp_path / name, "wb") as stream:
            stream.truncate(cap + 1)  # sparse
        with pytest.raises(TemplateError, match=f"{name}: {cap + 1} bytes, more than the {cap} accepted"):
            read(tmp_path / name)
