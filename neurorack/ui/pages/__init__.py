"""The UI's pages, one per module, each an object with the norns-style trio ``enc`` (the
encoder turned), ``key`` (a short or long press) and ``redraw`` (see ``base.Page``).

The navigator keeps a stack of pages and hands every event to the top one; the renderer
asks the top one to draw itself. A page registered with ``@register_page("name")`` opens
from a menu item ``{label: ..., kind: info, page: name}``. Every module in this package is
imported with it, so a new page is one new file here plus that menu entry.
"""

from __future__ import annotations

import importlib
import pkgutil

from neurorack.ui.pages.base import (
    InfoScreen,
    Page,
    page_class,
    page_names,
    register_page,
)
from neurorack.ui.pages.calibrate import CalibrateScreen
from neurorack.ui.pages.calibration import CalibrationScreen
from neurorack.ui.pages.choice import ChoiceScreen
from neurorack.ui.pages.confirm import ConfirmScreen
from neurorack.ui.pages.home import HomeScreen
from neurorack.ui.pages.menu import MenuScreen
from neurorack.ui.pages.message import MessageScreen
from neurorack.ui.pages.routing import RoutingScreen
from neurorack.ui.pages.slider import SliderScreen
from neurorack.ui.pages.system import SystemScreen

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "CalibrateScreen", "CalibrationScreen", "ChoiceScreen", "ConfirmScreen", "HomeScreen", "InfoScreen",
    "MenuScreen", "MessageScreen", "Page", "RoutingScreen", "SliderScreen", "SystemScreen", "page_class",
    "page_names", "register_page",
]
