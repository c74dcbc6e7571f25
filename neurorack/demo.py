"""``neurorack demo``: a scripted performance played through the instrument, offline.

The performance (``demo_performance``) is what a player and a patch would do: gates on
gate 1 (eighth notes with a velocity pattern) and gate 2 (the bank's second sound), the
encoder turned on the home page at set times to switch sounds, and four CVs moving: a
pitch LFO (CV 1, 1V/oct), an accent on every fourth hit (CV 2, loudness), a brightness
sweep (CV 3, centroid) and a noisiness swell (CV 4), through the module's default routing.

Two passes share the one script:

* audio: the real instrument voice (the installed default model and its sound bank; the
  test voice, with a warning, when no model is installed) in the full engine on the
  offline backend's virtual clock. The player's clock is the engine's render position
  minus the gate latency, so an encoder turn takes effect at the next rendered block, as
  it does on the module when the UI thread selects a sound. The encoder turns go through
  the menu's real ``Navigator`` on its home page, which selects the sound in the instrument.
* screen: the UI renders the same script (encoder turns, CV and gate snapshots at every
  frame) to an animated GIF with ``neurorack.ui.recording.render_gif``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine, GateEdge
from neurorack.audio.wav import write_wav
from neurorack.config.module import ModuleConfig
from neurorack.controls.events import EncoderTurn, InputStatus
from neurorack.controls.script import ScriptedHit
from neurorack.hardware.scenario import Lfo, Ramp, Signal, Steps
from neurorack.state import ModuleState

log = logging.getLogger(__name__)

BEAT_S = 0.25          # eighth notes at 120 BPM
FIRST_HIT_S = 0.1      # the first hit, seconds into the performance
GATE_S = 0.06          # how long each gate stays high (drawn on the screen)
GATE2_EVERY = 4        # gate 2 fires on every 4th beat, off the beat of gate 1
SWITCHES = (1, 1, 2)   # encoder detents at 1/4, 2/4 and 3/4 of the performance
UI_FPS = 20.0


@dataclass(frozen=True)
class Performance:
    """A scripted performance, in player seconds from its start.

    Attributes:
        seconds: its length.
        hits: gate rising edges (gate 0 or 1) with their velocities.
        switches: ``(time_s, detents)`` encoder turns on the home page.
        cvs: the four CV signals, in jack volts.
    """

    seconds: float
    hits: tuple[ScriptedHit, ...]
    switches: tuple[tuple[float, int], ...]
    cvs: tuple[Signal, Signal, Signal, Signal]

    def cv_volts(self, t: float) -> tuple[float, float, float, float]:
        """The four CVs at ``t`` seconds."""
        return tuple(signal.volts(t) for signal in self.cvs)

    def gates_high(self, t: float) -> tuple[bool, bool]:
        """Whether each gate is high at ``t`` (each hit holds its gate ``GATE_S``)."""
        high = [False, False]
        for hit in self.hits:
            if hit.time_s <= t < hit.time_s + GATE_S:
                high[hit.gate] = True
        return high[0], high[1]

    def edges(self) -> list[GateEdge]:
        """The hits as gate edges at virtual times, for the offline renderer."""
        return [GateEdge(hit.time_s, hit.gate, True, hit.velocity) for hit in self.hits]

    def ui_script(self, fps: float = UI_FPS) -> list:
        """``(time_s, event)`` for ``render_gif``: the encoder turns and a panel snapshot per frame."""
        script: list = [(t, EncoderTurn(steps, t)) for t, steps in self.switches]
        for frame in range(int(self.seconds * fps) + 1):
            t = frame / fps
            script.append((t, InputStatus(self.cv_volts(t), (0.5, 0.5), self.gates_high(t))))
        return sorted(script, key=lambda pair: pair[0])


def demo_performance(seconds: float = 8.0) -> Performance:
    """The demo: eighth notes on gate 1, gate 2 on every fourth beat between them, three
    sound switches and four moving CVs (see the module docstring)."""
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
    # Switch on a beat boundary: 0.1 s before the next hit, 0.15 s after the last one.
    switches = tuple((BEAT_S * round(seconds * k / (len(SWITCHES) + 1) / BEAT_S), steps)
                     for k, steps in enumerate(SWITCHES, start=1))
    cvs = (Lfo("sine", 0.5, -0.5, 0.5),                                   # pitch: +/- half an octave
           Steps((0.0, 0.0, 0.0, 1.5), BEAT_S),                            # accent: +7 dB every 4th beat
           Ramp(-2.5, 2.5, seconds),                                        # brightness sweep
           Lfo("triangle", 1.0 / seconds, 0.0, 1.0))                      # noisiness swell
    return Performance(seconds, tuple(hits), tuple(s for s in switches if 0 < s[0] < seconds), cvs)


class _Player:
    """Plays a ``Performance`` into an engine whose voice reads the CVs from ``volts``.

    The instrument asks for the CVs once per rendered block; the player's clock is that
    block's output time minus the gate latency, and any encoder turn due by then is applied
    first, through the navigator.
    """

    def __init__(self, performance: Performance, navigator=None):
        self.performance = performance
        self.navigator = navigator
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
        return self.performance.cv_volts(t)


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


def render_demo(config: ModuleConfig, out: str | Path = "neurorack-demo.wav", seconds: float = 8.0,
                progress=None, performance: Performance | None = None) -> dict:
    """Play the demo performance; write the WAV to ``out`` and the screen beside it (``.gif``).

    Args:
        config: the module config (models folder, sound bank, audio and output settings).
        out: the WAV file.
        seconds: the performance's length (ignored when ``performance`` is given).
        progress: optional callable taking the fraction of the audio rendered (0..1).
        performance: another script (None: ``demo_performance(seconds)``).

    Returns:
        Paths, what played (voice, model, sound switches, gate times, the constant gate
        latency that places each onset), the screen frames and render speed.
    """
    from neurorack.instrument.facade import InstrumentFacade
    from neurorack.instrument.module import models_dir, open_instrument
    from neurorack.ui.menu import load_menu
    from neurorack.ui.mock_facade import MockFacade
    from neurorack.ui.navigation import Navigator
    from neurorack.ui.recording import render_gif

    performance = performance or demo_performance(seconds)
    player = _Player(performance)
    module_voice = open_instrument(config, player.volts, ModuleState())
    engine = Engine(module_voice.voice, config.audio, config.output)
    player.engine = engine
    instrument = module_voice.instrument
    if instrument is None:
        log.warning("the demo plays the built-in test voice: install a model (see README) to hear the instrument")
        first_sound, model_name = "test voice", None
    else:
        instrument.attach(engine)
        first_sound, model_name = instrument.current_sound, instrument.model_name
        facade = InstrumentFacade(instrument, engine, models_dir(config))
        player.navigator = Navigator(load_menu(), facade, ModuleState(sound=first_sound, model=model_name))
    player.sounds.append((0.0, first_sound))
    edges = performance.edges()
    started = time.perf_counter()
    samples = render_offline(engine, performance.seconds, edges, progress=progress)
    elapsed = time.perf_counter() - started
    path = write_wav(out, samples, engine.sample_rate)
    played_s = len(samples) / engine.sample_rate
    cpu_percent = 100.0 * elapsed / played_s
    if instrument is None:
        screen_facade = MockFacade(lambda: 0.0, sounds=(), models=())
        screen_facade.warning_list = list(module_voice.warnings)
        screen_facade.system = replace(screen_facade.system, cpu_percent=cpu_percent)
    else:
        instrument.select_sound(first_sound)  # the screen pass turns the encoder from the start again
        screen_facade = _PerformedFacade(InstrumentFacade(instrument, engine, models_dir(config)), cpu_percent)
    screen = render_gif(Path(out).with_suffix(".gif"), performance.ui_script(), performance.seconds,
                        facade=screen_facade, state=ModuleState(sound=first_sound, model=model_name))
    return {
        "path": str(path),
        "screen_gif": screen["path"],
        "screen_frames": screen["frames"],
        "seconds": played_s,
        "voice": engine.voice.name,
        "model": model_name,
        "warnings": list(module_voice.warnings),
        "sounds": [{"time_s": at, "sound": name} for at, name in player.sounds],
        "hits": [{"time_s": hit.time_s, "gate": hit.gate + 1, "velocity": hit.velocity} for hit in performance.hits],
        "gates": len(edges),
        "gate_latency_ms": engine.gate_latency_s * 1000.0,
        "render_s": elapsed,
        "realtime_factor": played_s / elapsed,
        "stats": engine.stats(),
    }

