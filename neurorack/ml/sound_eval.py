"""``neurorack eval``: sound metrics that a filtered-noise imitation cannot pass.

For each split (normally "test" and "heldout", reported separately) every sound is analysed
by the model (``Resynthesizer.analyse``) and rendered back, and four systems are measured
against the original with the metrics of ``neurorack.ml.sound_metrics``:

- ``model``: the model's render;
- ``noise_baseline``: descriptor-matched filtered noise from the same descriptor frames
  (``neurorack.ml.baselines.noise_baseline``);
- ``vocoder``: the original's own 32-band noise vocoder (the best shaped noise does);
- ``original``: the original against itself, a sanity row (perfect scores expected).

Reconstruction figures (per system): onset time-to-peak and 10-90 % rise-time errors (median,
share within 1.5 ms); log-mel distance over the first 500 ms, and its ratio to the vocoder's;
the error of the energy below 150 Hz over the first 30 ms (median, median absolute, share
within 3 dB); on claps and flams (names containing "clap" or "flam"), the share that keep their
burst count; timbre identity: the rank of each render's own source among the split's
originals by the ``identity_embedding`` (top-1, top-5), with gain-scaled copies of one
recording counted as one sound, and strictly (each file on its own).

Control response (model and noise baseline; z stays fixed, only the descriptor frames move,
through the module's own CV edits ``transpose``, ``brighten`` and ``louder``):

- pitch: tonal sounds (median ``pitch_confidence`` of the loud frames at least 0.8, and an
  original the tracker can follow) are transposed by whole volts over 5 octaves (inside
  40-4000 Hz); each render is resampled back down by exactly its volts and its pitch measured
  by an independent tracker (PESTO), so a correct render reads as its 0 V render and every
  reading stays where the tracker is reliable; the error is the reading's difference from the
  0 V render's, in cents. The reading always covers the same stretch of the sound: the module's
  pitch CV keeps a hit's timing (a drum tuned up does not ring shorter), so a render's first
  500 ms are read at every voltage, and of the ideal edit (the original resampled, whose
  timing scales with its pitch) the part that holds the original's first 500 ms;
- noisy sounds (confidence below 0.5, the flattest first) are transposed by -2..+2 V (where the
  centroid stays within 60 Hz - 6 kHz, so even the ideal edit has room below Nyquist) and the
  output's centroid must move by 2 ** volts;
- brightness: ``brighten`` over -1.5..+1.5 octaves (13 steps); Spearman rho between the
  request and the output's centroid (>= 0.9), and the octaves the output's centroid spans
  (>= 2: a centroid that creeps monotonically by a few cents does not pass);
- loudness: ``louder`` by -18, -12, -6, 0 (and +6 where the loudest frame leaves room) dB; the
  output's level over its first 500 ms against the original's level plus the request.

For the controls the ``original`` row is the ideal edit of the original (resampled by 2 ** volts,
or scaled), which checks the measuring chain: a sound whose ideal edit fails the pitch or the
noisy-centroid check (content pushed past Nyquist, a pitch the tracker does not hear) is not
scored for the model or the baseline either (``*_sounds_scored`` says how many were).
Brightness has no ideal edit.

The audio is rounded to 16 bits first, as the dataset cache stores it, so the figures are the
same whether or not the cache existed.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable

import numpy as np
from scipy import signal

from neurorack.errors import NeurorackError
from neurorack.ml import sound_metrics as sm
from neurorack.ml.baselines import noise_baseline
from neurorack.ml.dataset import OneShotSet, to_int16_grid
from neurorack.runtime.resynth import (
    CENTROID,
    CONFIDENCE,
    FLATNESS,
    LOUDNESS,
    PITCH,
    brighten,
    louder,
    transpose,
)

SAMPLE_RATE = 48000
SYSTEMS = ("model", "noise_baseline", "vocoder", "original")
CONTROL_SYSTEMS = ("model", "noise_baseline", "original")
IDEAL_FIRST = ("original", "model", "noise_baseline")
SPLIT_CHOICES = ("train", "valid", "test", "heldout", "all")
ALL_SPLITS = ("test", "heldout")
TOLERANCE_MS = 1.5
LOW_BAND_TOLERANCE_DB = 3.0
TONAL_CONFIDENCE = 0.8
NOISY_CONFIDENCE = 0.5
PITCH_LOW_HZ, PITCH_HIGH_HZ = 40.0, 4000.0
PITCH_OCTAVES = 5
CENTS_TOLERANCE = 10.0
CENTROID_VOLTS = (-2, -1, 0, 1, 2)
CENTROID_RANGE_HZ = (60.0, 6000.0)
CENTROID_TOLERANCE = 0.15
BRIGHTNESS_OCTAVES = tuple(np.linspace(-1.5, 1.5, 13))
BRIGHTNESS_SPAN_OCTAVES = 2.0
LOUDNESS_STEPS_DB = (-18.0, -12.0, -6.0, 0.0, 6.0)
LOUDNESS_TOLERANCE_DB = 1.5
MEASURE_SECONDS = 0.5
CLAP_NAME = re.compile(r"clap|flam", re.IGNORECASE)

# (section, key, label, target text, test on the value); the tables list these in this order
TARGETS = (
    ("reconstruction", "time_to_peak_error_ms_median", "time-to-peak error, median (ms)", "<= 1.5",
     lambda v: v <= 1.5),
    ("reconstruction", "time_to_peak_within_1_5ms", "time-to-peak within 1.5 ms", ">= 80 %", lambda v: v >= 0.8),
    ("reconstruction", "rise_error_ms_median", "10-90 % rise error, median (ms)", "", None),
    ("reconstruction", "rise_within_1_5ms", "10-90 % rise within 1.5 ms", "", None),
    ("reconstruction", "log_mel_db", "log-mel distance, first 500 ms (dB)", "", None),
    ("reconstruction", "log_mel_ratio_to_vocoder", "log-mel distance / 32-band vocoder's", "<= 0.6",
     lambda v: v <= 0.6),
    ("reconstruction", "low_band_error_db_median", "low band (<150 Hz, 30 ms) error, median (dB)", "within +-3",
     lambda v: abs(v) <= 3.0),
    ("reconstruction", "low_band_abs_error_db_median", "low band |error|, median (dB)", "", None),
    ("reconstruction", "low_band_within_3db", "low band within 3 dB", "", None),
    ("reconstruction", "claps_keep_bursts", "claps/flams keeping their burst count", ">= 80 %",
     lambda v: v >= 0.8),
    ("reconstruction", "identity_top1", "identity top-1 (gain copies as one)", ">= 0.8", lambda v: v >= 0.8),
    ("reconstruction", "identity_top5", "identity top-5 (gain copies as one)", "", None),
    ("reconstruction", "identity_top1_strict", "identity top-1, strict", "", None),
    ("reconstruction", "identity_top5_strict", "identity top-5, strict", "", None),
    ("control", "pitch_sounds_within_10_cents", "1 V/oct: tonal sounds within 10 cents over 5 octaves", ">= 80 %",
     lambda v: v >= 0.8),
    ("control", "pitch_abs_error_cents_median", "1 V/oct: |error|, median (cents)", "<= 10", lambda v: v <= 10.0),
    ("control", "noisy_sounds_within_15_percent", "noisy sounds: centroid ratio within 15 %", ">= 80 %",
     lambda v: v >= 0.8),
    ("control", "noisy_ratio_abs_error_median", "noisy sounds: centroid ratio |error|, median", "<= 0.15",
     lambda v: v <= 0.15),
    ("control", "brightness_spearman_median", "brightness: Spearman rho, median", ">= 0.9", lambda v: v >= 0.9),
    ("control", "brightness_span_octaves_median", "brightness: octaves of centroid moved, median", ">= 2",
     lambda v: v >= BRIGHTNESS_SPAN_OCTAVES),
    ("control", "loudness_abs_error_db_median", "loudness: |measured - requested|, median (dB)", "<= 1.5",
     lambda v: v <= 1.5),
    ("control", "loudness_step_abs_error_db_median", "loudness steps: |change - request|, median (dB)", "", None),
)


def canonical_audio(audio: np.ndarray) -> np.ndarray:
    """The audio exactly as the dataset cache gives it back (``to_int16_grid``), as float64.
    Sets built by this version are on that grid already; older ones and in-memory sets are
    put on it, so a figure never depends on whether the cache existed."""
    return to_int16_grid(np.asarray(audio, dtype=np.float32)).astype(np.float64)


def selection(names: list[str], limit: int | None) -> list[int]:
    """Which sounds to evaluate: all, or ``limit`` of them chosen by a hash of their names
    (stable whatever order or subset the set comes in), in name order."""
    order = sorted(range(len(names)), key=lambda i: hashlib.sha256(names[i].encode("utf-8")).hexdigest())
    chosen = order if limit is None else order[:max(limit, 0)]
    return sorted(chosen, key=lambda i: names[i])


def _fit(render: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length, dtype=np.float64)
    render = np.asarray(render, dtype=np.float64)[:length]
    out[:len(render)] = render
    return out


def _median(values) -> float:
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    return float(np.median(values)) if len(values) else math.nan


def _share(flags) -> float:
    flags = list(flags)
    return float(np.mean(flags)) if flags else math.nan


def _loud_median(frames: np.ndarray, column: int) -> float:
    loud = frames[frames[:, LOUDNESS] >= frames[:, LOUDNESS].max() - 20.0]
    return float(np.median(loud[:, column]))


def reconstruction(originals: list[np.ndarray], renders: dict[str, list[np.ndarray]], names: list[str],
                   sr: int = SAMPLE_RATE) -> dict:
    """The reconstruction figures of each system: ``{system: {figure: value}}`` plus
    ``{"sounds", "claps", "identity_gallery", "identity_groups"}``.

    ``renders[system][i]`` imitates ``originals[i]`` (same length, aligned at the start).
    """
    attacks = [sm.attack(x, sr) for x in originals]
    bursts = [sm.burst_count(x, sr) for x in originals]
    claps = [i for i, name in enumerate(names) if CLAP_NAME.search(name)]
    embeddings = np.stack([sm.identity_embedding(x, sr) for x in originals])
    groups = sm.gain_copy_groups(originals, sr)
    vocoder_distances = [sm.log_mel_distance(x, r, sr) for x, r in zip(originals, renders["vocoder"], strict=True)]
    out: dict = {"sounds": len(originals), "claps": len(claps), "identity_gallery": len(originals),
                 "identity_groups": len(set(groups.tolist()))}
    for system, rendered in renders.items():
        ttp_err, rise_err, low_err, distances = [], [], [], []
        for x, r, a in zip(originals, rendered, attacks, strict=True):
            b = sm.attack(r, sr)
            ttp_err.append(abs(b["time_to_peak_s"] - a["time_to_peak_s"]) * 1e3)
            rise_err.append(abs(b["rise_s"] - a["rise_s"]) * 1e3)
            low_err.append(sm.low_band_error_db(x, r, sr, a["onset_s"] if np.isfinite(a["onset_s"]) else 0.0))
            distances.append(sm.log_mel_distance(x, r, sr))
        rendered_embeddings = np.stack([sm.identity_embedding(r, sr) for r in rendered])
        distance_matrix = sm.pairwise_distances(rendered_embeddings, embeddings)
        grouped, strict = sm.identity_ranks(distance_matrix, groups), sm.identity_ranks(distance_matrix)
        vocoder_mean = float(np.mean(vocoder_distances))
        out[system] = {
            "time_to_peak_error_ms_median": _median(ttp_err),
            # a NaN (silent render) counts as outside the tolerance
            "time_to_peak_within_1_5ms": _share(bool(e <= TOLERANCE_MS) for e in ttp_err),
            "rise_error_ms_median": _median(rise_err),
            "rise_within_1_5ms": _share(bool(e <= TOLERANCE_MS) for e in rise_err),
            "log_mel_db": float(np.mean(distances)),
            "log_mel_ratio_to_vocoder": float(np.mean(distances)) / vocoder_mean if vocoder_mean > 0 else math.nan,
            "log_mel_ratio_to_vocoder_per_sound_median": _median(
                d / v for d, v in zip(distances, vocoder_distances, strict=True) if v > 0),
            "low_band_error_db_median": _median(low_err),
            "low_band_abs_error_db_median": _median(np.abs(low_err)),
            "low_band_within_3db": _share(bool(abs(e) <= LOW_BAND_TOLERANCE_DB) for e in low_err),
            "claps_keep_bursts": _share(sm.burst_count(rendered[i], sr) == bursts[i] for i in claps),
            "identity_top1": sm.top_k(grouped, 1),
            "identity_top5": sm.top_k(grouped, 5),
            "identity_top1_strict": sm.top_k(strict, 1),
            "identity_top5_strict": sm.top_k(strict, 5),
        }
        if system == "model":
            out[system]["per_sound"] = [
                {"name": name, "time_to_peak_error_ms": t, "rise_error_ms": r, "log_mel_db": d,
                 "low_band_error_db": e, "identity_rank": int(g), "identity_rank_strict": int(k)}
                for name, t, r, d, e, g, k in zip(names, ttp_err, rise_err, distances, low_err, grouped, strict,
                                                  strict=True)]
    out["original_time_to_peak_ms_median"] = _median(a["time_to_peak_s"] * 1e3 for a in attacks)
    out["clap_burst_counts"] = {names[i]: bursts[i] for i in claps}
    return out


# ---------------------------------------------------------------- controls

def _ideal_transpose(x: np.ndarray, volts: int) -> np.ndarray:
    """The original played ``volts`` octaves up (down if negative): resampled by 2 ** volts."""
    factor = 2 ** abs(int(volts))
    if volts >= 0:
        return signal.resample_poly(x, 1, factor)
    return signal.resample_poly(x, factor, 1)


def _back_to_base(audio: np.ndarray, volts: int, length: int, timing_follows_pitch: bool) -> np.ndarray:
    """A render made ``volts`` octaves up, resampled ``volts`` octaves back down (exactly): a
    correct render then reads as its 0 V render, and every reading falls in the range the
    tracker follows (PESTO's model reads about 80 Hz to 1.3 kHz). What is read is the stretch
    that holds the sound's first ``length`` samples: ``audio[:length]`` of a render that keeps
    its timing, the first ``length / 2 ** volts`` of one whose timing follows its pitch."""
    audio = np.asarray(audio, dtype=np.float64)
    keep = max(round(length * 2.0 ** -volts), 1) if timing_follows_pitch else length
    return _ideal_transpose(audio[:keep], -volts)


def pitch_volts(base_hz: float, octaves: int = PITCH_OCTAVES) -> list[int]:
    """``octaves + 1`` consecutive whole volts, as centred on 0 as the 40-4000 Hz range allows
    for a sound at ``base_hz`` (fewer if the range cannot hold them)."""
    low = math.ceil(math.log2(PITCH_LOW_HZ / base_hz) - 1e-9)
    high = math.floor(math.log2(PITCH_HIGH_HZ / base_hz) + 1e-9)
    if high - low < octaves:
        return list(range(low, high + 1))
    start = min(max(-(octaves // 2), low), high - octaves)
    return list(range(start, start + octaves + 1))


def control_sounds(codes: list, limit: int) -> dict[str, list[int]]:
    """Which sounds each control test uses: tonal candidates (most confident first, twice
    ``limit``: the pitch test keeps those the tracker can follow), noisy (flattest first) and
    general (the first ``limit``)."""
    confidence = [_loud_median(c.frames, CONFIDENCE) for c in codes]
    flatness = [_loud_median(c.frames, FLATNESS) for c in codes]
    tonal = sorted((i for i, v in enumerate(confidence) if v >= TONAL_CONFIDENCE), key=lambda i: -confidence[i])
    noisy = sorted((i for i, v in enumerate(confidence) if v < NOISY_CONFIDENCE), key=lambda i: -flatness[i])
    return {"tonal_candidates": tonal[:2 * limit], "noisy": noisy[:limit],
            "general": list(range(min(limit, len(codes))))}


def _level_db(x: np.ndarray, sr: int) -> float:
    x = np.asarray(x, dtype=np.float64)[:int(MEASURE_SECONDS * sr)]
    return 10.0 * math.log10(max(float(np.mean(x ** 2)) if len(x) else 0.0, 1e-20))


def control_response(resynth, originals: list[np.ndarray], codes: list, limit: int = 8,
                     sr: int = SAMPLE_RATE, pitch_tracker=None, names: list[str] | None = None) -> dict:
    """Control figures per system (``CONTROL_SYSTEMS``), with each sound's z fixed.

    ``pitch_tracker`` is ``neurorack.ml.pitch_tracker`` (or anything with ``available()`` and
    ``median_pitch(audio, sr)``); when it is unavailable the pitch figures say why.
    """
    chosen = control_sounds(codes, limit)
    cut = int(MEASURE_SECONDS * sr)

    def render(system: str, code, index: int) -> np.ndarray:
        if system == "model":
            return np.asarray(resynth.render(code), dtype=np.float64)[:cut]
        return np.asarray(noise_baseline(code.frames), dtype=np.float64)[:cut]

    out: dict = {"sounds": {k: len(v) for k, v in chosen.items() if k != "tonal_candidates"}}
    rows = {system: {} for system in CONTROL_SYSTEMS}

    # pitch: 1 V per octave on tonal sounds, by an independent tracker
    unavailable = "no pitch tracker" if pitch_tracker is None else pitch_tracker.available()
    out["pitch_tracker"] = unavailable or pitch_tracker.description()
    tonal = []
    if not unavailable:  # only sounds whose original the tracker itself can follow
        tonal = [i for i in chosen["tonal_candidates"]
                 if np.isfinite(pitch_tracker.median_pitch(originals[i][:cut], sr))][:limit]
    out["sounds"]["tonal"] = len(tonal)
    # the ideal edit goes first: a sound whose ideal edit the tracker cannot follow (content pushed
    # past Nyquist, a pitch the tracker does not hear) is not scored for the others either
    scorable = set(tonal)
    for system in IDEAL_FIRST:
        if unavailable:
            rows[system]["pitch_unavailable"] = unavailable
            continue
        sound_errors, all_errors, spans, unmeasured, detail = [], [], [], 0, {}
        for i in (tonal if system == "original" else [i for i in tonal if i in scorable]):
            volts = pitch_volts(_loud_median(codes[i].frames, PITCH))
            measured = {}
            for v in volts:
                if system == "original":
                    audio = _ideal_transpose(originals[i], v)
                elif system == "model":
                    audio = np.asarray(resynth.render(transpose(codes[i], v)), dtype=np.float64)
                else:
                    audio = np.asarray(noise_baseline(transpose(codes[i], v).frames), dtype=np.float64)
                measured[v] = pitch_tracker.median_pitch(_back_to_base(audio, v, cut, system == "original"), sr)
            errors = [100.0 * (measured[v] - measured[0]) for v in volts if v != 0]
            detail[names[i] if names else str(i)] = {f"{v:+d} V": e for v, e in zip(
                [v for v in volts if v != 0], errors, strict=True)}
            unmeasured += sum(1 for e in errors if not np.isfinite(e))
            sound_errors.append(bool(errors) and all(np.isfinite(e) and abs(e) <= CENTS_TOLERANCE for e in errors)
                                and len(volts) == PITCH_OCTAVES + 1)
            if system == "original" and not sound_errors[-1]:
                scorable.discard(i)
            all_errors.extend(abs(e) if np.isfinite(e) else math.inf for e in errors)
            spans.append(len(volts) - 1)
        rows[system]["pitch_sounds_within_10_cents"] = _share(sound_errors)
        rows[system]["pitch_abs_error_cents_median"] = float(np.median(all_errors)) if all_errors else math.nan
        rows[system]["pitch_unmeasured_steps"] = unmeasured
        rows[system]["pitch_octaves"] = _median(spans)
        rows[system]["pitch_sounds_scored"] = len(spans)
        rows[system]["pitch_cents_error_per_sound"] = detail

    # noisy sounds: the centroid moves by the same ratio as the pitch CV
    scorable = set(chosen["noisy"])
    for system in IDEAL_FIRST:
        within, ratio_errors = [], []
        for i in (chosen["noisy"] if system == "original" else [i for i in chosen["noisy"] if i in scorable]):
            base = _loud_median(codes[i].frames, CENTROID)
            volts = [v for v in CENTROID_VOLTS
                     if CENTROID_RANGE_HZ[0] <= base * 2.0 ** v <= CENTROID_RANGE_HZ[1]]
            if 0 not in volts or len(volts) < 2:
                continue
            centroid = {}
            for v in volts:
                audio = (_ideal_transpose(originals[i], v)[:cut] if system == "original"
                         else render(system, transpose(codes[i], v), i))
                centroid[v] = sm.spectral_centroid(audio, sr)
            errors = [centroid[v] / centroid[0] / 2.0 ** v - 1.0 for v in volts if v != 0]
            errors = [abs(e) if np.isfinite(e) else math.inf for e in errors]
            within.append(all(e <= CENTROID_TOLERANCE for e in errors))
            ratio_errors.extend(errors)
            if system == "original" and not within[-1]:
                scorable.discard(i)
        rows[system]["noisy_sounds_within_15_percent"] = _share(within)
        rows[system]["noisy_sounds_scored"] = len(within)
        rows[system]["noisy_ratio_abs_error_median"] = float(np.median(ratio_errors)) if ratio_errors else math.nan

    # brightness sweep and loudness steps
    for system in CONTROL_SYSTEMS:
        rhos, spans, absolute, steps = [], [], [], []
        for i in chosen["general"]:
            if system != "original":
                measured = [sm.spectral_centroid(render(system, brighten(codes[i], o), i), sr)
                            for o in BRIGHTNESS_OCTAVES]
                rhos.append(sm.spearman(np.array(BRIGHTNESS_OCTAVES), np.array(measured)))
                finite = [m for m in measured if np.isfinite(m) and m > 0]
                spans.append(math.log2(max(finite) / min(finite)) if finite else math.nan)
            reference = _level_db(originals[i], sr)
            headroom = -float(codes[i].frames[:, LOUDNESS].max())
            levels = {}
            for db in LOUDNESS_STEPS_DB:
                if db > headroom:
                    continue
                audio = (originals[i] * 10.0 ** (db / 20.0) if system == "original"
                         else render(system, louder(codes[i], db), i))
                levels[db] = _level_db(audio, sr)
                absolute.append(abs(levels[db] - (reference + db)))
            steps.extend(abs(levels[db] - levels[0.0] - db) for db in levels if db != 0.0)
        rows[system]["brightness_spearman_median"] = _median(rhos) if rhos else math.nan
        rows[system]["brightness_span_octaves_median"] = _median(spans) if spans else math.nan
        rows[system]["loudness_abs_error_db_median"] = _median(absolute)
        rows[system]["loudness_step_abs_error_db_median"] = _median(steps)
    out.update(rows)
    return out


# ---------------------------------------------------------------- the whole evaluation

def evaluate_split(resynth, data: OneShotSet, limit: int | None = None, control_limit: int = 8,
                   pitch_tracker=None, progress: Callable[[float], None] | None = None) -> dict:
    """Every figure on one split's sounds (see the module's docstring)."""
    chosen = selection(data.names, limit)
    names = [data.names[i] for i in chosen]
    if not chosen:
        return {"sounds": 0, "note": "no sounds in this split"}
    originals, codes = [], []
    renders: dict[str, list[np.ndarray]] = {system: [] for system in SYSTEMS}
    for done, index in enumerate(chosen):
        x = canonical_audio(data.audio[index])
        code = resynth.analyse(x)
        originals.append(x)
        codes.append(code)
        renders["model"].append(_fit(resynth.render(code), len(x)))
        if not np.all(np.isfinite(renders["model"][-1])):
            raise NeurorackError(f"{resynth.name} renders NaN or Inf for {names[done]}: its figures cannot be "
                                 "measured")
        renders["noise_baseline"].append(_fit(noise_baseline(code.frames), len(x)))
        renders["vocoder"].append(_fit(sm.noise_vocoder(x, SAMPLE_RATE, 32), len(x)))
        renders["original"].append(x)
        if progress is not None:
            progress(0.5 * (done + 1) / len(chosen))
    result = {"sounds": len(chosen), "names": names,
              "reconstruction": reconstruction(originals, renders, names)}
    if progress is not None:
        progress(0.6)
    result["control"] = control_response(resynth, originals, codes, control_limit, pitch_tracker=pitch_tracker,
                                         names=names)
    if progress is not None:
        progress(1.0)
    return result


def evaluate_sounds(resynth, data: OneShotSet, splits=ALL_SPLITS, limit: int | None = None,
                    control_limit: int = 8, pitch_tracker="pesto",
                    progress: Callable[[float], None] | None = None) -> dict:
    """Evaluate a model (a ``Resynthesizer``) on each of ``splits`` of ``data``.

    Args:
        limit: at most this many sounds per split (None: the whole split).
        control_limit: at most this many sounds per control test.
        pitch_tracker: "pesto" (``neurorack.ml.pitch_tracker``), None, or an object with
            ``available()``, ``description()`` and ``median_pitch(audio, sr)``.

    Returns:
        JSON-ready: ``{"model", "has_timbre", "splits": {split: evaluate_split(...)},
        "targets", "seconds"}``; NaN figures are None.
    """
    if pitch_tracker == "pesto":
        from neurorack.ml import pitch_tracker as pesto_tracker

        pitch_tracker = pesto_tracker
    started = time.perf_counter()
    subsets = {split: data.subset(split) for split in splits}
    if not any(len(s) for s in subsets.values()):
        raise NeurorackError(f"no sounds to evaluate in split {', '.join(splits)}")
    result: dict = {"model": resynth.name, "has_timbre": bool(resynth.has_timbre), "splits": {}}
    for number, (split, subset) in enumerate(subsets.items()):
        def part(fraction: float, number=number) -> None:
            if progress is not None:
                progress((number + fraction) / len(subsets))

        result["splits"][split] = evaluate_split(resynth, subset, limit, control_limit, pitch_tracker, part)
    result["targets"] = {key: target for _, key, _, target, test in TARGETS if test is not None}
    for split in result["splits"].values():
        if split.get("sounds"):
            split["checks"] = checks(split)
    result["seconds"] = time.perf_counter() - started
    return _json_ready(result)


def checks(split: dict) -> dict:
    """``{key: {system: pass or None}}`` for every figure with a target (None: not measured)."""
    out: dict = {}
    for section, key, _, _, test in TARGETS:
        if test is None:
            continue
        rows = split[section]
        out[key] = {}
        for system in SYSTEMS:
            value = rows.get(system, {}).get(key)
            ok = value is not None and isinstance(value, float) and np.isfinite(value)
            out[key][system] = bool(test(value)) if ok else None
    return out


def unmeasured_figures(result: dict) -> list[str]:
    """The model's figures with a row in the tables that came out NaN (None in ``result``) where
    the noise baseline, measured on the same sounds the same way, has a number: a silent model,
    or one that renders NaN. As ``"split: key"``."""
    found = []
    for split, figures in result["splits"].items():
        if not figures.get("sounds"):
            continue
        for section, key, _, _, _ in TARGETS:
            rows = figures[section]
            baseline = rows.get("noise_baseline", {}).get(key)
            if key in rows.get("model", {}) and rows["model"][key] is None and isinstance(baseline, float):
                found.append(f"{split}: {key}")
    return found


def _json_ready(value):
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# ---------------------------------------------------------------- tables

def _cell(value, check) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    if check is None:
        return text
    return f"{text} {'pass' if check else 'FAIL'}"


def format_comparison(before: dict, after: dict) -> str:
    """Markdown: one table per split with two models side by side (``before``, ``after``), the
    target and the references (noise baseline, vocoder, original) of ``after``'s run."""
    lines = [f"**{before['model']}** (before) against **{after['model']}** (after)"]
    for split, figures in after["splits"].items():
        old = before["splits"].get(split, {})
        lines.append("")
        if not figures.get("sounds") or not old.get("sounds"):
            lines.append(f"### {split}: no sounds in this split")
            continue
        lines.append(f"### {split}: {figures['sounds']} sounds")
        lines.append("")
        lines.append(f"| figure | target | {before['model']} | {after['model']} | noise baseline | 32-band vocoder "
                     "| original |")
        lines.append("|---|---|---|---|---|---|---|")
        for section, key, label, target, _ in TARGETS:
            cells = []
            for run, system in ((old, "model"), (figures, "model"), (figures, "noise_baseline"),
                                (figures, "vocoder"), (figures, "original")):
                rows = run[section]
                value = rows.get(system, {}).get(key)
                cells.append("" if value is None or isinstance(value, str)
                             else _cell(value, run.get("checks", {}).get(key, {}).get(system)))
            lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_table(result: dict) -> str:
    """Markdown: one table per split (figures by system, the target, pass/fail per cell)."""
    lines = [f"Model **{result['model']}** (timbre code: {'yes' if result['has_timbre'] else 'no'})"]
    for split, figures in result["splits"].items():
        lines.append("")
        if not figures.get("sounds"):
            lines.append(f"### {split}: no sounds in this split")
            continue
        rec, con = figures["reconstruction"], figures["control"]
        lines.append(f"### {split}: {figures['sounds']} sounds ({rec['claps']} claps/flams; identity among "
                     f"{rec['identity_gallery']} originals, {rec['identity_groups']} after merging gain copies)")
        lines.append("")
        lines.append("| figure | target | model | noise baseline | 32-band vocoder | original |")
        lines.append("|---|---|---|---|---|---|")
        checked = figures.get("checks", {})
        for section, key, label, target, _ in TARGETS:
            rows = rec if section == "reconstruction" else con
            if section == "control" and key.startswith("pitch") and rows.get("model", {}).get("pitch_unavailable"):
                if key == "pitch_sounds_within_10_cents":
                    lines.append(f"| 1 V/oct | {target} | unavailable: {rows['model']['pitch_unavailable']} | | | |")
                continue
            cells = []
            for system in SYSTEMS:
                if system not in rows or key not in rows[system]:
                    cells.append("")
                    continue
                cells.append(_cell(rows[system][key], checked.get(key, {}).get(system)))
            lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")
        sounds = con["sounds"]
        lines.append("")
        scored = con.get("model", {})
        lines.append(f"Controls with z fixed: {sounds['tonal']} tonal sounds (pitch: {con['pitch_tracker']}; "
                     f"{scored.get('pitch_sounds_scored', 0)} scored, where the ideal edit passes), "
                     f"{sounds['noisy']} noisy ({scored.get('noisy_sounds_scored', 0)} scored), {sounds['general']} "
                     "for brightness and loudness; the original column is the ideal edit (resampled or scaled). "
                     f"Median time to peak of the originals: {_cell(rec['original_time_to_peak_ms_median'], None)} ms.")
    return "\n".join(lines)
