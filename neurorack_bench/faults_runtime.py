"""Fault family "runtime": a voice that returns NaN, Inf or samples that overflow, or raises, while rendering.

Most cases render offline through the real ``Engine`` with a ``FaultyVoice`` (the test voice
that breaks on one chosen render call): survived when exactly the broken block is muted
(all zeros), every sample is finite, the voice was reset, the error was counted, rendering
went on to the end, and the next gate sounds. Every tenth case the voice breaks on every
call: survived when the engine switches to its fallback (the test voice) within
``FALLBACK_FAILURES`` blocks, with a warning for the screen, and the next gate sounds.
Every twentieth case runs the real render thread against the real-time paced WAV backend
with a voice that keeps failing: survived when callbacks keep coming and the thread lives.
Every twenty-first case plays the real ``Engine`` on a virtual clock (callbacks on their
schedule, the render thread rendering each block when due) with a voice that stalls once,
for 0.2 to 0.5 s, between 0.6 and 2 s into the run (just after the start-up window): survived
when the stall raised the lookahead and it, and the gate latency, are back at their configured
values within ``LOOKAHEAD_BACK_S`` of the stall's end, and stay there.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from neurorack.audio.engine import Engine
from neurorack.audio.switching import FALLBACK_FAILURES
from neurorack.audio.voices import TestVoice
from neurorack.core.events import GateEdge
from neurorack_bench.faults import FamilyResult

FAULTS = ("nan", "inf", "-inf", "overflow", "raise_in_render", "raise_in_trigger")
OVERFLOW = 1e307  # finite, but gain and DC blocker overflow on it: samples of alternating sign
RENDER_S = 0.5
SOUND_THRESHOLD = 0.02
STALL_AT_S = (0.6, 2.0)  # when the voice stalls, once: just after the start-up window ...
STALL_S = (0.2, 0.5)     # ... and for how long
# The engine's promise: a lookahead raised by a one-off stall is back at the configured one after
# 5 s of audio without a late render (docs/reliability.md); plus a second to catch up on the stall.
LOOKAHEAD_BACK_S = 6.0


class VoiceFault(RuntimeError):
    """The error a ``FaultyVoice`` raises."""


class FaultyVoice(TestVoice):
    """The test voice, broken on purpose.

    Args:
        sample_rate: Hz.
        fault: one of ``FAULTS``.
        fail_at: the render (or trigger) call that breaks, counting from 0; None: every call.
    """

    name = "faulty voice"

    def __init__(self, sample_rate: int, fault: str, fail_at: int | None):
        self.fault, self.fail_at = fault, fail_at
        self.render_calls = self.trigger_calls = 0
        self.failed_in_block: list[int] = []
        self.engine: Engine | None = None
        super().__init__(sample_rate)
        self.resets = 0  # not counting the reset the constructor does

    def _due(self, calls: int) -> bool:
        return self.fail_at is None or calls == self.fail_at

    def trigger(self, velocity: float) -> None:
        calls, self.trigger_calls = self.trigger_calls, self.trigger_calls + 1
        if self.fault == "raise_in_trigger" and self._due(calls):
            self._mark()
            raise VoiceFault("trigger failed")
        super().trigger(velocity)

    def render(self, out: np.ndarray) -> None:
        calls, self.render_calls = self.render_calls, self.render_calls + 1
        super().render(out)
        if self.fault in ("nan", "inf", "-inf", "overflow", "raise_in_render") and self._due(calls):
            self._mark()
            if self.fault == "raise_in_render":
                raise VoiceFault("render failed")
            if self.fault == "overflow":
                out[0::2], out[1::2] = OVERFLOW, -OVERFLOW
            else:
                out[len(out) // 2] = float(self.fault)

    def reset(self) -> None:
        self.resets = getattr(self, "resets", 0) + 1
        super().reset()

    def _mark(self) -> None:
        if self.engine is not None:
            self.failed_in_block.append(self.engine.counters.blocks_rendered)


class VirtualClock:
    """The render thread's time: a render that stalls moves it on."""

    def __init__(self):
        self.now = 0.0


