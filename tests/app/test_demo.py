"""``neurorack demo``: the scripted performance on the instrument (a tiny exported model with
the shipped sound bank), its jacks read from a scenario through the simulated MCP3008, the real
driver and the poller on the virtual clock: onsets where the scenario puts the gates (plus the
constant latency and at most one poll period), CVs arriving at the instrument as the scenario
moves them, the spectrum changing where the encoder switches sounds, and the OLED GIF showing
the sounds as they change."""

from __future__ import annotations

import itertools
import json
import wave
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageSequence

from neurorack.app.demo import SEED, demo_hits, demo_performance, render_demo
from neurorack.cli import main
from neurorack.config.board import load_board
from neurorack.config.module import ModuleConfig
from neurorack.config.state import ModuleState
from neurorack.hardware.scenario import Constant, Ramp, Scenario
from neurorack.ui.frame import Frame
from neurorack.ui.pages import HomeScreen
from neurorack.ui.render import render
from tests.instrument.model_fixture import make_model

SECONDS = 8.0
RATE = 48000
POLL_S = 1.0 / load_board("mock").adc.poll_hz  # the demo reads the jacks as the mock module does
LSB_JACK_VOLTS = 10.0 / 1024  # one 10-bit code of a -5..+5 V CV input
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


def test_the_detector_stamps_every_scenario_gate_within_one_poll_period(demo):
    result, _ = demo
    truth = demo_hits(SECONDS)
    assert result["gates"] == len(result["hits"]) == len(truth) > 30
    assert result["polls"] == round(SECONDS / POLL_S)
    for detected, hit in zip(result["hits"], truth):
        assert detected["gate"] == hit.gate + 1
        assert 0 <= detected["time_s"] - hit.time_s < POLL_S + 1e-9
        assert detected["velocity"] == pytest.approx(hit.velocity, abs=0.02)  # gate level / 8 V, through the ADC


def assert_onset_at(first_difference: int, result: dict, time_s: float) -> None:
    """The onset lies at ``time_s`` + the gate latency, +/- 1 ms, plus up to one poll period late."""
    offset = first_difference - expected_onset(result, time_s)
    assert -RATE // 1000 <= offset <= RATE // 1000 + round(POLL_S * RATE), (time_s, offset)


def first_difference(a: np.ndarray, b: np.ndarray) -> int:
    assert np.any(a != b)
    return int(np.argmax(np.abs(a - b) > 0))


def without_hit(scenario: Scenario, time_s: float) -> Scenario:
    """The same patch without the hit at ``time_s`` (on whichever gate plays it)."""
    signals = dict(scenario.signals)
    for name in ("gate1", "gate2"):
        pattern = signals[name]
        signals[name] = replace(pattern, hits=tuple(h for h in pattern.hits if abs(h.time_s - time_s) > 1e-9))
    return Scenario(signals, seed=SEED)


@pytest.mark.parametrize("hit_time_s", [0.1, 2.1, 2.725, 6.35], ids=["first", "after-switch", "gate2", "ringing"])
def test_each_hit_starts_at_its_scenario_gate_time_plus_the_constant_latency(demo, config, tmp_path, hit_time_s):
    # The same performance without one gate in the scenario renders the same samples up to that
    # hit's onset: the first sample where the two differ is where the hit starts in the WAV.
    result, samples = demo
    performance = demo_performance(SECONDS)
    assert any(abs(hit.time_s - hit_time_s) < 1e-9 for hit in demo_hits(SECONDS))
    without = replace(performance, scenario=without_hit(performance.scenario, hit_time_s))
    render_demo(config, tmp_path / "without.wav", performance=without)
    assert_onset_at(first_difference(samples, read_wav(tmp_path / "without.wav")), result, hit_time_s)


def render_scenario_file(config_file, tmp_path, name: str, yaml_text: str, seconds: float, capsys):
    """``neurorack demo --scenario FILE --json``: its result and WAV."""
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(yaml_text)
    out = tmp_path / f"{name}.wav"
    capsys.readouterr()
    assert main(["--config", str(config_file), "demo", "--scenario", str(scenario), "--seconds", str(seconds),
                 "--out", str(out), "--json"]) == 0
    return json.loads(capsys.readouterr().out), read_wav(out)


@pytest.fixture()
def config_file(config, tmp_path):
    path = tmp_path / "module.yaml"
    path.write_text(f"models_dir: {config.models_dir}\nstate_dir: {config.state_dir}\n")
    return path


