"""What a menu action does once chosen (and confirmed, where it asks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurorack.ui.menu import Action
from neurorack.ui.pages.calibrate import CalibrateScreen
from neurorack.ui.pages.message import MessageScreen

if TYPE_CHECKING:
    from neurorack.ui.navigation import Navigator

CALIBRATE_ACTION = "calibrate"  # the menu action that opens ``CalibrateScreen``
RESET_CALIBRATION_ACTION = "reset_calibration"  # forgets the saved calibration


def run_action(ui: Navigator, item: Action) -> None:
    """``calibrate`` opens the guided calibration, ``reset_calibration`` forgets the saved
    one and says so; any other action goes to the facade. A failure becomes a dialog."""
    if item.action == CALIBRATE_ACTION:
        ui.push(CalibrateScreen.open(ui, item))
    elif item.action == RESET_CALIBRATION_ACTION:
        if ui.run(ui.facade.reset_calibration):
            ui.push(MessageScreen(item.label, "The CV inputs use the board file's values again."))
    else:
        ui.run(lambda: ui.facade.run_action(item.action))
