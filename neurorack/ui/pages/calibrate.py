"""The guided CV calibration: pick an input, patch two voltages in turn (a press reads each),
then Cancel or Save the result (Cancel first). A long press leaves without saving."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from neurorack.ui.control_spec import fixed
from neurorack.ui.pages.base import CALIBRATING, CALIBRATION, Page, clamp
from neurorack.ui.pages.calibration import cv_number
from neurorack.ui.render import answers, footer, list_rows, text_lines, title

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame
    from neurorack.ui.menu import MenuItem
    from neurorack.ui.navigation import Navigator


@dataclass(frozen=True)
class CalibrateScreen(Page):
    """The guided CV calibration. With ``name`` None the player picks an input (``cursor``
    over ``inputs``); then the facade's routine asks for two voltages in turn (patch, press),
    shows the result with Cancel / Save (``save``: Save is highlighted; Cancel first), and a
    press on Save saves it. A long press leaves without saving."""

    inputs: tuple = ("cv1", "cv2", "cv3", "cv4")
    cursor: int = 0
    name: str | None = None
    save: bool = False

    needs = frozenset({CALIBRATION, CALIBRATING})
    holds_home = True  # the player is patching cables: no going home on the idle timeout

    @classmethod
    def open(cls, ui: Navigator, item: MenuItem) -> Page:
        """The input picker, over the inputs the facade calibrates."""
        info = ui.ask(ui.facade.calibration, None)
        names = tuple(i.name for i in info.inputs) if info is not None and info.inputs else None
        return cls(names) if names else cls()

    def enc(self, ui: Navigator, steps: int) -> None:
        if self.name is None:
            ui.replace(replace(self, cursor=clamp(self.cursor + steps, len(self.inputs))))
            return
        progress = ui.ask(ui.facade.calibration_progress, None)
        if progress is not None and progress.scale is not None and not progress.saved:
            ui.replace(replace(self, save=steps > 0))  # Cancel / Save

    def key(self, ui: Navigator, press: str) -> None:
        if press == "short":
            self._press(ui)
            return
        if self.name is not None:
            ui.run(ui.facade.cancel_calibration)
        ui.back()

    def _press(self, ui: Navigator) -> None:
        """Pick the input; then read the patched voltage, twice; then save or cancel (back
        to the inputs); then leave."""
        if self.name is None:
            name = self.inputs[self.cursor]
            if ui.run(lambda: ui.facade.start_calibration(name)):
                ui.replace(replace(self, name=name))
            return
        progress = ui.ask(ui.facade.calibration_progress, None)
        if progress is None or progress.saved:
            ui.pop()
        elif progress.reading:
            return  # wait for the reading to finish
        elif progress.scale is not None and self.save:
            ui.run(ui.facade.save_calibration)
        elif progress.scale is not None:
            ui.run(ui.facade.cancel_calibration)
            ui.replace(replace(self, name=None, save=False))
        else:
            ui.run(ui.facade.calibration_read)

    def tick(self, ui: Navigator, now: float) -> None:
        """A refused reading or result, once, in a dialog: the page has room for one line."""
        if self.name is None:
            return
        progress = ui.ask(ui.facade.calibration_progress, None)
        error = progress.error if progress is not None else None
        if error and error != ui.reported.get("calibration"):
            ui.show("Not calibrated", error, now)
        ui.reported["calibration"] = error

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        progress = frame.calibrating
        if self.name is None or progress is None:
            title(draw, "Calibrate which CV?")
            known = {i.name: i for i in frame.calibration.inputs} if frame.calibration is not None else {}
            rows = [(f"CV {cv_number(name)}", "calibrated" if name in known and known[name].calibrated else "board")
                    for name in self.inputs]
            list_rows(draw, rows, self.cursor, visible=4)
            footer(draw, "press: start  hold: back")
            return
        if progress.scale is not None and not progress.saved:  # the result: Cancel / Save
            title(draw, f"Save CV {cv_number(progress.name)} calibration?")
            text_lines(draw, [f"scale x{progress.scale:.4f}",
                              f"offset {fixed(progress.offset_volts, 3, signed=True)} V",
                              f"1V/oct was {progress.before_cents:+.1f} cents",
                              f"now within {progress.uncertainty_cents:.2f} cents"])
            answers(draw, ("Cancel", "Save"), 1 if self.save else 0)
            return
        title(draw, f"Calibrate CV {cv_number(progress.name)}")
        if progress.saved:
            lines = ["Saved and applied:", f"x{progress.scale:.4f} {fixed(progress.offset_volts, 3, signed=True)} V",
                     "", "press: done"]
        elif progress.reading:
            lines = [f"Reading {fixed(progress.volts, 3)} V ...", "keep the cable in"]
        else:
            step = f"{progress.readings_done + 1}/2"
            lines = [f"{step} Patch {fixed(progress.volts, 3)} V", f"into CV {cv_number(progress.name)}, then press.",
                     progress.error or "", "", "hold: cancel"]
        text_lines(draw, lines)
