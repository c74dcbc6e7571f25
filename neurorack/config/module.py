"""The module config: one YAML file, every key optional.

Print the full file with its defaults and explanations with ``neurorack config --defaults``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from neurorack.config.schema import between, build, describe_defaults, setting
from neurorack.config.yaml_source import load_yaml

SUPPORTED_SAMPLE_RATES = (44100, 48000, 96000)
SUPPORTED_BLOCK_SIZES = (32, 64, 128, 256, 512, 1024)
LOG_LEVELS = ("debug", "info", "warning", "error")
CONFIG_ENV = "NEURORACK_CONFIG"


@dataclass(frozen=True)
class AudioSettings:
    """Where the sound goes and how it is scheduled."""

    device: int | str | None = setting(
        None,
        "Output device: its index or (part of) its name, as `neurorack devices` lists them. "
        "null: the JACK server if one runs, else the system default.",
    )
    sample_rate: int = setting(48000, "Sample rate in Hz.", choices=SUPPORTED_SAMPLE_RATES)
    block_size: int = setting(128, "Frames per audio callback.", choices=SUPPORTED_BLOCK_SIZES)
    lookahead_blocks: float = setting(
        1.0,
        "How far the render thread works ahead of the audio callback, in blocks. "
        "More survives CPU spikes; less lowers gate latency.",
        check=between(0.25, 8, "blocks"),
    )
    gate_latency_ms: float | None = setting(
        None,
        "Constant delay from a gate edge to its sound, in ms. "
        "null: the smallest safe value, (lookahead + 1 block) + 0.5 ms.",
        check=between(0.5, 200, "ms"),
    )
    cpu: int | None = setting(
        None,
        "The core (0 for the first) the audio callback and the render thread run on: the one the "
        "audio server's clock or the sound card's interrupt runs on. null: wherever the kernel puts them.",
        check=between(0, 1023),
    )


@dataclass(frozen=True)
class OutputSettings:
    """The always-on output stage."""

    gain_db: float = setting(0.0, "Output gain in dB before the limiter.", check=between(-60, 24, "dB"))
    ceiling_db: float = setting(
        -1.0, "Peak ceiling of the soft limiter, in dBFS.", check=between(-40, 0, "dBFS")
    )
    dc_block_hz: float = setting(5.0, "Corner of the DC blocker, in Hz.", check=between(1, 40, "Hz"))
    fade_ms: float = setting(
        20.0, "Fade at start and stop, and crossfade on voice switch, in ms.", check=between(1, 1000, "ms")
    )


@dataclass(frozen=True)
class ModuleConfig:
    """Everything the daemon needs to know; every key has a default."""

    audio: AudioSettings = setting(default_factory=AudioSettings, help="Audio output.")
    output: OutputSettings = setting(default_factory=OutputSettings, help="Output stage.")
    board: str = setting(
        "mock", "Board file: a name from hardware/boards (raspberry-pi-4, ...) or a path to a YAML file."
    )
    models_dir: str | None = setting(None, "Folder of installed models. null: the models shipped with Neurorack.")
    sound_bank: str | None = setting(None, "Sound bank YAML. null: the bank of the default model.")
    state_dir: str | None = setting(
        None,
        "Where settings and calibration are saved. null: $STATE_DIRECTORY under systemd, "
        "else ~/.local/state/neurorack.",
    )
    log_level: str = setting("info", "How much to log.", choices=LOG_LEVELS)

    def resolved_state_dir(self) -> Path:
        """The state directory, with its default filled in."""
        if self.state_dir:
            return Path(self.state_dir).expanduser()
        if os.environ.get("STATE_DIRECTORY"):
            return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
        base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        return Path(base) / "neurorack"


def load_module_config(path: str | Path | None = None) -> ModuleConfig:
    """Load the module config.

    Args:
        path: a YAML file; None reads ``$NEURORACK_CONFIG`` if set, else uses the defaults.

    Raises:
        ConfigError: naming the file, key, line and what was expected, for every problem.
    """
    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        return ModuleConfig()
    return build(ModuleConfig, load_yaml(path))


def default_config_yaml() -> str:
    """The whole module config with defaults and explanations, as YAML text."""
    lines = ["# Neurorack module config. Every key is optional; these are the defaults."]
    lines += describe_defaults(ModuleConfig)
    return "\n".join(lines) + "\n"
