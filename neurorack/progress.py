"""A progress bar on stderr for long work (rendering, training, trimming, calibration)."""

from __future__ import annotations

import sys
from typing import Callable, Optional


def progress_bar(label: str, stream=None) -> Optional[Callable[[float], None]]:
    """A function ``show(fraction)`` that redraws a one-line bar, or None when stderr is not
    a terminal (logs and CI stay clean). Print a newline when done."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        filled = int(fraction * 30)
        print(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}", end="", file=stream, flush=True)

    return show
