"""Fault family "pressure": the mock daemon under CPU hogs and memory limits."""

from __future__ import annotations

import pytest

from neurorack_bench.faults_pressure import (
    CpuHogs,
    DaemonRun,
    _kept_real_time,
    cpu_hog_case,
    memory_case,
    run_daemon,
)


@pytest.fixture(scope="module")
def calm(tmp_path_factory):
    return run_daemon(tmp_path_factory.mktemp("calm"), "calm", seconds=2.0)


def test_a_calm_mock_run_keeps_real_time_and_its_peak_is_measured(calm):
    assert _kept_real_time(calm, 2.0) is None, calm.stderr[-500:]
    assert calm.peak_vm_kib > 50_000
    assert calm.wav_seconds >= 1.8


def test_with_a_hog_on_every_core_the_daemon_keeps_real_time_or_says_it_degraded(calm, tmp_path, monkeypatch):
    import neurorack_bench.faults_pressure as pressure

    monkeypatch.setattr(pressure, "RUN_SECONDS", 2.0)
    ok, why, notes = cpu_hog_case(tmp_path, calm)
    assert ok, why
    assert notes["hogs"] >= 1


def test_with_room_above_its_peak_the_daemon_runs_normally(calm, tmp_path):
    ok, why, notes = memory_case(tmp_path, calm, 1.5)
    assert ok, why
    assert notes["exit"] == 0


def test_a_run_that_fell_behind_or_hung_is_lost():
    behind = DaemonRun(0, "", 2.0, 0.5, 100, 0, 1)
    assert _kept_real_time(behind, 2.0).startswith("audio fell behind: 100 callbacks, 0.50 s of WAV")
    assert _kept_real_time(DaemonRun(None, "", 60.0, 0.0, 0, 0, 1), 2.0).startswith("stalled")
    assert _kept_real_time(DaemonRun(1, "Traceback ...", 1.0, 0.0, 0, 0, 1), 2.0).startswith("exit 1")


def test_cpu_hogs_stop_when_the_block_ends():
    with CpuHogs(2) as hogs:
        assert all(p.poll() is None for p in hogs.processes)
    assert all(p.poll() is not None for p in hogs.processes)


def test_the_runs_get_the_environment_the_systemd_unit_gives_the_daemon():
    from neurorack.service.install import UNIT_TEMPLATE
    from neurorack_bench.faults_pressure import DAEMON_ENV

    unit = UNIT_TEMPLATE.read_text(encoding="utf-8")
    assert DAEMON_ENV and all(f"\nEnvironment={key}={value}\n" in unit for key, value in DAEMON_ENV.items())


def test_late_renders_in_the_start_up_count_for_neither_run():
    calm = DaemonRun(0, "", 2.0, 2.0, 750, 10, 1, startup_late_renders=10)
    loaded = DaemonRun(0, "", 2.0, 2.0, 750, 10 + 300, 1, startup_late_renders=300)
    assert (calm.running_late_renders, loaded.running_late_renders) == (0, 10)
