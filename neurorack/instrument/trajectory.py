"""Descriptor trajectories: what a sound asks the model for, frame by frame.

A trajectory is ``[frames, 5]`` raw descriptors (``neurorack.core.descriptors.DESCRIPTOR_NAMES``
order and units) at the model's hop. It comes from a reference one-shot, measured with the
same extractor the model was trained on, or from breakpoint curves written in a sound bank.
Templates are stored as CSV text: one header line with the descriptor names, one line per frame.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurorack.atomic import atomic_write_text
from neurorack.audio.audio_file import AudioFileError, read_mono
from neurorack.config.sound_bank import Curves
from neurorack.core.descriptors import (
    DESCRIPTOR_NAMES,
    DESCRIPTOR_RANGES,
    HOP,
    SAMPLE_RATE,
    SILENCE_DB,
    extract,
)
from neurorack.core.signal import resample, trim_silence
from neurorack.errors import NeurorackError
from neurorack.safe_read import FileRefused, read_file

LOUDNESS, CENTROID, FLATNESS, PITCH, CONFIDENCE = range(5)
DEFAULTS = {"loudness_db": -20.0, "centroid_hz": 1000.0, "flatness": 0.01, "pitch_hz": 110.0}
TAIL_DB = -60.0  # a one-shot template ends where it falls this far below its peak
MAX_TEMPLATE_S = 8.0
MAX_TEMPLATE_BYTES = 4 << 20  # an 8 s template is about 100 kB
MAX_ONE_SHOT_BYTES = 256 << 20  # a few minutes of 96 kHz stereo 24-bit audio; a template keeps 8 s


class TemplateError(NeurorackError):
    """A template or one-shot file that cannot be used."""


@dataclass(frozen=True)
class Trajectory:
    """Descriptor frames at a fixed hop.

    Attributes:
        frames: [T, 5] float32, raw descriptors.
        hop: samples per frame.
        sample_rate: Hz.
    """

    frames: np.ndarray
    hop: int = HOP
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.frames) * self.hop / self.sample_rate

    def __len__(self) -> int:
        return len(self.frames)


def from_audio(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, hop: int = HOP,
               tail_db: float = TAIL_DB, max_s: float = MAX_TEMPLATE_S) -> Trajectory:
    """Measure a one-shot's trajectory with the model's descriptor extractor.

    Args:
        audio: [samples] mono float, at ``sample_rate`` (must be the model's rate).
        tail_db: frames after the last one within this many dB of the loudest are cut.
        max_s: longest template kept.

    Raises:
        TemplateError: the sound is silent or empty.
    """
    return template_of(audio, sample_rate, hop, tail_db, max_s)[0]


def template_of(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, hop: int = HOP,
                tail_db: float = TAIL_DB, max_s: float = MAX_TEMPLATE_S) -> tuple[Trajectory, np.ndarray]:
    """``from_audio``, and the part of ``audio`` its frames cover, float64: the one-shot as the
    template sees it, for a timbre encoder. The leading silence is cut at the sample, as the
    training data's is (``neurorack.core.signal.trim_silence``), so frame 0 is the onset: a
    percussion model starts its attack on the gate's sample.

    Raises:
        TemplateError: the sound is silent or empty.
    """

    audio = trim_silence(np.asarray(audio, dtype=np.float64), tail_db)
    frames = extract(audio, sample_rate, hop)
    if len(frames) == 0 or frames[:, LOUDNESS].max() <= SILENCE_DB + 1.0:
        raise TemplateError("the one-shot is silent; nothing to extract")
    peak = frames[:, LOUDNESS].max()
    loud = np.flatnonzero(frames[:, LOUDNESS] >= peak + tail_db)
    end = min(int(loud[-1]) + 1, int(max_s * sample_rate / hop))
    return Trajectory(frames[:end].astype(np.float32), hop, sample_rate), audio[:end * hop]


def from_curves(curves: Curves, hop: int = HOP, sample_rate: int = SAMPLE_RATE) -> Trajectory:
    """Sample authored breakpoints at the hop (see ``neurorack.config.sound_bank.Curves``)."""
    ends = [points[-1][0] for points in (getattr(curves, k) for k in DEFAULTS) if points]
    duration = curves.duration_s or max(ends, default=0.0)
    count = max(1, math.ceil(duration * sample_rate / hop))
    times = (np.arange(count) + 0.5) * hop / sample_rate
    out = np.zeros((count, len(DESCRIPTOR_NAMES)), dtype=np.float32)
    for column, key in enumerate(DEFAULTS):
        points = getattr(curves, key)
        if not points:
            out[:, column] = DEFAULTS[key]
            continue
        at = np.array([p[0] for p in points], dtype=np.float64)
        values = np.array([p[1] for p in points], dtype=np.float64)
        if key == "loudness_db":
            out[:, column] = np.interp(times, at, values)
        else:  # frequencies and flatness glide in the log domain
            out[:, column] = np.exp(np.interp(times, at, np.log(values)))
    out[:, CONFIDENCE] = 1.0
    return Trajectory(clip_to_ranges(out), hop, sample_rate)


def clip_to_ranges(frames: np.ndarray) -> np.ndarray:
    """Clip each descriptor column into the model's input range (in place; returns ``frames``)."""
    for column, spec in enumerate(DESCRIPTOR_RANGES):
        np.clip(frames[:, column], spec.low, spec.high, out=frames[:, column])
    return frames


def save_template(path: str | Path, trajectory: Trajectory, comment: str = "") -> Path:
    """Write a trajectory as CSV text (atomically)."""
    buffer = io.StringIO()
    header = f"hop={trajectory.hop} sample_rate={trajectory.sample_rate}"
    if comment:
        header += f" {comment}"
    buffer.write(f"# {header}\n")
    np.savetxt(buffer, trajectory.frames, fmt="%.6g", delimiter=",", header=",".join(DESCRIPTOR_NAMES),
               comments="")
    return atomic_write_text(path, buffer.getvalue())


def load_template(path: str | Path, hop: int = HOP, sample_rate: int = SAMPLE_RATE,
                  folder: str | Path | None = None) -> Trajectory:
    """Read a CSV template written by ``save_template``.

    Args:
        folder: when given, the template (symlinks resolved) must lie inside it.

    Raises:
        TemplateError: missing, not a regular file, outside ``folder``, larger than
        ``MAX_TEMPLATE_BYTES``, unreadable, wrong columns, non-finite values, or another hop.
    """
    path = Path(path)
    try:
        lines = read_file(path, MAX_TEMPLATE_BYTES, folder).decode("utf-8").splitlines()
    except FileNotFoundError:
        raise TemplateError(f"{path}: template file not found") from None
    except FileRefused as exc:
        raise TemplateError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{path}: cannot read the template: not UTF-8 text (byte {exc.start})") from None
    meta = lines[0] if lines and lines[0].startswith("#") else ""
    body = lines[1:] if meta else lines
    if not body or body[0].strip() != ",".join(DESCRIPTOR_NAMES):
        raise TemplateError(f"{path}:{2 if meta else 1}: expected the header line '{','.join(DESCRIPTOR_NAMES)}'")
    for field in meta.lstrip("# ").split():
        key, _, value = field.partition("=")
        if key == "hop" and value != str(hop):
            raise TemplateError(f"{path}:1: the template has hop {value}, the model needs {hop}; "
                                "extract it again with 'neurorack sound extract'")
        if key == "sample_rate" and value != str(sample_rate):
            raise TemplateError(f"{path}:1: the template is at {value} Hz, the model at {sample_rate} Hz")
    rows = []
    first = 3 if meta else 2
    for number, line in enumerate(body[1:], start=first):
        if not line.strip():
            continue
        try:
            row = [float(v) for v in line.split(",")]
        except ValueError:
            raise TemplateError(f"{path}:{number}: expected {len(DESCRIPTOR_NAMES)} numbers, got {line!r}") from None
        if len(row) != len(DESCRIPTOR_NAMES) or not all(math.isfinite(v) for v in row):
            raise TemplateError(f"{path}:{number}: expected {len(DESCRIPTOR_NAMES)} finite numbers, got {line!r}")
        rows.append(row)
    if not rows:
        raise TemplateError(f"{path}: the template holds no frames")
    frames = clip_to_ranges(np.array(rows, dtype=np.float32))
    return Trajectory(frames, hop, sample_rate)


def read_one_shot(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A sound file as mono float64 [samples] at ``sample_rate``.

    WAV, FLAC and AIFF are read (``neurorack.audio.audio_file``).

    Raises:
        TemplateError: the file is missing, not a regular file, larger than ``MAX_ONE_SHOT_BYTES``,
        unreadable or in an unsupported format.
    """
    path = Path(path)
    try:
        raw = read_file(path, MAX_ONE_SHOT_BYTES)
    except FileNotFoundError:
        raise TemplateError(f"{path}: no such file") from None
    except FileRefused as exc:
        raise TemplateError(str(exc)) from None
    try:
        audio, rate = read_mono(raw, path)
    except AudioFileError as exc:
        raise TemplateError(str(exc)) from None
    return resample(audio, int(rate), sample_rate)
