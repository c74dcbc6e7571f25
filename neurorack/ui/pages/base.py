"""What every page is: an immutable value with the norns-style trio ``enc``, ``key`` and
``redraw``, and the registry that lets a menu item open a page by its name.

A page never changes itself: to move a cursor it puts a changed copy in its place on the
navigator's stack (``ui.replace``), so a picture of the UI is the top page plus the module
state, and two equal frames draw the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame
    from neurorack.ui.menu import Info
    from neurorack.ui.navigation import Navigator

# What a page asks the facade for, each frame (``Page.needs``; see ``frame.capture_frame``).
INPUTS = "inputs"  # the panel's CVs and gates
DROPOUTS = "dropouts"  # the engine's dropout count
CPU = "cpu"  # the CPU load badge
SYSTEM = "system"  # the System page's figures
WARNINGS = "warnings"  # the module's problems
CALIBRATION = "calibration"  # the CV calibration in use
CALIBRATING = "calibrating"  # the on-screen calibration in progress


class Page:
    """One screen of the UI. Subclasses are frozen dataclasses.

    Attributes:
        needs: what ``capture_frame`` gathers from the facade while this page is on top (the
            names above); the rest of the frame stays empty.
        holds_home: while a page with this set is anywhere on the stack, the idle timeout
            does not go back home (a calibration waits for the player to patch cables).
    """

    needs: ClassVar[frozenset[str]] = frozenset()
    holds_home: ClassVar[bool] = False

    @classmethod
    def open(cls, ui: Navigator, item: Info) -> Page:
        """The page a menu item ``page: <name>`` opens (``item`` is that menu item)."""
        return cls()

    def enc(self, ui: Navigator, steps: int) -> None:
        """The encoder turned ``steps`` detents (positive: clockwise, after the reverse
        setting). Nothing by default."""

    def key(self, ui: Navigator, press: str) -> None:
        """The button: ``press`` is ``"short"`` or ``"long"``. By default a short press is
        "done" and a long press goes back; both leave the page."""
        if press == "short":
            ui.pop()
        elif press == "long":
            ui.back()

    def tick(self, ui: Navigator, now: float) -> None:
        """Called every frame while the page is on top (``now``: ``time.monotonic()`` seconds)."""

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        """Draw the page on the blank 128x64 1-bit ``draw`` from ``frame``."""


@dataclass(frozen=True)
class InfoScreen(Page):
    """A read-only page opened from the menu item ``item``; any press leaves it."""

    item: Info

    @classmethod
    def open(cls, ui: Navigator, item: Info) -> Page:
        return cls(item)


_PAGES: dict[str, type[Page]] = {}


def register_page(name: str):
    """Class decorator: a menu item ``kind: info, page: <name>`` opens this page (through
    ``cls.open``). Registering another class under a taken name is an error."""

    def register(cls: type[Page]) -> type[Page]:
        known = _PAGES.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"page name '{name}' is taken by {known.__module__}.{known.__qualname__}")
        _PAGES[name] = cls
        return cls

    return register


def page_class(name: str) -> type[Page]:
    """The page registered as ``name``.

    Raises:
        KeyError: no page has that name.
    """
    return _PAGES[name]


def page_names() -> tuple[str, ...]:
    """Every registered page name, sorted."""
    return tuple(sorted(_PAGES))


def clamp(index: int, count: int) -> int:
    """A list cursor kept within ``count`` rows."""
    return min(max(index, 0), max(count - 1, 0))
