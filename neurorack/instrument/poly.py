"""The instrument's voice: several hits of the model at once, each following its sound's
descriptor trajectory, modulated live by the CVs.

``PolyVoice`` implements the engine's ``Voice`` protocol (plus ``on_gate`` so it can tell
gate 1 from gate 2). Each slot owns a streaming model state (``model.initial_state(z)``)
and renders one model frame (``hop`` samples) at a time into its own buffer, starting on the
exact sample where the engine triggered it, so onsets stay sample-accurate whatever the block
size. Per frame the slot reads its trajectory (time-scaled by the decay CV, blended towards the
morph partner), applies velocity and the CV modulation, and asks the model for ``hop`` samples.

The pitch CV transposes: its ratio multiplies the pitch *and* the spectral centroid, so the
whole spectrum moves by the interval (as ``neurorack.runtime.resynth.transpose``); the
centroid CV multiplies the centroid alone (brightness).

Timbre: for a model with a timbre encoder (``timbre_size > 0``) each hit's state holds a
timbre code ``z``, fixed for the hit. It is the sound's ``z``, blended linearly towards the
morph partner's by the morph CV *as read when the hit starts* (the descriptor curves follow
the morph CV frame by frame; the timbre does not change under a ringing hit). A sound whose
``z`` was computed by another model (``z_model``) or has another length than the model's
``timbre_size``, or that has none, plays the model's neutral code; the voice logs one
warning per such sound when it is built (a sound without any ``z`` is only noted at info
level: curve-authored sounds have none). Models without an encoder get ``z = None``.

Frames ahead: a slot plays its frame from ``buffer`` and may hold its next one, rendered
early, in ``ahead``. In a whole block where no slot needed a frame, the voice renders one
frame ahead for the slot whose buffer runs out first. Left alone, slots started on the same
grid need their frames in the same blocks, and such a block takes several frames' time (the
render's p99); rendered ahead, the frames spread over the blocks between. A frame ahead reads
the CVs up to one frame earlier than it would have; with steady CVs the samples are the same.
A block split by a gate edge renders none ahead: the new hit's first frame is due in it.

Lead-in: every one-shot the models learned from starts ``PRE_ROLL`` samples (1.33 ms) before it
first rises to -60 dB under its peak (``neurorack.core.signal.trim_silence``), so each model
renders that much near-silence before a hit. A hit skips it: the first frame is played from
sample ``PRE_ROLL`` on, and the drum sounds that much sooner after its gate. Hits carried over
from a previous voice (a model switch) are already under way and skip nothing.

Slots: ``voices`` can sound at once; a new hit beyond that steals the oldest, which fades out
in ``FADE_MS`` on one of two spare slots. ``retrigger: restart`` and choke groups fade the
voices they cut off the same way, so nothing clicks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from neurorack.core.descriptors import DESCRIPTOR_RANGES, SILENCE_DB
from neurorack.core.events import GateEdge
from neurorack.core.signal import PRE_ROLL
from neurorack.instrument.routing import NEUTRAL, Modulation
from neurorack.instrument.trajectory import (
    CENTROID,
    FLATNESS,
    LOUDNESS,
    PITCH,
    Trajectory,
)
from neurorack.runtime.numpy_model import NumpyModel

log = logging.getLogger(__name__)
FADE_MS = 4.0
SPARE_SLOTS = 2
MIN_VELOCITY = 0.05
GATE2_MODES = ("second", "accent", "choke")
ACCENT_DB = 6.0

_LOW = np.array([r.low for r in DESCRIPTOR_RANGES])
_HIGH = np.array([r.high for r in DESCRIPTOR_RANGES])


@dataclass(frozen=True)
class PlayableSound:
    """A sound ready to play.

    Attributes:
        name: shown on the screen.
        trajectory: its descriptor frames (gain and tuning already applied).
        mode: ``one_shot`` or ``drone`` (loops until cut off).
        retrigger: ``stack`` or ``restart``.
        choke_group: > 0: hits cut off ringing voices of the same group.
        morph_to: index of the sound the morph CV blends towards (None: none).
        z: the sound's timbre code ([Z] floats) for models with a timbre encoder (None: none).
        z_model: the name of the model whose encoder computed ``z`` (None: unknown; then only
            the length is checked against the playing model).
    """

    name: str
    trajectory: Trajectory
    mode: str = "one_shot"
    retrigger: str = "stack"
    choke_group: int = 0
    morph_to: int | None = None
    z: np.ndarray | None = None
    z_model: str | None = None


class _Slot:
    """One sounding hit."""

    def __init__(self, model: NumpyModel):
        self.model = model
        self.buffer = np.zeros(model.hop)
        self.ahead = np.zeros(model.hop)  # the next frame, when it was rendered early
        self.active = False
        self.clear()

    def clear(self) -> None:
        self.active = False
        self.state = None            # made by start(): only active slots render
        self.sound = 0
        self.morph = 0.0             # the morph CV when the hit started (it sets the hit's timbre)
        self.position = 0.0
        self.velocity_db = 0.0
        self.age = 0
        self.read = self.model.hop   # buffer used up: the next sample needs a new frame
        self.lead_in = 0             # samples still to skip before playing (a new hit's lead-in)
        self.fade_left = -1          # samples of fade-out left (-1: not fading)
        self.released = False        # the last frame (silent: it ramps to zero) is rendered
        self.has_ahead = False       # ``ahead`` holds the next frame

    def start(self, sound: int, z: np.ndarray | None, morph: float) -> None:
        """Begin a hit of ``sound`` from silence with timbre ``z`` (None: the model has no encoder)."""
        self.clear()
        self.active = True
        self.sound = sound
        self.morph = morph
        self.state = self.model.initial_state(z)
        self.lead_in = PRE_ROLL


class PolyVoice:
    """Polyphonic model voice over a sound bank.

    Args:
        model: the streaming model.
        sounds: the playable sounds, in bank order.
        modulation: returns the CVs' current ``Modulation`` (called once per rendered block).
        voices: how many hits sound at once before the oldest is stolen (at least 1).
        gate2: what gate 2 does: ``second`` (plays ``second_sound``), ``accent`` (the current
            sound, ``ACCENT_DB`` louder) or ``choke`` (fades every voice out).
        second_sound: the sound gate 2 plays in ``second`` mode (None: the one after the current).
        continue_from: a voice this one replaces (model switch): its ringing hits carry on here.
    """

    profile = None
    """A ``RenderProfile`` told when a model frame starts and ends (benchmarks; see ``profile_engine``)."""

    def __init__(self, model: NumpyModel, sounds: Sequence[PlayableSound],
                 modulation: Callable[[], Modulation] = lambda: NEUTRAL, voices: int = 6, gate2: str = "second",
                 second_sound: int | None = None, continue_from: PolyVoice | None = None):
        if not sounds:
            raise ValueError("a PolyVoice needs at least one sound")
        if gate2 not in GATE2_MODES:
            raise ValueError(f"gate2 must be one of {GATE2_MODES}, got {gate2!r}")
        self.model = model
        self.name = f"{model.name} ({len(sounds)} sounds)"
        self.sounds = tuple(sounds)
        self.timbre_size = int(getattr(model, "timbre_size", 0))
        self._timbres = tuple(timbre_for_model(sound, model) for sound in self.sounds)
        self.modulation = modulation
        self.voices = max(1, int(voices))
        self.gate2 = gate2
        self.second_sound = second_sound
        self.current = 0
        self.hop = model.hop
        self.fade_samples = max(1, round(FADE_MS * model.sample_rate / 1000.0))
        self._fade_gain = np.arange(self.fade_samples, 0, -1, dtype=np.float64) / self.fade_samples
        self._slots = [_Slot(model) for _ in range(self.voices + SPARE_SLOTS)]
        self._scratch = np.zeros(model.hop)
        self._descriptors = np.zeros(len(DESCRIPTOR_RANGES))
        self._blend = np.zeros(len(DESCRIPTOR_RANGES))
        self._mod = NEUTRAL
        self._hits = 0
        self._block = 0               # the longest render asked for: a whole block
        self._frames_due = 0          # frames rendered because a slot needed one, this render
        self._continue_from = continue_from
        if continue_from is not None:
            self.current = min(continue_from.current, len(self.sounds) - 1)

    # -- control (any thread: single assignments) -------------------------------------------

    def select(self, index: int) -> None:
        """Make sound ``index`` the one gate 1 plays."""
        if not 0 <= index < len(self.sounds):
            raise IndexError(f"no sound {index}; the bank has {len(self.sounds)}")
        self.current = index

    @property
    def active_voices(self) -> int:
        """Slots sounding and not fading out (render thread's view)."""
        return sum(1 for s in self._slots if s.active and s.fade_left < 0)

    # -- the Voice protocol (render thread) ------------------------------------------------------

    def on_gate(self, edge: GateEdge) -> None:
        """A gate edge at its onset sample: gate 0 plays the current sound; gate 1 per ``gate2``."""
        if not edge.rising:
            return
        if edge.gate == 0:
            self.play(self.current, edge.velocity)
        elif self.gate2 == "second":
            index = self.second_sound if self.second_sound is not None else (self.current + 1) % len(self.sounds)
            self.play(index, edge.velocity)
        elif self.gate2 == "accent":
            self.play(self.current, edge.velocity, ACCENT_DB)
        else:
            self.choke_all()

    def trigger(self, velocity: float = 1.0) -> None:
        """Play the current sound (the engine's plain gate)."""
        self.play(self.current, velocity)

    def play(self, index: int, velocity: float = 1.0, boost_db: float = 0.0) -> None:
        """Start sound ``index`` at the next rendered sample."""
        sound = self.sounds[index]
        for slot in self._slots:
            if not slot.active or slot.fade_left >= 0:
                continue
            cut = sound.retrigger == "restart" and slot.sound == index
            cut |= sound.choke_group > 0 and self.sounds[slot.sound].choke_group == sound.choke_group
            if cut:
                slot.fade_left = self.fade_samples
        playing = [s for s in self._slots if s.active and s.fade_left < 0]
        if len(playing) >= self.voices:
            min(playing, key=lambda s: s.age).fade_left = self.fade_samples
        slot = self._free_slot()
        slot.start(index, self.hit_timbre(index, self._mod.morph), self._mod.morph)
        velocity = min(max(float(velocity) + self._mod.velocity_offset, MIN_VELOCITY), 1.0)
        slot.velocity_db = 20.0 * math.log10(velocity) + boost_db
        self._hits += 1
        slot.age = self._hits

    def hit_timbre(self, index: int, morph: float) -> np.ndarray | None:
        """The timbre code a hit of sound ``index`` starts with at morph amount ``morph`` (0..1):
        the sound's ``z`` blended linearly towards its morph partner's (None: no encoder)."""
        z = self._timbres[index]
        if z is None:
            return None
        partner = self.sounds[index].morph_to
        if morph > 0.0 and partner is not None:
            return z + (self._timbres[partner] - z) * morph
        return z.copy()

    def choke_all(self) -> None:
        """Fade every sounding voice out."""
        for slot in self._slots:
            if slot.active and slot.fade_left < 0:
                slot.fade_left = self.fade_samples

    def render(self, out: np.ndarray) -> None:
        """Overwrite ``out`` ([frames] float64) with the sum of all sounding slots."""
        if self._continue_from is not None:
            self._take_over(self._continue_from)
            self._continue_from = None
        self._mod = self.modulation()
        out[:] = 0.0
        self._frames_due = 0
        for slot in self._slots:
            if slot.active:
                self._render_slot(slot, out)
        self._block = max(self._block, len(out))
        if self._frames_due == 0 and len(out) == self._block:
            self._render_ahead()

    def reset(self) -> None:
        """Silence: forget every slot's state."""
        for slot in self._slots:
            slot.clear()

    # -- internals ------------------------------------------------------------------------------

    def _free_slot(self) -> _Slot:
        for slot in self._slots:
            if not slot.active:
                return slot
        fading = [s for s in self._slots if s.fade_left >= 0]
        return min(fading or self._slots, key=lambda s: (s.fade_left if s.fade_left >= 0 else 1 << 30, s.age))

    def _render_slot(self, slot: _Slot, out: np.ndarray) -> None:
        n = len(out)
        done = 0
        hop = self.hop
        while done < n and slot.active:
            if slot.read >= hop:
                if slot.has_ahead:
                    slot.buffer, slot.ahead = slot.ahead, slot.buffer
                    slot.has_ahead = False
                elif slot.released:
                    slot.clear()
                    return
                else:
                    self._next_frame(slot, slot.buffer)
                    self._frames_due += 1
                slot.read = min(slot.lead_in, hop)
                slot.lead_in -= slot.read
                continue
            take = min(hop - slot.read, n - done)
            segment = slot.buffer[slot.read:slot.read + take]
            if slot.fade_left >= 0:
                take = min(take, slot.fade_left)
                start = self.fade_samples - slot.fade_left
                scratch = self._scratch[:take]
                np.multiply(segment[:take], self._fade_gain[start:start + take], out=scratch)
                out[done:done + take] += scratch
                slot.fade_left -= take
                if slot.fade_left == 0:
                    slot.clear()
                    return
            else:
                out[done:done + take] += segment
            slot.read += take
            done += take

    def _render_ahead(self) -> None:
        """Render the next frame of the sounding slot whose buffer runs out first, if one has
        no frame ahead yet (fading slots and the last frame's slot need none)."""
        first = None  # a loop, not a list: nothing allocated in the render thread
        for slot in self._slots:
            if (slot.active and slot.fade_left < 0 and not slot.released and not slot.has_ahead
                    and (first is None or slot.read > first.read)):
                first = slot
        if first is not None:
            self._next_frame(first, first.ahead)
            first.has_ahead = True

    def _next_frame(self, slot: _Slot, into: np.ndarray) -> None:
        """Render the slot's next model frame into ``into`` (its buffer, or its frame ahead)."""
        sound = self.sounds[slot.sound]
        frames = sound.trajectory.frames
        count = len(frames)
        mod = self._mod
        position = slot.position
        if sound.mode == "drone":
            position %= count
        d = self._descriptors
        if position >= count:  # the trajectory has ended: one frame at silence ramps the amplitudes to 0
            d[:] = frames[-1]
            d[LOUDNESS] = SILENCE_DB
            slot.released = True
        else:
            _sample(frames, position, d)
            if mod.morph > 0.0 and sound.morph_to is not None:
                other = self.sounds[sound.morph_to].trajectory.frames
                blend = self._blend
                _sample(other, position * len(other) / count, blend)
                _morph(d, blend, mod.morph)
            d[LOUDNESS] += slot.velocity_db + mod.loudness_db
            d[CENTROID] *= mod.centroid_ratio * mod.pitch_ratio  # transposition moves the spectrum too
            d[FLATNESS] *= mod.flatness_ratio
            d[PITCH] *= mod.pitch_ratio
        np.clip(d, _LOW, _HIGH, out=d)
        profile = self.profile
        if profile is not None:  # benchmarks: the model's frame apart from the voice around it
            profile.enter(profile.MODEL)
        self.model.render_frame(d, slot.state, into)
        if profile is not None:
            profile.enter(profile.VOICES)
        slot.position += 1.0 / max(mod.time_scale, 1e-3)

    def _take_over(self, previous: PolyVoice) -> None:
        """Carry the previous voice's ringing hits on (same sounds, positions and velocities)."""
        free = iter(self._slots)
        for old in previous._slots:
            if not old.active or old.fade_left >= 0 or old.sound >= len(self.sounds):
                continue
            slot = next(free, None)
            if slot is None:
                break
            slot.start(old.sound, self.hit_timbre(old.sound, old.morph), old.morph)
            slot.position, slot.velocity_db, slot.age = old.position, old.velocity_db, old.age
        self._hits = previous._hits


def timbre_for_model(sound: PlayableSound, model) -> np.ndarray | None:
    """The timbre code ``sound`` plays with on ``model``: None for a model without an encoder
    (``timbre_size`` 0), else a float32 [timbre_size] array: the sound's ``z`` when it was
    computed by this model (same name, same length), the model's neutral code (``neutral_code()``;
    zeros for a model without one) otherwise, with one log line saying why."""
    size = int(getattr(model, "timbre_size", 0))
    if sound.z is None:
        if size > 0:
            log.info("sound '%s' has no timbre code: it plays the neutral timbre on model %s", sound.name, model.name)
        return None if size == 0 else _neutral(model, size)
    z = np.asarray(sound.z, dtype=np.float32).reshape(-1)
    reason = None
    if sound.z_model is not None and sound.z_model != model.name:
        reason = (f"its z was computed by model '{sound.z_model}', not '{model.name}'; extract it again with "
                  f"'neurorack sound extract --model'")
    elif len(z) != size:
        reason = (f"its z has {len(z)} values and model '{model.name}' takes "
                  f"{size if size else 'no timbre code'}" + ("" if size == 0 else " values"))
    elif not np.all(np.isfinite(z)):
        reason = "its z holds non-finite values"
    if reason is None:
        return z.copy()
    if size == 0:
        log.warning("sound '%s' plays without its timbre code: %s", sound.name, reason)
        return None
    log.warning("sound '%s' plays the neutral timbre: %s", sound.name, reason)
    return _neutral(model, size)


def _neutral(model, size: int) -> np.ndarray:
    neutral = getattr(model, "neutral_code", None)
    return np.asarray(neutral(), dtype=np.float32) if neutral is not None else np.zeros(size, dtype=np.float32)


def _sample(frames: np.ndarray, position: float, out: np.ndarray) -> None:
    """Linear interpolation of ``frames`` ([T, 5]) at fractional frame ``position`` into ``out``."""
    last = len(frames) - 1
    index = min(int(position), last)
    fraction = position - index
    if index >= last or fraction <= 0.0:
        out[:] = frames[index]
        return
    out[:] = frames[index] * (1.0 - fraction) + frames[index + 1] * fraction


def _morph(a: np.ndarray, b: np.ndarray, amount: float) -> None:
    """Blend descriptors ``a`` towards ``b`` in place: dB linearly, the others in the log domain."""
    a[LOUDNESS] += (b[LOUDNESS] - a[LOUDNESS]) * amount
    for column in (CENTROID, FLATNESS, PITCH):
        low = max(a[column], 1e-9)
        a[column] = low * (max(b[column], 1e-9) / low) ** amount
    a[4] += (b[4] - a[4]) * amount