class StallingVoice(TestVoice):
    """The test voice, whose render call number ``at`` takes ``seconds`` on ``clock``."""

    name = "stalling voice"

    def __init__(self, sample_rate: int, clock: VirtualClock, at: int, seconds: float):
        super().__init__(sample_rate)
        self.clock, self.at, self.seconds = clock, at, seconds
        self.calls = 0

    def render(self, out: np.ndarray) -> None:
        super().render(out)
        if self.calls == self.at:
            self.clock.now += self.seconds
        self.calls += 1


def _gates(every_s: float, until_s: float) -> list[GateEdge]:
    return [GateEdge(t) for t in np.arange(0.02, until_s, every_s)]


def single_fault(fault: str, rng: random.Random) -> tuple[bool, str]:
    """One broken call at a random moment; see the module doc for what survives."""
    from neurorack.audio.backends.offline import render_offline

    sample_rate, block = 48000, 128
    gates = _gates(0.1, RENDER_S)
    fail_at = rng.randrange(len(gates) - 1) if fault == "raise_in_trigger" else rng.randrange(5, 120)
    voice = FaultyVoice(sample_rate, fault, fail_at)
    engine = Engine(voice)
    voice.engine = engine
    out = render_offline(engine, RENDER_S, gates)
    if not voice.failed_in_block:
        return False, "the fault never fired"
    (bad,) = voice.failed_in_block
    if not np.all(np.isfinite(out)):
        return False, "NaN or Inf reached the output"
    if np.any(out[bad * block:(bad + 1) * block] != 0.0):
        return False, f"block {bad} holding the fault was not muted"
    if (engine.counters.muted_blocks, voice.resets) != (1, 1):
        return False, f"muted {engine.counters.muted_blocks} blocks, reset the voice {voice.resets} times; expected 1 and 1"
    if fault.startswith("raise") and engine.counters.render_errors != 1:
        return False, f"render_errors {engine.counters.render_errors}, expected 1"
    if engine.voice is not voice:
        return False, "one fault should not switch voices"
    later = [g for g in gates if g.time_s * sample_rate > (bad + 2) * block]
    if later:
        start = int((later[0].time_s + engine.gate_latency_s) * sample_rate)
        if np.abs(out[start:start + 2400]).max() < SOUND_THRESHOLD:
            return False, "the next gate after the fault is silent"
    return True, f"block {bad} muted, voice reset"


def repeated_fault(fault: str) -> tuple[bool, str]:
    """A voice broken on every call: the engine must fall back to the test voice."""
    from neurorack.audio.backends.offline import render_offline

    voice = FaultyVoice(48000, fault, None)
    engine = Engine(voice)
    voice.engine = engine
    out = render_offline(engine, RENDER_S, _gates(0.1, RENDER_S))
    if engine.counters.fallbacks != 1 or engine.voice.name != "test voice":
        return False, f"no fallback: {engine.counters.fallbacks} fallbacks, voice {engine.voice.name!r}"
    if engine.counters.muted_blocks > FALLBACK_FAILURES:
        return False, f"{engine.counters.muted_blocks} muted blocks before the fallback, expected {FALLBACK_FAILURES}"
    if not engine.warnings or "playing test voice" not in engine.warnings[-1]:
        return False, f"no on-screen warning: {engine.warnings}"
    if not np.all(np.isfinite(out)) or np.abs(out[int(0.2 * 48000):]).max() < SOUND_THRESHOLD:
        return False, "the fallback voice does not sound on the next gates"
    return True, engine.warnings[-1]


def play_virtually(engine: Engine, clock: VirtualClock, seconds: float) -> list[float]:
    """Play ``seconds`` of callbacks on their schedule while the render thread renders each
    block when it is due, or as soon as its previous render returned (a stall delays it).
    Returns the lookahead, in seconds, at every callback."""
    block_s = engine.block_size / engine.sample_rate
    out = np.zeros((engine.block_size, 1), dtype=np.float32)
    lookahead = []
    for k in range(round(seconds / block_s)):
        callback_at = k * block_s
        while max(engine.next_render_time(), clock.now) < callback_at:
            clock.now = max(engine.next_render_time(), clock.now)
            if not engine.render_block():
                break
        engine.pull(out, callback_at, callback_at)
        lookahead.append(engine.lookahead_s)
    return lookahead


