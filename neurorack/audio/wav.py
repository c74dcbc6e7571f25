"""Write and read 16-bit PCM WAV files with the standard library only."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from neurorack.atomic import atomic_open


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples (-1..1, [frames] or [frames, channels]) to little-endian 16-bit PCM."""
    clipped = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    return np.round(clipped * 32767.0).astype("<i2").tobytes()


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write mono or multi-channel float samples as 16-bit PCM, atomically (temp file, rename)."""
    path = Path(path)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with atomic_open(path, "wb") as stream, wave.open(stream, "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(to_pcm16(samples))
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV. Returns ``([frames, channels] float32, sample_rate)``."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported here")
        frames = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
        channels = handle.getnchannels()
        return (frames.reshape(-1, channels).astype(np.float32) / 32767.0), handle.getframerate()
