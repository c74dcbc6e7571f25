"""``neurorack bench startup``: time to READY=1 and to the first sound, peak memory; and the
daemon's path never imports torch."""

from __future__ import annotations

import os
import subprocess
import sys

from neurorack.cli import build_parser
from neurorack_bench.startup import (
    GATE_SCENARIO,
    format_result,
    run_startup_bench,
)

NO_JACK = {"JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": f"neurorack-startup-test-{os.getpid()}"}


def imported_modules(stderr: str) -> list[str]:
    """The modules ``-X importtime`` lists ('import time: self | cumulative | name')."""
    return [line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")][1:]


def test_the_daemon_never_imports_torch(tmp_path):
    (tmp_path / "gate.yaml").write_text(GATE_SCENARIO)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "neurorack", "run", "--mock", "--seconds", "0.5",
         "--wav", str(tmp_path / "run.wav"), "--scenario", str(tmp_path / "gate.yaml")],
        env={**os.environ, **NO_JACK, "STATE_DIRECTORY": str(tmp_path)}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    modules = imported_modules(result.stderr)
    assert {"numpy", "neurorack.app.daemon", "neurorack.runtime.numpy_model"} <= set(modules)  # the list is read right
    assert [name for name in modules if name == "torch" or name.startswith("torch.")] == []


def test_startup_is_timed_cold_and_warm(monkeypatch):
    for name, value in NO_JACK.items():
        monkeypatch.setenv(name, value)
    result = run_startup_bench(runs=1)
    assert result["torch_loaded"] is False
    assert "WAV file" in result["played_on"]
    for run in (result["cold"], result["warm"]):
        assert 0 < run["ready_s"] < 60
        assert 0 < run["first_sound_s"] < run["ready_s"] + 1.0  # the stream starts just before READY
        assert 20 < run["peak_rss_mb"] < 1000
    assert "torch: not loaded" in format_result(result)
    assert result["audio_callback"] == {"runs": "native", "why": None}


def test_the_bench_is_a_bench_subcommand():
    args = build_parser().parse_args(["bench", "startup", "--runs", "2", "--json"])
    assert (args.bench, args.runs, args.json) == ("startup", 2, True)
    assert args.handler.__module__ == "neurorack_bench.commands"
