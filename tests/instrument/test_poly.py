"""The polyphonic voice through the real engine, rendered offline, measured on the output."""

import math
from itertools import pairwise

import numpy as np
import pytest

from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.config.board import load_board
from neurorack.config.sound_bank import Curves
from neurorack.config.state import CvRoute, Routing
from neurorack.controls.calibration import Measurement, calibrate
from neurorack.controls.cv import Conditioning, code_to_adc_volts
from neurorack.core.descriptors import extract
from neurorack.core.events import GateEdge
from neurorack.core.signal import PRE_ROLL
from neurorack.instrument import poly
from neurorack.instrument.poly import PlayableSound, PolyVoice
from neurorack.instrument.routing import CvRouter, Modulation
from neurorack.instrument.trajectory import from_curves

SR = 48000


def hit(pitch=220.0, seconds=0.3, loudness=-8.0, centroid=1000.0, **kwargs):
    curves = Curves(duration_s=seconds, loudness_db=[[0, loudness], [seconds, loudness - 30]],
                    pitch_hz=[[0, pitch]], centroid_hz=[[0, centroid]])
    return PlayableSound(kwargs.pop("name", f"hit {pitch:g}"), from_curves(curves), **kwargs)


def steady(pitch=220.0, seconds=4.0, loudness=-10.0, name="steady", **kwargs):
    curves = Curves(duration_s=seconds, loudness_db=[[0, loudness]], pitch_hz=[[0, pitch]])
    return PlayableSound(name, from_curves(curves), **kwargs)


def spectrum_centroid(audio):
    power = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    return float((power * freqs).sum() / power.sum())


def test_onsets_land_at_gate_time_plus_constant_latency(tiny_model):
    voice = PolyVoice(tiny_model, [hit(seconds=0.1)])
    engine = Engine(voice)
    times = [0.1013, 0.4, 0.7227, 1.0051]  # deliberately off the block grid; each hit has ended before the next
    out = render_offline(engine, 1.4, [GateEdge(t) for t in times])
    for t in times:
        expected = round((t + engine.gate_latency_s) * SR)
        window = np.abs(out[expected - 480:expected + 480])
        first = int(np.argmax(window > 1e-3)) + expected - 480
        assert abs(first - expected) <= SR // 1000, (t, first - expected)


def test_switching_sound_changes_the_spectrum(tiny_model):
    voice = PolyVoice(tiny_model, [hit(110.0, name="low"), hit(1760.0, name="high")])
    engine = Engine(voice)
    first = render_offline(engine, 0.5, [GateEdge(0.05)])
    voice.select(1)
    engine2 = Engine(voice)
    second = render_offline(engine2, 0.5, [GateEdge(0.05)])
    low, high = spectrum_centroid(first[2400:14400]), spectrum_centroid(second[2400:14400])
    assert high > 3.0 * low


def measured_pitch(audio):
    d = extract(audio.astype(np.float64))
    confident = d[:, 4] > 0.8
    return float(np.median(d[confident, 3]))


def test_one_volt_doubles_pitch_over_four_octaves_after_calibration(tiny_model):
    board = load_board("mock")
    nominal = board.input("cv1")
    reference = board.adc.reference_volts
    # The real front end is off from the board file by 2 % in gain and 20 mV in offset.
    true_gain, true_offset = 1.02 / nominal.scale, -nominal.offset_volts / nominal.scale + 0.02

    def adc_volts(jack_volts):  # one 10-bit read, quantised
        code = min(max(math.floor(1024 * (jack_volts * true_gain + true_offset) / reference), 0), 1023)
        return code_to_adc_volts(code, reference)

    def mean_read(jack_volts):  # noise dithers the mean of many reads below one LSB
        return Measurement(jack_volts * true_gain + true_offset, 1e-6, 2000)

    result = calibrate("cv1", 0.0, mean_read(0.0), 1.0, mean_read(1.0), board)
    calibrated = result.conditioning()
    uncalibrated = Conditioning(nominal.scale, nominal.offset_volts)

    def pitch_at(conditioning, volts):
        jack = conditioning.jack_volts(adc_volts(volts))
        router = CvRouter(lambda: (jack, 0.0, 0.0, 0.0), Routing(cv1=CvRoute("pitch")))
        voice = PolyVoice(tiny_model, [steady(110.0, seconds=0.6)], modulation=router)
        out = render_offline(Engine(voice), 0.5, [GateEdge(0.01)])
        return measured_pitch(out[4800:21600])

    pitches = [pitch_at(calibrated, v) for v in range(5)]
    ratios = [b / a for a, b in pairwise(pitches)]
    assert all(abs(r / 2.0 - 1.0) < 0.01 for r in ratios), ratios
    before = [pitch_at(uncalibrated, v) for v in (0, 4)]
    assert abs((before[1] / before[0]) ** 0.25 / 2.0 - 1.0) > 0.01  # the error calibration removed


