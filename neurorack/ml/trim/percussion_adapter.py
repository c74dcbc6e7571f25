"""The trimming toolbox's view of ``neurorack.ml.percussion_model.PercussionModel``.

Every hidden width of the percussion model is a unit group (``percussion_groups``):

==========  =================  ===============================================  ======================
group       width field        producers (rows)                                 consumers (columns)
==========  =================  ===============================================  ======================
encoder     encoder_width      encoder_in                                       encoder_out
input       input_width        input                                            GRU input weights
gru         gru_width          GRU r/z/n rows (both weights, both biases)       GRU recurrence, trunk
trunk       trunk_width        trunk value+gate pair, residual_out (residual)   residual_in, head
residual    residual_width     residual_in                                      residual_out
hit_in      hit_width          hit_in                                           hit_mid
hit_mid     hit_mid_width      hit_mid                                          hit_out
atoms       n_atoms            hit_out's atom-weight rows                       the atoms' rows
==========  =================  ===============================================  ======================

With ``frame_network: wavenet`` (``wavenet_groups``) the ``gru`` group gives way to the
WaveNet-style stack's (L layers; conv weights are [out, in, kernel], so rows and columns
slice as a Linear's):

=================  ====================  ==========================================  ===========================
group              width field           producers (rows)                            consumers (columns)
=================  ====================  ==========================================  ===========================
input              input_width           input                                       wavenet_start
wavenet_residual   wavenet_channels      wavenet_start, every wavenet_residual.l     every wavenet_dilated.l
wavenet_gate_l     wavenet_gates[l]      wavenet_dilated.l tanh+sigmoid pair         wavenet_residual.l,
                                                                                     wavenet_skip.l
wavenet_skip       wavenet_skip          every wavenet_skip.l                        trunk
=================  ====================  ==========================================  ===========================

The residual and skip channels are each one coupled group (kind ``residual``): every layer
adds into the same channels and every layer (or the trunk) reads their sum, so a channel
goes from all of them at once. A layer's gated units are its own group (kind ``gated``):
unit u is the pair of rows u (tanh) and G_l + u (sigmoid) of its dilated convolution, read
only by its own residual and skip convolutions, so each layer narrows on its own.

What stays whole: the timbre code (``timbre_size``, the modes: the sound bank's codes are
its interface), the head's and hit head's other outputs (partials, noise grid, envelope
points), and the synthesis sizes. Removing an atom removes its wavetable with the hit-head
row that weighs it, so the transient is the same mix of the remaining atoms.

``PercussionTask`` is ``DescriptorTask`` with the percussion model's batches (whole hits
from their onsets, ``PercussionRecipe``), its training objective for retraining, the
multi-scale spectral distance of fixed test hits as the test loss, and, per round, the
sound figures of ``neurorack eval`` on the test split (``sound_figures``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from neurorack.core.percussion_config import PercussionConfig
from neurorack.ml.trim.criteria import ScoringData
from neurorack.ml.trim.groups import (
    UnitGroup,
    UnitSlice,
    gru_slices,
    input_slice,
    linear_slices,
)
from neurorack.ml.trim.model_adapter import (
    SCORING_BATCHES,
    DescriptorTask,
    band_log_energies,
)

SOUND_FIGURES = {
    # record key: (neurorack eval section, figure key); see neurorack.ml.sound_eval
    "time_to_peak_error_ms": ("reconstruction", "time_to_peak_error_ms_median"),
    "log_mel_vs_vocoder": ("reconstruction", "log_mel_ratio_to_vocoder"),
    "identity_top1": ("reconstruction", "identity_top1"),
    "pitch_error_cents": ("control", "pitch_abs_error_cents_median"),
}
"""The v2 evaluation figures every trimming round records (lower is better, except identity)."""
SOUND_LIMIT = 24          # test sounds per round's evaluation (the same ones every round) ...
SOUND_CONTROL_LIMIT = 4   # ... and per control test: about 20 s a round on two cores


def percussion_groups(config: PercussionConfig) -> list[UnitGroup]:
    """The prunable unit groups of a ``PercussionModel`` with ``config``'s widths (see the table above)."""
    c = config
    atom_rows = (UnitSlice("hit_out.weight", 0, offset=c.n_modes), UnitSlice("hit_out.bias", 0, offset=c.n_modes))
    if c.wavenet:
        memory = [UnitGroup("input", "linear", "input_width", c.input_width, linear_slices("input"),
                            (input_slice("wavenet_start"),), minimum=min(2, c.input_width)),
                  *wavenet_groups(c)]
    else:
        gru_producers, gru_recurrence = gru_slices("gru")
        memory = [UnitGroup("input", "linear", "input_width", c.input_width, linear_slices("input"),
                            (UnitSlice("gru.weight_ih_l0", 1),), minimum=min(2, c.input_width)),
                  UnitGroup("gru", "gru", "gru_width", c.gru_width, gru_producers,
                            (*gru_recurrence, input_slice("trunk")), minimum=min(4, c.gru_width))]
    return [
        UnitGroup("encoder", "linear", "encoder_width", c.encoder_width, linear_slices("encoder_in"),
                  (input_slice("encoder_out"),), minimum=min(2, c.encoder_width)),
        *memory,
        UnitGroup("trunk", "gated_residual", "trunk_width", c.trunk_width,
                  (*linear_slices("trunk", blocks=2), *linear_slices("residual_out")),
                  (input_slice("residual_in"), input_slice("head")), minimum=min(4, c.trunk_width)),
        UnitGroup("residual", "linear", "residual_width", c.residual_width, linear_slices("residual_in"),
                  (input_slice("residual_out"),), minimum=min(2, c.residual_width)),
        UnitGroup("hit_in", "linear", "hit_width", c.hit_width, linear_slices("hit_in"), (input_slice("hit_mid"),),
                  minimum=min(2, c.hit_width)),
        UnitGroup("hit_mid", "linear", "hit_mid_width", c.hit_mid_width, linear_slices("hit_mid"),
                  (input_slice("hit_out"),), minimum=min(2, c.hit_mid_width)),
        UnitGroup("atoms", "linear", "n_atoms", c.n_atoms, atom_rows, (UnitSlice("atoms", 0),), minimum=1),
    ]


