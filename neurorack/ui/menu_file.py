"""The menu file: ``menu.yaml`` (or another) read, checked against the registered pages, and
made into the menu the navigator walks."""

from __future__ import annotations

from pathlib import Path

from neurorack.config.menu import load_menu_spec
from neurorack.ui.menu import Menu, menu_from_spec
from neurorack.ui.pages import page_names


def load_menu(path: str | Path | None = None) -> Menu:
    """Load a menu file (None: the shipped ``menu.yaml``); its ``page`` names must be pages
    registered in ``neurorack.ui.pages``.

    Raises:
        ConfigError: the file is wrong (file, line, key and what was expected).
    """
    return menu_from_spec(load_menu_spec(path, page_names()))
