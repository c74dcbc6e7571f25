"""Fault family "security": no code from model files, an unprivileged service, writes
confined to the state directory.

Cases, in turn:

* ``pickle``: a model folder whose weights (and a ``model.pt`` beside them) are pickles that
  create a marker file when unpickled is offered to the runtime loader: it must refuse it
  and the marker must never appear. The package source is also scanned for loaders that
  can unpickle (``pickle.load``, ``torch.load`` without ``weights_only=True``,
  ``allow_pickle=True``).
* ``unit``: the shipped systemd unit runs as its own user with no capabilities, no new
  privileges, a read-only system and a state directory.
* ``writes``: ``neurorack run --mock --seconds 2`` runs in a subprocess with HOME, the
  working directory and the state directory in a scratch folder, traced with strace when
  it is installed (every file opened for writing, created, renamed or removed), else by
  comparing the scratch folders before and after: nothing may be written outside the
  state directory and the WAV file named on the command line. Python's own bytecode cache
  is turned off for the run (``PYTHONDONTWRITEBYTECODE``): it belongs to the interpreter,
  and under the unit the installation is read-only anyway.
* model files (``MODEL_FILE_CASES``): an installed model folder whose sound bank names a FIFO,
  ``/dev/zero`` (directly, or through a symlink inside the folder) or a symlink leading out
  of the folder to a file holding a secret, or whose weights or bank are such a file. The
  module is started in a subprocess (``open_instrument``, as the daemon does) under a time
  and a memory limit: it must start, fall back to the test voice (or leave the sound out),
  name the file and say what it is, and never print the secret.
* saved model paths (``SAVED_PATHS``): the state file names as its model a path (absolute, or
  ``../decoy``) to a decoy model outside the models folder. The module is started as the daemon
  does (the saved state read from the state folder), in a subprocess that records every file
  Python opens (an audit hook): the decoy must never be opened, the default model must play, and
  a warning must name the saved path.
* hostile checkpoints (``CHECKPOINT_CASES``): a run folder's ``checkpoint.pt`` is a pickle that
  would create a marker file, random bytes, or a real checkpoint cut short. In a subprocess,
  ``neurorack train --resume`` (the CLI's ``main``) and the retraining of ``neurorack trim
  retrain`` (``DescriptorTask.retrain``, its error printed as ``main`` prints one) resume from it:
  each must exit 2 with one ``neurorack: error:`` line naming the file, no traceback, never
  torch's ``weights_only=False`` advice, and the marker must never appear.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from neurorack_bench.faults import FamilyResult
from neurorack_bench.faults_pressure import NO_JACK

# case -> what the message about the file must say
MODEL_FILE_CASES = {"fifo_template": "a FIFO", "zero_template": "device", "zero_template_link": "device",
                    "escaping_template": "outside", "fifo_weights": "a FIFO", "zero_weights_link": "device",
                    "escaping_weights": "outside", "escaping_bank": "outside"}
# case -> the model the state file names: a path to the decoy model beside the models folder
SAVED_PATHS = {"saved_model_absolute": "{decoy}", "saved_model_relative": "../decoy"}
CHECKPOINT_CASES = ("checkpoint_pickle", "checkpoint_random", "checkpoint_truncated")
CASES = ("pickle", "unit", "writes", *MODEL_FILE_CASES, *SAVED_PATHS, *CHECKPOINT_CASES)
START_CODE = "import sys; from neurorack_bench.faults_security import start_and_report; start_and_report(sys.argv[1:])"
RESUME_CODE = "import sys; from neurorack_bench.faults_security import resume_and_report; resume_and_report(sys.argv[1:])"
RESUME_ENTRIES = ("train --resume", "trim retrain")
START_LIMIT_S = 30.0
START_MEMORY_BYTES = 1 << 30  # address space of the started module: reading /dev/zero must not take the machine
RUN_SECONDS = 2.0
RUN_LIMIT_S = 60.0
UNPICKLING = (re.compile(r"\bpickle\.loads?\("), re.compile(r"allow_pickle\s*=\s*True"),
              re.compile(r"torch\.load\((?![^)]*weights_only\s*=\s*True)[^)]*\)"))
REQUIRED_UNIT = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "CapabilityBoundingSet": "",
                 "AmbientCapabilities": ""}
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")


def source_dirs() -> tuple[Path, Path]:
    """The module's package and this one (not the checkout: its .venv holds other packages)."""
    import neurorack

    return Path(neurorack.__file__).resolve().parent, Path(__file__).resolve().parent


