"""``neurorack bench startup``: how fast the module is ready, and makes its first sound.

Each run starts the daemon as a new process, ``python -m neurorack run --mock`` with the
audio paced in real time into a WAV file and gate 1 high from the scenario's start, and
times from the moment before the process is spawned:

* ``ready_s``: until the daemon's ``READY=1``, received on a datagram socket the bench binds
  and names in ``$NOTIFY_SOCKET`` (as systemd does);
* ``first_sound_s``: until the first audible sample (above ``AUDIBLE_DBFS``) of the default
  sound, triggered by that gate. The WAV file is read while it grows: the paced backend
  pulls a block from the engine every block period and appends them to the file in
  batches, so when a batch is seen arriving at time ``t`` holding ``F`` frames in all, frame
  ``n`` was played at ``t - (F - n) / rate``, give or take one block and the 1 ms polling;
* ``peak_rss_mb``: the daemon's VmHWM (``/proc/PID/status``) at that moment;
* ``torch``: whether libtorch is mapped into the daemon (``/proc/PID/maps``): it must not be,
  the module plays with NumPy alone.

The daemon starts from an empty state folder (the default sound), never joins a running
JACK server, and is stopped with SIGTERM once the sound has come.

Cold and warm: the first run finds an empty bytecode cache (``PYTHONPYCACHEPREFIX`` is a new
folder, so every module is compiled from source, as at the first start after an install
that wrote no ``.pyc``); the next runs find it filled. The operating system's page cache is
not dropped (that needs root and slows the whole machine), so "cold" does not include
reading the files from the SD card. Nothing heavy is imported at module level.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neurorack.errors import NeurorackError

AUDIBLE_DBFS = -60.0
WAV_HEADER_BYTES = 44  # the wave module's PCM header
POLL_S = 0.001
LIMIT_S = 60.0
TARGETS = {"ready_s": 1.5, "first_sound_s": 2.0, "peak_rss_mb": 150.0}
GATE_SCENARIO = "# gate 1 high from the start, for 'neurorack bench startup'\ngate1: {kind: steps, values: [5, 0], step_s: 1}\n"

def measure_start(folder: Path, pycache: Path, config_path: str | None = None) -> dict:
    """Start the daemon once, in ``folder``, with its bytecode cache in ``pycache``; its figures.

    Raises:
        NeurorackError: the daemon exited or gave no READY=1 and no sound within ``LIMIT_S``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state").mkdir(exist_ok=True)
    scenario, wav, notify = folder / "gate.yaml", folder / "run.wav", folder / "notify"
    scenario.write_text(GATE_SCENARIO, encoding="utf-8")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    env = {**os.environ, "NOTIFY_SOCKET": str(notify), "STATE_DIRECTORY": str(folder / "state"),
           "PYTHONPYCACHEPREFIX": str(pycache), "JACK_NO_START_SERVER": "1",
           "JACK_DEFAULT_SERVER": f"neurorack-bench-startup-{os.getpid()}"}
    for name in ("WATCHDOG_USEC", "WATCHDOG_PID", "PYTHONDONTWRITEBYTECODE"):  # the cold run fills the cache
        env.pop(name, None)
    command = [sys.executable, "-m", "neurorack", "run", "--mock", "--wav", str(wav), "--scenario", str(scenario),
               "--seconds", str(LIMIT_S), *(["--config", config_path] if config_path else [])]
    log = (folder / "daemon.log").open("w")
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        result = _watch(process, listener, wav, started)
        result["peak_rss_mb"] = _peak_rss_mb(process.pid)
        result["torch"] = _torch_mapped(process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        listener.close()
        log.close()
    if result["ready_s"] is None or (result["first_sound_s"] is None and result["on_wav"]):
        tail = (folder / "daemon.log").read_text(errors="replace").strip().splitlines()[-5:]
        raise NeurorackError("the daemon gave " + ("no READY=1" if result["ready_s"] is None else "no sound")
                             + f" within {LIMIT_S:.0f} s (exit status {process.returncode}): " + " | ".join(tail))
    return result


def _watch(process: subprocess.Popen, listener: socket.socket, wav: Path, started: float) -> dict:
    """Wait for READY=1 and the first audible sample (or the daemon's exit, or ``LIMIT_S``)."""
    import numpy as np  # here, not at the top: the command line parser imports this module
    ready = sound = status = None
    offset, rate, level = WAV_HEADER_BYTES, None, 32768 * 10 ** (AUDIBLE_DBFS / 20)
    while time.monotonic() - started < LIMIT_S and process.poll() is None:
        if select.select([listener], [], [], POLL_S)[0]:
            fields = dict(line.split("=", 1) for line in listener.recv(4096).decode().splitlines() if "=" in line)
            if fields.get("READY") == "1" and ready is None:
                ready, status = time.monotonic() - started, fields.get("STATUS", "")
        size = wav.stat().st_size if wav.exists() else 0
        if sound is None and size >= offset + 2:
            seen = time.monotonic() - started
            with wav.open("rb") as stream:
                rate = rate or int.from_bytes(stream.read(28)[24:28], "little")
                stream.seek(offset)
                samples = np.frombuffer(stream.read((size - offset) // 2 * 2), dtype="<i2")
            loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > level)
            frames = (offset - WAV_HEADER_BYTES) // 2 + len(samples)
            if len(loud):
                first = (offset - WAV_HEADER_BYTES) // 2 + int(loud[0])
                sound = seen - (frames - first) / rate
            offset += len(samples) * 2
        if ready is not None and (sound is not None or "WAV file" not in status):
            break
    return {"ready_s": ready, "first_sound_s": sound, "on_wav": status is None or "WAV file" in status,
            "status": status}


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _torch_mapped(pid: int) -> bool | None:
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None


def run_startup_bench(runs: int = 3, config_path: str | None = None) -> dict:
    """One cold start and ``runs`` warm ones; the cold figures and the warm medians."""
    from neurorack.audio.backends.native_callback import installed_callback

    with tempfile.TemporaryDirectory(prefix="neurorack-startup-") as scratch:
        pycache = Path(scratch) / "pycache"
        cold = measure_start(Path(scratch) / "cold", pycache, config_path)
        warm = [measure_start(Path(scratch) / f"warm{index}", pycache, config_path) for index in range(runs)]
    keys = ("ready_s", "first_sound_s", "peak_rss_mb")
    median = {key: _median([run[key] for run in warm]) for key in keys}
    return {
        "cold": {key: cold[key] for key in keys},
        "warm": {**median, "runs": [{key: run[key] for key in keys} for run in warm]},
        "targets": TARGETS,
        "met": all(median[key] is not None and median[key] <= limit for key, limit in TARGETS.items()),
        "torch_loaded": any(run["torch"] for run in [cold, *warm]),
        "played_on": cold["status"],
        "cold_means": "empty bytecode cache (PYTHONPYCACHEPREFIX), page cache not dropped",
        "cpus": os.cpu_count(),
        "audio_callback": installed_callback(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def _median(values: list) -> float | None:
    values = [value for value in values if value is not None]
    return round(statistics.median(values), 3) if values else None


def run_startup_command(args: argparse.Namespace, config) -> int:
    result = run_startup_bench(args.runs, getattr(args, "config", None))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_result(result))
    return 1 if result["torch_loaded"] else 0


def format_result(result: dict) -> str:
    def figures(run: dict) -> str:
        sound = "not heard (a sound device played it)" if run["first_sound_s"] is None else \
            f"{run['first_sound_s']:.2f} s"
        return f"ready {run['ready_s']:.2f} s, first sound {sound}, peak resident {run['peak_rss_mb']:.0f} MB"

    return "\n".join([
        f"cold ({result['cold_means']}): {figures(result['cold'])}",
        f"warm (median of {len(result['warm']['runs'])}): {figures(result['warm'])}",
        (f"targets: ready {TARGETS['ready_s']} s, sound {TARGETS['first_sound_s']} s, "
         f"under {TARGETS['peak_rss_mb']:.0f} MB: {'met' if result['met'] else 'NOT met'}"),
        "torch: " + ("LOADED by the daemon (it must not be)" if result["torch_loaded"] else "not loaded"),
        f"{result['cpus']} CPUs, load average {' '.join(str(v) for v in result['load_average'])} at the end",
    ])
