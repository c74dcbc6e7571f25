"""``neurorack demo``: a scripted performance played through the instrument, offline.

The performance (``demo_performance``) is what a player and a patch would do. The patch is
a scenario (``neurorack.hardware.scenario``): by default ``demo_scenario``, gates on gate 1
(eighth notes with a velocity pattern, played as gate levels) and gate 2 (the bank's
second sound), and four CVs moving: a pitch LFO (CV 1, 1V/oct), an accent on every fourth
hit (CV 2, loudness), a brightness sweep (CV 3, centroid) and a noisiness swell (CV 4),
through the module's default routing; ``neurorack demo --scenario FILE`` patches another.
The player turns the encoder on the home page at set times to switch sounds.

The jacks are read as the mock module reads them (``neurorack run --mock``), on the
virtual clock: ``sample_jacks`` converts the scenario in the simulated MCP3008 and polls it
at the mock board's rate with the real ``adafruit_mcp3xxx`` driver over the simulated SPI
bus, through the ``ControlPoller``'s own step (CV conditioning and smoothing, the
Schmitt-trigger gate detector). Its timestamped edges go to the engine, and the instrument
reads the CVs the poller held at each block's time, as the daemon does.

Two passes share the one performance:

* audio: the real instrument voice (the installed default model and its sound bank; the
  test voice, with a warning, when no model is installed) in the full engine on the
  offline backend's virtual clock. The player's clock is the engine's render position
  minus the gate latency, so an encoder turn takes effect at the next rendered block, as
  it does on the module when the UI thread selects a sound. The encoder turns go through
  the menu's real ``Navigator`` on its home page, which selects the sound in the instrument.
* screen: the UI renders the same performance (encoder turns, and the panel as the poller
  read it at every frame) to an animated GIF with ``neurorack.ui.recording.render_gif``.

Everything is seeded (the chip's noise and undefined bits, the scenario's noise), so two
runs give the same samples.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from neurorack.audio.audio_file import write_wav
from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.config.board import BoardConfig, load_board
from neurorack.config.module import ModuleConfig
from neurorack.config.state import ModuleState
from neurorack.core.events import EncoderTurn, GateEdge, InputStatus
from neurorack.hardware.scenario import (
    Constant,
    GatePattern,
    Lfo,
    Ramp,
    Scenario,
    ScriptedHit,
    Steps,
)

log = logging.getLogger(__name__)

BEAT_S = 0.25          # eighth notes at 120 BPM
FIRST_HIT_S = 0.1      # the first hit, seconds into the performance
GATE_S = 0.06          # how long each gate stays high
GATE_HIGH_VOLTS = 8.0  # the gate level at velocity 1 (the mock board plays 8 V as full velocity)
GATE2_EVERY = 4        # gate 2 fires on every 4th beat, off the beat of gate 1
SWITCHES = (1, 1, 2)   # encoder detents at 1/4, 2/4 and 3/4 of the performance
UI_FPS = 20.0
SEED = 2024            # the simulated chip's noise and undefined bits, and the scenario's noise


@dataclass(frozen=True)
class Performance:
    """A scripted performance, in player seconds from its start.

    Attributes:
        seconds: its length.
        scenario: what is patched into the jacks (jack volts; pots 0..1).
        switches: ``(time_s, detents)`` encoder turns on the home page.
        source: where the scenario came from (a file, or the built-in demo), for the report.
    """

    seconds: float
    scenario: Scenario
    switches: tuple[tuple[float, int], ...]
    source: str = "built-in demo scenario"


def demo_hits(seconds: float) -> tuple[ScriptedHit, ...]:
    """The demo's gate pattern: eighth notes on gate 1 with velocities 1, .5, .75, .5, and
    gate 2 half a beat after every fourth beat (velocity .8)."""
    velocities = (1.0, 0.5, 0.75, 0.5)
    hits = []
    beat = 0
    while FIRST_HIT_S + beat * BEAT_S < seconds:
        at = FIRST_HIT_S + beat * BEAT_S
        hits.append(ScriptedHit(at, 0, velocities[beat % len(velocities)]))
        second = at + BEAT_S / 2
        if beat % GATE2_EVERY == 2 and second < seconds:
            hits.append(ScriptedHit(second, 1, 0.8))
        beat += 1
    return tuple(hits)


def hits_scenario(hits: tuple[ScriptedHit, ...], seconds: float, cvs: dict | None = None) -> Scenario:
    """A scenario playing ``hits`` once (each gate ``GATE_S`` long at ``GATE_HIGH_VOLTS * velocity``)
    on gate 1 and gate 2, plus the signals in ``cvs`` (input name -> signal)."""
    signals = dict(cvs or {})
    length_s = seconds + GATE_S + 1.0  # longer than the performance: the pattern does not loop
    for gate, name in enumerate(("gate1", "gate2")):
        signals[name] = GatePattern(tuple(hits), length_s, GATE_S, GATE_HIGH_VOLTS, start_s=0.0, gate=gate)
    return Scenario(signals, seed=SEED)


def demo_scenario(seconds: float = 8.0) -> Scenario:
    """The demo's patch: ``demo_hits`` on the gates, four moving CVs (see the module docstring)
    and the pots mid-way."""
    cvs = {"cv1": Lfo("sine", 0.5, -0.5, 0.5),                # pitch: +/- half an octave
           "cv2": Steps((0.0, 0.0, 0.0, 1.5), BEAT_S),        # accent: +7 dB every 4th beat
           "cv3": Ramp(-2.5, 2.5, seconds),                   # brightness sweep
           "cv4": Lfo("triangle", 1.0 / seconds, 0.0, 1.0),   # noisiness swell
           "pot1": Constant(0.5), "pot2": Constant(0.5)}      # the panel pots, mid-way
    return hits_scenario(demo_hits(seconds), seconds, cvs)


def demo_switches(seconds: float) -> tuple[tuple[float, int], ...]:
    """The encoder turns: on a beat boundary near each quarter of the performance (0.1 s
    before the next hit, 0.15 s after the last one)."""
    switches = ((BEAT_S * round(seconds * k / (len(SWITCHES) + 1) / BEAT_S), steps)
                for k, steps in enumerate(SWITCHES, start=1))
    return tuple(s for s in switches if 0 < s[0] < seconds)


def demo_performance(seconds: float = 8.0, scenario: Scenario | None = None,
                     source: str | None = None) -> Performance:
    """The demo: ``scenario`` (None: ``demo_scenario``) with three sound switches.

    A given scenario is reseeded with ``SEED``, so its noise is the same on every run.
    """
    if scenario is None:
        return Performance(seconds, demo_scenario(seconds), demo_switches(seconds))
    seeded = Scenario(scenario.signals, scenario.noise_volts, seed=SEED)
    return Performance(seconds, seeded, demo_switches(seconds), source or "scenario")


class _VirtualClock:
    """The time the simulated chip converts at and the poller stamps with: set by the demo."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class JackReadings:
    """What the poller read from the jacks, poll by poll, on the virtual clock.

    Attributes:
        poll_hz: polls per second (the board's ``adc.poll_hz``); poll ``i`` is at ``i / poll_hz`` s.
        cv_volts: ``[polls, 4]`` the conditioned, smoothed CVs after each poll (jack volts).
        pots: ``[polls, 2]`` the pots after each poll (0..1).
        gates: ``[polls, 2]`` whether each gate's detector is high after each poll.
        edges: the detector's edges, stamped in virtual seconds, in order.
        codes_read: ADC conversions made.
    """

    poll_hz: float
    cv_volts: np.ndarray
    pots: np.ndarray
    gates: np.ndarray
    edges: tuple[GateEdge, ...]
    codes_read: int

    def index_at(self, t: float) -> int:
        """The last poll at or before ``t`` seconds (the first poll before the start)."""
        return min(max(math.floor(t * self.poll_hz + 1e-9), 0), len(self.cv_volts) - 1)

    def cv_at(self, t: float) -> tuple[float, float, float, float]:
        """The four CVs (jack volts) the instrument reads at ``t``: what the poller last held."""
        return tuple(float(v) for v in self.cv_volts[self.index_at(t)])

    def status_at(self, t: float) -> InputStatus:
        """The panel snapshot at ``t``, as ``ControlPoller.status()`` gave it then."""
        i = self.index_at(t)
        return InputStatus(tuple(float(v) for v in self.cv_volts[i]), tuple(float(v) for v in self.pots[i]),
                           (bool(self.gates[i, 0]), bool(self.gates[i, 1])))

    @property
    def rising(self) -> list[GateEdge]:
        """The rising edges: the hits the instrument plays."""
        return [edge for edge in self.edges if edge.rising]


