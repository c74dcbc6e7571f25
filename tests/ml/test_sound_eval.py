"""``neurorack eval``'s figures on small synthetic sets: an ideal model passes where a
filtered-noise imitation fails, and the figures do not depend on the dataset cache."""

import json
import math

import numpy as np
import pytest

from neurorack.core.descriptors import extract
from neurorack.ml import sound_eval as se
from neurorack.ml.baselines import noise_baseline
from neurorack.ml.dataset import OneShotSet, load_cache, save_cache
from neurorack.runtime.resynth import LOUDNESS, PITCH, SoundCode
from tests.ml.test_sound_metrics import clap, drum

SR = 48000


def tone(f0, seconds=0.5, decay=0.15):
    """A plucked harmonic tone (tonal: the pitch tests use it)."""
    time = np.arange(int(seconds * SR) - 64) / SR
    body = sum(0.5 / k * np.sin(2 * np.pi * f0 * k * time) for k in range(1, 6)) * np.exp(-time / decay)
    body *= np.minimum(time / 0.001, 1.0)
    return np.concatenate([np.zeros(64), 0.5 * body])


def hat(seed, seconds=0.3):
    rng = np.random.default_rng(seed)
    time = np.arange(int(seconds * SR) - 64) / SR
    x = rng.standard_normal(len(time)) * np.exp(-time / 0.04)
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(len(x), 1 / SR) < 4000] = 0
    return np.concatenate([np.zeros(64), 0.3 * np.fft.irfft(spectrum, len(x))])


