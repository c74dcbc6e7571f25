"""``neurorack bench realtime``: the engine on a real real-time server (JACK's dummy driver).

One run does two things in turn on the same server, at the config's block size or the one
asked for:

1. the baseline: a trivial sine client in its own process, for ``seconds``;
2. the engine with the chosen voice (the test voice, or the installed default model with its
   sound bank, as the daemon opens it), a gate every ``gate_period_s``, for ``seconds``.

Gate latency is measured on the server's cycle timeline (``onset_latencies_ms``): from the
gate edge's timestamp, placed between the starts of the cycles around it, to the frame of
the cycle that outputs the onset's first sample, plus its offset in that cycle. It is
measured twice: to the sample where the engine placed the onset (``gate_latency_ms``), and
to the sample where the gate's sound starts in what the engine rendered
(``sound_latency_ms``, see ``neurorack_bench.sound_onsets``), which a voice's own delay adds
to. The server's reported playback latency (the DAC side) is constant and reported
separately as ``output_latency_ms``. Each block's render time is split into its parts
(``render_us``, see ``neurorack.audio.render_profile``).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

from neurorack.audio.backends.sound_device import (
    SoundDeviceBackend,
    import_sounddevice,
    leave_portaudio,
)
from neurorack.audio.engine import Engine
from neurorack.audio.output_recorder import OutputRecorder
from neurorack.audio.render_profile import RenderProfile, profile_engine
from neurorack.audio.schedule import Onset
from neurorack.audio.voices import BusyVoice, TestVoice
from neurorack.config.module import ModuleConfig
from neurorack.core.events import GateEdge
from neurorack.errors import NeurorackError
from neurorack.realtime import BACKGROUND_PRIORITY, request_realtime
from neurorack_bench.jack_server import JackDummyServer, JackProbe, stop_on_termination
from neurorack_bench.sine_client import SETTLE_S
from neurorack_bench.sound_onsets import sound_onsets

NEIGHBOURS = 4  # cycles each side whose start times place an edge on the cycle timeline
FIRST_GATE_S = 0.05  # the first measured gate, after the stream has settled


def onset_latencies_ms(onsets: list[Onset], engine: Engine) -> list[float]:
    """Gate-to-output latency of each played onset, in ms on the server's cycle timeline.

    JACK runs one cycle per block and the engine's callback runs once in each, so cycle
    ``c`` outputs frames ``c * block_size`` onwards of the output timeline (JACK's frame
    counter, which likewise advances one block per cycle). The onset's first sample lies
    in the cycle whose callback read it, at its offset in that block. The edge is placed
    between the starts of the cycles around it: the lower envelope of their callback times
    (a callback can start late in its cycle, never early), taken over ``NEIGHBOURS`` cycles
    each side, independent of the engine's own estimate. JACK's interpolated frame time is
    not used: on the dummy driver it follows the cycles through a filter that, after a host
    stall, wanders by milliseconds for seconds (see docs/realtime.md).
    """
    read_index, called_at, _ = engine.timeline.recent()
    block_s = engine.block_size / engine.sample_rate
    cycle_starts = called_at - np.arange(len(called_at)) * block_s  # time cycle 0 would have started
    latencies = []
    for onset in onsets:
        played = int(np.searchsorted(read_index, onset.sample, side="right")) - 1
        during = int(np.searchsorted(called_at, onset.edge.time_s, side="right")) - 1
        if played < 0 or played + 1 >= len(read_index) or during < 0:
            continue  # not played yet, or older than the kept records
        output_frames = played * engine.block_size + (onset.sample - read_index[played])
        origin = cycle_starts[max(0, during - NEIGHBOURS): during + NEIGHBOURS + 1].min()
        edge_frames = (onset.edge.time_s - origin) * engine.sample_rate
        latencies.append((output_frames - edge_frames) * 1000.0 / engine.sample_rate)
    return latencies


def dropout_counts(engine: Engine) -> tuple[int, int, int]:
    """(callbacks, underflows, late renders) so far: take two and subtract."""
    return engine.timeline.count, engine.counters.underflows, engine.counters.late_renders


def take_played(onsets, older_than_s: float) -> list[Onset]:
    """Remove and return the recorded onsets whose edges are older than ``older_than_s``."""
    played = []
    while onsets and onsets[0].edge.time_s < time.monotonic() - older_than_s:
        played.append(onsets.popleft())
    return played


def run_baseline(seconds: float, sample_rate: int, block_size: int) -> dict:
    """Run the sine client in a separate process and return its counts."""
    command = [sys.executable, "-m", "neurorack_bench.sine_client", "--seconds", str(seconds),
               "--sample-rate", str(sample_rate), "--block-size", str(block_size)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise NeurorackError(f"the baseline sine client failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class GateTimes:
    """Gate-to-output latencies of played onsets, in ms on the server's cycle timeline: to where
    the engine placed each onset (``gate``) and to where its sound starts in the engine's output
    (``sound``; ``missed``: gates whose sound was not found). The engine must have a recorder."""

    gate: list[float] = field(default_factory=list)
    sound: list[float] = field(default_factory=list)
    sound_edges: list[GateEdge] = field(default_factory=list)  # the edge of each ``sound``
    missed: int = 0

    def add(self, onsets: list[Onset], engine: Engine) -> None:
        if not onsets:
            return
        self.gate += onset_latencies_ms(onsets, engine)
        found, missed = sound_onsets(onsets, engine, engine.recorder)
        self.sound += onset_latencies_ms(found, engine)
        self.sound_edges += [onset.edge for onset in found]
        self.missed += missed


def held_gate_latencies_ms(schedule, raises: int) -> list[float]:
    """The gate latencies the schedule may have held in a run: the configured one, and one a
    block higher for each time the lookahead rose."""
    block_ms = schedule.block_size / schedule.sample_rate * 1000.0
    return [schedule.base_gate_latency_s * 1000.0 + block_ms * k for k in range(raises + 1)]


def within_half_ms(latencies_ms: np.ndarray, held_ms: list[float]) -> float:
    """The share of gates within 0.5 ms of a latency the schedule held (an onset placed before
    a raise sits at the latency of its time, not at the one the run ended on)."""
    return float(np.mean(np.min(np.abs(latencies_ms[:, None] - np.asarray(held_ms)[None, :]), axis=1) <= 0.5))


def make_voice(name: str, config: ModuleConfig):
    """The voices the bench can play: ``test``, the deliberately overloaded ``busy``, or ``model``:
    the installed default model with its sound bank, its CVs at 0 V, as the daemon opens it (the
    test voice when it cannot). Returns the voice, the instrument (None but for ``model``) and
    the warnings of opening it."""
    sample_rate = config.audio.sample_rate
    if name == "test":
        return TestVoice(sample_rate), None, []
    if name == "busy":
        return BusyVoice(sample_rate), None, []
    if name == "model":
        from neurorack.app.module import open_instrument

        module_voice = open_instrument(config, lambda: (0.0,) * 4)
        return module_voice.voice, module_voice.instrument, module_voice.warnings
    raise NeurorackError(f"unknown bench voice '{name}'; expected test, busy or model")


@contextlib.contextmanager
def jack_session(audio, cpu: int | None = None):
    """JACK's dummy driver at the config's rate and block size (started unless one runs, and
    then stopped, also on SIGTERM; on core ``cpu`` only when given, see ``JackDummyServer``):
    yields the server. On the way out PortAudio lets go of JACK before the server stops.

    Raises:
        NeurorackError: a running server with another rate or block size, or no JACK.
    """
    with (stop_on_termination(), JackDummyServer(audio.sample_rate, audio.block_size, cpu) as server,
          JackProbe() as probe):
        if probe.sample_rate != audio.sample_rate or probe.block_size != audio.block_size:
            raise NeurorackError(
                f"the running JACK server uses {probe.sample_rate} Hz / {probe.block_size} frames, "
                f"the config asks for {audio.sample_rate} Hz / {audio.block_size}; stop it or match the config"
            )
        try:
            yield server
        finally:
            if "sounddevice" in sys.modules:
                leave_portaudio(import_sounddevice())  # PortAudio must let go of JACK before the server stops


def latency_figures(latencies: list[float]) -> dict:
    """``gate_latency_ms`` (p1, p50, p99, max) and ``jitter_ms`` (p99 - p1) of onset latencies."""
    values = np.asarray(latencies) if latencies else np.zeros(1)
    p1, p50, p99 = np.percentile(values, [1, 50, 99])
    return {"gate_latency_ms": {"p1": float(p1), "p50": float(p50), "p99": float(p99), "max": float(values.max())},
            "jitter_ms": float(p99 - p1)}


def sound_figures(latencies: list[float], missed: int) -> dict:
    """``sound_latency_ms`` (p1, p50, p99, max) and ``sound_jitter_ms`` (p99 - p1) of the latencies
    to the sounds found (None when none was), ``sounds_found`` and ``sounds_missed``."""
    figures = latency_figures(latencies)
    return {"sound_latency_ms": figures["gate_latency_ms"] if latencies else None,
            "sound_jitter_ms": figures["jitter_ms"] if latencies else None,
            "sounds_found": len(latencies), "sounds_missed": missed}


def sound_summary(result: dict) -> str:
    """The ``sound_figures`` of ``result`` as a line for people."""
    sound = result["sound_latency_ms"]
    found = f"{result['sounds_found']} sounds found, {result['sounds_missed']} missed"
    if sound is None:
        return f"gate to sound: none found ({found})"
    return (f"gate to sound p1 {sound['p1']:.2f} / p50 {sound['p50']:.2f} / p99 {sound['p99']:.2f} / "
            f"max {sound['max']:.2f} ms, jitter {result['sound_jitter_ms']:.2f} ms ({found})")


def render_parts_summary(result: dict) -> str:
    """The ``render_us`` of ``result`` as a line for people."""
    return "render per block by part, mean / p99 us: " + ", ".join(
        f"{part} {times['mean']:.0f} / {times['p99']:.0f}" for part, times in result["render_us"].items())


def with_block_size(config: ModuleConfig, block_size: int | None) -> ModuleConfig:
    """``config`` with the audio's block size set to ``block_size`` (None: as it is)."""
    return config if block_size is None else replace(config, audio=replace(config.audio, block_size=block_size))


