"""Writing sound banks: add (or replace) a sound extracted from a one-shot."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from neurorack.atomic import atomic_write_text
from neurorack.config.sound_bank import load_sound_bank
from neurorack.instrument.trajectory import from_audio, read_one_shot, save_template

HEADER = "# Neurorack sound bank: see neurorack/config/sound_bank.py for every key.\n"


def slug(name: str) -> str:
    """A file name for a sound name: ``"Kick 808"`` -> ``"kick-808"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "sound"


def add_sound(bank_path: str | Path, one_shot: str | Path, name: str, mode: str = "one_shot",
              retrigger: str = "stack", choke_group: int = 0, detail: str = "") -> dict:
    """Extract ``one_shot``'s trajectory to ``templates/<slug>.csv`` beside the bank and add
    the sound to the bank (replacing one of the same name). The bank is checked before and after.

    Returns:
        What was written: bank, template, frames, duration_s.

    Raises:
        ConfigError: the existing bank is wrong; TemplateError: the one-shot cannot be used.
    """
    bank_path = Path(bank_path)
    if bank_path.exists():
        load_sound_bank(bank_path)  # refuse to edit a broken bank
        data = yaml.safe_load(bank_path.read_text(encoding="utf-8")) or {}
    else:
        data = {"model": None}
    trajectory = from_audio(read_one_shot(one_shot))
    template = Path("templates") / f"{slug(name)}.csv"
    save_template(bank_path.parent / template, trajectory, comment=f"from {Path(one_shot).name}")
    entry = {"name": name, "detail": detail, "template": template.as_posix(), "mode": mode, "retrigger": retrigger}
    if choke_group:
        entry["choke_group"] = choke_group
    sounds = [s for s in data.get("sounds") or [] if s.get("name") != name]
    sounds.append(entry)
    data["sounds"] = sounds
    bank_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(bank_path, HEADER + yaml.safe_dump(data, sort_keys=False, width=110))
    load_sound_bank(bank_path)
    return {"bank": str(bank_path), "template": str(bank_path.parent / template), "frames": len(trajectory),
            "duration_s": round(trajectory.duration_s, 3)}