def unit_path() -> Path:
    from neurorack.service.install import TEMPLATE_DIR, UNIT_NAME

    return TEMPLATE_DIR / UNIT_NAME


def pickle_case(workdir: Path, rng: random.Random) -> tuple[bool, str]:
    """Pickled code is refused and never runs; no loader in the package can unpickle."""
    from neurorack_bench.faults_model import try_case, write_model

    good = write_model(workdir / "good", np.random.default_rng(rng.randrange(2**32)))
    for index, case in enumerate(("pickle_as_weights", "pickle_beside")):
        ok, why = try_case(good, workdir, case, index, rng)
        if not ok:
            return False, why
    for path in sorted(path for folder in source_dirs() for path in folder.rglob("*.py")):
        if path.name.startswith("faults"):
            continue  # the fault families write pickles on purpose, and never read one
        text = path.read_text(encoding="utf-8")
        for pattern in UNPICKLING:
            match = pattern.search(text)
            if match:
                line = text.count("\n", 0, match.start()) + 1
                return False, f"{path.relative_to(source_dirs()[0].parent)}:{line} can unpickle: {match.group(0)}"
    return True, "pickled models refused, no marker; no unpickling loader in the package"


def parse_unit(text: str) -> dict[str, list[str]]:
    """``key -> [values]`` of a systemd unit (keys can repeat)."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values.setdefault(key.strip(), []).append(value.strip())
    return values


def unit_case(path: Path) -> tuple[bool, str]:
    """The service runs as an unprivileged user with no capabilities."""
    if not path.is_file():
        return False, f"{path.name}: not found"
    unit = parse_unit(path.read_text(encoding="utf-8"))
    user = unit.get("User", [""])[-1]
    if not user or user in ("root", "0"):
        return False, f"User={user or '(unset: root)'}; expected an unprivileged user"
    for key, expected in REQUIRED_UNIT.items():
        got = unit.get(key, [None])[-1]
        if got != expected:
            return False, f"{key}={got if got is not None else '(unset)'}; expected {key}={expected}"
    if not unit.get("StateDirectory", [""])[-1]:
        return False, "no StateDirectory=: the daemon would have nowhere confined to write"
    return True, f"User={user}, no capabilities, NoNewPrivileges, ProtectSystem=strict"


def _snapshot(roots: list[Path]) -> dict[str, tuple[int, int]]:
    found = {}
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                found[path] = (info.st_mtime_ns, info.st_size)
    return found


def written_paths(trace: str) -> set[str]:
    """Files an strace log shows being opened for writing, created, renamed to or removed."""
    written = set()
    for line in trace.splitlines():
        if "= -1" in line:
            continue  # the call failed: nothing was written
        match = re.search(r'open(?:at)?\((?:[^,]+, )?"([^"]+)", ([A-Z_|]+)', line)
        if match and any(flag in match.group(2) for flag in WRITE_FLAGS):
            written.add(match.group(1))
        for call in ("mkdir", "mkdirat", "unlink", "unlinkat", "rmdir", "creat", "truncate"):
            found = re.search(rf'\b{call}\((?:[^,]+, )?"([^"]+)"', line)
            if found:
                written.add(found.group(1))
        renamed = re.search(r'rename(?:at2?)?\((?:[^,]+, )?"[^"]+", (?:[^,]+, )?"([^"]+)"', line)
        if renamed:
            written.add(renamed.group(1))
    return written


def writes_case(workdir: Path) -> tuple[bool, str, list[str]]:
    """``neurorack run --mock`` writes only under its state directory and to its WAV file.

    Returns:
        (survived, why, shared-memory files): files under ``/dev/shm`` (the JACK client
        library's metadata database, created when PortAudio loads JACK) are not storage;
        they are listed, not counted as a loss.
    """
    home, cwd, state, out = (workdir / name for name in ("home", "cwd", "state", "out"))
    for folder in (home, cwd, state, out):
        folder.mkdir()
    wav = out / "run.wav"
    config = workdir / "config.yaml"
    config.write_text(f"state_dir: {state}\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XDG_", "NEURORACK_"))}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(workdir / "cwd"), **NO_JACK)
    command = [sys.executable, "-m", "neurorack", "--config", str(config), "run", "--mock",
               "--seconds", str(RUN_SECONDS), "--wav", str(wav)]
    strace = shutil.which("strace")
    trace_file = workdir / "trace.log"
    if strace:
        command = [strace, "-f", "-qq", "-e", "trace=%file", "-o", str(trace_file), *command]
    before = _snapshot([home, cwd])
    try:
        done = subprocess.run(command, cwd=cwd, env=env, check=False, capture_output=True, text=True,
                              timeout=RUN_LIMIT_S)
    except subprocess.TimeoutExpired:
        return False, f"neurorack run --mock did not stop after {RUN_SECONDS:g} s", []
    if done.returncode != 0 or "Traceback" in done.stderr:
        return False, f"exit {done.returncode}: {done.stderr.strip()[-200:]!r}", []
    allowed = (str(state) + os.sep, "/dev/null", "/dev/shm/", "/proc/self/")
    if strace:
        written = {os.path.normpath(os.path.join(cwd, p)) for p in written_paths(trace_file.read_text())}
        how = "strace"
    else:
        after = _snapshot([home, cwd])
        written = {p for p, stamp in after.items() if before.get(p) != stamp}
        how = "folder snapshots"
    shared = sorted(p for p in written if p.startswith("/dev/shm/"))
    outside = sorted(p for p in written if p != str(wav) and not p.startswith(allowed) and p != str(state))
    if outside:
        return False, f"wrote outside the state directory ({how}): {', '.join(outside[:3])}", shared
    if not wav.is_file():
        return False, "the WAV file was not written", shared
    return True, f"{len(written)} paths written ({how}), all under the state directory or the WAV file", shared


def _model_with_bank(folder: Path) -> Path:
    """A model folder with its own bank: a template sound and a curves sound."""
    from neurorack.config.sound_bank import Curves
    from neurorack.instrument.trajectory import from_curves, save_template
    from neurorack_bench.faults_model import write_model

    folder = write_model(folder, np.random.default_rng(0))
    curves = "curves: {duration_s: 0.5, pitch_hz: [[0, 55]]}"
    (folder / "sounds.yaml").write_text(f"sounds:\n  - name: Kick\n    template: templates/kick.csv\n"
                                        f"  - name: Drone\n    mode: drone\n    {curves}\n", encoding="utf-8")
    save_template(folder / "templates" / "kick.csv", from_curves(Curves(duration_s=0.2, pitch_hz=[[0.0, 60.0]])))
    return folder


def break_model_files(folder: Path, outside: Path, case: str, secret: str) -> Path:
    """Make ``case``'s bad file in the model folder; returns the file as the folder names it."""
    from neurorack.core.descriptors import DESCRIPTOR_NAMES

    bank, kick, weights = folder / "sounds.yaml", folder / "templates" / "kick.csv", folder / "weights.safetensors"
    outside.mkdir(exist_ok=True)
    if case == "zero_template":
        bank.write_text(bank.read_text().replace("templates/kick.csv", "/dev/zero"))
        return Path("/dev/zero")
    target = {"fifo_template": kick, "zero_template_link": kick, "escaping_template": kick, "fifo_weights": weights,
              "zero_weights_link": weights, "escaping_weights": weights, "escaping_bank": bank}[case]
    moved = outside / target.name
    shutil.copyfile(target, moved)
    target.unlink()
    if case.startswith("fifo"):
        os.mkfifo(target)
    elif case.startswith("zero"):
        target.symlink_to("/dev/zero")
    else:
        if case == "escaping_template":  # a secret a template error would echo
            moved.write_text(f"{','.join(DESCRIPTOR_NAMES)}\n{secret}\n", encoding="utf-8")
        elif case == "escaping_bank":
            (outside / "templates").mkdir(exist_ok=True)
            shutil.copyfile(kick, outside / "templates" / "kick.csv")
        target.symlink_to(os.path.relpath(moved, target.parent))
    return target


def start_and_report(argv: list[str]) -> None:
    """Open the instrument as the daemon does (models folder, state folder, and the saved model
    from ``argv``, or with none there the state saved in the state folder), logging to stderr;
    print what plays as JSON: the model and its sounds (null: the test voice), the home page's
    warnings, and the files opened beside the models and state folders (outside both). Run by
    ``model_file_case`` and ``saved_model_case`` in a subprocess."""
    import logging
    from dataclasses import replace

    from neurorack.app.module import open_instrument, saved_state
    from neurorack.config.module import ModuleConfig
    from neurorack.config.state import ModuleState

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    models, state_dir, *model = argv
    inside = [os.path.realpath(models) + os.sep, os.path.realpath(state_dir) + os.sep]
    beside = os.path.dirname(os.path.realpath(models)) + os.sep
    opened = []

    def note_opens(event: str, args: tuple) -> None:
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if path.startswith(beside) and not path.startswith(tuple(inside)):
                opened.append(path)

    config = replace(ModuleConfig(), models_dir=models, state_dir=state_dir)
    sys.addaudithook(note_opens)
    voice = open_instrument(config, lambda: (0.0,) * 4, ModuleState(model=model[0]) if model else saved_state(config))
    playing = voice.instrument
    print(json.dumps({"model": playing.model_name if playing is not None else None,
                      "sounds": list(playing.sound_names) if playing is not None else None,
                      "warnings": voice.warnings, "opened": sorted(set(opened))}))


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (START_MEMORY_BYTES, START_MEMORY_BYTES))


