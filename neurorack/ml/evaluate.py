"""``neurorack eval``: how well a model reconstructs held-out one-shots, how well it follows
each descriptor, and the same figures for a baseline so every number has a reference.

- **Spectral distance**: each held-out sound is rendered from its own descriptors and compared
  with the original (``multiscale_spectral_distance``, mean over sounds).
- **Control accuracy**: for each descriptor, on held-out sounds, a held version of the sound's
  loud part (median descriptors) is driven with a sweep and then a staircase of steps across
  the descriptor's drive range; the same extractor measures the output; we report Pearson r
  and the L1 error normalised by the drive range (both in the descriptor's scale: log for Hz
  and flatness), over audible frames. Frames whose analysis window straddles a step (half a
  window, 4 frames, either side) are not scored: no extractor can resolve them. Pitch is
  driven on pitched held-out sounds (median pitch_confidence of the loud part at least
  ``PITCHED_CONFIDENCE``; all sounds when there are none) with pitch_confidence held at 0.9;
  the same drive on all the control sounds is reported too (``pitch_hz_all_sounds``).
- **Baseline**: descriptor-matched filtered noise: the synthesiser's noise bands with a bump of
  band energy at the centroid (wider when flatter) at the requested loudness, no pitch.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from neurorack.ml.dataset import OneShotSet
from neurorack.ml.descriptors import (
    DESCRIPTOR_NAMES,
    DESCRIPTOR_RANGES,
    HOP,
    SAMPLE_RATE,
    extract,
)
from neurorack.ml.synth_tables import band_edges_hz, noise_bands

DRIVE_RANGES = {  # (low, high) requested in each control test
    "loudness_db": (-50.0, -10.0),
    "centroid_hz": (300.0, 8000.0),
    "flatness": (0.001, 0.5),
    "pitch_hz": (60.0, 1000.0),
    "pitch_confidence": (0.1, 1.0),
}
DRIVE_FRAMES = 188  # 1 s: half sweep, half four steps
WARM_UP_FRAMES = 4
PITCHED_CONFIDENCE = 0.8
STEP_GUARD_FRAMES = 4  # half the extractor's 2048-sample window, in 256-sample frames
AUDIBLE_DB = -50.0
HELD_LOUDNESS_DB = -18.0
TARGETS = {"loudness_db": 0.9, "centroid_hz": 0.9, "pitch_hz": 0.9, "flatness": 0.8, "pitch_confidence": 0.8}


def drive_curve(name: str, frames: int = DRIVE_FRAMES) -> np.ndarray:
    """The requested values of one descriptor: a sweep up over the first half, then 4 steps."""
    low, high = DRIVE_RANGES[name]
    scale = _scale(name)
    lo, hi = scale(low), scale(high)
    half = frames // 2
    sweep = np.linspace(lo, hi, half)
    steps = np.repeat(np.array([0.75, 0.25, 1.0, 0.0]) * (hi - lo) + lo, -(-(frames - half) // 4))[:frames - half]
    values = np.concatenate([sweep, steps])
    return np.exp(values) if _is_log(name) else values


def _is_log(name: str) -> bool:
    return next(r.log for r in DESCRIPTOR_RANGES if r.name == name)


def _scale(name: str):
    if _is_log(name):
        return lambda v: np.log(np.maximum(v, 1e-12))
    return lambda v: np.asarray(v, dtype=np.float64)


def held_descriptors(descriptors: np.ndarray, frames: int = DRIVE_FRAMES) -> np.ndarray:
    """The median descriptors of a sound's loud part (within 20 dB of its peak), held: [frames, 5]."""
    loud = descriptors[descriptors[:, 0] >= descriptors[:, 0].max() - 20.0]
    held = np.median(loud, axis=0)
    held[0] = HELD_LOUDNESS_DB
    return np.repeat(held[None].astype(np.float32), frames, axis=0)


def noise_baseline(descriptors: np.ndarray, n_bands: int = 32, table_size: int = 65536) -> np.ndarray:
    """Descriptor-matched filtered noise: [T, 5] -> [T * hop] float32.

    Per frame, band amplitudes form a Gaussian bump on a log-frequency axis centred at the
    centroid, with a width of 0.5 + 4 * flatness (in natural-log units of frequency), scaled so
    the RMS follows the loudness; amplitudes ramp across each frame like the model's.
    """
    table = noise_bands(n_bands, table_size, SAMPLE_RATE, 1)
    edges = band_edges_hz(n_bands, SAMPLE_RATE)
    centres = np.log(np.sqrt(edges[:-1] * edges[1:]))
    width = 0.5 + 4.0 * np.clip(descriptors[:, 2:3], 0.0, 1.0)
    bump = np.exp(-0.5 * ((centres[None] - np.log(descriptors[:, 1:2])) / width) ** 2)
    bump /= np.sqrt((bump ** 2).sum(axis=1, keepdims=True))
    amps = bump * 10.0 ** (np.clip(descriptors[:, 0:1], -90.0, 0.0) / 20.0)
    previous = np.concatenate([np.zeros((1, n_bands)), amps[:-1]])
    ramp = np.arange(1, HOP + 1) / HOP
    out = np.empty(len(descriptors) * HOP, dtype=np.float32)
    for t in range(len(descriptors)):
        index = np.arange(t * HOP, (t + 1) * HOP) % table_size
        frame_amps = previous[t] + (amps[t] - previous[t]) * ramp[:, None]
        out[t * HOP:(t + 1) * HOP] = (table[index] * frame_amps).sum(axis=1)
    return out