def make_set():
    sounds = {"Kit/tom_low.wav": tone(110), "Kit/tom_high.wav": tone(220, decay=0.1),
              "Kit/kick.wav": drum(pitch=60, decay_s=0.25), "Kit/snare.wav": drum(pitch=200, seed=3) + 0.3 * hat(9, 0.5),
              "Kit/clap.wav": clap(), "Kit/hat_closed.wav": hat(1, 0.15), "Kit/hat_open.wav": hat(2, 0.5),
              "Other/tom_mid.wav": tone(165, decay=0.2), "Other/clap_single.wav": clap(gaps_ms=(0.0,), seed=4),
              "Other/ride.wav": hat(3, 0.6) + 0.2 * tone(700, 0.6, 0.3)}
    names = list(sounds)
    audio = []
    for x in sounds.values():
        padded = np.zeros(-(-len(x) // 256) * 256, np.float32)
        padded[:len(x)] = x
        audio.append(padded)
    splits = ["heldout" if n.startswith("Other") else "test" for n in names]
    return OneShotSet(names, audio, [extract(a) for a in audio], splits, [], {})


def resample_by(x, volts):
    return se._ideal_transpose(np.asarray(x, dtype=np.float64), int(volts))


class StoredModel:
    """A fake model that plays back what it analysed: ``ideal`` follows the pitch and loudness
    edits exactly (resampling, gain); otherwise it plays ``noise_baseline`` of the frames."""

    name = "fake"
    has_timbre = True

    def __init__(self, ideal=True):
        self.ideal, self.sounds, self.frames = ideal, [], []

    def analyse(self, audio):
        self.sounds.append(np.asarray(audio, dtype=np.float64))
        self.frames.append(extract(audio))
        return SoundCode(self.frames[-1], np.array([len(self.sounds) - 1], np.float32))

    def render(self, code):
        if not self.ideal:
            return noise_baseline(code.frames)
        index = int(code.z[0])
        source, frames = self.sounds[index], self.frames[index]
        volts = round(np.median(np.log2(code.frames[:, PITCH] / frames[:, PITCH])))
        gain_db = float(np.median(code.frames[:, LOUDNESS] - frames[:, LOUDNESS]))
        out = resample_by(source, volts) * 10.0 ** (gain_db / 20.0)
        rendered = np.zeros(len(code.frames) * 256, np.float32)
        rendered[:min(len(out), len(rendered))] = out[:len(rendered)]
        return rendered


class PeakTracker:
    """A stand-in pitch tracker for the evaluation logic: the strongest spectral peak (tests
    of the real tracker are below)."""

    @staticmethod
    def available():
        return None

    @staticmethod
    def description():
        return "spectral peak"

    @staticmethod
    def median_pitch(audio, sr=SR):
        x = np.asarray(audio, dtype=np.float64)
        if not np.any(x):
            return math.nan
        n = 1 << 17
        power = np.abs(np.fft.rfft(x * np.hanning(len(x)), n)) ** 2
        k = int(np.argmax(power[1:])) + 1
        a, b, c = np.log(power[k - 1:k + 2] + 1e-30)
        k = k + 0.5 * (a - c) / (a - 2 * b + c)
        return 69.0 + 12.0 * np.log2(k * sr / n / 440.0)


@pytest.fixture(scope="module")
def results():
    data = make_set()
    ideal = se.evaluate_sounds(StoredModel(ideal=True), data, control_limit=3, pitch_tracker=PeakTracker())
    noise = se.evaluate_sounds(StoredModel(ideal=False), data, control_limit=3, pitch_tracker=PeakTracker())
    return data, ideal, noise


def test_both_splits_are_reported_separately_with_every_system(results):
    _, ideal, _ = results
    assert set(ideal["splits"]) == {"test", "heldout"}
    assert ideal["splits"]["test"]["sounds"] == 7 and ideal["splits"]["heldout"]["sounds"] == 3
    for split in ideal["splits"].values():
        assert set(se.SYSTEMS) <= set(split["reconstruction"])
        assert set(se.CONTROL_SYSTEMS) <= set(split["control"])
    json.dumps(ideal, allow_nan=False)  # NaN became None


def test_an_ideal_model_passes_where_the_noise_imitation_fails(results):
    _, ideal, noise = results
    test = ideal["splits"]["test"]
    model, original = test["reconstruction"]["model"], test["reconstruction"]["original"]
    for key in ("time_to_peak_error_ms_median", "log_mel_db", "low_band_error_db_median"):
        assert model[key] == pytest.approx(0.0, abs=1e-6) and original[key] == pytest.approx(0.0, abs=1e-6)
    assert model["identity_top1"] == 1.0 and model["claps_keep_bursts"] == 1.0
    assert all(test["checks"][key]["original"] for key in test["checks"] if key.startswith(("time", "log", "low",
                                                                                              "claps", "identity")))
    imitation = noise["splits"]["test"]["reconstruction"]["model"]
    vocoder = test["reconstruction"]["vocoder"]
    assert imitation["time_to_peak_within_1_5ms"] < 0.8
    assert imitation["log_mel_ratio_to_vocoder"] > 1.0 and vocoder["log_mel_ratio_to_vocoder"] == pytest.approx(1.0)
    assert not noise["splits"]["test"]["checks"]["log_mel_ratio_to_vocoder"]["model"]
    assert not noise["splits"]["test"]["checks"]["claps_keep_bursts"]["model"]


def test_control_response_separates_a_transposing_model_from_filtered_noise(results):
    _, ideal, noise = results
    control = ideal["splits"]["test"]["control"]
    assert control["sounds"]["tonal"] >= 2
    # only sounds whose ideal edit the tracker follows are scored for the model
    ideal_passed = round(control["original"]["pitch_sounds_within_10_cents"] * control["sounds"]["tonal"])
    assert control["model"]["pitch_sounds_scored"] == ideal_passed >= 2
    assert control["model"]["pitch_abs_error_cents_median"] < 2.0
    assert control["model"]["pitch_sounds_within_10_cents"] == 1.0
    assert control["model"]["loudness_abs_error_db_median"] < 0.1
    assert control["original"]["loudness_abs_error_db_median"] < 1e-6
    assert noise["splits"]["test"]["control"]["model"]["pitch_sounds_within_10_cents"] < 0.5
    brightness = noise["splits"]["test"]["control"]["model"]["brightness_spearman_median"]
    assert brightness > 0.9  # filtered noise follows the centroid it is given: that control it can pass


def test_figures_do_not_depend_on_the_dataset_cache(tmp_path, results):
    data, ideal, _ = results
    save_cache(data, tmp_path / "c.npz")
    cached = load_cache(tmp_path / "c.npz")
    again = se.evaluate_sounds(StoredModel(ideal=True), cached, control_limit=3, pitch_tracker=PeakTracker())
    for result in (ideal, again):
        result.pop("seconds", None)
    assert again == ideal


def test_limit_takes_the_same_sounds_whatever_their_order():
    names = [f"Kit/{i}.wav" for i in range(20)]
    picked = [names[i] for i in se.selection(names, 5)]
    reversed_names = names[::-1]
    assert sorted(picked) == sorted(reversed_names[i] for i in se.selection(reversed_names, 5))
    assert len(se.selection(names, None)) == 20


def test_pitch_volts_cover_five_octaves_inside_the_range():
    assert se.pitch_volts(110.0) == [-1, 0, 1, 2, 3, 4]
    assert se.pitch_volts(50.0) == [0, 1, 2, 3, 4, 5]
    assert se.pitch_volts(3000.0) == [-5, -4, -3, -2, -1, 0]
    for base in (41.0, 300.0, 3900.0):
        volts = se.pitch_volts(base)
        assert len(volts) == 6 and 0 in volts
        assert 40.0 <= base * 2.0 ** min(volts) and base * 2.0 ** max(volts) <= 4000.0


def test_table_has_targets_and_pass_fail_per_split(results):
    _, _, noise = results
    table = se.format_table(noise)
    assert "### test: 7 sounds" in table and "### heldout: 3 sounds" in table
    assert "| time-to-peak error, median (ms) | <= 1.5 |" in table
    assert "FAIL" in table and "pass" in table


def test_an_unavailable_pitch_tracker_is_reported_not_faked():
    class Missing:
        @staticmethod
        def available():
            return "pesto-pitch is not usable: ImportError: no module"

    data = make_set()
    result = se.evaluate_sounds(StoredModel(), data, splits=("heldout",), control_limit=1, pitch_tracker=Missing())
    control = result["splits"]["heldout"]["control"]
    assert "not usable" in control["model"]["pitch_unavailable"]
    assert "pitch_abs_error_cents_median" not in control["model"]
    assert result["splits"]["heldout"]["checks"]["pitch_sounds_within_10_cents"]["model"] is None
    assert "unavailable: pesto-pitch is not usable" in se.format_table(result)


def test_an_empty_split_is_said_and_no_sounds_at_all_is_an_error():
    from neurorack.errors import NeurorackError

    data = make_set()
    result = se.evaluate_sounds(StoredModel(), data, splits=("heldout", "valid"), control_limit=1,
                                pitch_tracker=None)
    assert result["splits"]["valid"] == {"sounds": 0, "note": "no sounds in this split"}
    assert "valid: no sounds" in se.format_table(result)
    with pytest.raises(NeurorackError):
        se.evaluate_sounds(StoredModel(), data, splits=("valid",), pitch_tracker=None)


def test_pesto_measures_an_octave_step_as_1200_cents():
    from neurorack.ml import pitch_tracker

    if pitch_tracker.available() is not None:
        pytest.skip(pitch_tracker.available())
    low, high = pitch_tracker.median_pitch(tone(220)), pitch_tracker.median_pitch(tone(440))
    assert 100.0 * (high - low) == pytest.approx(1200.0, abs=10.0)
    assert pitch_tracker.median_pitch(tone(220)) == pytest.approx(57.0, abs=0.2)
    assert math.isnan(pitch_tracker.median_pitch(np.zeros(SR // 2)))


class SilentModel(StoredModel):
    def render(self, code):
        return np.zeros(len(code.frames) * 256, np.float32)


def test_figures_a_silent_model_cannot_have_are_named_and_a_working_one_has_none(results):
    _, _, noise = results
    assert se.unmeasured_figures(noise) == []
    silent = se.evaluate_sounds(SilentModel(), make_set(), splits=("heldout",), control_limit=1,
                                pitch_tracker=PeakTracker())
    found = se.unmeasured_figures(silent)
    assert "heldout: time_to_peak_error_ms_median" in found and "heldout: brightness_spearman_median" in found
    assert all(silent["splits"]["heldout"][section]["model"][key.split(": ")[1]] is None
               for key in found for section in ("reconstruction", "control")
               if key.split(": ")[1] in silent["splits"]["heldout"][section]["model"])


def test_a_model_rendering_nan_is_one_clear_error():
    from neurorack.errors import NeurorackError

    class NanModel(StoredModel):
        def render(self, code):
            return np.full(len(code.frames) * 256, np.nan, np.float32)

    with pytest.raises(NeurorackError, match="fake renders NaN or Inf for Other/clap_single.wav"):
        se.evaluate_sounds(NanModel(), make_set(), splits=("heldout",), control_limit=1, pitch_tracker=None)