def wavenet_groups(config: PercussionConfig) -> list[UnitGroup]:
    """The WaveNet-style stack's groups (see the second table above): the residual channels,
    each layer's gated units, the skip channels."""
    c = config
    layers = range(len(c.wavenet_gates))
    residuals = [f"wavenet_residual.{layer}" for layer in layers if layer < len(c.wavenet_gates) - 1]
    groups = [UnitGroup("wavenet_residual", "residual", "wavenet_channels", c.wavenet_channels,
                        tuple(part for prefix in ("wavenet_start", *residuals) for part in linear_slices(prefix)),
                        tuple(input_slice(f"wavenet_dilated.{layer}") for layer in layers),
                        minimum=min(2, c.wavenet_channels))]
    for layer, gates in enumerate(c.wavenet_gates):
        readers = [f"wavenet_residual.{layer}"] if f"wavenet_residual.{layer}" in residuals else []
        groups.append(UnitGroup(f"wavenet_gate_{layer}", "gated", f"wavenet_gates[{layer}]", gates,
                                linear_slices(f"wavenet_dilated.{layer}", blocks=2),
                                tuple(input_slice(prefix) for prefix in (*readers, f"wavenet_skip.{layer}")),
                                minimum=1))
    groups.append(UnitGroup("wavenet_skip", "residual", "wavenet_skip", c.wavenet_skip,
                            tuple(part for layer in layers for part in linear_slices(f"wavenet_skip.{layer}")),
                            (input_slice("trunk"),), minimum=min(4, c.wavenet_skip)))
    return groups


class PercussionAdapter:
    """``TrimAdapter`` for ``PercussionModel``: widths live in ``model.config``."""

    def widths(self, model):
        return model.config

    def groups(self, model) -> list[UnitGroup]:
        return percussion_groups(model.config)

    def rebuild(self, model, config):
        from neurorack.ml.percussion_model import PercussionModel

        return PercussionModel(config).to(next(model.parameters()).device)