def control_scores(requested: np.ndarray, audio: np.ndarray, name: str) -> dict:
    """Pearson r and range-normalised L1 between a requested descriptor curve and the output's."""
    column = DESCRIPTOR_NAMES.index(name)
    measured_all = extract(audio)[:len(requested)]
    audible = measured_all[:, 0] > AUDIBLE_DB
    audible[:WARM_UP_FRAMES] = False
    scale = _scale(name)
    low, high = (scale(v) for v in DRIVE_RANGES[name])
    steps = np.flatnonzero(np.abs(np.diff(scale(requested))) > 0.05 * (high - low)) + 1
    for edge in steps:
        audible[max(edge - STEP_GUARD_FRAMES, 0):edge + STEP_GUARD_FRAMES + 1] = False
    wanted, got = scale(requested[audible]), scale(measured_all[audible, column])
    if audible.sum() < 8 or np.std(got) < 1e-9:
        r = 0.0
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = float(np.corrcoef(wanted, got)[0, 1])
        r = r if math.isfinite(r) else 0.0
    return {"pearson_r": r, "normalised_l1": float(np.mean(np.abs(wanted - got)) / (high - low)),
            "audible_frames": int(audible.sum())}


def evaluate_model(model_dir: str | Path, data: OneShotSet, limit: int = 60, control_sounds: int = 8,
                   progress=None) -> dict:
    """Evaluate an exported model on ``data`` (normally the test split).

    Returns:
        JSON-ready figures: spectral distances (model, baseline), control scores per descriptor
        (model, baseline; mean over ``control_sounds`` sounds), and the targets.
    """
    import torch

    from neurorack.ml.losses import multiscale_spectral_distance
    from neurorack.ml.model import DescriptorModel
    from neurorack.runtime.loader import load_model

    started = time.perf_counter()
    loaded = load_model(model_dir)
    model = DescriptorModel(loaded.config)
    model.load_state_dict({key: torch.from_numpy(value) for key, value in loaded.weights.items()})
    model.eval()
    if len(data) == 0:
        from neurorack.errors import NeurorackError

        raise NeurorackError("no sounds to evaluate in this split")
    count = min(limit, len(data))
    order = np.random.default_rng(0).permutation(len(data))[:count]

    def render(descriptors: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(descriptors, dtype=np.float32))[None])[0][0].numpy()

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        length = max(len(a), 4096)
        pa, pb = np.zeros(length, np.float32), np.zeros(length, np.float32)
        pa[:len(a)], pb[:len(b)] = a, b
        with torch.no_grad():
            return float(multiscale_spectral_distance(torch.from_numpy(pa)[None], torch.from_numpy(pb)[None]))

    model_distances, baseline_distances = [], []
    total_steps = count + control_sounds
    for done, index in enumerate(order):
        descriptors, audio = data.descriptors[index], data.audio[index]
        model_distances.append(distance(render(descriptors), audio))
        baseline_distances.append(distance(noise_baseline(descriptors), audio))
        if progress is not None:
            progress((done + 1) / total_steps)
    control: dict[str, dict] = {}
    chosen = order[:min(control_sounds, count)]
    pitched = [i for i in order if held_descriptors(data.descriptors[i])[0, 4] >= PITCHED_CONFIDENCE][:len(chosen)]
    for key in (*DESCRIPTOR_NAMES, "pitch_hz_all_sounds"):
        name = "pitch_hz" if key == "pitch_hz_all_sounds" else key
        rows: dict[str, list] = {"model": [], "baseline": []}
        column = DESCRIPTOR_NAMES.index(name)
        for index in (pitched or chosen) if key == "pitch_hz" else chosen:
            driven = held_descriptors(data.descriptors[index])
            if name == "pitch_hz":
                driven[:, 4] = 0.9
            requested = drive_curve(name)
            driven[:, column] = requested
            rows["model"].append(control_scores(requested, render(driven), name))
            rows["baseline"].append(control_scores(requested, noise_baseline(driven), name))
        control[key] = {which: {figure: float(np.mean([row[figure] for row in values]))
                                for figure in ("pearson_r", "normalised_l1")} for which, values in rows.items()}
        control[key]["target_r"] = TARGETS[name]
    if progress is not None:
        progress(1.0)
    model_mean, baseline_mean = float(np.mean(model_distances)), float(np.mean(baseline_distances))
    return {
        "model": loaded.name,
        "parameters": loaded.parameters,
        "sounds": count,
        "control_sounds": len(chosen),
        "pitched_control_sounds": len(pitched),
        "spectral_distance": {"model": model_mean, "baseline": baseline_mean,
                              "ratio_to_baseline": model_mean / baseline_mean if baseline_mean else math.nan},
        "control": control,
        "drive_ranges": {k: list(v) for k, v in DRIVE_RANGES.items()},
        "seconds": time.perf_counter() - started,
    }


def write_evaluation(model_dir: str | Path, result: dict, command: str) -> None:
    """Save ``evaluation.json`` in the model folder and copy the headline figures into its card."""
    from neurorack.atomic import atomic_write_text
    from neurorack.ml.export import read_card, write_card

    model_dir = Path(model_dir)
    atomic_write_text(model_dir / "evaluation.json", json.dumps({**result, "command": command}, indent=2) + "\n")
    card = read_card(model_dir)
    card["metrics"] = {
        "command": command,
        "sounds": result["sounds"],
        "spectral_distance": round(result["spectral_distance"]["model"], 4),
        "baseline_spectral_distance": round(result["spectral_distance"]["baseline"], 4),
        "control_pearson_r": {k: round(v["model"]["pearson_r"], 3) for k, v in result["control"].items()},
        "baseline_control_pearson_r": {k: round(v["baseline"]["pearson_r"], 3) for k, v in result["control"].items()},
        "control_normalised_l1": {k: round(v["model"]["normalised_l1"], 3) for k, v in result["control"].items()},
    }
    write_card(model_dir, card)
