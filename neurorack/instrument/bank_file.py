"""Writing sound banks: add (or replace) a sound extracted from a one-shot, with its timbre
code ``z`` when the model it is made for has a timbre encoder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from neurorack.atomic import atomic_write_text
from neurorack.config.sound_bank import load_sound_bank
from neurorack.core.descriptors import SAMPLE_RATE
from neurorack.instrument.trajectory import (
    TemplateError,
    read_one_shot,
    save_template,
    template_of,
)

HEADER = "# Neurorack sound bank: see neurorack/config/sound_bank.py for every key.\n"


def slug(name: str) -> str:
    """A file name for a sound name: ``"Kick 808"`` -> ``"kick-808"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "sound"


def add_sound(bank_path: str | Path, one_shot: str | Path, name: str, mode: str = "one_shot",
              retrigger: str = "stack", choke_group: int = 0, detail: str = "", model=None) -> dict:
    """Extract ``one_shot``'s trajectory to ``templates/<slug>.csv`` beside the bank and add
    the sound to the bank (replacing one of the same name, in its place; a new name goes last).
    The bank is checked before and after.

    Args:
        model: a streaming runtime (``neurorack.runtime.numpy_model.streaming_model``) or None.
            When its ``timbre_size`` is above 0, ``model.encode`` runs on the one-shot at 48 kHz,
            over exactly the part the template covers, and the entry gets ``z`` and
            ``z_model: <model.name>``. Models without an encoder (and None) write no ``z``.

    Returns:
        What was written: bank, template, frames, duration_s, z_model (None: no z) and z_size.

    Raises:
        ConfigError: the existing bank is wrong; TemplateError: the one-shot cannot be used,
        or the model's encoder does not give ``timbre_size`` finite numbers.
    """
    bank_path = Path(bank_path)
    if bank_path.exists():
        load_sound_bank(bank_path)  # refuse to edit a broken bank
        data = yaml.safe_load(bank_path.read_text(encoding="utf-8")) or {}
    else:
        data = {"model": None}
    trajectory, audio = template_of(read_one_shot(one_shot, SAMPLE_RATE))
    z = timbre_code(model, audio) if model is not None else None
    template = Path("templates") / f"{slug(name)}.csv"
    save_template(bank_path.parent / template, trajectory, comment=f"from {Path(one_shot).name}")
    entry = {"name": name, "detail": detail, "template": template.as_posix(), "mode": mode, "retrigger": retrigger}
    if choke_group:
        entry["choke_group"] = choke_group
    if z is not None:
        entry["z"] = z
        entry["z_model"] = model.name
    sounds = list(data.get("sounds") or [])
    names = [s.get("name") for s in sounds]
    if name in names:  # a sound extracted again keeps its place in the menu
        sounds[names.index(name)] = entry
    else:
        sounds.append(entry)
    data["sounds"] = sounds
    bank_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(bank_path, HEADER + yaml.safe_dump(data, sort_keys=False, width=110))
    load_sound_bank(bank_path)
    return {"bank": str(bank_path), "template": str(bank_path.parent / template), "frames": len(trajectory),
            "duration_s": round(trajectory.duration_s, 3), "z_model": model.name if z is not None else None,
            "z_size": len(z) if z is not None else 0}


def timbre_code(model, audio: np.ndarray) -> list[float] | None:
    """``model.encode(audio)`` as a list of floats for the bank (None: the model has no encoder).

    Raises:
        TemplateError: the model is not at 48 kHz, or its code is not ``timbre_size`` finite numbers.
    """
    size = int(getattr(model, "timbre_size", 0))
    if size <= 0:
        return None
    if model.sample_rate != SAMPLE_RATE:
        raise TemplateError(f"model {model.name} runs at {model.sample_rate} Hz; sound banks are at {SAMPLE_RATE} Hz")
    z = np.asarray(model.encode(np.asarray(audio, dtype=np.float64)), dtype=np.float64).reshape(-1)
    if len(z) != size or not np.all(np.isfinite(z)):
        raise TemplateError(f"model {model.name}'s encoder gave {len(z)} values (finite: {bool(np.all(np.isfinite(z)))}), "
                            f"expected {size} finite numbers")
    return [float(f"{v:.7g}") for v in z]  # float32 precision, short in YAML