def judge_start(done: subprocess.CompletedProcess | None, named: Path, says: str, secret: str) -> tuple[bool, str]:
    """Survived: the module started in time, plays the test voice or leaves the sound ``Kick``
    out, its log names ``named`` and ``says`` what is wrong with it, and shows no ``secret``."""
    if done is None:
        return False, f"the module did not start within {START_LIMIT_S:g} s (hang)"
    output = done.stdout + done.stderr
    if secret in output:
        return False, "the content of a file outside the model folder reached the log"
    if done.returncode != 0 or "Traceback" in done.stderr:
        return False, f"start-up failed: exit {done.returncode}: {done.stderr.strip()[-200:]!r}"
    try:
        sounds = json.loads(done.stdout.strip().splitlines()[-1])["sounds"]
    except (IndexError, ValueError, KeyError, TypeError):
        return False, f"no report from the started module: {done.stdout.strip()[-200:]!r}"
    if sounds is not None and "Kick" in sounds:
        return False, f"played the model with {named.name} as if nothing were wrong"
    lines = [line for line in done.stderr.splitlines() if str(named) in line]
    if not lines:
        return False, f"no message names {named}: {done.stderr.strip()[-200:]!r}"
    if not any(says in line for line in lines):
        return False, f"the message does not say '{says}': {lines[0][-200:]!r}"
    return True, lines[0][-160:]


