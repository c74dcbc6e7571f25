"""Audio files, read and written in one place, with soundfile (libsndfile).

Read: WAV (8/16/24/32-bit PCM, float), FLAC and AIFF, at any rate and channel count, from a
path or from bytes already read (``neurorack.safe_read`` caps what a bank may make us read).
Written: 16-bit PCM WAV, whole and atomically (``write_wav``) or streamed (``WavStream``).
soundfile is imported when a file is read or written (about 70 ms with cffi), never at the
daemon's start on a module that plays to its sound card.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from neurorack.atomic import atomic_open
from neurorack.errors import NeurorackError

FORMATS = "WAV (8-, 16-, 24- or 32-bit PCM, or float), FLAC or AIFF"


class AudioFileError(NeurorackError):
    """A file that is not audio soundfile can read."""


def read_audio(source: str | Path | bytes, name: str | Path | None = None) -> tuple[np.ndarray, int]:
    """``source`` (a path, or a file's bytes) as ``([frames, channels] float64, sample_rate)``;
    integer PCM is scaled by ``2 ** (bits - 1)``. ``name`` is what messages call it.

    Raises:
        AudioFileError: not a readable audio file (says what was expected).
    """
    import soundfile

    name = name if name is not None else source
    try:
        data, rate = soundfile.read(io.BytesIO(source) if isinstance(source, bytes) else str(source),
                                    dtype="float64", always_2d=True)
    except (RuntimeError, OSError, ValueError, TypeError, EOFError) as exc:  # LibsndfileError is a RuntimeError
        reason = str(exc).strip() or type(exc).__name__
        raise AudioFileError(f"{name}: cannot read it as audio ({reason}); expected {FORMATS}: convert it, "
                             "e.g. 'sox IN -b 16 OUT.wav'") from None
    return data, int(rate)


def read_mono(source: str | Path | bytes, name: str | Path | None = None) -> tuple[np.ndarray, int]:
    """``read_audio`` with the channels averaged: ``(float64 [frames], sample_rate)``."""
    data, rate = read_audio(source, name)
    return data.mean(axis=1), rate


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples (-1..1, [frames] or [frames, channels]) as 16-bit PCM, clipped and rounded."""
    clipped = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    return np.round(clipped * 32767.0).astype("<i2")


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write mono or multi-channel float samples as 16-bit PCM, atomically (temp file, rename)."""
    import soundfile

    path = Path(path)
    with atomic_open(path, "wb") as stream:
        soundfile.write(stream, to_pcm16(samples), sample_rate, subtype="PCM_16", format="WAV")
    return path


class WavStream:
    """A mono 16-bit WAV file written block by block (its header is completed on ``close``)."""

    def __init__(self, path: str | Path, sample_rate: int):
        import soundfile

        self._file = soundfile.SoundFile(str(path), "w", sample_rate, 1, subtype="PCM_16", format="WAV")

    def write(self, pcm: np.ndarray) -> None:
        """Append ``to_pcm16`` samples."""
        self._file.write(pcm)

    def close(self) -> None:
        self._file.close()
