"""``neurorack bench offline``: the demo rendered offline, its two passes timed apart (no
speed is asserted here; the bench's figures are measured by hand and reported)."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace

import pytest

from neurorack.cli import main
from neurorack.config.board import load_board
from neurorack.config.module import ModuleConfig
from neurorack_bench.offline import run_offline_bench, run_offline_command
from tests.instrument.model_fixture import make_model

SECONDS = 0.5


def test_the_test_voice_renders_the_demo_and_both_passes_are_timed():
    result = run_offline_bench(ModuleConfig(), SECONDS, voice="test", runs=3)
    polls = round(SECONDS * load_board("mock").adc.poll_hz)
    assert result["voice"] == "test voice" and result["model"] is None
    assert result["seconds"] == pytest.approx(SECONDS, abs=128 / 48000) and result["runs"] == 3 and len(result["realtime_factor_runs"]) == 3
    assert result["realtime_factor"] == sorted(result["realtime_factor_runs"])[1]  # the median run
    assert result["adc_reads"] == 4 * polls  # both gates every poll, two of the CVs and pots in turn
    assert result["gates"] >= 1  # the scenario's pattern was read through the simulated ADC
    assert result["jacks_s"] > 0 and result["render_s"] > 0
    assert result["realtime_factor_with_jacks"] < result["realtime_factor"]


def test_the_model_voice_plays_the_installed_default_model(tmp_path):
    make_model(tmp_path / "models" / "tiny")
    config = replace(ModuleConfig(), models_dir=str(tmp_path / "models"), state_dir=str(tmp_path / "state"))
    result = run_offline_bench(config, SECONDS, voice="model", runs=1)
    assert result["model"] == "tiny" and result["voice"].startswith("tiny")


def test_the_command_prints_json_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "offline", "--seconds", str(SECONDS), "--runs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["voice"] == "test voice" and result["runs"] == 1
    assert result["audio_callback"] == {"runs": "native", "why": None}
    assert list(tmp_path.iterdir()) == []


def test_the_command_says_what_it_measured_without_model_warnings(tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.INFO):
        assert main(["bench", "offline", "--seconds", str(SECONDS), "--runs", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("0.5 s of the demo with the built-in test voice (128-frame blocks at 48000 Hz): ")
    assert "no model installed" not in captured.err + caplog.text and "install a model" not in captured.err + caplog.text


def test_with_the_model_voice_the_command_names_the_model_folder_and_the_sounds(tmp_path, capsys, caplog):
    make_model(tmp_path / "models" / "tiny")
    config = replace(ModuleConfig(), models_dir=str(tmp_path / "models"), state_dir=str(tmp_path / "state"))
    args = argparse.Namespace(seconds=SECONDS, voice="model", runs=1, json=False)
    with caplog.at_level(logging.WARNING):
        assert run_offline_command(args, config) == 0
    out = capsys.readouterr().out
    result = run_offline_bench(config, SECONDS, voice="model", runs=1)
    assert result["model_dir"] == str(tmp_path / "models" / "tiny") and result["block_size"] == 128
    assert out.startswith(f"0.5 s of the demo with model {tmp_path / 'models' / 'tiny'}, sounds "
                          f"{', '.join(result['sounds'])} (128-frame blocks at 48000 Hz): ")
    assert result["sounds"] and "no model installed" not in caplog.text


@pytest.mark.parametrize("option", [["--runs", "0"], ["--seconds", "-1"]])
def test_nonsense_counts_are_refused_with_what_was_expected(option, capsys):
    with pytest.raises(SystemExit):
        main(["bench", "offline", *option])
    assert "expected" in capsys.readouterr().err
