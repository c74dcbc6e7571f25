"""The front panel: ADC poller, encoder and button of one board, opened from its board file.

``open_panel`` picks the backends the board file names (simulated or real), applies the
saved calibration and starts everything. Gate edges go to ``gate_sink`` (the engine);
encoder and button events go to ``Panel.events`` for the UI; ``Panel.status()`` is the
latest ``InputStatus``.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from pathlib import Path

from neurorack.config.board import CV_INPUTS, BoardConfig
from neurorack.controls.button import Button
from neurorack.controls.calibration import load_calibration
from neurorack.controls.encoder import RotaryEncoder
from neurorack.controls.poller import ControlPoller, board_conditioning
from neurorack.core.events import ControlEvent, GateEdge, InputStatus
from neurorack.hardware.adc import open_adc
from neurorack.hardware.opened_adc import OpenedAdc
from neurorack.hardware.scenario import Scenario

log = logging.getLogger(__name__)

EVENT_QUEUE_SIZE = 256


def open_gpio(board: BoardConfig):
    """The board's RPi.GPIO-API module, numbering set; a ``SimulatedGPIO`` on the mock board."""
    if board.gpio.backend == "simulated":
        from neurorack.hardware.gpio_sim import SimulatedGPIO

        gpio = SimulatedGPIO()
    else:
        from neurorack.hardware.real import import_gpio

        gpio = import_gpio(board)
    gpio.setwarnings(False)
    gpio.setmode(gpio.BCM if board.gpio.numbering == "BCM" else gpio.BOARD)
    return gpio


class Panel:
    """Everything on the panel, running; close it to stop (a context manager)."""

    def __init__(self, board: BoardConfig, adc: OpenedAdc, gpio, gate_sink: Callable[[GateEdge], None],
                 state_dir: str | Path | None = None):
        self.board = board
        self.adc = adc
        self.gpio = gpio
        self.state_dir = state_dir
        self.events: queue.Queue[ControlEvent] = queue.Queue(EVENT_QUEUE_SIZE)
        self.dropped_events = 0
        calibration = load_calibration(state_dir, board)
        if calibration:
            log.info("calibration applied to %s", ", ".join(sorted(calibration)))
        self.poller = ControlPoller(adc.driver, board, gate_sink, board_conditioning(board, calibration))
        encoder, button = board.encoder, board.button
        self.encoder = RotaryEncoder(gpio, encoder.pin_a, encoder.pin_b, self._post, pull_up=encoder.pull_up,
                                     steps_per_detent=encoder.steps_per_detent, reverse=encoder.reverse,
                                     acceleration=encoder.acceleration)
        self.button = Button(gpio, button.pin, self._post, pull_up=button.pull_up,
                             debounce_s=button.debounce_ms / 1000.0, long_press_s=button.long_press_ms / 1000.0)

    def _post(self, event: ControlEvent) -> None:
        try:
            self.events.put_nowait(event)
        except queue.Full:
            self.dropped_events += 1

    def status(self) -> InputStatus:
        """The latest CVs, pots, gates and ADC fault."""
        return self.poller.status()

    def reload_calibration(self) -> list[str]:
        """Apply ``calibration.yaml`` (after the on-screen routine saved or reset it) to the
        running poller: CV inputs it does not cover get the board file's values again.
        Returns the inputs it covers.

        Raises:
            ConfigError: a damaged calibration file.
        """
        calibration = load_calibration(self.state_dir, self.board)
        for name, conditioning in board_conditioning(self.board, calibration).items():
            if name in CV_INPUTS:
                self.poller.set_conditioning(name, conditioning)
        log.info("calibration applied to %s", ", ".join(sorted(calibration)) or "no input")
        return sorted(calibration)

    def start(self) -> Panel:
        """Start polling (``open_panel`` already did)."""
        self.poller.start()
        return self

    def close(self) -> None:
        self.poller.close()
        self.encoder.close()
        self.button.close()
        self.adc.close()
        close = getattr(self.gpio, "close", None)  # the simulated chip's event thread
        if close is not None:
            close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def open_panel(board: BoardConfig, gate_sink: Callable[[GateEdge], None], scenario: Scenario | None = None,
               state_dir: str | Path | None = None) -> Panel:
    """Open the board's ADC and GPIO (real or simulated) and start polling.

    Raises:
        HardwareUnavailable: a bus is not enabled or not accessible (names what to do).
    """
    adc = open_adc(board, scenario)
    try:
        gpio = open_gpio(board)
    except BaseException:
        adc.close()
        raise
    return Panel(board, adc, gpio, gate_sink, state_dir).start()
