"""``neurorack demo``: the scripted performance on the instrument (a tiny exported model with
the shipped sound bank): onsets where the script puts the gates, the spectrum changing where
the encoder switches sounds, and the OLED GIF showing the sounds as they change."""

from __future__ import annotations

import itertools
import wave
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageSequence

from neurorack.config.module import ModuleConfig
from neurorack.demo import demo_performance, render_demo
from neurorack.state import ModuleState
from neurorack.ui.frame import Frame
from neurorack.ui.navigation import HomeScreen
from neurorack.ui.render import render
from tests.instrument.model_fixture import make_model

SECONDS = 8.0
SPECTRUM_S = 0.08
NAME_ROWS = 15  # the home page draws the sound's name in the top 15 pixel rows


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_model(root / "models" / "tiny")
    return replace(ModuleConfig(), models_dir=str(root / "models"), state_dir=str(root / "state"))


@pytest.fixture(scope="module")
def demo(config, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "demo.wav"
    result = render_demo(config, out, SECONDS)
    return result, read_wav(out)


def read_wav(path) -> np.ndarray:
    with wave.open(str(path)) as stream:
        assert stream.getframerate() == 48000 and stream.getsampwidth() == 2
        return np.frombuffer(stream.readframes(stream.getnframes()), dtype=np.int16).astype(np.float64) / 32768.0


def expected_onset(result: dict, time_s: float) -> int:
    return round((time_s + result["gate_latency_ms"] / 1000.0) * 48000)


def test_demo_plays_the_model_and_switches_sounds_at_the_scripted_times(demo):
    result, samples = demo
    assert result["model"] == "tiny" and result["voice"].startswith("tiny")
    assert len(samples) == SECONDS * 48000
    switches = demo_performance(SECONDS).switches
    assert [s["time_s"] for s in result["sounds"]] == [0.0] + [t for t, _ in switches]
    names = [s["sound"] for s in result["sounds"]]
    assert names == ["Kick", "Snare", "Hat closed", "Tom low"]  # +1, +1, +2 detents through the bank
    assert result["stats"]["late_onsets"] == 0 and result["stats"]["muted_blocks"] == 0
    assert np.abs(samples).max() < 1.0


@pytest.mark.parametrize("hit_time_s", [0.1, 2.1, 2.725, 6.35], ids=["first", "after-switch", "gate2", "ringing"])
def test_each_hit_starts_at_its_gate_time_plus_the_constant_latency(demo, config, tmp_path, hit_time_s):
    # The same performance without one hit renders the same samples up to that hit's onset:
    # the first sample where the two differ is where the hit starts in the WAV.
    result, samples = demo
    performance = demo_performance(SECONDS)
    assert any(abs(hit.time_s - hit_time_s) < 1e-9 for hit in performance.hits)
    without = replace(performance, hits=tuple(h for h in performance.hits if abs(h.time_s - hit_time_s) > 1e-9))
    render_demo(config, tmp_path / "without.wav", performance=without)
    other = read_wav(tmp_path / "without.wav")
    first_difference = int(np.argmax(np.abs(samples - other) > 0))
    assert np.any(samples != other)
    assert abs(first_difference - expected_onset(result, hit_time_s)) <= 48  # +/- 1 ms


def band_spectrum(samples: np.ndarray, start: int) -> np.ndarray:
    """Log energy share in 24 log-spaced bands over ``SPECTRUM_S`` from ``start``."""
    length = round(SPECTRUM_S * 48000)
    magnitude = np.abs(np.fft.rfft(samples[start:start + length] * np.hanning(length)))
    frequency = np.fft.rfftfreq(length, 1 / 48000)
    edges = np.geomspace(40, 20000, 25)
    energy = np.array([(magnitude[(frequency >= a) & (frequency < b)] ** 2).sum() for a, b in itertools.pairwise(edges)])
    return np.log10(energy / energy.sum() + 1e-12)


def spectral_separation(result: dict, samples: np.ndarray, at_s: float) -> float:
    """Mean spectral distance between the two gate-1 hits after ``at_s`` and the two before it,
    over the mean distance within each pair."""
    hits = [h["time_s"] for h in result["hits"] if h["gate"] == 1]
    before = [band_spectrum(samples, expected_onset(result, t)) for t in [t for t in hits if t < at_s][-2:]]
    after = [band_spectrum(samples, expected_onset(result, t)) for t in [t for t in hits if t > at_s][:2]]

    def distance(a, b):
        return float(np.abs(a - b).mean())

    within = (distance(*before) + distance(*after)) / 2
    between = np.mean([distance(a, b) for a in before for b in after])
    return between / within


def test_the_spectrum_changes_where_the_sound_is_switched_and_not_elsewhere(demo):
    result, samples = demo
    switches = [s["time_s"] for s in result["sounds"][1:]]
    for at_s in switches:
        assert spectral_separation(result, samples, at_s) > 1.5, at_s
    for at_s in (t + 1.0 for t in switches):  # the middle of each sound's stretch: the same sound both sides
        assert spectral_separation(result, samples, at_s) < 1.5, at_s


def gif_frames(path) -> list[tuple[float, Image.Image]]:
    """(start time in seconds, 128x64 image) for each frame of the demo GIF (drawn at scale 2)."""
    frames, at_ms = [], 0
    with Image.open(path) as gif:
        for frame in ImageSequence.Iterator(gif):
            image = frame.convert("L").resize((128, 64), Image.NEAREST).point(lambda v: 255 if v > 127 else 0)
            frames.append((at_ms / 1000.0, image.convert("1")))
            at_ms += frame.info["duration"]
    return frames


def name_strip(image: Image.Image) -> bytes:
    return image.crop((0, 0, 128, NAME_ROWS)).tobytes()


def test_the_gif_shows_each_sound_name_after_its_switch_with_moving_cvs_and_gates(demo):
    result, _ = demo
    frames = gif_frames(result["screen_gif"])
    assert len(frames) == result["screen_frames"] > 50
    changes = result["sounds"]
    for index, change in enumerate(changes):
        until = changes[index + 1]["time_s"] if index + 1 < len(changes) else SECONDS
        expected = name_strip(render(Frame(HomeScreen(), ModuleState(sound=change["sound"], model="tiny"))))
        shown = [name_strip(image) for at, image in frames if change["time_s"] + 0.05 <= at < until - 0.05]
        assert shown and all(strip == expected for strip in shown), change["sound"]
    cv_area = {image.crop((0, 26, 128, 54)).tobytes() for _, image in frames}
    gate_boxes = {image.crop((0, 55, 34, 64)).tobytes() for _, image in frames}
    assert len(cv_area) > 20  # the CV bars and values move
    assert len(gate_boxes) >= 3  # G1 alone, G2 alone and neither lit, at least


def test_without_a_model_the_demo_plays_the_test_voice_and_says_so(tmp_path, caplog):
    config = replace(ModuleConfig(), models_dir=str(tmp_path / "no-models"), state_dir=str(tmp_path / "state"))
    result = render_demo(config, tmp_path / "demo.wav", 2.0)
    assert result["model"] is None and result["warnings"] == ["no model: test voice"]
    assert "test voice" in caplog.text
    samples = read_wav(tmp_path / "demo.wav")
    assert np.abs(samples[expected_onset(result, 0.1):][:480]).max() > 0.05  # the test voice still plays the gates
    assert (tmp_path / "demo.gif").stat().st_size > 1000
