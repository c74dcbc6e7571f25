"""A voice for the engine that plays a model: each gate plays one descriptor trajectory.

(The module's instrument, ``neurorack.instrument``, plays sound banks with its own
polyphonic voice over the same ``NumpyModel``; this single-trajectory voice is the simplest
complete player, used by ``neurorack bench model`` and by the runtime's tests.)

Contract (``neurorack.audio.voices.Voice``): ``trigger(velocity)``, ``render(out)``, ``reset()``.

The model renders whole frames (``hop`` samples) into a small buffer; ``render`` copies any
block size out of it, so block size never changes the samples. ``trigger`` drops the rest
of the frame in progress and starts the next frame at once, so an onset lands on the sample
the engine asks for. Velocity shifts the trajectory's loudness by ``20 * log10(velocity)`` dB.
After the trajectory, frames of silence let the last amplitudes ramp to zero; then the voice
idles (no model work) and returns to its initial state, so hits from silence are identical.
"""

from __future__ import annotations

import numpy as np

from neurorack.core.descriptors import SILENCE_DB
from neurorack.runtime.numpy_model import NumpyModel

TAIL_FRAMES = 2  # silent frames after a trajectory: amplitudes ramp to 0 over one frame


def drum_template(pitch_hz: float = 110.0, decay_s: float = 0.4, centroid_hz: float = 1500.0,
                  flatness: float = 0.05, confidence: float = 0.9, peak_db: float = -6.0,
                  hop_s: float = 256 / 48000) -> np.ndarray:
    """A descriptor trajectory for a drum hit: loudness falls by 60 dB over ``decay_s``,
    the pitch drops by a fifth of its value in the first 50 ms, the centroid falls by half.

    Returns:
        [frames, 5] raw descriptors (``DESCRIPTOR_NAMES`` order), frames = decay_s / hop_s.
    """
    frames = max(round(decay_s / hop_s), 1)
    t = np.arange(frames) * hop_s
    loudness = peak_db - 60.0 * t / decay_s
    pitch = pitch_hz * (1.0 + 0.2 * np.exp(-t / 0.05))
    centroid = centroid_hz * (0.5 + 0.5 * np.exp(-t / (0.3 * decay_s)))
    columns = [loudness, centroid, np.full(frames, flatness), pitch, np.full(frames, confidence)]
    return np.stack(columns, axis=1).astype(np.float32)


class ModelVoice:
    """Plays ``template`` through ``model`` on every trigger.

    Args:
        model: the streaming model (``NumpyModel`` or ``PercussionRuntime``).
        template: [frames, 5] raw descriptor trajectory.
        z: the timbre code, for a model that takes one (None: a neutral timbre).
    """

    def __init__(self, model: NumpyModel, template: np.ndarray, z: np.ndarray | None = None):
        template = np.asarray(template, dtype=np.float32)
        if template.ndim != 2 or template.shape[1] != 5 or len(template) == 0:
            raise ValueError(f"expected a descriptor trajectory [frames, 5], got shape {template.shape}")
        self.model = model
        self._z = z
        self.name = f"model {model.name}"
        self.sample_rate = model.sample_rate
        self._template = template
        self._silence = template[-1].copy()
        self._silence[0] = SILENCE_DB
        self._frame = np.zeros(model.hop, dtype=np.float32)
        self._descriptors = np.zeros(5, dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        self._state = self.model.initial_state(self._z)
        self._position = len(self._template) + TAIL_FRAMES  # idle
        self._offset = self.model.hop  # the frame buffer is used up
        self._gain_db = 0.0

    @property
    def is_idle(self) -> bool:
        return self._position >= len(self._template) + TAIL_FRAMES and self._offset >= self.model.hop

    def trigger(self, velocity: float = 1.0) -> None:
        velocity = min(max(float(velocity), 0.0), 1.0)
        if self.is_idle or self.model.timbre_size:  # a percussion hit starts from its own state
            self._state = self.model.initial_state(self._z)
        else:
            self._state.hidden[:] = 0.0
        self._gain_db = 20.0 * np.log10(max(velocity, 1e-3))
        self._position = 0
        self._offset = self.model.hop

    def render(self, out: np.ndarray) -> None:
        done = 0
        hop = self.model.hop
        while done < len(out):
            if self._offset >= hop:
                if self._position >= len(self._template) + TAIL_FRAMES:
                    out[done:] = 0.0
                    return
                self._next_frame()
            take = min(len(out) - done, hop - self._offset)
            out[done:done + take] = self._frame[self._offset:self._offset + take]
            self._offset += take
            done += take

    def _next_frame(self) -> None:
        if self._position < len(self._template):
            self._descriptors[:] = self._template[self._position]
            self._descriptors[0] += self._gain_db
        else:
            self._descriptors[:] = self._silence
        self.model.render_frame(self._descriptors, self._state, self._frame)
        self._position += 1
        self._offset = 0