def stall_once(rng: random.Random) -> tuple[bool, str]:
    """A voice that stalls once: the lookahead goes up, then back to the configured one in time."""
    sample_rate, block = 48000, 128
    stall_at, stall_s = rng.uniform(*STALL_AT_S), rng.uniform(*STALL_S)
    clock = VirtualClock()
    engine = Engine(StallingVoice(sample_rate, clock, round(stall_at * sample_rate / block), stall_s))
    configured, latency = engine.lookahead_s, engine.gate_latency_s
    end = stall_at + stall_s
    lookahead = play_virtually(engine, clock, end + LOOKAHEAD_BACK_S + 1.0)
    if engine.counters.lookahead_raises == 0:
        return False, f"a {stall_s:.2f} s stall ({engine.counters.late_renders} late renders) did not raise the lookahead"
    raised = [k for k, value in enumerate(lookahead) if value > configured + 1e-9]
    back_s = (raised[-1] + 1) * block / sample_rate
    if back_s > end + LOOKAHEAD_BACK_S:
        blocks = lookahead[raised[-1]] * sample_rate / block
        when = "at the end" if raised[-1] == len(lookahead) - 1 else f"until {back_s - end:.1f} s after it"
        return False, (f"{stall_s:.2f} s stall at {stall_at:.2f} s: lookahead still {blocks:.2g} blocks {when}; "
                       f"promised back within {LOOKAHEAD_BACK_S:g} s")
    if abs(engine.gate_latency_s - latency) > 1e-9:
        return False, f"gate latency {engine.gate_latency_s * 1e3:.2f} ms, configured {latency * 1e3:.2f} ms"
    return True, (f"{stall_s:.2f} s stall at {stall_at:.2f} s: lookahead raised {engine.counters.lookahead_raises}x, "
                  f"back {back_s - end:.1f} s after it")


def threaded_fault(fault: str, workdir: Path, index: int) -> tuple[bool, str]:
    """The real render thread and paced backend with a voice broken on every call."""
    from neurorack.audio.backends.paced_wav import PacedWavBackend

    voice = FaultyVoice(48000, fault, None)
    engine = Engine(voice)
    backend = PacedWavBackend(engine, workdir / f"threaded-{index}.wav")
    backend.start()
    try:
        for _ in range(6):
            time.sleep(0.05)
            engine.post_gate(GateEdge(time.monotonic()))
        callbacks = engine.timeline.count
        time.sleep(0.1)
        alive = backend._render_thread.is_alive()
        more = engine.timeline.count - callbacks
    finally:
        backend.stop()
    if not alive:
        return False, "the render thread died"
    if more < 10:
        return False, f"callbacks stalled: {more} in 0.1 s"
    if engine.counters.fallbacks != 1:
        return False, f"no fallback in the threaded engine ({engine.counters.muted_blocks} muted blocks)"
    return True, f"render thread alive, {engine.stats()['callbacks']} callbacks, fell back"


def run(trials: int, rng: random.Random, workdir: Path, progress: Callable[[int, int], None]) -> FamilyResult:
    """``trials`` cases cycling through ``FAULTS``; see the module doc."""
    result = FamilyResult("runtime")
    engine_logs = [logging.getLogger(f"neurorack.audio.{part}") for part in ("engine", "switching", "schedule")]
    levels = [engine_log.level for engine_log in engine_logs]
    for engine_log in engine_logs:
        engine_log.setLevel(logging.CRITICAL)  # hundreds of expected voice tracebacks would drown the report
    try:
        for index in range(trials):
            fault = FAULTS[index % len(FAULTS)]
            if index % 21 == 20:
                case, (ok, why) = "stall", stall_once(rng)
            elif index % 20 == 19:
                case, (ok, why) = f"threaded/{fault}", threaded_fault(fault, workdir, index)
            elif index % 10 == 9:
                case, (ok, why) = f"repeated/{fault}", repeated_fault(fault)
            else:
                case, (ok, why) = f"single/{fault}", single_fault(fault, rng)
            result.record(case, ok, why)
            progress(index + 1, trials)
    finally:
        for engine_log, level in zip(engine_logs, levels):
            engine_log.setLevel(level)
    return result