def _start(models: Path, state: Path, *model: str) -> subprocess.CompletedProcess | None:
    """``start_and_report`` in a subprocess under the time and memory limits (None: a hang)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEURORACK_")}
    env.update(PYTHONDONTWRITEBYTECODE="1", OPENBLAS_NUM_THREADS="1")
    try:
        return subprocess.run([sys.executable, "-c", START_CODE, str(models), str(state), *model], env=env,
                              check=False, capture_output=True, text=True, timeout=START_LIMIT_S,
                              preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        return None


def model_file_case(workdir: Path, case: str) -> tuple[bool, str]:
    """A model folder naming a FIFO, a device or a file outside it must not hang, exhaust or leak."""
    secret = f"SECRET-{os.urandom(8).hex()}"
    folder = _model_with_bank(workdir / "models" / "victim")
    named = break_model_files(folder, workdir / "outside", case, secret)
    return judge_start(_start(workdir / "models", workdir / "state", folder.name), named,
                       MODEL_FILE_CASES[case], secret)


def judge_saved_path(done: subprocess.CompletedProcess | None, saved: str) -> tuple[bool, str]:
    """Survived: the module started in time, opened no file of the decoy (nothing outside its
    models and state folders), plays the default model, and a warning names ``saved``."""
    from neurorack.app.module import DEFAULT_MODEL

    if done is None:
        return False, f"the module did not start within {START_LIMIT_S:g} s (hang)"
    if done.returncode != 0 or "Traceback" in done.stderr:
        return False, f"start-up failed: exit {done.returncode}: {done.stderr.strip()[-200:]!r}"
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
        model, opened, warnings = report["model"], report["opened"], report["warnings"]
    except (IndexError, ValueError, KeyError, TypeError):
        return False, f"no report from the started module: {done.stdout.strip()[-200:]!r}"
    if opened:
        return False, f"opened {opened[0]}, outside the models folder (the saved model {saved!r} was followed)"
    if model != DEFAULT_MODEL:
        return False, f"plays {model or 'the test voice'}, not the default model {DEFAULT_MODEL}"
    lines = [line for line in done.stderr.splitlines() if line.startswith("WARNING") and saved in line]
    if not lines or not warnings:
        return False, f"no warning names the saved model {saved!r}: {done.stderr.strip()[-200:]!r}"
    return True, lines[0][-160:]


def saved_model_case(workdir: Path, case: str) -> tuple[bool, str]:
    """A state file whose model is a path to a decoy outside the models folder: the decoy is never loaded."""
    import yaml

    from neurorack.app.module import DEFAULT_MODEL

    _model_with_bank(workdir / "models" / DEFAULT_MODEL)
    decoy = _model_with_bank(workdir / "decoy")
    saved = SAVED_PATHS[case].format(decoy=decoy)
    (workdir / "state").mkdir()
    (workdir / "state" / "state.yaml").write_text(yaml.safe_dump({"model": saved}), encoding="utf-8")
    return judge_saved_path(_start(workdir / "models", workdir / "state"), saved)


def hostile_checkpoint(run: Path, case: str, rng: random.Random, marker: Path) -> list[str]:
    """A tiny descriptor run folder whose ``checkpoint.pt`` is ``case``'s; returns the arguments
    ``resume_and_report`` needs beyond the run and the cache (a real checkpoint to cut short:
    only the subprocess has torch)."""
    import pickle

    from neurorack.core.architecture import TINY_CONFIG, config_yaml
    from neurorack_bench.faults_model import MarkerPayload

    run.mkdir()
    (run / "config.yaml").write_text(config_yaml(TINY_CONFIG), encoding="utf-8")
    if case == "checkpoint_truncated":
        return [f"{rng.uniform(0.05, 0.95):.3f}"]
    if case == "checkpoint_pickle":
        (run / "checkpoint.pt").write_bytes(pickle.dumps({"model": MarkerPayload(str(marker)), "step": 1}))
    else:
        (run / "checkpoint.pt").write_bytes(bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 4096))))
    return []


def one_shots_cache(path: Path) -> Path:
    """A data cache of eight short tones, in the train, valid and test splits."""
    from neurorack.core.descriptors import SAMPLE_RATE, extract
    from neurorack.ml.dataset import OneShotSet, prepare, save_cache

    t = np.arange(int(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
    audio = [prepare(0.5 * np.sin(2 * np.pi * (110 + 90 * i) * t) * np.exp(-t / 0.06), SAMPLE_RATE)
             for i in range(8)]
    splits = ["train"] * 4 + ["valid"] * 2 + ["test"] * 2
    data = OneShotSet([f"Kit/{i}.wav" for i in range(8)], audio, [extract(a) for a in audio], splits, [])
    return save_cache(data, path)


def resume_and_report(argv: list[str]) -> None:
    """Resume the run folder ``argv[0]`` (data cache ``argv[1]``) from its checkpoint as ``neurorack
    train --resume`` does (the CLI's ``main``) and as ``neurorack trim retrain`` retrains
    (``DescriptorTask.retrain``, an error printed as ``main`` prints one); print, as JSON, each
    one's exit status and stderr. With ``argv[2]``, a real checkpoint is written first and cut to
    that fraction of its length. Run by ``checkpoint_case`` in a subprocess."""
    import contextlib
    import io
    import traceback

    from neurorack.cli import main
    from neurorack.core.architecture import load_config
    from neurorack.errors import NeurorackError

    run, cache = Path(argv[0]), argv[1]
    checkpoint = run / "checkpoint.pt"
    if argv[2:]:
        import torch

        from neurorack.ml.model import DescriptorModel
        from neurorack.ml.train import save_checkpoint

        model = DescriptorModel(load_config(run / "config.yaml"))
        optimiser = torch.optim.Adam(model.parameters())
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimiser, 0.99)
        save_checkpoint(checkpoint, model, optimiser, scheduler, np.random.default_rng(0), {"train": [1.0]}, 1)
        whole = checkpoint.read_bytes()
        checkpoint.write_bytes(whole[:int(len(whole) * float(argv[2]))])

    def train_resume() -> int:
        return main(["train", "--resume", "--out", str(run), "--cache", cache, "--family", "descriptor", "--steps", "2",
                     "--batch", "2", "--crop-frames", "16", "--device", "cpu", "--threads", "1"])

    def trim_retrain() -> int:
        from neurorack.ml.dataset import load_cache
        from neurorack.ml.model import DescriptorModel
        from neurorack.ml.trim.model_adapter import DescriptorTask

        task = DescriptorTask(load_cache(cache), crop_frames=16, batch_size=2, test_crops=2, bench_paths=("numpy",),
                              threads=1)
        try:
            task.retrain(DescriptorModel(load_config(run / "config.yaml")), 2, 0, None, checkpoint=checkpoint)
        except NeurorackError as exc:
            print(f"neurorack: error: {exc}", file=sys.stderr)
            return 2
        return 0

    report = {}
    for name, entry in zip(RESUME_ENTRIES, (train_resume, trim_retrain)):
        captured = io.StringIO()
        with contextlib.redirect_stderr(captured):
            try:
                status = entry()
            except BaseException:  # noqa: BLE001 - reported, as a traceback would reach the user
                traceback.print_exc()
                status = 1
        report[name] = {"exit": status, "stderr": captured.getvalue()}
    print(json.dumps({"checkpoint": str(checkpoint), "entries": report}))


def judge_resume(done: subprocess.CompletedProcess | None, marker: Path) -> tuple[bool, str]:
    """Survived: each entry exited 2 with one ``neurorack: error:`` line naming the checkpoint,
    nothing on stderr shows a traceback or torch's ``weights_only=False`` advice, and no marker."""
    if marker.exists():
        return False, "code in the checkpoint's pickle ran: the marker file exists"
    if done is None:
        return False, f"did not finish within {RUN_LIMIT_S:g} s (hang)"
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
        checkpoint, entries = report["checkpoint"], report["entries"]
    except (IndexError, ValueError, KeyError, TypeError):
        return False, f"no report: exit {done.returncode}: {done.stderr.strip()[-200:]!r}"
    said = []
    for name in RESUME_ENTRIES:
        status, stderr = entries[name]["exit"], entries[name]["stderr"]
        for text in (stderr, done.stderr):
            if "Traceback" in text or "weights_only=False" in text:
                return False, f"{name}: a traceback or torch's advice reached the user: {text.strip()[-200:]!r}"
        lines = stderr.strip().splitlines()
        if status != 2 or len(lines) != 1 or not lines[0].startswith("neurorack: error: "):
            return False, f"{name}: exit {status}, expected 2 and one error line: {stderr.strip()[-200:]!r}"
        if checkpoint not in lines[0]:
            return False, f"{name}: the error does not name {checkpoint}: {lines[0][-200:]!r}"
        said.append(lines[0])
    return True, said[0][-160:]


def checkpoint_case(workdir: Path, case: str, rng: random.Random) -> tuple[bool, str]:
    """Resuming from a hostile or damaged checkpoint is one clear error and runs no code."""
    marker = workdir / "marker"
    cut = hostile_checkpoint(workdir / "run", case, rng, marker)
    cache = one_shots_cache(workdir / "cache.npz")
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEURORACK_")}
    env.update(PYTHONDONTWRITEBYTECODE="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    command = [sys.executable, "-c", RESUME_CODE, str(workdir / "run"), str(cache), *cut]
    try:
        done = subprocess.run(command, env=env, check=False, capture_output=True, text=True, timeout=RUN_LIMIT_S)
    except subprocess.TimeoutExpired:
        done = None
    return judge_resume(done, marker)


def run(trials: int, rng: random.Random, workdir: Path, progress: Callable[[int, int], None]) -> FamilyResult:
    """``trials`` cases cycling through ``CASES``."""
    result = FamilyResult("security")
    for index in range(trials):
        case = CASES[index % len(CASES)]
        folder = workdir / f"case{index:03d}"
        folder.mkdir()
        if case == "pickle":
            ok, why = pickle_case(folder, rng)
        elif case == "unit":
            ok, why = unit_case(unit_path())
        elif case in MODEL_FILE_CASES:
            ok, why = model_file_case(folder, case)
        elif case in SAVED_PATHS:
            ok, why = saved_model_case(folder, case)
        elif case in CHECKPOINT_CASES:
            ok, why = checkpoint_case(folder, case, rng)
        else:
            ok, why, shared = writes_case(folder)
            result.notes["shared_memory_files"] = shared
        result.record(case, ok, why)
        progress(index + 1, trials)
    result.notes["traced_with"] = "strace" if shutil.which("strace") else "folder snapshots"
    return result
