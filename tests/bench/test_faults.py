"""neurorack_bench.faults and its command: families, counts, limits, the CLI."""

from __future__ import annotations

import json
import time

import pytest

from neurorack.cli import main
from neurorack_bench.faults import (
    FAMILIES,
    CaseTimeout,
    FamilyResult,
    FaultsError,
    run_faults,
    summary_table,
    time_limit,
)


def test_family_result_counts_and_keeps_only_the_first_failures():
    result = FamilyResult("x")
    for index in range(9):
        result.record(f"case{index}", index % 3 == 0, "broke")
    assert (result.tried, result.survived, result.lost) == (9, 3, 6)
    assert result.failures == ["case1: broke", "case2: broke", "case4: broke", "case5: broke", "case7: broke"]


def test_time_limit_interrupts_a_hang_and_leaves_no_timer_behind():
    started = time.monotonic()
    with pytest.raises(CaseTimeout), time_limit(0.2):
        time.sleep(5)
    assert time.monotonic() - started < 2
    time.sleep(0.3)  # a leftover timer would raise here


def test_unknown_family_and_zero_trials_are_clear_errors():
    with pytest.raises(FaultsError, match="unknown fault family 'bogus'; expected one of config"):
        run_faults(["bogus"])
    with pytest.raises(FaultsError, match="--trials: expected at least 1, got 0"):
        run_faults(["power"], trials=0)


def test_run_faults_reports_totals_and_calls_progress():
    seen = []
    report = run_faults(["power"], trials=3, seed=1, progress=lambda f, d, t: seen.append((f, d, t)))
    assert report["families"]["power"]["tried"] == 3
    assert report["totals"] == {key: report["families"]["power"][key] for key in ("tried", "survived", "lost")}
    assert seen == [("power", 1, 3), ("power", 2, 3), ("power", 3, 3)]
    table = summary_table(report)
    assert table.splitlines()[1].split() == ["power", "3", str(report["totals"]["survived"]),
                                             str(report["totals"]["lost"])]


def test_bench_faults_command_prints_json_per_family(capsys):
    code = main(["bench", "faults", "--family", "power", "--trials", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert set(report["families"]) == {"power"}
    assert report["families"]["power"]["tried"] == 2
    assert report["audio_callback"] == {"runs": "native", "why": None}
    assert code == (0 if report["totals"]["lost"] == 0 else 1)


def test_every_family_is_listed_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "faults", "--help"])
    out = capsys.readouterr().out
    for name in FAMILIES:
        assert f"  {name} " in out
