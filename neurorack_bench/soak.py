"""``neurorack bench soak``: the whole module for minutes on JACK's dummy driver, under load.

One run, on one JACK server, with a CPU hog busy on one core for all of it (the server runs
on that core too: its timer thread, the rig's sound card clock, never waits for an idle
core to wake up), and two players taking turns (a minute each by default, every other pair
in the other order):

1. the baseline: the trivial sine client (``bench realtime``'s), in a process of its own;
2. the module as the daemon assembles it: the instrument on the model the daemon plays with no
   saved state (``DEFAULT_MODEL``, else the first installed) with its sound bank, the mock board's panel
   (the simulated MCP3008 read by the real driver and the real ADC poller) playing the soak
   scenario - LFOs on the four CVs, gate 1 at 8 Hz, gate 2 every 2 s - the UI thread
   redrawing to an in-memory screen, and the encoder turned every few seconds to switch sounds.
   Its audio callback and render thread run on the server's core (``audio.cpu``, unless the
   config names one), where the server wakes the callback without waking another core; the
   sine client is left where the kernel puts it, as a trivial client is.

Dropouts of the module's turns are compared with the baseline's, and the server's own log
says what each xrun was: its own cycle started late, or a client had not finished. Gate
latency is measured as in ``bench realtime``: from each edge's timestamp (taken by the
poller as it read the gate) to the output frame of its onset on the server's cycle timeline,
and to the output frame where its sound starts in what the module rendered. Each block's
render time is split into its parts, as in ``bench realtime``.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import subprocess
import time
from dataclasses import asdict, replace

import numpy as np

from neurorack.config.module import ModuleConfig
from neurorack.hardware.scenario import Constant, Lfo, Scenario, Steps
from neurorack_bench.cpu_hog import start_cpu_hog
from neurorack_bench.jack_server import XrunCounts
from neurorack_bench.realtime import (
    GateTimes,
    dropout_counts,
    jack_session,
    latency_figures,
    render_parts_summary,
    run_baseline,
    sound_figures,
    sound_summary,
    take_played,
    with_block_size,
)
from neurorack_bench.sine_client import SETTLE_S

log = logging.getLogger(__name__)

GATE_HZ = 8.0
GATE_VOLTS = 8.0
SWITCH_EVERY_S = 5.0
STATS_EVERY_S = 5.0  # the engine keeps its last 4096 render times (about 11 s): sample them this often
SLICE_MINUTES = 1.0  # the baseline and the module take turns this often
LOOP_EVERY_S = 0.02  # how often the loop collects played onsets, turns the encoder and reports progress
COLLECT_AFTER_S = 0.1  # onsets are collected this long after their gate: their sound's search window is rendered


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
            self.process = start_cpu_hog()
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


def slice_plan(slices: int, baseline: bool) -> list[str]:
    """The order of the slices: pairs of "baseline" and "module", every other pair reversed
    (baseline, module, module, baseline, ...), so a host that drifts one way over the run
    weighs on both alike. Without the baseline, the module in one piece."""
    if not baseline:
        return ["module"]
    pairs = [("baseline", "module") if index % 2 == 0 else ("module", "baseline") for index in range(slices)]
    return [phase for pair in pairs for phase in pair]


def run_soak_bench(config: ModuleConfig, minutes: float = 10.0, baseline: bool = True, hog: bool = True,
                   native_callback: bool = True, slices: int | None = None, progress=None,
                   block_size: int | None = None) -> dict:
    """Run the sine baseline and the module for ``minutes`` each, in alternating slices, under
    the CPU hog, at ``block_size`` (None: the config's); return the figures.

    The host's own stalls, which make the baseline's underflows, come and go over minutes by
    more than a module changes them. Run one after the other, the two would be measured on
    different hosts; interleaved, both see the same one.

    Args:
        native_callback: play through the C audio callback (False: the Python one).
        slices: how many slices each of the two gets (default: one per minute).
        progress: optional callable taking the fraction of the whole run done (0..1).
    """
    config = with_block_size(config, block_size)
    audio = config.audio
    count = max(1, slices or round(minutes / SLICE_MINUTES))
    plan = slice_plan(count, baseline)
    slice_s = minutes * 60.0 / (count if baseline else 1)
    played: list[dict] = []
    bases: list[dict] = []
    sound = None
    cpu_hog = CpuHog(hog)
    # JACK's clock on the hog's core, which never idles (see JackDummyServer)
    with jack_session(audio, cpu_hog.cpu if hog else None) as server, cpu_hog:
        # the module's audio threads beside the server's clock, where it wakes them (audio.cpu)
        audio_cpu = audio.cpu if audio.cpu is not None or not server.started_here else server.cpu
        module_config = replace(config, audio=replace(audio, cpu=audio_cpu))
        for index, phase in enumerate(plan):
            log.info("slice %d of %d: %s for %.0f s", index + 1, len(plan), phase, slice_s)
            part = None if progress is None else (lambda f, i=index: progress((i + f) / len(plan)))
            if phase == "baseline":
                figures = run_baseline(slice_s, audio.sample_rate, audio.block_size)
            else:
                figures = _soak_module(module_config, slice_s, native_callback, sound, part)
                sound = figures["sounds_played"][-1] if figures["sounds_played"] else None
            figures["xruns"] = server.xruns(*figures["window"])
            (bases if phase == "baseline" else played).append(figures)
            if part is not None:
                part(1.0)
        result = _module_figures(played, audio)
        result["jack_realtime"] = server.realtime if server.started_here else None
        result["jack_cpu"] = server.cpu if server.started_here else None
        result["audio_cpu"] = audio_cpu
    result["cpu_hog"] = cpu_hog.figures()
    result["slices"] = len(played)
    result["slice_s"] = round(slice_s, 3)
    result["underflows_by_slice"] = [figures["underflows"] for figures in played]
    result["dropouts"] = result["underflows"] + result["late_renders"]
    result["xruns"] = _xrun_totals(played)
    if bases:
        result["baseline_underflows"] = sum(figures["underflows"] for figures in bases)
        result["baseline_callbacks"] = sum(figures["callbacks"] for figures in bases)
        result["baseline_underflows_by_slice"] = [figures["underflows"] for figures in bases]
        result["baseline_xruns"] = _xrun_totals(bases)
        # a late render is a dropout as well (the callback plays zeros for what is missing),
        # where the sine client, which computes in its callback, has none
        result["dropouts_within_baseline"] = result["dropouts"] <= result["baseline_underflows"]
    return result


def _xrun_totals(slices: list[dict]) -> dict | None:
    """The server's xruns during the slices by cause, or None when the server is not ours."""
    counts = [figures["xruns"] for figures in slices]
    if not counts or None in counts:
        return None
    return asdict(sum(counts, XrunCounts()))


def _soak_module(config: ModuleConfig, seconds: float, native_callback: bool, sound: str | None,
                 progress) -> dict:
    """One slice of the module, assembled as the daemon assembles it (``neurorack.app.assemble``,
    on a fresh state folder) and taken apart after; starts on ``sound`` (the bank's first
    when None). Returns its counts and raw measurements."""
    import tempfile

    from neurorack.app.assemble import assemble
    from neurorack.config.board import load_board
    from neurorack.config.state import ModuleState
    from neurorack.realtime import BACKGROUND_PRIORITY, request_realtime

    audio = replace(config.audio, device=None)  # JACK is the default device while it runs
    request_realtime(BACKGROUND_PRIORITY, "the soak benchmark")  # as the daemon does; threads inherit it
    with tempfile.TemporaryDirectory(prefix="neurorack-soak-") as state_dir:
        module = assemble(replace(config, audio=audio, state_dir=state_dir), load_board("mock"), mock=True,
                          scenario=soak_scenario(), state=ModuleState(sound=sound))
        return _play_module(module, seconds, native_callback, progress)


def _play_module(module, seconds: float, native_callback: bool, progress) -> dict:
    """Play the assembled ``module`` on JACK for ``seconds``, as the daemon starts it (the audio,
    then the screen, here an in-memory one); its counts and raw measurements."""
    from neurorack.app.module import LatestFrame
    from neurorack.audio.backends.sound_device import (
        SoundDeviceBackend,
        import_sounddevice,
        join_portaudio,
        leave_portaudio,
    )
    from neurorack.audio.output_recorder import OutputRecorder
    from neurorack.audio.render_profile import RenderProfile, profile_engine
    from neurorack.hardware.contacts import encoder_turn

    engine, panel, instrument, board = module.engine, module.panel, module.instrument, module.board
    audio = module.config.audio
    engine.recorder = OutputRecorder()
    profile = RenderProfile(round((seconds + SETTLE_S + 1.0) * audio.sample_rate / audio.block_size))
    profile_engine(engine, profile)
    screen = LatestFrame()
    sd = import_sounddevice()
    join_portaudio(sd)  # PortAudio joins JACK for this slice only: no client of ours stays for the baseline's
    backend = SoundDeviceBackend(engine, device=None, native_callback=native_callback, cpu=audio.cpu)
    times = GateTimes()
    windows: list[dict] = []
    sounds = [instrument.current_sound] if instrument is not None else []
    changes = SoundChanges(sounds[0] if sounds else None)
    try:
        backend.start()
        module.start_ui(display=screen)
        time.sleep(SETTLE_S)  # as the baseline: leave out the stream's start
        take_played(engine.onsets, 0.0)  # onsets from the settling time are not counted
        started, before, profiled = time.monotonic(), dropout_counts(engine), profile.count
        frames_before, polls_before = screen.count, panel.poller.polls
        end = started + seconds
        next_switch, next_stats = started + SWITCH_EVERY_S, started + STATS_EVERY_S
        while (now := time.monotonic()) < end:
            time.sleep(min(LOOP_EVERY_S, end - now))
            times.add(_rising(take_played(engine.onsets, COLLECT_AFTER_S)), engine)
            now = time.monotonic()
            if now >= next_switch:
                panel.gpio.play(encoder_turn(1, board.encoder.pin_a, board.encoder.pin_b))
                changes.turned(now)
                next_switch += SWITCH_EVERY_S
            if now >= next_stats:
                windows.append(engine.stats()["render_ms"])
                next_stats += STATS_EVERY_S
            if instrument is not None and instrument.current_sound != sounds[-1]:
                sounds.append(instrument.current_sound)
                changes.seen(now, sounds[-1])
            if progress is not None:
                progress(min((now - started) / seconds, 1.0))
        elapsed, after = time.monotonic() - started, dropout_counts(engine)
        frames, polls = screen.count - frames_before, panel.poller.polls - polls_before
        render_us = profile.summary(profiled)
        time.sleep(COLLECT_AFTER_S)  # the gates of the last moments are left out of every figure
        times.add(_rising(take_played(engine.onsets, COLLECT_AFTER_S)), engine)
        output_latency_ms = backend.stream.latency * 1000.0
    finally:
        module.close()
        backend.stop()
        leave_portaudio(sd)
    stats = engine.stats()
    windows.append(stats["render_ms"])
    return {
        "window": [started, started + elapsed],
        "seconds": elapsed,
        "model": instrument.model_name if instrument is not None else None,
        "voice": engine.voice.name,
        "audio_callback": backend.callback_description,
        "model_frame": instrument.model.frame_kind if instrument is not None else None,
        "callback_pinned": backend.callback_pinned,
        "warnings": list(module.voice.warnings),
        "callbacks": after[0] - before[0],
        "underflows": after[1] - before[1],
        "late_renders": after[2] - before[2],
        "late_onsets": stats["late_onsets"],
        "muted_blocks": stats["muted_blocks"],
        "lookahead_raises": engine.counters.lookahead_raises,
        "lookahead_drops": engine.counters.lookahead_drops,
        "latencies": times.gate,
        "sound_latencies": times.sound,
        "sound_latencies_by_sound": changes.latencies_by_sound(times),
        "sounds_missed": times.missed,
        "configured_gate_latency_ms": engine.gate_latency_s * 1000.0,
        "output_latency_ms": output_latency_ms,
        "render_windows": windows,
        "render_us": render_us,
        "ui_frames": frames,
        "sounds_played": sounds,
        "polls": polls,
        "poller": panel.poller.stats(),
    }


def _module_figures(slices: list[dict], audio) -> dict:
    """The module's slices as one run's figures."""
    first = slices[0]
    elapsed = sum(figures["seconds"] for figures in slices)
    latencies = [value for figures in slices for value in figures["latencies"]]
    sound_latencies = [value for figures in slices for value in figures["sound_latencies"]]
    windows = [window for figures in slices for window in figures["render_windows"]]
    polls = sum(figures["polls"] for figures in slices)
    frames = sum(figures["ui_frames"] for figures in slices)
    pollers = [figures["poller"] for figures in slices]
    sounds: list[str] = []
    for sound in (sound for figures in slices for sound in figures["sounds_played"]):
        if not sounds or sound != sounds[-1]:  # a turn starts on the sound the one before ended on
            sounds.append(sound)
    total = {key: sum(figures[key] for figures in slices)
             for key in ("callbacks", "underflows", "late_renders", "late_onsets", "muted_blocks",
                         "lookahead_raises", "lookahead_drops")}
    return {
        "sample_rate": audio.sample_rate,
        "block_size": audio.block_size,
        "seconds": round(elapsed, 3),
        "model": first["model"],
        "voice": first["voice"],
        "audio_callback": first["audio_callback"],
        "model_frame": first["model_frame"],
        "callback_pinned": first["callback_pinned"],
        "warnings": sorted({warning for figures in slices for warning in figures["warnings"]}),
        **total,
        "expected_callbacks": round(elapsed * audio.sample_rate / audio.block_size),
        "gates": len(latencies),
        "expected_gates": round(elapsed * GATE_HZ * (1 + 1 / 16)),
        **latency_figures(latencies),
        **sound_figures(sound_latencies, sum(figures["sounds_missed"] for figures in slices)),
        "sound_latency_by_sound_ms": _by_sound([figures["sound_latencies_by_sound"] for figures in slices]),
        "configured_gate_latency_ms": max(figures["configured_gate_latency_ms"] for figures in slices),
        "output_latency_ms": first["output_latency_ms"],
        "render_ms": {"p50": float(np.median([w["p50"] for w in windows])),
                      "p99": float(max(w["p99"] for w in windows)),
                      "max": float(max(w["max"] for w in windows))},
        "render_us": _combined_parts([figures["render_us"] for figures in slices]),
        "ui_frames": frames,
        "ui_fps": round(frames / elapsed, 2) if elapsed > 0 else 0.0,
        "sounds_played": sounds,
        "poller": {"polls": polls, "poll_hz": round(polls / elapsed, 1) if elapsed > 0 else 0.0,
                   "overruns": sum(p["overruns"] for p in pollers), "errors": sum(p["errors"] for p in pollers),
                   "realtime": all(p["realtime"] for p in pollers),
                   "thread_cpu_percent": round(100.0 * sum(p["thread_cpu_s"] for p in pollers)
                                               / max(sum(p["elapsed_s"] for p in pollers), 1e-9), 1)},
    }


class SoundChanges:
    """Which sound gate 1 played when: the encoder's turns and when the instrument was seen on
    the next sound. An edge between a turn and its sound being seen is not attributed."""

    def __init__(self, first: str | None):
        self._turns: list[float] = [-math.inf]  # per sound: the turn that brought it ...
        self._seen: list[float] = [-math.inf]   # ... when it was seen playing ...
        self._sounds: list[str | None] = [first]  # ... and its name
        self._turned_at = math.inf

    def turned(self, now: float) -> None:
        self._turned_at = now  # a turn that changed nothing is superseded by the next

    def seen(self, now: float, sound: str) -> None:
        self._turns.append(self._turned_at)
        self._seen.append(now)
        self._sounds.append(sound)
        self._turned_at = math.inf

    def sound_at(self, time_s: float) -> str | None:
        """The sound gate 1 played at ``time_s`` (None: not known, around a change)."""
        index = bisect.bisect_right(self._turns, time_s) - 1
        return self._sounds[index] if self._seen[index] <= time_s < self._turned_at else None

    def latencies_by_sound(self, times: GateTimes) -> dict[str, list[float]]:
        """Gate 1's sound latencies in ``times``, by the sound each edge played."""
        by_sound: dict[str, list[float]] = {}
        for latency, edge in zip(times.sound, times.sound_edges, strict=True):
            sound = self.sound_at(edge.time_s) if edge.gate == 0 else None
            if sound is not None:
                by_sound.setdefault(sound, []).append(latency)
        return by_sound


def _by_sound(slices: list[dict[str, list[float]]]) -> dict[str, dict]:
    """Gate-to-sound figures (p1, p50, p99, max, jitter, count) per sound, over every turn."""
    merged: dict[str, list[float]] = {}
    for by_sound in slices:
        for sound, latencies in by_sound.items():
            merged.setdefault(sound, []).extend(latencies)
    figures = {}
    for sound, latencies in merged.items():
        latency = latency_figures(latencies)
        figures[sound] = {**latency["gate_latency_ms"], "jitter": latency["jitter_ms"], "count": len(latencies)}
    return figures


def _combined_parts(summaries: list[dict]) -> dict:
    """The turns' ``render_us`` as one: the median of their p50s and means, the highest p99 and max."""
    return {part: {"p50": float(np.median([s[part]["p50"] for s in summaries])),
                   "p99": max(s[part]["p99"] for s in summaries), "max": max(s[part]["max"] for s in summaries),
                   "mean": float(np.median([s[part]["mean"] for s in summaries]))}
            for part in summaries[0]}


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
        + (f"on core {hog['cpu']} of {hog['cores']}" if hog["enabled"] else "off")
        + ("" if result["audio_cpu"] is None else f", audio callback and render thread on core {result['audio_cpu']}")
        + f", {result['slices']} turns of {result['slice_s']:.0f} s",
        (f"dropouts {result['dropouts']} (sine baseline: {result.get('baseline_underflows', 'not run')}): "
        f"underflows {result['underflows']}, "
        f"late renders {result['late_renders']} (lookahead raised {result['lookahead_raises']}x, "
        f"lowered {result['lookahead_drops']}x), "
        f"callbacks {result['callbacks']} "
        f"(expected {result['expected_callbacks']})"),
        f"server xruns by cause: module {_causes(result['xruns'])}; baseline {_causes(result.get('baseline_xruns'))}",
        (f"gate latency p1 {latency['p1']:.2f} / p50 {latency['p50']:.2f} / p99 {latency['p99']:.2f} / "
        f"max {latency['max']:.2f} ms, jitter {result['jitter_ms']:.2f} ms over {result['gates']} gates"),
        sound_summary(result),
        "gate 1 to sound by sound, p50 / p99 ms: " + ", ".join(
            f"{sound} {figures['p50']:.2f} / {figures['p99']:.2f}"
            for sound, figures in result["sound_latency_by_sound_ms"].items()),
        (f"render per block p50 {result['render_ms']['p50']:.3f} / p99 {result['render_ms']['p99']:.3f} / "
        f"max {result['render_ms']['max']:.3f} ms; UI {result['ui_fps']:.1f} fps; "
        f"sounds played {len(result['sounds_played'])}"),
        render_parts_summary(result),
    ]
    return "\n".join(lines)


def _causes(xruns: dict | None) -> str:
    if xruns is None:
        return "not known (a JACK server started elsewhere)"
    return f"server late {xruns['server_late']}, a client late {xruns['client_late']}"