def test_a_scenario_file_with_another_gate_pattern_moves_the_onsets_to_its_gates(config_file, tmp_path, capsys):
    # A clock on gate 1: high for 0.2 s every 0.8 s, from 0.6 s (a 0.6, 1.4, 2.2 s pattern the
    # built-in demo does not play); the same clock at half the rate leaves out 1.4 s.
    seconds = 2.5
    result, samples = render_scenario_file(config_file, tmp_path, "clock", "gate1: {kind: steps, values: [0, 0, 0, 8], "
                                           "step_s: 0.2}\n", seconds, capsys)
    assert result["scenario"].endswith("clock.yaml")
    assert [h["gate"] for h in result["hits"]] == [1, 1, 1]
    for detected, true_s in zip(result["hits"], (0.6, 1.4, 2.2), strict=True):
        assert 0 <= detected["time_s"] - true_s < POLL_S + 1e-9
    _, silent = render_scenario_file(config_file, tmp_path, "silent", "gate1: {kind: constant, volts: 0}\n",
                                     seconds, capsys)
    assert_onset_at(first_difference(samples, silent), result, 0.6)
    _, half = render_scenario_file(config_file, tmp_path, "half", "gate1: {kind: steps, values: [0, 0, 0, 8, 0, 0, 0, "
                                   "0], step_s: 0.2}\n", seconds, capsys)
    assert_onset_at(first_difference(samples, half), result, 1.4)


def test_a_noisy_scenario_file_renders_the_same_samples_every_time(config_file, tmp_path, capsys):
    # 50 mV of noise at every jack and the chip's own noise and undefined bits: all seeded.
    text = "noise_volts: 0.05\ngate1: {kind: steps, values: [0, 8], step_s: 0.1}\ncv1: {kind: constant, volts: 1}\n"
    first, once = render_scenario_file(config_file, tmp_path, "noisy-a", text, 0.6, capsys)
    second, again = render_scenario_file(config_file, tmp_path, "noisy-b", text, 0.6, capsys)
    assert first["hits"] == second["hits"] and len(first["hits"]) == 3
    assert np.array_equal(once, again) and np.abs(once).max() > 0.01


def test_a_cv_ramp_in_the_scenario_reaches_the_instrument_within_one_lsb(config, tmp_path):
    # CV 1 ramps -1 -> +1 V over 1 s, then holds; CV 3 holds 2.345 V. What the instrument's
    # routing reads each block is the scenario's value after the ADC, conditioning and smoothing.
    ramp = Ramp(-1.0, 1.0, 1.0)
    scenario = Scenario({"cv1": ramp, "cv3": Constant(2.345)})
    reads: list[tuple[float, tuple]] = []
    render_demo(config, tmp_path / "cv.wav", performance=demo_performance(2.0, scenario),
                on_cv_read=lambda t, volts: reads.append((t, volts)))
    reads = [(t, volts) for t, volts in reads if t > 0.01]  # after the smoother's first few reads
    assert len(reads) > 0.9 * 2.0 * RATE / 128
    board = load_board("mock")
    # while the ramp moves (1 V/s), the one-pole smoother lags it by its time constant plus half a read interval
    lag_s = board.inputs.cv1.smoothing_ms / 1000 + 0.5 * POLL_S * 6 / board.adc.others_per_poll
    for t, volts in reads:
        assert volts[2] == pytest.approx(2.345, abs=LSB_JACK_VOLTS)
        assert volts[1] == pytest.approx(0.0, abs=LSB_JACK_VOLTS) and volts[3] == pytest.approx(0.0, abs=LSB_JACK_VOLTS)
        if t < 1.0:
            assert volts[0] == pytest.approx(ramp.volts(t - lag_s), abs=LSB_JACK_VOLTS), t
        elif t > 1.02:
            assert volts[0] == pytest.approx(1.0, abs=LSB_JACK_VOLTS), t
    ramp_reads = [volts[0] for t, volts in reads if t < 1.0]
    assert min(ramp_reads) < -0.95 and max(ramp_reads) > 0.95


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


def test_without_the_screen_pass_the_demo_writes_only_the_audio(config, tmp_path):
    result = render_demo(config, tmp_path / "audio.wav", 0.5, screen=False)
    assert result["screen_gif"] is None and result["screen_frames"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["audio.wav"]
    assert result["realtime_factor"] == pytest.approx(result["seconds"] / result["render_s"])
    assert result["realtime_factor_with_jacks"] == pytest.approx(
        result["seconds"] / (result["render_s"] + result["jacks_s"]))