def sample_jacks(board: BoardConfig, scenario: Scenario, seconds: float, seed: int = SEED) -> JackReadings:
    """Read ``scenario`` through the board's hardware path on a virtual clock.

    The real ``adafruit_mcp3xxx`` MCP3008 driver reads the simulated chip over the simulated
    SPI bus; ``ControlPoller.poll_once`` runs at ``board.adc.poll_hz`` (gates every poll, the
    CVs and pots in turn, conditioned and smoothed; edges from the Schmitt triggers), with the
    virtual clock set to each poll's time, so the scenario is converted at that time.

    Args:
        board: channels, conditioning, thresholds and poll rate (the mock board for the demo).
        scenario: what is patched; its ``t = 0`` is the performance's start.
        seconds: how long to poll.
        seed: the simulated chip's noise and undefined bits.
    """
    from neurorack.controls.poller import ControlPoller
    from neurorack.hardware.adc import open_simulated_adc

    clock = _VirtualClock()
    adc = open_simulated_adc(board, scenario, seed=seed, clock=clock)  # the scenario's t = 0 is now (0.0)
    edges: list[GateEdge] = []
    poller = ControlPoller(adc.driver, board, edges.append, clock=clock, priority=None)
    poll_hz = float(board.adc.poll_hz)
    polls = math.ceil(seconds * poll_hz - 1e-9)
    cv_volts = np.zeros((polls, 4))
    pots = np.zeros((polls, 2))
    gates = np.zeros((polls, 2), dtype=bool)
    try:
        for i in range(polls):
            clock.now = i / poll_hz
            poller.poll_once()
            status = poller.status()
            cv_volts[i] = status.cv_volts
            pots[i] = status.pots
            gates[i] = status.gates
    finally:
        adc.close()
    if poller.fault is not None:
        log.warning("the simulated ADC reported a fault during the demo: %s", poller.fault)
    return JackReadings(poll_hz, cv_volts, pots, gates, tuple(edges), poller.reads)


