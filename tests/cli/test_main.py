"""The ``neurorack`` command: help, config checks, demo, and a clean stop of ``run --mock``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import wave

import pytest
import yaml

from neurorack_bench.jack_server import jack_is_running
from tests.jack_fixtures import run_neurorack

SUBCOMMANDS = [["run"], ["demo"], ["bench"], ["bench", "realtime"], ["devices"], ["config"]]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_explains_itself(words):
    result = run_neurorack(*words, "--help")
    assert result.returncode == 0
    assert "usage: neurorack" in result.stdout
    assert len(result.stdout.splitlines()) > 4


def test_help_states_defaults():
    assert "default: neurorack-demo.wav" in run_neurorack("demo", "--help").stdout
    assert "default: 10.0" in run_neurorack("bench", "realtime", "--help").stdout


def test_default_config_round_trips_through_the_checker(tmp_path):
    printed = run_neurorack("config", "--defaults").stdout
    assert yaml.safe_load(printed)["audio"]["block_size"] == 128
    path = tmp_path / "config.yaml"
    path.write_text(printed)
    result = run_neurorack("config", "--check", str(path))
    assert result.returncode == 0 and "OK" in result.stdout


def test_bad_config_names_file_key_and_line_without_traceback(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("audio:\n  block_size: 100\noutput:\n  ceiling_db: 3\n")
    for args in (["config", "--check", str(path)], ["--config", str(path), "demo"], ["demo", "--config", str(path)]):
        result = run_neurorack(*args)
        assert result.returncode == 2
        assert f"{path}:2: audio.block_size: expected one of 32, 64, 128, 256, 512, 1024, got 100" in result.stderr
        assert f"{path}:4: output.ceiling_db: expected a value from -40 to 0 dBFS, got 3.0" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("argv, config, level", [
    (["run", "--mock"], None, None),
    (["--config", "a.yaml", "run", "--mock"], "a.yaml", None),
    (["run", "--mock", "--config", "b.yaml", "--log-level", "debug"], "b.yaml", "debug"),
    (["--config", "a.yaml", "bench", "offline", "--config", "c.yaml"], "c.yaml", None),
    (["--log-level", "error", "hw", "check", "--config", "d.yaml"], "d.yaml", "error"),
])
def test_config_and_log_level_are_read_before_or_after_the_command(argv, config, level):
    from neurorack.cli import build_parser

    args = build_parser().parse_args(argv)
    assert (args.config, args.log_level) == (config, level)


def test_malformed_yaml_is_reported_with_its_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("audio:\n  block_size: [128\n")
    result = run_neurorack("--config", str(path), "demo")
    assert result.returncode == 2
    assert f"{path}:3: is not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_writes_the_wav_and_says_where(tmp_path):
    out = tmp_path / "demo.wav"
    result = run_neurorack("demo", "--out", str(out), "--seconds", "4")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    with wave.open(str(out)) as handle:
        assert handle.getframerate() == 48000
        assert handle.getnframes() == 4 * 48000
        frames = handle.readframes(handle.getnframes())
    assert max(frames) > 0


def test_run_mock_stops_cleanly_on_sigint(tmp_path):
    if jack_is_running():
        pytest.skip("a JACK server is running; this test covers the machine with no sound device")
    wav = tmp_path / "run.wav"
    process = subprocess.Popen([sys.executable, "-m", "neurorack", "run", "--mock", "--wav", str(wav)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    started = []
    for line in process.stderr:  # start-up (model load) takes a varying time on a loaded box
        started.append(line)
        if "stop with Ctrl-C" in line:
            break
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=10)
    stderr = "".join(started) + stderr
    assert process.returncode == 0, stderr
    assert "stopped cleanly" in stderr
    if "WAV file" in stderr:  # no sound device here: the real-time WAV stand-in played
        with wave.open(str(wav)) as handle:
            seconds = handle.getnframes() / handle.getframerate()
        assert 2.5 < seconds < 4.5


def test_building_the_command_line_imports_nothing_heavy():
    """The daemon limits its memory and OpenBLAS threads before numpy loads: parsing must not load it."""
    code = ("import sys; from neurorack.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'torch', 'scipy', 'PIL') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_timing_benches_play_the_model_at_either_block_size():
    from neurorack.cli import build_parser

    parser = build_parser()
    realtime = parser.parse_args(["bench", "realtime", "--voice", "model", "--block-size", "64"])
    assert realtime.voice == "model" and realtime.block_size == 64
    assert parser.parse_args(["bench", "realtime"]).block_size is None  # the config's
    assert parser.parse_args(["bench", "soak", "--block-size", "128"]).block_size == 128
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "realtime", "--block-size", "100"])
