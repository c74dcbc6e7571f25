"""Picking one value for a setting: from a fixed list, the sound bank (each sound previews
as the cursor reaches it) or the installed models (with the highlighted model's card)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from neurorack.ui.facade import ModelInfo
from neurorack.ui.menu import Choice, format_value
from neurorack.ui.pages.base import Page, clamp
from neurorack.ui.pages.message import MessageScreen
from neurorack.ui.render import footer, list_rows, title

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame
    from neurorack.ui.navigation import Navigator


@dataclass(frozen=True)
class ChoiceScreen(Page):
    """Picking a value: ``options`` are the values, ``cursor`` the highlighted one;
    ``models`` holds the model cards when the list is the installed models."""

    item: Choice
    options: tuple
    cursor: int = 0
    models: tuple = ()

    @staticmethod
    def open_choice(ui: Navigator, item: Choice) -> None:
        """Open the list for ``item`` on its current value, or say there is nothing to pick."""
        models: tuple = ()
        if item.source == "models":
            models = tuple(ui.ask(ui.facade.models, ()))
            options = tuple(m.name for m in models)
        elif item.source == "sounds":
            options = tuple(s.name for s in ui.ask(ui.facade.sounds, ()))
        else:
            options = item.options
        if not options:
            ui.push(MessageScreen(item.label, f"no {item.source or 'options'} installed"))
            return
        current = ui.state.get(item.setting)
        cursor = options.index(current) if current in options else 0
        ui.push(ChoiceScreen(item, options, cursor, models))

    def enc(self, ui: Navigator, steps: int) -> None:
        cursor = clamp(self.cursor + steps, len(self.options))
        ui.replace(replace(self, cursor=cursor))
        if self.item.source == "sounds" and cursor != self.cursor:
            ui.run(lambda: ui.facade.preview_sound(self.options[cursor]))

    def key(self, ui: Navigator, press: str) -> None:
        if press == "short":
            self._pick(ui)
        else:
            ui.back()

    def _pick(self, ui: Navigator) -> None:
        value = self.options[self.cursor]
        item = self.item
        ui.pop()
        taken = True  # a sound or model the facade refused is not recorded in the state
        if item.source == "sounds":
            taken = ui.run(lambda: ui.facade.select_sound(value))
        elif item.source == "models":
            taken = ui.run(lambda: ui.facade.load_model(value))
        if taken:
            ui.set(item.setting, value, notify=item.source is None)

    @property
    def model(self) -> ModelInfo | None:
        """The card of the highlighted model, on a models list."""
        if self.models and self.cursor < len(self.models):
            return self.models[self.cursor]
        return None

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        title(draw, self.item.label)
        current = frame.state.get(self.item.setting)
        rows = [(("* " if option == current else "  ") + format_value(option), "") for option in self.options]
        card = self.model
        if card is None:
            list_rows(draw, rows, self.cursor, visible=4 if self.item.note else 5)
            if self.item.note:
                footer(draw, self.item.note)
            return
        list_rows(draw, rows, self.cursor, visible=3)
        if card.error:
            footer(draw, "! model.yaml is wrong")
            return
        rtf = f"{card.realtime_factor:.0f}x RT" if card.realtime_factor is not None else "RT ?"
        footer(draw, f"{_count(card.parameters)} par  {_bytes(card.size_bytes)}  {rtf}")


def _count(parameters: int) -> str:
    if parameters >= 1_000_000:
        return f"{parameters / 1e6:.1f}M"
    if parameters >= 1_000:
        return f"{parameters / 1e3:.0f}k"
    return str(parameters)


def _bytes(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f}MB"
    return f"{size / 1024:.0f}kB"
