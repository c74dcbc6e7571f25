"""The schema of ``menu.yaml``: the OLED menu tree.

A menu file has a ``title``, an idle timeout and a list of ``items``. Each item has a
``label`` and a ``kind``:

- ``submenu``: ``items``, a list of items.
- ``action``: ``action`` (one of ``ACTIONS``), optional ``confirm`` text for a yes/no dialog.
- ``choice``: ``setting`` (a dotted key of the module state) and either ``options`` (a fixed
  list) or ``source`` (``sounds`` or ``models``: the installed ones).
- ``slider``: ``setting``, ``min``, ``max``, optional ``step``, ``unit`` and ``warp``
  (``lin``, ``exp`` or ``db``).
- ``toggle``: ``setting`` (a true/false key).
- ``info``: ``page``, the name of a page; which names exist is the UI's business: the UI
  passes its page names to ``load_menu_spec`` (``neurorack.ui.menu_file.load_menu`` does).

Any item may carry a ``note`` shown while editing (e.g. "applied on restart").
Errors name the file, the item's key path, its line and what was expected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurorack.config.schema import (
    ConfigError,
    Problem,
    _build,
    between,
    coerce,
    dotted,
)
from neurorack.config.schema import setting as declare
from neurorack.config.state import field_type, state_field
from neurorack.config.yaml_source import YamlDocument, load_yaml
from neurorack.errors import NeurorackError

ITEM_KINDS = ("submenu", "action", "choice", "slider", "toggle", "info")
ACTIONS = ("calibrate", "reset_calibration", "shutdown", "reboot", "restart_audio")
SOURCES = ("sounds", "models")
WARPS = ("lin", "exp", "db")  # the warps the UI's sliders implement (neurorack.ui.control_spec)

# Which optional keys each kind uses; any other optional key on it is a mistake.
KIND_KEYS = {
    "submenu": {"items"},
    "action": {"action", "confirm"},
    "choice": {"setting", "options", "source"},
    "slider": {"setting", "min", "max", "step", "unit", "warp"},
    "toggle": {"setting"},
    "info": {"page"},
}
COMMON_KEYS = {"label", "kind", "note"}


@dataclass(frozen=True)
class MenuItemSpec:
    """One menu entry as written in ``menu.yaml``; ``items`` holds a submenu's children."""

    label: str | None = declare(None, "Text shown in the menu.")
    kind: str | None = declare(None, "What the item does.", choices=ITEM_KINDS)
    note: str | None = declare(None, "A short line shown while editing.")
    action: str | None = declare(None, "The action to run.", choices=ACTIONS)
    confirm: str | None = declare(None, "Ask this yes/no question before running the action.")
    setting: str | None = declare(None, "The module-state key this item edits, e.g. levels.gain_db.")
    options: list[str | int | float] | None = declare(None, "The values a choice offers.")
    source: str | None = declare(None, "Where a choice's values come from.", choices=SOURCES)
    min: float | None = declare(None, "Slider minimum.")
    max: float | None = declare(None, "Slider maximum.")
    step: float = declare(0.0, "Slider step (0: fine).", check=between(0, 1e6))
    unit: str = declare("", "Slider unit.")
    warp: str = declare("lin", "Slider warp.", choices=WARPS)
    page: str | None = declare(None, "The name of the page an info item opens.")
    items: tuple = ()


@dataclass(frozen=True)
class MenuSpec:
    """A whole ``menu.yaml``."""

    title: str = declare("Neurorack", "Title of the top menu.")
    home_after_s: float = declare(30.0, "Go back to the home page after this long without a touch.",
                                  check=between(1, 3600, "s"))
    items: tuple = ()


def default_menu_path() -> Path:
    """The ``menu.yaml`` shipped with the package."""
    return Path(__file__).resolve().parent.parent / "ui" / "menu.yaml"


def load_menu_spec(path: str | Path | None = None, pages: Collection[str] | None = None) -> MenuSpec:
    """Load and validate a menu file (None: the shipped one).

    Args:
        pages: the page names an info item may open (None: any name).

    Raises:
        ConfigError: every problem, each as "file:line: key: expected ..., got ...".
    """
    return build_menu_spec(load_yaml(path or default_menu_path()), pages)