def ui_script(performance: Performance, readings: JackReadings, fps: float = UI_FPS) -> list:
    """``(time_s, event)`` for ``render_gif``: the encoder turns and the panel as read, per frame."""
    script: list = [(t, EncoderTurn(steps, t)) for t, steps in performance.switches]
    for frame in range(int(performance.seconds * fps) + 1):
        t = frame / fps
        script.append((t, readings.status_at(t)))
    return sorted(script, key=lambda pair: pair[0])


class _Player:
    """Plays a performance's encoder turns into an engine whose voice reads the CVs from ``volts``.

    The instrument asks for the CVs once per rendered block; the player's clock is that
    block's output time minus the gate latency. Any encoder turn due by then is applied
    first, through the navigator; the CVs are what the poller held at that time.
    """

    def __init__(self, performance: Performance, readings: JackReadings, navigator=None,
                 on_cv_read: Callable[[float, tuple[float, float, float, float]], None] | None = None):
        self.performance = performance
        self.readings = readings
        self.navigator = navigator
        self.on_cv_read = on_cv_read
        self.engine: Engine | None = None
        self.sounds: list[tuple[float, str]] = []  # (time_s, sound) as switched
        self._next = 0

    def now(self) -> float:
        engine = self.engine
        return engine.fifo.write_index / engine.sample_rate - engine.gate_latency_s if engine else 0.0

    def volts(self) -> tuple[float, float, float, float]:
        t = self.now()
        switches = self.performance.switches
        while self._next < len(switches) and switches[self._next][0] <= t:
            at, steps = switches[self._next]
            self._next += 1
            if self.navigator is not None:
                self.navigator.handle(EncoderTurn(steps, at))
                self.sounds.append((at, self.navigator.state.sound))
        volts = self.readings.cv_at(t)
        if self.on_cv_read is not None:
            self.on_cv_read(t, volts)
        return volts


class _PerformedFacade:
    """The instrument's facade for the screen pass: the panel snapshot comes from the script
    (``render_gif`` sets ``status``) and the CPU badge shows the load the audio render measured."""

    def __init__(self, facade, cpu_percent: float):
        self._facade = facade
        self.status = InputStatus()
        self._cpu_percent = cpu_percent

    def __getattr__(self, name):
        return getattr(self._facade, name)

    def input_status(self) -> InputStatus:
        return self.status

    def system_info(self):
        return replace(self._facade.system_info(), cpu_percent=self._cpu_percent)


def _screen_facade(config: ModuleConfig, module_voice, engine: Engine, first_sound: str, cpu_percent: float):
    """The facade the screen pass draws: the performed instrument, or the test voice's."""
    from neurorack.app.facade import InstrumentFacade
    from neurorack.app.module import models_dir
    from neurorack.ui.no_model_facade import NoModelFacade

    instrument = module_voice.instrument
    if instrument is None:
        return _PerformedFacade(NoModelFacade(engine, warnings=lambda: module_voice.warnings), cpu_percent)
    instrument.select_sound(first_sound)  # the screen pass turns the encoder from the start again
    return _PerformedFacade(InstrumentFacade(instrument, engine, models_dir(config)), cpu_percent)


