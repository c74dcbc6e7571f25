"""The ADC poller: a thread that reads the gates every poll and the CVs and pots in turn.

Every poll (``poll_hz``, 2 kHz by default) reads both gate channels and feeds their
Schmitt triggers; edges go straight to ``gate_sink`` (``Engine.post_gate`` or an
``EdgeQueue``). Each poll also reads ``others_per_poll`` of the six CV and pot channels,
round robin, into calibrated, smoothed values that ``status()`` snapshots for the UI.

Faults: an exception from the ADC is counted, the last good values are held, the fault
is flagged in ``status().fault`` and logged once, polling goes on, and the fault clears
by itself on the first good poll. All eight channels stuck at the same rail (0 or 1023)
for ``RAIL_WARNING_S`` means an unplugged or unpowered ADC: that is flagged too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from neurorack.config.board import CV_INPUTS, GATE_INPUTS, POT_INPUTS, BoardConfig
from neurorack.controls.cv import Conditioning, CvInput, code_to_adc_volts
from neurorack.controls.gates import SchmittTrigger
from neurorack.core.events import GateEdge, InputStatus
from neurorack.realtime import request_realtime

log = logging.getLogger(__name__)

RAIL_WARNING_S = 0.5
# SCHED_FIFO priority of the poller: above the daemon's other threads, below the render thread
# (neurorack.realtime.RENDER_PRIORITY), so gate edges are timely and audio still comes first.
POLLER_PRIORITY = 60


class AdcReader(Protocol):
    """What the poller needs from an ADC driver (``adafruit_mcp3xxx.mcp3008.MCP3008`` fits)."""

    def read(self, pin: int, is_differential: bool = False) -> int:
        """The 10-bit code of single-ended channel ``pin``."""


def board_conditioning(board: BoardConfig, overrides: Mapping[str, Conditioning] | None = None
                       ) -> dict[str, Conditioning]:
    """Each wired input's conditioning: the board file's, replaced by ``overrides`` (calibration)."""
    out = {}
    for name in CV_INPUTS + GATE_INPUTS + POT_INPUTS:
        wired = board.input(name)
        if wired.channel is None:
            continue
        base = Conditioning(wired.scale, wired.offset_volts, wired.min_volts, wired.max_volts)
        if overrides and name in overrides:
            cal = overrides[name]
            base = Conditioning(cal.scale, cal.offset_volts, wired.min_volts, wired.max_volts)
        out[name] = base
    return out


class ControlPoller:
    """Reads the ADC on its own thread; a context manager (``start``/``close``).

    Args:
        adc: the ADC driver.
        board: channels, conditioning, thresholds and rates.
        gate_sink: called with each ``GateEdge`` on the poller thread; it must not block.
        conditioning: per-input conditioning (``board_conditioning``); None: the board file's.
        clock: monotonic seconds.
        priority: SCHED_FIFO priority of the thread (None: leave it as it is).
    """

    def __init__(self, adc: AdcReader, board: BoardConfig, gate_sink: Callable[[GateEdge], None],
                 conditioning: Mapping[str, Conditioning] | None = None,
                 clock: Callable[[], float] = time.monotonic, priority: int | None = POLLER_PRIORITY):
        self.adc = adc
        self.board = board
        self.gate_sink = gate_sink
        self.clock = clock
        self.priority = priority
        self.conditioning = dict(conditioning or board_conditioning(board))
        self.period_s = 1.0 / board.adc.poll_hz
        self.others_per_poll = board.adc.others_per_poll
        reference = board.adc.reference_volts
        self.reference_volts = reference
        gates = board.gates
        self._gates: list[tuple[int, Conditioning, SchmittTrigger]] = []
        for index, name in enumerate(GATE_INPUTS):
            if name in self.conditioning:
                trigger = SchmittTrigger(gates.rising_volts, gates.falling_volts, gates.debounce_ms / 1000.0,
                                         gate=index, velocity_full_volts=gates.velocity_full_volts)
                self._gates.append((board.input(name).channel, self.conditioning[name], trigger))
        self._others: list[tuple[int, int, CvInput]] = []  # (channel, slot in values, input)
        for slot, name in enumerate(CV_INPUTS + POT_INPUTS):
            if name in self.conditioning:
                wired = board.input(name)
                self._others.append((wired.channel, slot,
                                     CvInput(self.conditioning[name], wired.smoothing_ms / 1000.0, reference)))
        # Plain lists: one element is replaced at a time, which is atomic under the GIL.
        self.values = [0.0] * (len(CV_INPUTS) + len(POT_INPUTS))  # jack volts (cv1..cv4), then pots 0..1
        self.codes = [-1] * 8  # the last code of each channel
        self._next_other = 0
        # counters (written by the poller thread only)
        self.polls = 0
        self.reads = 0
        self.overruns = 0
        self.errors = 0
        self.fault: str | None = None
        self.thread_cpu_s = 0.0
        self.is_realtime = False
        self.last_poll_s: float | None = None
        self.started_at: float | None = None
        self._rail_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> ControlPoller:
        """Start polling; calling it again while it runs does nothing."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._thread = threading.Thread(target=self._run, name="neurorack-adc-poller", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(2.0)

    def __enter__(self) -> ControlPoller:  # noqa: PYI034 - the started poller
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- for the UI and the instrument ----------------------------------------------------

    def status(self) -> InputStatus:
        """A snapshot of the inputs: CVs in jack volts, pots 0..1, gate states, fault."""
        values = list(self.values)
        gates = [trigger.is_high for _, _, trigger in self._gates] + [False, False]
        return InputStatus(cv_volts=tuple(values[:4]), pots=tuple(values[4:6]), gates=(gates[0], gates[1]),
                           fault=self.fault)

    def set_conditioning(self, name: str, conditioning: Conditioning) -> None:
        """Use ``conditioning`` for CV input or pot ``name`` from the next read (a new
        calibration). One reference swap per input: safe while the poller runs."""
        if name not in self.conditioning:
            raise KeyError(f"{name} is not wired")
        self.conditioning[name] = conditioning
        slot = (CV_INPUTS + POT_INPUTS).index(name)
        for _, other_slot, cv in self._others:
            if other_slot == slot:
                cv.conditioning = conditioning

    def stats(self) -> dict:
        """Counters for logs and benchmarks."""
        elapsed = (self.clock() - self.started_at) if self.started_at else 0.0
        return {"polls": self.polls, "reads": self.reads, "overruns": self.overruns, "errors": self.errors,
                "fault": self.fault, "elapsed_s": elapsed, "thread_cpu_s": self.thread_cpu_s,
                "realtime": self.is_realtime}

    # -- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        if self.priority is not None:
            self.is_realtime = request_realtime(self.priority, "the ADC poller")
        cpu_start = time.thread_time()
        self.started_at = self.clock()
        due = self.started_at
        while not self._stop.is_set():
            self.poll_once()
            self.thread_cpu_s = time.thread_time() - cpu_start
            due += self.period_s
            wait = due - self.clock()
            if wait > 0:
                time.sleep(wait)
            elif wait < -self.period_s:
                self.overruns += 1
                due = self.clock()  # fell behind: start the schedule again from now

    def poll_once(self) -> None:
        """One poll: every gate channel, then the next CV or pot channels in turn."""
        try:
            read = self.adc.read
            clock = self.clock
            for channel, conditioning, trigger in self._gates:
                before = clock()
                code = read(channel)
                at = 0.5 * (before + clock())  # the sample was taken during the transfer
                self.codes[channel] = code
                edge = trigger.update(conditioning.jack_volts(code_to_adc_volts(code, self.reference_volts)), at)
                if edge is not None:
                    self.gate_sink(edge)
            self.reads += len(self._gates)
            for _ in range(min(self.others_per_poll, len(self._others))):
                channel, slot, cv = self._others[self._next_other]
                self._next_other = (self._next_other + 1) % len(self._others)
                code = read(channel)
                self.codes[channel] = code
                self.values[slot] = cv.update(code, clock())
                self.reads += 1
        except Exception as exc:  # noqa: BLE001 - any driver or bus failure: hold the values, flag it, retry next poll
            self.errors += 1
            if self.fault is None or not self.fault.startswith("ADC read failed"):
                log.warning("ADC read failed (%s); holding the last values and retrying", exc)
            self.fault = f"ADC read failed: {exc}"
            self.polls += 1
            return
        self.polls += 1
        self.last_poll_s = self.clock()
        self._check_rails()

    def _check_rails(self) -> None:
        codes = self.codes
        low, high = min(codes), max(codes)
        at_rail = low == high and low in (0, 1023)
        now = self.clock()
        if at_rail:
            if self._rail_since is None:
                self._rail_since = now
            elif now - self._rail_since >= RAIL_WARNING_S and (self.fault is None or "rail" not in self.fault):
                self.fault = f"every ADC channel reads {low} (a rail): is the ADC unplugged or unpowered?"
                log.warning("%s", self.fault)
            return
        self._rail_since = None
        if self.fault is not None:
            log.info("ADC recovered after %d failed polls", self.errors)
            self.fault = None
