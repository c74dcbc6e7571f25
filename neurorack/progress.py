"""A progress bar on stderr for long work (rendering, training, trimming, calibration), with
tqdm: the fraction done, the time spent and left, and the rate."""

from __future__ import annotations

import sys
from typing import IO, Optional

BAR_FORMAT = "{desc} {bar:30} {percentage:3.0f}% [{elapsed} spent, {remaining} left, {rate_fmt}]"


class ProgressBar:
    """``bar(fraction)`` redraws the line (fractions 0..1, in any order); ``bar.close()`` ends it."""

    def __init__(self, label: str, stream: IO[str]):
        from tqdm import tqdm

        self._bar = tqdm(total=100.0, desc=label, file=stream, unit="%", bar_format=BAR_FORMAT, leave=True)

    def __call__(self, fraction: float) -> None:
        self._bar.update(min(max(fraction, 0.0), 1.0) * 100.0 - self._bar.n)

    def close(self) -> None:
        self._bar.close()


def progress_bar(label: str, stream: IO[str] | None = None) -> Optional[ProgressBar]:
    """A bar on ``stream`` (stderr), or None when it is not a terminal (logs and CI stay clean)."""
    stream = stream or sys.stderr
    return ProgressBar(label, stream) if stream.isatty() else None
