"""Shared pieces for the UI tests.

Golden images live in tests/ui/golden/. They are only rewritten when the environment has
NEURORACK_UPDATE_GOLDEN=1, e.g. ``NEURORACK_UPDATE_GOLDEN=1 pytest tests/ui``; review the
new PNGs before committing them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_ENV = "NEURORACK_UPDATE_GOLDEN"


def assert_matches_golden(image: Image.Image, name: str) -> None:
    """Compare a rendered page with ``golden/<name>.png`` pixel for pixel."""
    assert image.mode == "1" and image.size == (128, 64)
    path = GOLDEN_DIR / f"{name}.png"
    if os.environ.get(UPDATE_ENV) == "1":
        GOLDEN_DIR.mkdir(exist_ok=True)
        image.save(path)
        return
    if not path.exists():
        pytest.fail(f"no golden image {path.name}; render it with {UPDATE_ENV}=1 and review it")
    golden = Image.open(path).convert("1")
    difference = ImageChops.logical_xor(image, golden)
    box = difference.getbbox()
    if box is not None:
        image.save(Path(tempfile.gettempdir()) / f"neurorack-{name}-actual.png")
    assert box is None, f"page '{name}' differs from its golden image inside {box}"


class Clock:
    """A virtual clock for tests."""

    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now
