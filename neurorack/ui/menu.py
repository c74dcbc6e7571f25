"""The menu tree: typed items built from a validated ``menu.yaml``.

Items are immutable; where the cursor is lives in the pages (``neurorack.ui.pages``), never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neurorack.config.menu import MenuItemSpec, MenuSpec
from neurorack.config.state import ModuleState
from neurorack.ui.control_spec import ControlSpec


@dataclass(frozen=True)
class Submenu:
    """A list of items; entering it shows the list."""

    label: str
    items: tuple


@dataclass(frozen=True)
class Action:
    """Runs ``action`` through the facade, after a yes/no dialog when ``confirm`` is set."""

    label: str
    action: str
    confirm: str | None = None


@dataclass(frozen=True)
class Choice:
    """Pick one value for ``setting``: from ``options``, or from the facade's ``source``
    list (``sounds`` or ``models``)."""

    label: str
    setting: str
    options: tuple = ()
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Slider:
    """Adjust the number ``setting`` within ``spec``; changes apply while turning."""

    label: str
    setting: str
    spec: ControlSpec
    note: str | None = None


@dataclass(frozen=True)
class Toggle:
    """Flip the true/false ``setting`` with a short press."""

    label: str
    setting: str


@dataclass(frozen=True)
class Info:
    """Opens the page registered as ``page`` (``home``, ``system``, ``calibration``,
    ``routing``, or any other in ``neurorack.ui.pages``)."""

    label: str
    page: str


MenuItem = Submenu | Action | Choice | Slider | Toggle | Info


@dataclass(frozen=True)
class Menu:
    """A whole menu: the root list and how long the UI waits before going home."""

    root: Submenu
    home_after_s: float


def menu_from_spec(spec: MenuSpec) -> Menu:
    return Menu(Submenu(spec.title, tuple(_item(i) for i in spec.items)), spec.home_after_s)


def _item(spec: MenuItemSpec) -> MenuItem:
    if spec.kind == "submenu":
        return Submenu(spec.label, tuple(_item(i) for i in spec.items))
    if spec.kind == "action":
        return Action(spec.label, spec.action, spec.confirm)
    if spec.kind == "choice":
        return Choice(spec.label, spec.setting, tuple(spec.options or ()), spec.source, spec.note)
    if spec.kind == "slider":
        return Slider(spec.label, spec.setting, ControlSpec(spec.min, spec.max, spec.step, spec.unit, spec.warp),
                      spec.note)
    if spec.kind == "toggle":
        return Toggle(spec.label, spec.setting)
    return Info(spec.label, spec.page)


def value_text(item: MenuItem, state: ModuleState) -> str:
    """What a menu row shows at its right: the current value, or ">" for a submenu."""
    if isinstance(item, Submenu):
        return ">"
    if isinstance(item, Toggle):
        return "on" if state.get(item.setting) else "off"
    if isinstance(item, Slider):
        return item.spec.format(state.get(item.setting))
    if isinstance(item, Choice):
        return format_value(state.get(item.setting))
    return ""


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