def build_menu_spec(document: YamlDocument, pages: Collection[str] | None = None) -> MenuSpec:
    """Validate a parsed menu document; see ``load_menu_spec``."""
    problems: list[Problem] = []

    def problem(path: tuple, message: str) -> None:
        problems.append(Problem(document.source, dotted(path), document.line_of(path), message))

    data = document.data
    root = None
    if not isinstance(data, dict):
        problem((), "the file should be a mapping with 'title' and 'items'")
    else:
        top = {k: v for k, v in data.items() if k != "items"}
        root = _build(MenuSpec, top, (), document, problems)
        if "items" not in data:
            problem((), "missing key 'items': the list of menu entries")
        items = _build_items(data.get("items"), ("items",), document, problems, problem, pages)
        if root is not None:
            root = dataclasses.replace(root, items=items)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return root


def _build_items(data: Any, path: tuple, document: YamlDocument, problems: list[Problem], problem,
                 pages: Collection[str] | None) -> tuple:
    if data is None:
        return ()
    if not isinstance(data, list) or not data:
        problem(path, "expected a non-empty list of menu items")
        return ()
    items = []
    for index, raw in enumerate(data):
        item_path = (*path, index)
        if not isinstance(raw, dict):
            problem(item_path, "expected a mapping with 'label' and 'kind'")
            continue
        count = len(problems)
        fields = {k: v for k, v in raw.items() if k != "items"}
        item = _build(MenuItemSpec, fields, item_path, document, problems)
        children = _build_items(raw.get("items"), (*item_path, "items"), document, problems, problem, pages)
        if item is None or len(problems) > count:
            continue
        _check_item(item, raw, item_path, problem, pages)
        items.append(dataclasses.replace(item, items=children))
    return tuple(items)


def _check_item(item: MenuItemSpec, raw: dict, path: tuple, problem, pages: Collection[str] | None) -> None:
    for key in ("label", "kind"):
        if raw.get(key) is None:
            problem(path, f"missing key '{key}'" + (f"; expected one of {', '.join(ITEM_KINDS)}"
                                                     if key == "kind" else ""))
    if item.kind is None:
        return
    allowed = KIND_KEYS[item.kind] | COMMON_KEYS
    for key in raw:
        if key not in allowed:
            owners = [kind for kind, keys in KIND_KEYS.items() if key in keys]
            problem((*path, key), f"is not used by a {item.kind} item (only by: {', '.join(owners)})")
    required = {"submenu": ["items"], "action": ["action"], "choice": ["setting"],
                "slider": ["setting", "min", "max"], "toggle": ["setting"], "info": ["page"]}[item.kind]
    for key in required:
        if raw.get(key) is None:
            problem(path, f"a {item.kind} item needs '{key}'")
    if item.setting is not None:
        try:
            state_field(item.setting)
        except NeurorackError as exc:
            problem((*path, "setting"), f"expected a module-state key: {exc}")
            return
        kind = field_type(item.setting)
        if item.kind == "toggle" and kind is not bool:
            problem((*path, "setting"), f"a toggle needs a true/false setting, '{item.setting}' is not one")
        if item.kind == "slider" and kind not in (float, int):
            problem((*path, "setting"), f"a slider needs a number setting, '{item.setting}' is not one")
        for index, option in enumerate(item.options or ()):
            _, error = coerce(option, kind)
            if error is not None:
                problem((*path, "options", index), f"does not fit setting '{item.setting}': {error}")
    if pages is not None and item.page is not None and item.page not in pages:
        problem((*path, "page"), f"expected one of {', '.join(sorted(pages))}, got {item.page!r}")
    if item.kind == "choice" and (item.options is None) == (item.source is None):
        problem(path, "a choice item needs either 'options' or 'source', not both")
    if item.kind == "slider" and item.min is not None and item.max is not None:
        if item.min >= item.max:
            problem((*path, "max"), f"expected a value above min ({item.min:g}), got {item.max:g}")
        elif item.warp == "exp" and item.min * item.max <= 0:
            problem((*path, "warp"), "exp warp needs min and max of the same sign, neither 0")
