"""The model voice: block size never changes the samples; hits are exact and repeatable."""

import numpy as np
import pytest
import torch

from neurorack.core.descriptors import SILENCE_DB
from neurorack.runtime.loader import load_model
from neurorack.runtime.numpy_model import NumpyModel
from neurorack.runtime.voice import (
    TAIL_FRAMES,
    ModelVoice,
    drum_template,
)
from tests.runtime.tiny_model import export_tiny

TEMPLATE = drum_template(pitch_hz=180.0, decay_s=0.2)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("tiny"))


def offline_reference(torch_model) -> np.ndarray:
    """The whole hit (trajectory plus silent tail frames) rendered by torch in one call."""
    silence = np.repeat(TEMPLATE[-1:], TAIL_FRAMES, axis=0)
    silence[:, 0] = SILENCE_DB
    frames = np.concatenate([TEMPLATE, silence])
    with torch.no_grad():
        return torch_model(torch.from_numpy(frames)[None])[0][0].numpy()


def play(voice: ModelVoice, block_size: int, total: int) -> np.ndarray:
    out = np.zeros(total)
    voice.trigger(1.0)
    for start in range(0, total, block_size):
        voice.render(out[start:start + block_size])
    return out


@pytest.mark.parametrize("block_size", [32, 64, 100, 128, 256, 512, 1024])
def test_streaming_any_block_size_equals_offline_rendering(exported, block_size):
    folder, torch_model = exported
    reference = offline_reference(torch_model)
    voice = ModelVoice(NumpyModel(load_model(folder)), TEMPLATE)
    played = play(voice, block_size, len(reference) + 3000)
    assert np.abs(reference).max() > 1e-3
    assert np.allclose(played[:len(reference)], reference, atol=1e-4)
    assert np.all(played[len(reference):] == 0.0)  # idle after the tail
    assert voice.is_idle


def test_hits_from_silence_are_identical_and_start_on_the_trigger_sample(exported):
    folder, _ = exported
    voice = ModelVoice(NumpyModel(load_model(folder)), TEMPLATE)
    first = play(voice, 128, 20000)
    second = play(voice, 128, 20000)
    assert np.array_equal(first, second)
    # Mid-frame retrigger: the new hit starts at once, not at the next frame boundary.
    voice.reset()
    out = np.zeros(300)
    voice.trigger(1.0)
    voice.render(out[:100])
    voice.trigger(1.0)
    voice.render(out[100:])
    assert np.abs(out[100:110]).max() > 0.0


def test_velocity_scales_the_level(exported):
    folder, _ = exported
    voice = ModelVoice(NumpyModel(load_model(folder)), TEMPLATE)
    voice.trigger(1.0)
    loud = np.zeros(8192)
    voice.render(loud)
    voice.reset()
    voice.trigger(0.25)
    soft = np.zeros(8192)
    voice.render(soft)
    ratio_db = 20 * np.log10(np.sqrt(np.mean(soft ** 2)) / np.sqrt(np.mean(loud ** 2)))
    assert -16.0 < ratio_db < -8.0  # -12 dB asked; the learned correction may bend it a little
