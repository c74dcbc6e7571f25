"""``neurorack bench soak``: the whole module for minutes on JACK's dummy driver, under load.

One run, on one JACK server, with a CPU hog busy on one core for all of it:

1. the baseline: the trivial sine client (``bench realtime``'s), for the same length;
2. the module as the daemon assembles it: the instrument on the default model (a model whose
   name holds "trim" when one is installed) with its sound bank, the mock board's panel
   (the simulated MCP3008 read by the real driver and the real ADC poller) playing the soak
   scenario - LFOs on the four CVs, gate 1 at 8 Hz, gate 2 every 2 s - the UI thread
   redrawing to an in-memory screen, and the encoder turned every few seconds to switch sounds.

Dropouts of the module's run are compared with the baseline's; gate latency is measured
as in ``bench realtime``: from each edge's timestamp (taken by the poller as it read the
gate) to the output frame of its onset on the server's cycle timeline.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np

from neurorack.bench.realtime import (
    dropout_counts,
    jack_session,
    latency_figures,
    onset_latencies_ms,
    run_baseline,
    take_played,
)
from neurorack.bench.sine_client import SETTLE_S
from neurorack.config.module import ModuleConfig
from neurorack.hardware.scenario import Constant, Lfo, Scenario, Steps

log = logging.getLogger(__name__)

GATE_HZ = 8.0
GATE_VOLTS = 8.0
SWITCH_EVERY_S = 5.0
STATS_EVERY_S = 5.0  # the engine keeps its last 4096 render times (about 11 s): sample them this often
LOOP_EVERY_S = 0.02  # how often the loop collects played onsets, turns the encoder and reports progress


def soak_scenario(gate_hz: float = GATE_HZ) -> Scenario:
    """What is patched for the soak: LFOs on every CV, gate 1 at ``gate_hz``, gate 2 at 1/16 of it (0.5 Hz)."""
    half_period_s = 0.5 / gate_hz
    return Scenario({
        "cv1": Lfo("sine", 0.2, -1.0, 1.0),       # pitch: +/- one octave
        "cv2": Lfo("triangle", 0.7, -2.0, 2.0),   # loudness (accent)
        "cv3": Lfo("sine", 0.33, -3.0, 3.0),      # brightness
        "cv4": Lfo("saw", 0.11, -2.0, 2.0),       # noisiness
        "gate1": Steps((GATE_VOLTS, 0.0), half_period_s),
        "gate2": Steps((0.0,) * 13 + (GATE_VOLTS,) + (0.0,) * 18, half_period_s),
        "pot1": Constant(0.5),
        "pot2": Constant(0.5),
    })


def soak_model(config: ModuleConfig) -> str | None:
    """The installed model to soak: the first whose name holds "trim", else the first by name."""
    from neurorack.instrument.module import models_dir

    root = models_dir(config)
    names = sorted(card.parent.name for card in root.glob("*/model.yaml")) if root.is_dir() else []
    trimmed = [name for name in names if "trim" in name]
    return (trimmed or names or [None])[0]


class CpuHog:
    """A busy-looping process pinned to one core (by default the last one this process may use).

    Use as a context manager; ``cpu_s`` is the CPU time it burnt (read before it stops).
    """

    def __init__(self, enabled: bool = True, cpu: int | None = None):
        self.enabled = enabled
        allowed = sorted(os.sched_getaffinity(0))
        self.cpu = allowed[-1] if cpu is None else cpu
        self.cores = len(allowed)
        self.process: subprocess.Popen | None = None
        self.cpu_s = 0.0
        self.wall_s = 0.0
        self._started = 0.0

    def __enter__(self) -> CpuHog:  # noqa: PYI034 - the started hog
        if self.enabled:
            self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
            os.sched_setaffinity(self.process.pid, {self.cpu})
            self._started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        self.cpu_s = _process_cpu_s(self.process.pid)
        self.wall_s = time.monotonic() - self._started
        self.process.terminate()
        self.process.wait(5)
        self.process = None

    def figures(self) -> dict:
        return {"enabled": self.enabled, "cpu": self.cpu if self.enabled else None, "cores": self.cores,
                "cpu_s": round(self.cpu_s, 2), "wall_s": round(self.wall_s, 2)}


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (from /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def run_soak_bench(config: ModuleConfig, minutes: float = 10.0, baseline: bool = True, hog: bool = True,
                   native_callback: bool = True, progress=None) -> dict:
    """Run the baseline, then the module, each for ``minutes``, under the CPU hog; return the figures.

    Args:
        native_callback: play through the C audio callback (False: the Python one).
        progress: optional callable taking the fraction of the whole run done (0..1).
    """
    seconds = minutes * 60.0
    audio = config.audio
    parts = 2 if baseline else 1
    with jack_session(audio) as server, CpuHog(hog) as cpu_hog:
        base = None
        if baseline:
            log.info("baseline: the sine client for %.1f minutes", minutes)
            base = run_baseline(seconds, audio.sample_rate, audio.block_size)
            if progress is not None:
                progress(1.0 / parts)
        log.info("the module for %.1f minutes", minutes)
        done = (parts - 1) / parts
        result = _soak_module(config, seconds, native_callback,
                              None if progress is None else lambda f: progress(done + f / parts))
        result["jack_realtime"] = server.realtime if server.started_here else None
    result["cpu_hog"] = cpu_hog.figures()
    if base is not None:
        result["baseline_underflows"] = base["underflows"]
        result["baseline_callbacks"] = base["callbacks"]
        result["underflows_within_baseline"] = result["underflows"] <= base["underflows"]
    return result


def _soak_module(config: ModuleConfig, seconds: float, native_callback: bool, progress) -> dict:
    from neurorack.audio.backends.sound_device import SoundDeviceBackend
    from neurorack.audio.engine import Engine
    from neurorack.config.board import load_board
    from neurorack.hardware.contacts import encoder_turn
    from neurorack.hardware.panel import open_panel
    from neurorack.instrument.facade import InstrumentFacade
    from neurorack.instrument.module import LatestFrame, models_dir, open_instrument
    from neurorack.realtime import BACKGROUND_PRIORITY, request_realtime
    from neurorack.state import ModuleState
    from neurorack.ui.mock_facade import MockFacade
    from neurorack.ui.ui_thread import start_ui

    audio = replace(config.audio, device=None)  # JACK is the default device while it runs
    request_realtime(BACKGROUND_PRIORITY, "the soak benchmark")  # as the daemon does; threads inherit it
    board = load_board("mock")
    panel_ref: list = []
    module_voice = open_instrument(replace(config, audio=audio),
                                   lambda: panel_ref[0].status().cv_volts if panel_ref else (0.0,) * 4,
                                   ModuleState(model=soak_model(config)))
    engine = Engine(module_voice.voice, audio, config.output)
    panel = open_panel(board, engine.post_gate, scenario=soak_scenario(), state_dir=None)
    panel_ref.append(panel)
    instrument = module_voice.instrument
    if instrument is not None:
        instrument.attach(engine)
        facade = InstrumentFacade(instrument, engine, models_dir(config), panel.status, lambda: module_voice.warnings)
        state = ModuleState(sound=instrument.current_sound, model=instrument.model_name)
    else:
        facade = MockFacade(time.monotonic, sounds=(), models=())
        facade.warning_list = list(module_voice.warnings)
        state = ModuleState()
    screen = LatestFrame()
    ui = start_ui(facade, panel.events, screen, state_dir=None)
    ui.loop.navigator.state = state
    backend = SoundDeviceBackend(engine, device=None, native_callback=native_callback)
    latencies: list[float] = []
    windows: list[dict] = []
    sounds = [instrument.current_sound] if instrument is not None else []
    try:
        backend.start()
        time.sleep(SETTLE_S)  # as the baseline: leave out the stream's start
        take_played(engine.onsets, 0.0)  # onsets from the settling time are not counted
        started, before = time.monotonic(), dropout_counts(engine)
        frames_before, polls_before = screen.count, panel.poller.polls
        end = started + seconds
        next_switch, next_stats = started + SWITCH_EVERY_S, started + STATS_EVERY_S
        while (now := time.monotonic()) < end:
            time.sleep(min(LOOP_EVERY_S, end - now))
            latencies += onset_latencies_ms(_rising(take_played(engine.onsets, 0.1)), engine)
            now = time.monotonic()
            if now >= next_switch:
                panel.gpio.play(encoder_turn(1, board.encoder.pin_a, board.encoder.pin_b))
                next_switch += SWITCH_EVERY_S
            if now >= next_stats:
                windows.append(engine.stats()["render_ms"])
                next_stats += STATS_EVERY_S
            if instrument is not None and instrument.current_sound != sounds[-1]:
                sounds.append(instrument.current_sound)
            if progress is not None:
                progress(min((now - started) / seconds, 1.0))
        elapsed, after = time.monotonic() - started, dropout_counts(engine)
        frames, polls = screen.count - frames_before, panel.poller.polls - polls_before
        time.sleep(0.1)
        latencies += onset_latencies_ms(_rising(take_played(engine.onsets, 0.0)), engine)
        output_latency_ms = backend.stream.latency * 1000.0
    finally:
        ui.stop()
        panel.close()
        backend.stop()
    stats = engine.stats()
    windows.append(stats["render_ms"])
    poller = panel.poller.stats()
    return {
        "sample_rate": audio.sample_rate,
        "block_size": audio.block_size,
        "seconds": round(elapsed, 3),
        "model": instrument.model_name if instrument is not None else None,
        "voice": engine.voice.name,
        "callback": backend.callback_kind,
        "warnings": list(module_voice.warnings),
        "callbacks": after[0] - before[0],
        "expected_callbacks": round(elapsed * audio.sample_rate / audio.block_size),
        "underflows": after[1] - before[1],
        "late_renders": after[2] - before[2],
        "late_onsets": stats["late_onsets"],
        "muted_blocks": stats["muted_blocks"],
        "gates": len(latencies),
        "expected_gates": round(elapsed * GATE_HZ * (1 + 1 / 16)),
        **latency_figures(latencies),
        "configured_gate_latency_ms": engine.gate_latency_s * 1000.0,
        "output_latency_ms": output_latency_ms,
        "render_ms": {"p50": float(np.median([w["p50"] for w in windows])),
                      "p99": float(max(w["p99"] for w in windows)),
                      "max": float(max(w["max"] for w in windows))},
        "ui_frames": frames,
        "ui_fps": round(frames / elapsed, 2) if elapsed > 0 else 0.0,
        "sounds_played": sounds,
        "poller": {"polls": polls, "poll_hz": round(polls / elapsed, 1) if elapsed > 0 else 0.0,
                   "overruns": poller["overruns"], "errors": poller["errors"], "realtime": poller["realtime"],
                   "thread_cpu_percent": round(100.0 * poller["thread_cpu_s"] / max(poller["elapsed_s"], 1e-9), 1)},
    }


def _rising(onsets: list) -> list:
    """The onsets of rising edges (the poller also sends falling ones, which play nothing)."""
    return [onset for onset in onsets if onset.edge.rising]


def summarise(result: dict) -> str:
    """The figures as a few lines for people."""
    latency = result["gate_latency_ms"]
    hog = result["cpu_hog"]
    lines = [
        f"{result['seconds'] / 60:.1f} min at {result['sample_rate']} Hz, {result['block_size']}-frame blocks, "
        f"model {result['model'] or 'none (test voice)'}, CPU hog "
        + (f"on core {hog['cpu']} of {hog['cores']}" if hog["enabled"] else "off"),
        (f"underflows {result['underflows']} (sine baseline: {result.get('baseline_underflows', 'not run')}), "
        f"late renders {result['late_renders']}, callbacks {result['callbacks']} "
        f"(expected {result['expected_callbacks']})"),
        (f"gate latency p1 {latency['p1']:.2f} / p50 {latency['p50']:.2f} / p99 {latency['p99']:.2f} / "
        f"max {latency['max']:.2f} ms, jitter {result['jitter_ms']:.2f} ms over {result['gates']} gates"),
        (f"render per block p50 {result['render_ms']['p50']:.3f} / p99 {result['render_ms']['p99']:.3f} / "
        f"max {result['render_ms']['max']:.3f} ms; UI {result['ui_fps']:.1f} fps; "
        f"sounds played {len(result['sounds_played'])}"),
    ]
    return "\n".join(lines)
