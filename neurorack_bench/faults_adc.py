"""Fault family "adc": the ADC fails mid-performance while the module plays in real time.

Each case runs the mock board's real chain: the real adafruit MCP3008 driver over the
simulated SPI bus, the ``ControlPoller`` thread, and the ``Engine`` with the real render
thread on the real-time paced WAV backend. After a short healthy stretch one fault is
injected into the simulated chip, then removed:

* ``exceptions``: every transfer raises ``OSError`` (a failing spidev ioctl);
* ``glitch``: a handful of transfers raise;
* ``rail_high`` / ``rail_low``: DOUT floats high or low (the chip's supply is gone);
* ``disconnect_reconnect``: the chip drops off the bus, then comes back.

Survived: audio callbacks kept coming at the real-time rate throughout; a lasting fault
showed in ``InputStatus.fault``, on the rendered home page (the OLED image differs from
the same page without the fault) and in the log; after the fault was removed it cleared
by itself and gate edges reached the engine again.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

from neurorack_bench.faults import FamilyResult

FAULTS = ("exceptions", "glitch", "rail_high", "rail_low", "disconnect_reconnect")
HEALTHY_S = 0.15
FAULT_S = 0.8          # longer than the poller's RAIL_WARNING_S
RECOVERY_LIMIT_S = 1.5
GATE_WAIT_S = 1.5      # the mock pattern fires several gates per second
MIN_CALLBACK_RATIO = 0.8


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _wait_for(condition: Callable[[], bool], limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _inject(chip, fault: str, on: bool) -> None:
    if fault == "exceptions":
        chip.fail_next = 10**9 if on else 0
    elif fault == "glitch":
        chip.fail_next = 5 if on else 0
    elif fault == "rail_high":
        chip.unplugged = True if on else None
    elif fault == "rail_low":
        chip.unplugged = False if on else None
    else:  # disconnect_reconnect: the bus reads floating-high garbage while the chip is away
        chip.unplugged = True if on else None


@dataclasses.dataclass
class _HomePage:
    """What ``capture_frame`` reads from the navigator: the home page and default settings."""

    screen: object
    state: object


class _PollerFacade:
    """The part of the UI facade the home page asks for, answered by the live poller."""

    def __init__(self, poller):
        self.poller = poller

    def input_status(self):
        return self.poller.status()

    def engine_stats(self):
        return {}

    def system_info(self):
        return None

    def warnings(self):
        return ()

    def task(self):
        return None


def _shows_on_screen(poller, status) -> bool:
    """The home page, captured the way the UI thread does, differs from the same inputs without the fault."""
    from neurorack.config.state import ModuleState
    from neurorack.ui.frame import Frame, capture_frame
    from neurorack.ui.pages import HomeScreen
    from neurorack.ui.render import render

    page = _HomePage(HomeScreen(), ModuleState())
    frame = capture_frame(page, _PollerFacade(poller))
    if frame.status.fault is None:
        return False
    without = render(Frame(HomeScreen(), page.state, dataclasses.replace(frame.status, fault=None)))
    return render(frame).tobytes() != without.tobytes()


def adc_case(fault: str, workdir: Path, index: int) -> tuple[bool, str]:
    """One fault, injected and removed while the module plays; (survived, why)."""
    from neurorack.audio.backends.paced_wav import PacedWavBackend
    from neurorack.audio.engine import Engine
    from neurorack.audio.voices import TestVoice
    from neurorack.config.board import load_board
    from neurorack.controls.poller import ControlPoller
    from neurorack.hardware.adc import open_simulated_adc

    board = load_board("mock")
    adc = open_simulated_adc(board, seed=index)
    engine = Engine(TestVoice(48000))
    poller = ControlPoller(adc.driver, board, engine.post_gate)
    records = _Records()
    poller_log = logging.getLogger("neurorack.controls.poller")
    poller_log.addHandler(records)
    backend = PacedWavBackend(engine, workdir / f"adc-{index}.wav")
    backend.start()
    poller.start()
    started = time.monotonic()
    try:
        time.sleep(HEALTHY_S)
        _inject(adc.chip, fault, True)
        lasting = fault != "glitch"
        seen = _wait_for(lambda: poller.status().fault is not None, FAULT_S) if lasting else True
        status = poller.status()
        on_screen = _shows_on_screen(poller, status) if lasting and status.fault else not lasting
        time.sleep(max(0.0, HEALTHY_S + FAULT_S - (time.monotonic() - started)))
        _inject(adc.chip, fault, False)
        recovered = _wait_for(lambda: poller.status().fault is None, RECOVERY_LIMIT_S)
        onsets = len(engine.onsets)
        gates_back = _wait_for(lambda: len(engine.onsets) > onsets, GATE_WAIT_S)
        elapsed = time.monotonic() - started
        callbacks = engine.timeline.count
        alive = backend._render_thread.is_alive()
    finally:
        poller.close()
        backend.stop()
        poller_log.removeHandler(records)
    expected = elapsed * engine.sample_rate / engine.block_size
    if not alive or callbacks < MIN_CALLBACK_RATIO * expected:
        return False, f"audio stalled: {callbacks} callbacks in {elapsed:.2f} s, expected about {expected:.0f}"
    if not seen:
        return False, "the fault never showed in InputStatus.fault"
    if not on_screen:
        return False, "the fault does not show on the home page"
    if lasting and not records.messages:
        return False, "the fault was not logged"
    if not recovered:
        return False, f"no automatic recovery: fault still {poller.status().fault!r}"
    if not gates_back:
        return False, "gate edges did not reach the engine after recovery"
    if poller.errors == 0 and fault in ("exceptions", "glitch"):
        return False, "the injected exceptions never reached the poller"
    return True, f"{status.fault or 'glitch absorbed'}; recovered, {callbacks} callbacks"


def run(trials: int, rng: random.Random, workdir: Path, progress: Callable[[int, int], None]) -> FamilyResult:
    """``trials`` cases cycling through ``FAULTS``."""
    result = FamilyResult("adc")
    for index in range(trials):
        fault = FAULTS[index % len(FAULTS)]
        ok, why = adc_case(fault, workdir, index)
        result.record(fault, ok, why)
        progress(index + 1, trials)
    return result