def commanded_response(tiny_model, route_target, volts_curve, column):
    """Play a held sound while a CV follows ``volts_curve(t)``; return (commanded, measured) per frame."""
    seconds = 2.0
    router = CvRouter(lambda: (0.0, 0.0, 0.0, 0.0), Routing(cv1=CvRoute(route_target)))
    voice = PolyVoice(tiny_model, [steady(220.0, seconds=3.0)], modulation=router)
    engine = Engine(voice)
    # the CV follows the render position (the sample the engine is rendering), as a patch would
    router.read_volts = lambda: (volts_curve(engine.fifo.write_index / SR), 0.0, 0.0, 0.0)
    out = render_offline(engine, seconds, [GateEdge(0.0)])
    measured = extract(out.astype(np.float64))[:, column]
    times = (np.arange(len(measured)) + 0.5) * 256 / SR
    commanded = np.array([volts_curve(t) for t in times])
    keep = times > 0.15
    return commanded[keep], measured[keep]


def test_accent_cv_moves_the_output_loudness_along_the_commanded_curve(tiny_model):
    commanded, measured = commanded_response(
        tiny_model, "loudness", lambda t: 2.0 * math.sin(2 * math.pi * 1.5 * t), 0)
    assert np.corrcoef(commanded, measured)[0, 1] >= 0.9


def test_pitch_cv_moves_the_output_pitch_along_the_commanded_curve(tiny_model):
    commanded, measured = commanded_response(
        tiny_model, "pitch", lambda t: 1.0 + math.sin(2 * math.pi * 1.0 * t), 3)
    assert np.corrcoef(commanded, np.log2(measured))[0, 1] >= 0.9


def test_overlapping_hits_play_together_up_to_the_voice_count_then_steal(tiny_model):
    voice = PolyVoice(tiny_model, [hit(seconds=1.0)], voices=4)
    counts = []
    for _ in range(6):
        voice.trigger(1.0)
        buffer = np.zeros(256)
        voice.render(buffer)
        counts.append(voice.active_voices)
    assert counts == [1, 2, 3, 4, 4, 4]


def frames_per_block(voice, blocks, block):
    """Render ``blocks`` blocks; the model frames each took, and the audio."""
    counts, audio = [], []
    model_render = voice.model.render_frame

    def counted(*args):
        counts[-1] += 1
        return model_render(*args)

    voice.model = type("Counted", (), {"render_frame": staticmethod(counted), "hop": voice.model.hop})()
    for _ in range(blocks):
        counts.append(0)
        out = np.zeros(block)
        voice.render(out)
        audio.append(out)
    return counts, np.concatenate(audio)


def four_hits_at_once(model):
    voice = PolyVoice(model, [steady(220.0 * (index + 1), seconds=2.0, name=f"s{index}") for index in range(4)],
                      voices=4)
    for index in range(4):
        voice.play(index)
    return voice


def test_frames_rendered_ahead_spread_over_the_blocks_and_sound_the_same(tiny_model, monkeypatch):
    block = tiny_model.hop // 4
    voice = four_hits_at_once(tiny_model)
    counts, audio = frames_per_block(voice, 200, block)
    assert counts[0] == 4  # the four first frames are due at the onset
    # The first frames play hop - PRE_ROLL samples (the lead-in is skipped): the blocks they
    # last render two of the second frames ahead, and the other two are due when they run out.
    first = (tiny_model.hop - PRE_ROLL) // block
    assert counts[1:first + 1] == [1] * (first - 1) + [4 - (first - 1)]
    assert max(counts[first + 1:]) == 1  # then one frame a block, at most
    monkeypatch.setattr(PolyVoice, "_render_ahead", lambda self: None)
    counts_due, audio_due = frames_per_block(four_hits_at_once(tiny_model), 200, block)
    assert max(counts_due[1:]) == 4  # without: all four again in every fourth block
    assert sum(counts) == sum(counts_due) + sum(slot.has_ahead for slot in voice._slots)
    np.testing.assert_array_equal(audio, audio_due)


def one_hit(model, samples: int, block: int = 64) -> np.ndarray:
    voice = PolyVoice(model, [hit(seconds=0.2)])
    voice.trigger(1.0)
    out = np.zeros(samples)
    for start in range(0, samples, block):
        voice.render(out[start:start + block])
    return out


@pytest.mark.parametrize("lead_in", [PRE_ROLL, 300])  # within the first frame, and past it
def test_a_hit_skips_the_lead_in_its_training_data_had_before_the_onset(tiny_model, monkeypatch, lead_in):
    monkeypatch.setattr(poly, "PRE_ROLL", 0)
    whole = one_hit(tiny_model, 4096)
    monkeypatch.setattr(poly, "PRE_ROLL", lead_in)
    skipped = one_hit(tiny_model, 4096 - lead_in)
    assert np.abs(whole[lead_in:]).max() > 1e-3
    np.testing.assert_array_equal(skipped, whole[lead_in:])