def run_realtime_bench(config: ModuleConfig, seconds: float = 10.0, voice: str = "test",
                       gate_period_s: float = 0.25, baseline: bool = True, block_size: int | None = None) -> dict:
    """Run the baseline and the engine on JACK's dummy driver, at ``block_size`` (None: the
    config's); return the figures."""
    config = with_block_size(config, block_size)
    audio = config.audio
    with jack_session(audio) as server:
        base = run_baseline(seconds, audio.sample_rate, audio.block_size) if baseline else None
        result = _run_engine(config, seconds, voice, gate_period_s)
        result["jack_realtime"] = server.realtime if server.started_here else None
    if base is not None:
        result["baseline_underflows"] = base["underflows"]
        result["baseline_callbacks"] = base["callbacks"]
    return result


def _run_engine(config: ModuleConfig, seconds: float, voice_name: str,
                gate_period_s: float) -> dict:
    audio = replace(config.audio, device=None)  # JACK is the default device while it runs
    request_realtime(BACKGROUND_PRIORITY, "the benchmark's gate thread")  # as the daemon does
    voice, instrument, warnings = make_voice(voice_name, replace(config, audio=audio))
    engine = Engine(voice, audio, config.output)
    engine.recorder = OutputRecorder()
    profile = RenderProfile(round((seconds + SETTLE_S + 1.0) * audio.sample_rate / audio.block_size))
    profile_engine(engine, profile)
    backend = SoundDeviceBackend(engine, device=None, cpu=audio.cpu)
    backend.start()
    times = GateTimes()
    try:
        # both runs leave out the stream's start, where JACK reorders its graph; a gate a period
        # before the first one measured, so that every measured sound starts over the last one's tail
        warm_up_s = min(SETTLE_S, max(0.0, gate_period_s - FIRST_GATE_S))
        time.sleep(SETTLE_S - warm_up_s)
        engine.post_gate(GateEdge(time.monotonic()))
        time.sleep(warm_up_s)
        take_played(engine.onsets, 0.0)
        started, before, profiled = time.monotonic(), dropout_counts(engine), profile.count
        next_gate = started + FIRST_GATE_S
        end = started + seconds
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(max(0.0, min(next_gate, end) - now))
            if time.monotonic() >= end:
                break
            engine.post_gate(GateEdge(time.monotonic()))
            next_gate += gate_period_s
            times.add(take_played(engine.onsets, 0.1), engine)
        elapsed, after = time.monotonic() - started, dropout_counts(engine)
        render_us = profile.summary(profiled)
        time.sleep(0.1)
        times.add(take_played(engine.onsets, 0.0), engine)
        output_latency_ms = backend.stream.latency * 1000.0
    finally:
        backend.stop()
    stats = engine.stats()
    latencies = times.gate
    values = np.asarray(latencies) if latencies else np.zeros(1)
    held = held_gate_latencies_ms(engine.schedule, stats["lookahead_raises"])
    return {
        "sample_rate": audio.sample_rate,
        "block_size": audio.block_size,
        "seconds": round(elapsed, 3),
        "voice": engine.voice.name,
        "model": instrument.model_name if instrument is not None else None,
        "sound": instrument.current_sound if instrument is not None else None,
        "warnings": list(warnings),
        "audio_callback": backend.callback_description,
        "model_frame": instrument.model.frame_kind if instrument is not None else None,
        "callbacks": after[0] - before[0],
        "expected_callbacks": round(elapsed * audio.sample_rate / audio.block_size),
        "underflows": after[1] - before[1],
        "late_renders": after[2] - before[2],
        "late_onsets": stats["late_onsets"],
        "lookahead_raises": stats["lookahead_raises"],
        "lookahead_drops": stats["lookahead_drops"],
        "gates": len(latencies),
        **latency_figures(latencies),
        **sound_figures(times.sound, times.missed),
        "configured_gate_latency_ms": engine.gate_latency_s * 1000.0,
        "held_gate_latencies_ms": held,
        "gates_within_half_ms": within_half_ms(values, held),
        "output_latency_ms": output_latency_ms,
        "render_ms": stats["render_ms"],
        "render_us": render_us,
    }
