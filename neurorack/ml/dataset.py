"""One-shot datasets: read, convert, trim, describe, cache and split.

Files: WAV, FLAC and AIFF at any rate and channel count (read by ``neurorack.audio.audio_file``) become
48 kHz mono float (resampled once, with soxr); leading and trailing silence is trimmed;
optionally the loudness is normalised; each sound is capped at ``max_seconds``; the result
lies on the int16 grid, so the descriptors of a freshly built set and of its cache are the
same. Unreadable files are skipped with a warning and counted.

The cache is one ``.npz`` file (int16 audio, float32 descriptors, names, splits), so a
whole dataset travels as one compact file. The split is reproducible and stable: a file of
a held-out kit (``HELDOUT_KITS``, by its top folder's name) is "heldout"; any other goes to
train, valid or test by a hash of its path relative to its data folder.

The real data are Debian's ``hydrogen-drumkits``: models train on ``TRAINING_KITS`` and are
measured on their test split and on ``HELDOUT_KITS`` (see ``kit_folders``); no other kit is used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from neurorack.atomic import atomic_open
from neurorack.audio.audio_file import AudioFileError, read_mono
from neurorack.core.descriptors import HOP, SAMPLE_RATE, extract
from neurorack.core.signal import resample, trim_silence
from neurorack.errors import NeurorackError

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff")
SPLITS = ("train", "valid", "test", "heldout")
# 2: held-out kits get the "heldout" split; audio is on the int16 grid before description.
CACHE_VERSION = 2

# Debian's hydrogen-drumkits package installs its kits here, one folder per kit.
HYDROGEN_KITS_DIR = Path("/usr/share/hydrogen/data/drumkits")
HYDROGEN_PACKAGE = "hydrogen-drumkits"
# What models train on (their train/valid/test splits are drawn by hash from within these).
TRAINING_KITS = ("Audiophob", "BJA_Pacific", "ForzeeStereo", "HardElectro1", "Millo-Drums_v.1",
                 "Millo_MultiLayered2", "Millo_MultiLayered3", "The Black Pearl 1.0", "VariBreaks",
                 "rumpf_kit_z01_h2")
# Held out whole: never trained or tuned on, always reported on. No other kit is used.
HELDOUT_KITS = ("ColomboAcousticDrumkit", "ElectricEmpireKit")


class DatasetError(NeurorackError):
    """No usable audio, or a cache that cannot be read."""


@dataclass(frozen=True)
class PrepareOptions:
    """How one-shots are prepared.

    Attributes:
        max_seconds: cut each sound after this long (after trimming).
        trim_db: silence threshold relative to the sound's peak, in dB.
        normalise_db: scale each sound to this peak level in dBFS; None keeps its level.
        valid_fraction, test_fraction: shares of files held out, by hash.
    """

    max_seconds: float = 1.0
    trim_db: float = -60.0
    normalise_db: float | None = None
    valid_fraction: float = 0.1
    test_fraction: float = 0.1


@dataclass
class OneShotSet:
    """Prepared one-shots.

    Attributes:
        names: [N] path of each file relative to its data folder's parent ("Kit/file.flac").
        audio: list of [samples] float32 at 48 kHz, each a whole number of hops.
        descriptors: list of [samples / hop, 5] float32.
        splits: [N] "train", "valid", "test" or "heldout" (see ``split_of``).
        skipped: files that could not be read, with the reason.
        info: where the data came from: ``{"folders": [...], "licences": folder_licences(...)}``.
    """

    names: list[str]
    audio: list[np.ndarray]
    descriptors: list[np.ndarray]
    splits: list[str]
    skipped: list[tuple[str, str]]
    info: dict = dataclasses.field(default_factory=dict)

    def subset(self, split: str) -> OneShotSet:
        keep = [i for i, s in enumerate(self.splits) if s == split]
        return OneShotSet([self.names[i] for i in keep], [self.audio[i] for i in keep],
                          [self.descriptors[i] for i in keep], [split] * len(keep), [], self.info)

    def __len__(self) -> int:
        return len(self.names)


def find_audio_files(folders: Sequence[str | Path]) -> list[tuple[Path, str]]:
    """Every audio file under ``folders``: sorted ``(path, name)`` with name "Folder/sub/file"."""
    found: list[tuple[Path, str]] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise DatasetError(f"{folder}: not a folder of audio files")
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
                found.append((path, f"{folder.name}/{path.relative_to(folder).as_posix()}"))
    return found


def kit_folders(which: Literal["training", "heldout", "all"] = "all",
                root: str | Path = HYDROGEN_KITS_DIR) -> list[Path]:
    """The Hydrogen kit folders the models use: ``TRAINING_KITS``, ``HELDOUT_KITS`` or both
    (training first), under ``root`` (Debian's ``hydrogen-drumkits`` install folder).

    Raises:
        DatasetError: ``which`` is not one of the three, or a kit folder is missing.
    """
    kits = {"training": TRAINING_KITS, "heldout": HELDOUT_KITS, "all": TRAINING_KITS + HELDOUT_KITS}
    if which not in kits:
        raise DatasetError(f"kit_folders: expected 'training', 'heldout' or 'all', got {which!r}")
    root = Path(root)
    folders = [root / kit for kit in kits[which]]
    missing = [f.name for f in folders if not f.is_dir()]
    if missing:
        raise DatasetError(f"{root}: no kit folder {', '.join(repr(m) for m in missing)}; install Debian's "
                           f"{HYDROGEN_PACKAGE} package (sudo apt install {HYDROGEN_PACKAGE}) or give DATA_DIR folders")
    return folders


def split_of(name: str, valid_fraction: float = 0.1, test_fraction: float = 0.1) -> str:
    """The split of a file named "Kit/sub/file": "heldout" when its top folder is one of
    ``HELDOUT_KITS``, else train, valid or test from a hash of its name (the same name always
    lands in the same split)."""
    if name.split("/", 1)[0] in HELDOUT_KITS:
        return "heldout"
    fraction = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64
    if fraction < test_fraction:
        return "test"
    if fraction < test_fraction + valid_fraction:
        return "valid"
    return "train"


def to_int16_grid(audio: np.ndarray) -> np.ndarray:
    """``audio`` clipped to [-1, 1] and rounded to the int16 grid, as float32 ``k / 32767``:
    exactly what ``load_cache`` gives back for it."""
    steps = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    return steps.astype(np.float32) / np.float32(32767.0)


def prepare(audio: np.ndarray, rate: int, options: PrepareOptions = PrepareOptions(),
            sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono audio at any rate -> trimmed float32 at ``sample_rate`` (48 kHz, the models' rate),
    a whole number of hops (zero-padded), clipped to [-1, 1] and on the int16 grid (so a set
    built here and its cache hold the same numbers)."""
    audio = trim_silence(resample(audio, rate, sample_rate), options.trim_db)
    audio = audio[:int(options.max_seconds * sample_rate)]
    if len(audio) and options.normalise_db is not None:
        audio = audio * (10.0 ** (options.normalise_db / 20.0) / np.max(np.abs(audio)))
    padded = np.zeros(-(-len(audio) // HOP) * HOP, dtype=np.float32)
    padded[:len(audio)] = to_int16_grid(audio)
    return padded


def build_set(folders: Sequence[str | Path], options: PrepareOptions = PrepareOptions(),
              progress: Callable[[float], None] | None = None) -> OneShotSet:
    """Read, prepare and describe every file under ``folders``.

    Raises:
        DatasetError: no folder, or not a single readable sound.
    """
    files = find_audio_files(folders)
    result = OneShotSet([], [], [], [], [], {"folders": [Path(f).name for f in folders],
                                              "licences": folder_licences(folders)})
    for index, (path, name) in enumerate(files):
        try:
            raw, rate = read_mono(path)
        except AudioFileError as exc:
            log.warning("skipping %s: %s", path, exc)
            result.skipped.append((name, str(exc)))
            continue
        audio = prepare(raw, rate, options)
        if not np.any(audio):  # empty, or quieter than the int16 grid's smallest step
            log.warning("skipping %s: silent", path)
            result.skipped.append((name, "silent"))
            continue
        result.names.append(name)
        result.audio.append(audio)
        result.descriptors.append(extract(audio))
        result.splits.append(split_of(name, options.valid_fraction, options.test_fraction))
        if progress is not None:
            progress((index + 1) / len(files))
    if not result.names:
        raise DatasetError(f"no readable audio files under {', '.join(str(f) for f in folders)} "
                           f"(looked for {', '.join(AUDIO_SUFFIXES)}; {len(result.skipped)} skipped)")
    if result.skipped:
        log.warning("%d of %d files skipped", len(result.skipped), len(files))
    return result


def save_cache(data: OneShotSet, path: str | Path) -> Path:
    """Write ``data`` to one compressed ``.npz`` (int16 audio)."""
    lengths = np.array([len(a) for a in data.audio], dtype=np.int64)
    audio = np.concatenate(data.audio) if data.audio else np.zeros(0, np.float32)
    with atomic_open(path, "wb") as stream:
        np.savez_compressed(
            stream, version=np.array(CACHE_VERSION), names=np.array(data.names), splits=np.array(data.splits),
            lengths=lengths, audio=np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16),
            descriptors=np.concatenate(data.descriptors) if data.descriptors else np.zeros((0, 5), np.float32),
            skipped=np.array([f"{n}: {why}" for n, why in data.skipped], dtype=str),
            info=np.array(json.dumps(data.info)))
    return Path(path)


def load_cache(path: str | Path) -> OneShotSet:
    """Read a cache written by ``save_cache``. The descriptors are re-extracted from the
    int16 audio only when their count does not match (never, for a cache written here)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if int(archive["version"]) != CACHE_VERSION:
                raise DatasetError(f"{path}: cache version {int(archive['version'])}, expected {CACHE_VERSION}")
            lengths = archive["lengths"]
            audio = archive["audio"].astype(np.float32) / 32767.0
            descriptors = archive["descriptors"]
            names, splits = [str(n) for n in archive["names"]], [str(s) for s in archive["splits"]]
            skipped = [tuple(str(s).split(": ", 1)) for s in archive["skipped"]]
            info = json.loads(str(archive["info"])) if "info" in archive.files else {}
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable dataset cache ({exc})") from None
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    frame_bounds = bounds // HOP
    return OneShotSet(names, [audio[a:b] for a, b in itertools.pairwise(bounds)],
                      [descriptors[a:b] for a, b in itertools.pairwise(frame_bounds)], splits, skipped, info)


def random_crops(data: OneShotSet, n_frames: int, batch: int, rng: np.random.Generator,
                 onset_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A training batch of crops, each starting on a frame boundary.

    Half the crops (``onset_share``) start at the sound's onset, the rest anywhere; sounds
    shorter than the crop are padded with silence (and silence descriptors).

    Returns:
        descriptors [batch, n_frames, 5] float32 and audio [batch, n_frames * hop] float32.
    """
    from neurorack.core.descriptors import SILENCE_DB

    silence = np.array([SILENCE_DB, 1000.0, 1.0, 0.0, 0.0], dtype=np.float32)
    out_desc = np.empty((batch, n_frames, 5), dtype=np.float32)
    out_audio = np.zeros((batch, n_frames * HOP), dtype=np.float32)
    choices = rng.integers(0, len(data), size=batch)
    for row, index in enumerate(choices):
        desc, audio = data.descriptors[index], data.audio[index]
        last_start = max(len(desc) - n_frames, 0)
        start = 0 if rng.random() < onset_share else int(rng.integers(0, last_start + 1))
        piece = desc[start:start + n_frames]
        out_desc[row, :len(piece)] = piece
        fill = silence.copy()
        fill[3] = piece[-1, 3] if len(piece) else 100.0
        out_desc[row, len(piece):] = fill
        samples = audio[start * HOP:(start + n_frames) * HOP]
        out_audio[row, :len(samples)] = samples
    return out_desc, out_audio


DEBIAN_COPYRIGHT = Path("/usr/share/doc/hydrogen-drumkits/copyright")


def folder_licences(folders: Sequence[str | Path]) -> dict[str, dict[str, str]]:
    """What each data folder says about its licence.

    Reads the folder's Hydrogen ``drumkit.xml`` (``<license>``, ``<author>``) when there is
    one, and the Debian package's copyright file for the kit when it is installed.

    Returns:
        ``{folder name: {"drumkit_xml_license", "author", "debian_license"}}`` (absent keys
        were not stated).
    """
    from xml.etree import ElementTree

    debian = _debian_licences()
    out: dict[str, dict[str, str]] = {}
    for folder in folders:
        folder = Path(folder)
        info: dict[str, str] = {}
        xml_path = folder / "drumkit.xml"
        if xml_path.is_file():
            try:
                root = ElementTree.parse(xml_path).getroot()
            except ElementTree.ParseError:
                root = None
            if root is not None:
                for tag, key in (("license", "drumkit_xml_license"), ("author", "author")):
                    element = root.find(f"{{*}}{tag}")
                    if element is None:
                        element = root.find(tag)
                    if element is not None and (element.text or "").strip():
                        info[key] = element.text.strip()
        if folder.name in debian:
            info["debian_license"] = debian[folder.name]
        out[folder.name] = info
    return out


def _debian_licences() -> dict[str, str]:
    """``{kit name: License}`` from the Debian copyright file of hydrogen-drumkits, if installed."""
    if not DEBIAN_COPYRIGHT.is_file():
        return {}
    result: dict[str, str] = {}
    for stanza in DEBIAN_COPYRIGHT.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        if not stanza.startswith("Files:"):
            continue
        licence = next((line.split(":", 1)[1].strip() for line in stanza.splitlines()
                        if line.startswith("License:")), None)
        if licence is None:
            continue
        for word in stanza.split("License:")[0].replace("Files:", " ").split():
            if word.startswith("drumkits/") and word.endswith(".h2drumkit"):
                result[word[len("drumkits/"):-len(".h2drumkit")].replace("?", " ")] = licence
    return result
