"""The home page: the sound and model playing, the CPU or dropout badge, the four CVs, the
gates and the module's warnings. Turning steps through the sounds; a short press opens the menu."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurorack.ui.control_spec import fixed
from neurorack.ui.pages.base import CPU, DROPOUTS, INPUTS, WARNINGS, Page, register_page
from neurorack.ui.pages.menu import MenuScreen
from neurorack.ui.render import WIDTH, bipolar_bar, fit, font, stamp_text

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame
    from neurorack.ui.navigation import Navigator

CV_RANGE_V = 5.0  # CV bars span -5..+5 V


@register_page("home")
@dataclass(frozen=True)
class HomeScreen(Page):
    """The performance page."""

    needs = frozenset({INPUTS, DROPOUTS, CPU, WARNINGS})

    def enc(self, ui: Navigator, steps: int) -> None:
        """Select the next or previous sound of the bank (wrapping)."""
        names = [s.name for s in ui.ask(ui.facade.sounds, ())]
        if not names:
            return
        index = names.index(ui.state.sound) if ui.state.sound in names else 0
        value = names[(index + steps) % len(names)]
        if ui.run(lambda: ui.facade.select_sound(value)):
            ui.set("sound", value, notify=False)

    def key(self, ui: Navigator, press: str) -> None:
        if press == "short":
            ui.push(MenuScreen(ui.menu.root))
        else:
            ui.back()

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        state = frame.state
        stamp_text(draw, (0, -2), fit(state.sound or "no sound", font(15, True), WIDTH), font=font(15, True), fill=1)
        badge_font = font(9)
        if frame.underflows:
            badge = f"DROP {frame.underflows}"
        elif frame.cpu_percent is not None:
            badge = f"CPU {frame.cpu_percent:.0f}%"
        else:
            badge = ""
        badge_w = int(draw.textlength(badge, font=badge_font)) + 4 if badge else 0
        if badge:
            x = WIDTH - badge_w
            if frame.underflows:
                draw.rectangle((x, 16, WIDTH - 1, 25), fill=1)
            else:
                draw.rectangle((x, 16, WIDTH - 1, 25), outline=1)
            stamp_text(draw, (x + 2, 16), badge, font=badge_font, fill=0 if frame.underflows else 1)
        model = state.model or "no model"
        stamp_text(draw, (0, 16), fit(model, badge_font, WIDTH - badge_w - 3), font=badge_font, fill=1)
        small = font(8)
        for index, volts in enumerate(frame.status.cv_volts):
            y = 28 + index * 7
            stamp_text(draw, (0, y - 1), str(index + 1), font=small, fill=1)
            bipolar_bar(draw, 8, y, 88, y + 4, volts / CV_RANGE_V)
            stamp_text(draw, (92, y - 1), fixed(volts, 2, signed=True), font=small, fill=1)
        for index, high in enumerate(frame.status.gates):
            x = index * 17
            draw.rectangle((x, 56, x + 15, 63), fill=1 if high else 0, outline=1)
            stamp_text(draw, (x + 3, 55), f"G{index + 1}", font=small, fill=0 if high else 1)
        if frame.warnings:
            text = fit("! " + " | ".join(frame.warnings), small, WIDTH - 36)
            draw.rectangle((35, 56, WIDTH - 1, 63), fill=1)
            stamp_text(draw, (37, 55), text, font=small, fill=0)
