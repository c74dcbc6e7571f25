"""The trimming report: sound figures beside the error multiplier, and what counts as a loss."""

from __future__ import annotations

from neurorack.ml.trim.report import (
    markdown_table,
    run_label,
    sound_losses,
    write_records,
    write_report,
)


def _record(round_index, removed, error, sound=None, distil=0.0):
    record = {"round": round_index, "criterion": "mi", "scope": "global", "rewind": "rewind", "params": 1000 - 10 * round_index,
              "params_removed_pct": removed, "bytes": 4000, "macs_per_second": 2e6, "realtime_factor": 31.0,
              "speedup": 1.0, "test_loss": error, "error_multiplier": error, "seconds": 1.0, "distil": distil}
    if sound is not None:
        record["sound"] = sound
    return record


PARENT = {"time_to_peak_error_ms": 1.5, "log_mel_vs_vocoder": 2.6, "identity_top1": 0.72, "pitch_error_cents": 0.0004}


def test_a_figure_counts_as_lost_only_beyond_five_percent_or_its_floor():
    assert sound_losses(_record(1, 50, 1.0, dict(PARENT)), _record(0, 0, 1.0, PARENT)) == []
    slightly = {**PARENT, "log_mel_vs_vocoder": 2.6 * 1.04, "pitch_error_cents": 0.5, "identity_top1": 0.68}
    assert sound_losses(_record(1, 50, 1.0, slightly), _record(0, 0, 1.0, PARENT)) == []
    worse = {**PARENT, "time_to_peak_error_ms": 1.7, "log_mel_vs_vocoder": 2.6 * 1.06, "identity_top1": 0.66,
             "pitch_error_cents": 3.0}
    assert sound_losses(_record(1, 50, 1.0, worse), _record(0, 0, 1.0, PARENT)) == [
        "time-to-peak err (ms)", "log-mel / vocoder", "identity top-1", "1V/oct err (cents)"]
    unmeasured = {**PARENT, "pitch_error_cents": None}
    assert sound_losses(_record(1, 50, 1.0, unmeasured), _record(0, 0, 1.0, PARENT)) == ["1V/oct err (cents)"]
    better = {**PARENT, "identity_top1": 0.9, "time_to_peak_error_ms": 0.2}
    assert sound_losses(_record(1, 50, 1.0, better), _record(0, 0, 1.0, PARENT)) == []


def test_the_table_and_plot_show_sound_figures_and_the_verdict(tmp_path):
    worse = {**PARENT, "identity_top1": 0.5}
    records = [_record(0, 0.0, 1.0, PARENT), _record(1, 50.0, 0.98, dict(PARENT), distil=0.5),
               _record(2, 90.0, 1.1, worse, distil=0.5)]
    assert run_label(records) == "mi, global, distil 0.5"
    table = markdown_table({"run": records})
    assert "| identity top-1 |" in table.splitlines()[0]
    assert table.splitlines()[3].endswith("| kept |") and table.splitlines()[4].endswith("| worse: identity top-1 |")
    run = tmp_path / "run"
    run.mkdir()
    write_records(run, records)
    result = write_report([run])
    assert (run / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert "0.500" in (run / "report.md").read_text() and result["runs"]["mi, global, distil 0.5"] == records


def test_runs_without_sound_figures_keep_the_short_table():
    table = markdown_table({"run": [_record(0, 0.0, 1.0), _record(1, 40.0, 1.01)]})
    assert "identity" not in table and table.count("\n") == 4


def test_runs_with_the_same_settings_are_each_named_by_their_folder(tmp_path):
    records = [_record(0, 0.0, 1.0), _record(1, 90.0, 1.03)]
    for name in ("ticket-a", "ticket-c", "other"):
        write_records(tmp_path / name, records if name != "other" else [*records[:1], _record(1, 90.0, 1.0, distil=0.5)])
    result = write_report([tmp_path / "ticket-a", tmp_path / "ticket-c", tmp_path / "other"], out=tmp_path)
    assert list(result["runs"]) == ["mi, global (ticket-a)", "mi, global (ticket-c)", "mi, global, distil 0.5"]