def test_restart_retrigger_and_choke_groups_cut_ringing_voices(tiny_model):
    sounds = [hit(name="open hat", seconds=1.0, choke_group=1), hit(name="closed hat", choke_group=1),
              hit(name="snare", seconds=1.0, retrigger="restart")]
    voice = PolyVoice(tiny_model, sounds)
    buffer = np.zeros(256)
    voice.play(0)
    voice.render(buffer)
    voice.play(1)  # chokes the open hat
    voice.render(buffer)
    assert voice.active_voices == 1
    voice.play(2)
    voice.play(2)  # restarts: the first snare fades
    voice.render(buffer)
    assert voice.active_voices == 2


def test_a_one_shot_ends_in_silence_and_a_drone_keeps_playing(tiny_model):
    voice = PolyVoice(tiny_model, [hit(seconds=0.2), steady(seconds=0.2, name="drone", mode="drone")])
    out = render_offline(Engine(voice), 1.0, [GateEdge(0.01)])
    assert np.abs(out[-4800:]).max() < 1e-4
    voice.select(1)
    voice.reset()
    out = render_offline(Engine(voice), 1.0, [GateEdge(0.01)])
    assert np.sqrt(np.mean(out[-4800:] ** 2)) > 0.01


@pytest.mark.parametrize("mode", ["second", "accent", "choke"])
def test_gate_two_plays_the_second_sound_accents_or_chokes(tiny_model, mode):
    voice = PolyVoice(tiny_model, [steady(110.0, seconds=2.0, name="a"), steady(1760.0, seconds=2.0, name="b")],
                      gate2=mode)
    engine = Engine(voice)
    edges = [GateEdge(0.01, 0)] if mode != "second" else []
    edges.append(GateEdge(0.5, 1))
    out = render_offline(engine, 1.0, edges)
    late = out[int(0.7 * SR):int(0.9 * SR)]
    if mode == "second":
        assert spectrum_centroid(late) > 1000.0
    elif mode == "accent":
        before = np.sqrt(np.mean(out[int(0.3 * SR):int(0.45 * SR)] ** 2))
        assert np.sqrt(np.mean(late ** 2)) > 1.5 * before  # two voices, the second 6 dB up
    else:
        assert np.abs(late).max() < 1e-4


def test_morph_cv_blends_towards_the_partner_sound(tiny_model):
    sounds = [steady(110.0, name="low", morph_to=1), steady(880.0, name="high")]
    morph = {"amount": 0.0}
    voice = PolyVoice(tiny_model, sounds, modulation=lambda: Modulation(morph=morph["amount"]))
    pitches = []
    for amount in (0.0, 0.5, 1.0):
        morph["amount"] = amount
        voice.reset()
        out = render_offline(Engine(voice), 0.5, [GateEdge(0.01)])
        pitches.append(measured_pitch(out[4800:21600]))
    assert pitches[0] == pytest.approx(110.0, rel=0.01)
    assert pitches[1] == pytest.approx(math.sqrt(110.0 * 880.0), rel=0.01)
    assert pitches[2] == pytest.approx(880.0, rel=0.01)


def test_model_switch_while_playing_has_no_underflow_and_no_click(tiny_model_dir, tmp_path):
    from neurorack.runtime.loader import load_model
    from neurorack.runtime.numpy_model import NumpyModel
    from tests.instrument.model_fixture import make_model

    other = NumpyModel(load_model(make_model(tmp_path / "other", "other", seed=1)))
    first = NumpyModel(load_model(tiny_model_dir))
    sound = [steady(110.0, seconds=2.0, mode="drone")]
    voice = PolyVoice(first, sound)
    engine = Engine(voice)
    switch_at = 0.8

    # render in two halves on one engine: play, switch voice mid-drone, go on
    edges = [GateEdge(0.01)]
    out_a = render_offline(engine, switch_at, edges)
    engine.switch_voice(PolyVoice(other, sound, continue_from=voice))
    out_b = render_offline_continue(engine, 0.6)
    out = np.concatenate([out_a, out_b])
    stats = engine.stats()
    assert stats["underflows"] == 0 and stats["late_renders"] == 0
    steps = np.abs(np.diff(out))
    start = int(switch_at * SR)
    around = steps[start - 480:start + 2400]
    steady_steps = steps[int(0.3 * SR):start - 960]
    assert around.max() <= steady_steps.max() + 0.01  # no step above -40 dBFS beyond the tone's own
    assert np.sqrt(np.mean(out[start + 2400:start + 12000] ** 2)) > 0.01  # still playing after the switch


def render_offline_continue(engine, seconds):
    """Go on rendering an engine that ``render_offline`` already ran (its clock continues)."""
    block = engine.block_size
    start_k = engine.timeline.count
    blocks = math.ceil(seconds * SR / block)
    out = np.zeros((blocks * block, 1), dtype=np.float32)
    for k in range(blocks):
        t = (start_k + k) * block / SR
        while engine.next_render_time() < t and engine.render_block():
            pass
        engine.pull(out[k * block:(k + 1) * block], t, t)
    return out[:, 0]