def render_demo(config: ModuleConfig, out: str | Path = "neurorack-demo.wav", seconds: float = 8.0,
                progress=None, performance: Performance | None = None,
                on_cv_read: Callable[[float, tuple[float, float, float, float]], None] | None = None,
                screen: bool = True, test_voice: bool = False) -> dict:
    """Play the demo performance; write the WAV to ``out`` and the screen beside it (``.gif``).

    Args:
        config: the module config (models folder, sound bank, audio and output settings).
        out: the WAV file.
        seconds: the performance's length (ignored when ``performance`` is given).
        progress: optional callable taking the fraction of the audio rendered (0..1).
        performance: another performance (None: ``demo_performance(seconds)``).
        on_cv_read: called with ``(time_s, cv_volts)`` each time the instrument reads the CVs
            (once per rendered block; player seconds, jack volts): what its routing received.
        screen: also render the screen animation (False: only the audio, for ``bench offline``).
        test_voice: play the built-in test voice, not the installed model (``bench offline``).

    Returns:
        Paths, what played (voice, model and its folder, block size, scenario, sound
        switches, the gate edges the detector stamped, the constant gate latency that places
        each onset), the polling, the screen frames, and the speed of the two passes: ``jacks_s`` reads the jacks
        through the simulated ADC (the poller at the board's rate, before the audio),
        ``render_s`` renders the audio through the engine on the offline backend
        (``realtime_factor``); ``realtime_factor_with_jacks`` counts both.
    """
    from neurorack.app.assemble import open_engine
    from neurorack.app.facade import InstrumentFacade
    from neurorack.app.module import models_dir
    from neurorack.ui.menu_file import load_menu
    from neurorack.ui.navigation import Navigator
    from neurorack.ui.recording import render_gif

    performance = performance or demo_performance(seconds)
    started = time.perf_counter()
    readings = sample_jacks(load_board("mock"), performance.scenario, performance.seconds)
    jacks_s = time.perf_counter() - started
    player = _Player(performance, readings, on_cv_read=on_cv_read)
    module_voice, engine = open_engine(config, player.volts, ModuleState(), test_voice=test_voice)
    player.engine = engine
    instrument = module_voice.instrument
    if instrument is None:
        if not test_voice:
            log.warning("the demo plays the built-in test voice: install a model (see README) to hear the instrument")
        first_sound, model_name = "test voice", None
    else:
        first_sound, model_name = instrument.current_sound, instrument.model_name
        facade = InstrumentFacade(instrument, engine, models_dir(config))
        player.navigator = Navigator(load_menu(), facade, ModuleState(sound=first_sound, model=model_name))
    player.sounds.append((0.0, first_sound))
    render_started = time.perf_counter()
    samples = render_offline(engine, performance.seconds, readings.edges, progress=progress)
    render_s = time.perf_counter() - render_started
    path = write_wav(out, samples, engine.sample_rate)
    played_s = len(samples) / engine.sample_rate
    drawn = {"path": None, "frames": 0}
    if screen:
        facade = _screen_facade(config, module_voice, engine, first_sound, cpu_percent=100.0 * render_s / played_s)
        drawn = render_gif(Path(out).with_suffix(".gif"), ui_script(performance, readings), performance.seconds,
                           facade=facade, state=ModuleState(sound=first_sound, model=model_name))
    hits = readings.rising
    return {
        "path": str(path),
        "screen_gif": drawn["path"],
        "screen_frames": drawn["frames"],
        "seconds": played_s,
        "scenario": performance.source,
        "voice": engine.voice.name,
        "model": model_name,
        "model_dir": str(models_dir(config) / model_name) if model_name else None,
        "block_size": engine.block_size,
        "sample_rate": engine.sample_rate,
        "warnings": list(module_voice.warnings),
        "sounds": [{"time_s": at, "sound": name} for at, name in player.sounds],
        "hits": [{"time_s": edge.time_s, "gate": edge.gate + 1, "velocity": edge.velocity} for edge in hits],
        "gates": len(hits),
        "gate_latency_ms": engine.gate_latency_s * 1000.0,
        "polls": len(readings.cv_volts),
        "poll_hz": readings.poll_hz,
        "adc_reads": readings.codes_read,
        "jacks_s": jacks_s,
        "render_s": render_s,
        "realtime_factor": played_s / render_s,
        "realtime_factor_with_jacks": played_s / (jacks_s + render_s),
        "stats": engine.stats(),
    }
