"""A sound bank made playable: the checked YAML (``neurorack.config.sound_bank``) with each
sound's trajectory read from its template file or sampled from its curves, gain and tuning
applied, morph partners resolved to indices, and each sound's timbre code ``z`` with the
model it belongs to (its ``z_model``, else the bank's ``model``); the voice checks them
against the model it plays (``neurorack.instrument.poly.timbre_for_model``).

The bank file must be a regular file, and every template it names a regular file inside the
bank's folder once symlinks are resolved (``neurorack.safe_read``): a FIFO, ``/dev/zero`` or
a link to a system file is refused, naming it, and never read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurorack.config.sound_bank import SoundBank, load_sound_bank
from neurorack.core.descriptors import HOP, SAMPLE_RATE
from neurorack.instrument.poly import PlayableSound
from neurorack.instrument.trajectory import (
    LOUDNESS,
    PITCH,
    Trajectory,
    clip_to_ranges,
    from_curves,
    load_template,
)
from neurorack.safe_read import check_file

MAX_BANK_BYTES = 4 << 20  # 128 sounds with 256-number timbre codes are under 1 MB


@dataclass(frozen=True)
class LoadedBank:
    """A bank ready for ``PolyVoice``.

    Attributes:
        bank: the checked file.
        sounds: one ``PlayableSound`` per bank entry, in order.
    """

    bank: SoundBank
    sounds: tuple[PlayableSound, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sounds)

    def second_sound(self) -> int | None:
        """The index gate 2 plays in ``second`` mode (None: the one after the current)."""
        return None if self.bank.gate2_sound is None else self.bank.index_of(self.bank.gate2_sound)


def load_bank(path: str | Path, hop: int = HOP, sample_rate: int = SAMPLE_RATE,
              folder: str | Path | None = None) -> LoadedBank:
    """Load a bank file and every template it names (each inside the bank's folder).

    Args:
        folder: when given, the bank file (symlinks resolved) must lie inside it: a model
            folder's own bank.

    Raises:
        FileRefused: the bank file is not a regular file, is too large or lies outside ``folder``;
        ConfigError: the bank file is wrong; TemplateError: a template file is.
    """
    try:
        check_file(path, MAX_BANK_BYTES, folder)  # before anything opens it: a FIFO would block
    except FileNotFoundError:
        pass  # load_sound_bank says so, as for any YAML file
    bank = load_sound_bank(path)
    names = [s.name for s in bank.sounds]
    sounds = []
    for spec in bank.sounds:
        template = bank.template_path(spec)
        trajectory = (load_template(template, hop, sample_rate, bank.source.parent) if template is not None
                      else from_curves(spec.curves, hop, sample_rate))
        frames = trajectory.frames.copy()
        frames[:, LOUDNESS] += spec.gain_db
        frames[:, PITCH] *= 2.0 ** (spec.tune_semitones / 12.0)
        trajectory = Trajectory(clip_to_ranges(frames.astype(np.float32)), hop, sample_rate)
        morph = names.index(spec.morph_to) if spec.morph_to is not None else None
        z = np.array(spec.z, dtype=np.float32) if spec.z else None
        sounds.append(PlayableSound(spec.name, trajectory, spec.mode, spec.retrigger, spec.choke_group, morph,
                                    z, spec.timbre_model(bank.model)))
    return LoadedBank(bank, tuple(sounds))