class PercussionTask(DescriptorTask):
    """Data, loss, retraining and measurements for ``PercussionModel`` trimming.

    Args:
        data: a ``OneShotSet`` with train and test splits.
        dense: the dense parent (the recipe's analysis of each sound needs its config; with
            ``distil`` it is also the teacher).
        distil: 0 (off) .. 1: retraining's loss is ``(1 - distil)`` times the objective against
            the recording plus ``distil`` times the objective against the dense parent's render
            of the same hit (same code, descriptors and noise: the parent's output is a target
            the ticket can match exactly).
        sound_figures: also measure each round with ``neurorack eval`` on the test split (the
            figures of ``SOUND_FIGURES`` on ``SOUND_LIMIT`` sounds).
        other arguments: as ``DescriptorTask``; ``crop_frames`` is at least the 100 ms the attack
            loss reads.
    """

    def __init__(self, data, dense, *, distil: float = 0.0, sound_figures: bool = True, **options):
        from neurorack.ml.percussion_train import PercussionRecipe

        self.recipe = PercussionRecipe(dense, options.get("crop_frames", 96))
        self.teacher = dense
        self.distil = float(distil)
        self.sound_figures_on = sound_figures
        super().__init__(data, **options)
        self.crop_frames = self.recipe.crop_frames

    def _test_batch(self, test, crops: int) -> tuple:
        return self.recipe.batch(test, crops, np.random.default_rng(0), "cpu")

    def _batch(self, rng):
        return self.recipe.batch(self.train, self.batch_size, rng, self.device)

    @staticmethod
    def render(model, batch) -> torch.Tensor:
        descriptors, features, modes, _, offset = batch
        return model(descriptors, features, modes, offset)

    @staticmethod
    def with_target(batch, audio: torch.Tensor) -> tuple:
        return (*batch[:3], audio, batch[4])

    @staticmethod
    def objective(predicted, target) -> torch.Tensor:
        from neurorack.ml.percussion_train import percussion_loss

        return percussion_loss(predicted, target)

    @staticmethod
    def loss(model, batch) -> torch.Tensor:
        """The test loss: the multi-scale spectral distance of the rendered hits."""
        from neurorack.ml.losses import multiscale_spectral_distance

        return multiscale_spectral_distance(PercussionTask.render(model, batch), batch[3])

    def training_loss(self, model, batch) -> torch.Tensor:
        rendered = self.render(model, batch)
        loss = self.objective(rendered, batch[3])
        if self.distil <= 0.0:
            return loss
        self.teacher.to(self.device).eval()
        with torch.no_grad():
            taught = self.render(self.teacher, batch)
        return (1.0 - self.distil) * loss + self.distil * self.objective(rendered, taught)

    def scoring_data(self, seed: int) -> ScoringData:
        self._use_threads()
        rng = np.random.default_rng(seed)
        batches = [tuple(t.cpu() if torch.is_tensor(t) else t for t in self._batch(rng))
                   for _ in range(SCORING_BATCHES)]

        def features(batch):
            from neurorack.core.descriptors import HOP, SAMPLE_RATE

            return band_log_energies(batch[3], HOP, SAMPLE_RATE)

        return ScoringData(batches, self.loss, features)

    def measure(self, model) -> dict:
        """``DescriptorTask.measure`` (speed), plus the sound figures of the test split."""
        measured = super().measure(model)
        if self.sound_figures_on:
            measured["sound"] = self.sound_figures(model)
        return measured

    def sound_figures(self, model) -> dict:
        """``SOUND_FIGURES`` of ``neurorack eval`` for the model on the test split (the held-out kits
        are kept for the shipped model: trimming never looks at them)."""
        from neurorack.ml.export import export_run
        from neurorack.ml.sound_eval import evaluate_sounds
        from neurorack.runtime.resynth import Resynthesizer

        with tempfile.TemporaryDirectory(prefix="neurorack-trim-") as folder:
            run = Path(folder) / "round"
            self.save_weights(model, run / "weights.safetensors")
            resynth = Resynthesizer(export_run(run, Path(folder) / "model"))
            result = evaluate_sounds(resynth, self.test, splits=("test",), limit=SOUND_LIMIT,
                                     control_limit=SOUND_CONTROL_LIMIT)
        split = result["splits"]["test"]
        return {key: split[section]["model"].get(figure) for key, (section, figure) in SOUND_FIGURES.items()}
