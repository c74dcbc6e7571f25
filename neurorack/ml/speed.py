"""``neurorack bench model``: size and single-thread speed of a model, per inference path.

Paths:
- ``numpy``: the NumPy runtime (``NumpyModel``, or ``PercussionRuntime`` for the percussion
  family, with its compiled frame where the install built it) inside ``ModelVoice`` (what the
  daemon plays; no torch). Its ``frame`` says which frame rendered.
- ``numpy-frame``: the same with the NumPy frame, the compiled frame's reference (the same
  figure as ``numpy`` for the descriptor family, which has no compiled frame).
- ``eager``: the torch ``DescriptorModel``, one frame per call, state carried.

(A ``torchscript`` path, the step traced with ``torch.jit.trace``, was dropped: torch deprecates
TorchScript, and the module never played it.)

The percussion family streams in NumPy only (its torch twin renders whole hits for
training), so its torch paths report that instead of a figure.

Each path renders ``seconds`` of a continuous trajectory in ``block_size`` blocks on one
thread (torch.set_num_threads(1); for NumPy, set OPENBLAS_NUM_THREADS=1 in the environment).
The real-time factor is audio seconds per compute second; block times are per block.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from neurorack.core.percussion_config import PercussionConfig
from neurorack.runtime.loader import WEIGHTS, family_of, load_model
from neurorack.runtime.numpy_model import streaming_model
from neurorack.runtime.voice import ModelVoice, drum_template

PATHS = ("numpy", "numpy-frame", "eager")
TORCHSCRIPT_GONE = ": torchscript was dropped (torch deprecates torch.jit.trace; the module plays numpy)"


def _timed_blocks(render_block, seconds: float, block_size: int, sample_rate: int) -> dict:
    blocks = int(seconds * sample_rate) // block_size
    out = np.zeros(block_size)
    for _ in range(8):  # warm up
        render_block(out)
    times = np.empty(blocks)
    for index in range(blocks):
        started = time.perf_counter()
        render_block(out)
        times[index] = time.perf_counter() - started
    audio_s = blocks * block_size / sample_rate
    return {"rtf_1thread": float(audio_s / times.sum()),
            "block_ms": {"p50": float(np.percentile(times, 50) * 1e3), "p99": float(np.percentile(times, 99) * 1e3),
                         "max": float(times.max() * 1e3)},
            "audio_s": audio_s}


class _FrameVoice:
    """Torch one-frame-per-call rendering behind the same block interface as ModelVoice."""

    def __init__(self, step, state, template: np.ndarray, hop: int):
        import torch

        self._torch = torch
        self._step, self._state = step, state
        self._template = torch.from_numpy(template)[:, None, None, :]  # [T, 1, 1, 5]
        self._hop, self._frame, self._offset, self._position = hop, np.zeros(hop, np.float32), hop, 0

    def render(self, out: np.ndarray) -> None:
        done = 0
        while done < len(out):
            if self._offset >= self._hop:
                with self._torch.no_grad():
                    audio, *self._state = self._step(self._template[self._position % len(self._template)],
                                                     *self._state)
                self._frame[:] = audio[0].numpy()
                self._position += 1
                self._offset = 0
            take = min(len(out) - done, self._hop - self._offset)
            out[done:done + take] = self._frame[self._offset:self._offset + take]
            self._offset += take
            done += take


def _torch_step(loaded):
    """A module doing one frame: (descriptors [1, 1, 5], *flat state) -> (audio [1, hop], *flat state)."""
    import torch

    from neurorack.ml.model import DescriptorModel, ModelState
    from neurorack.ml.synth import SynthState

    model = DescriptorModel(loaded.config)
    model.load_state_dict({key: torch.from_numpy(value) for key, value in loaded.weights.items()})
    model.eval()

    class FrameStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, descriptors, hidden, harmonic, noise, f0, phase, position):
            audio, state = self.model(descriptors, ModelState(hidden, SynthState(harmonic, noise, f0, phase, position)))
            synth = state.synth
            return audio, state.hidden, synth.harmonic_amps, synth.noise_amps, synth.f0_hz, synth.phase, synth.noise_pos

    initial = model.initial_state(1)
    flat = [initial.hidden, *initial.synth]
    return FrameStep().eval(), flat


def _bench_torch_path(name: str, loaded, template: np.ndarray, seconds: float, block_size: int) -> dict:
    """The torch path (eager), timed as ``_timed_blocks`` does."""
    if name != "eager":
        return {"error": f"unknown path {name!r} ({', '.join(PATHS)})"
                + (TORCHSCRIPT_GONE if name == "torchscript" else "")}
    step, state = _torch_step(loaded)
    voice = _FrameVoice(step, state, template, loaded.config.hop)
    return _timed_blocks(voice.render, seconds, block_size, loaded.config.sample_rate)


def bench_model(model_dir: str | Path, seconds: float = 10.0, block_size: int = 128,
                paths: list[str] | None = None) -> dict:
    """Measure a model folder. Returns the figures (JSON-ready); ``path`` names the fastest."""
    paths = paths or list(PATHS)
    loaded = load_model(model_dir)
    config = loaded.config
    template = drum_template(decay_s=max(seconds, 1.0), peak_db=-6.0)
    results: dict[str, dict] = {}
    for name in paths:
        if name in ("numpy", "numpy-frame"):
            runtime = streaming_model(loaded, compiled=name == "numpy")
            voice = ModelVoice(runtime, template)
            voice.trigger(1.0)
            results[name] = {**_timed_blocks(voice.render, seconds, block_size, config.sample_rate),
                             "frame": runtime.frame_kind}
            continue
        if isinstance(config, PercussionConfig):
            results[name] = {"error": "the percussion family streams in NumPy only"}
            continue
        try:
            import torch
        except ImportError:
            results[name] = {"error": "torch is not installed"}
            continue
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            results[name] = _bench_torch_path(name, loaded, template, seconds, block_size)
        finally:
            torch.set_num_threads(threads)  # the caller's setting (a trim run retrains on all cores)
    measured = {k: v for k, v in results.items() if "rtf_1thread" in v}
    fastest = max(measured, key=lambda k: measured[k]["rtf_1thread"]) if measured else None
    return {
        "model": loaded.name,
        "params": loaded.parameters,
        "bytes": (Path(model_dir) / WEIGHTS).stat().st_size,
        "macs_per_second_of_audio": family_of(config).macs_per_second(config),
        "sample_rate": config.sample_rate,
        "block_size": block_size,
        "path": fastest,
        "rtf_1thread": measured[fastest]["rtf_1thread"] if fastest else None,
        "block_ms": measured[fastest]["block_ms"] if fastest else None,
        "paths": results,
    }
