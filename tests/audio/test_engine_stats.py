"""neurorack.audio.engine_stats: the counters, the callback's counter array and the report."""

from __future__ import annotations

import numpy as np
import pytest

from neurorack.audio.engine_stats import RENDER_TIMES, EngineStats


def test_the_callbacks_counters_are_the_array_a_c_callback_writes():
    stats = EngineStats()
    stats.underflows += 2
    stats.late_renders += 5
    assert stats.callback_counters.tolist() == [2, 5]
    stats.callback_counters[1] += 1  # as the C callback does
    assert stats.late_renders == 6 and isinstance(stats.late_renders, int)


def test_a_fresh_report_is_all_zero():
    report = EngineStats().report(0, 1.0, "test voice")
    assert report["render_ms"] == {"p50": 0.0, "p99": 0.0, "max": 0.0}
    assert report["callbacks"] == report["blocks_rendered"] == report["late_renders"] == 0
    assert (report["lookahead_blocks"], report["voice"], report["warnings"]) == (1.0, "test voice", [])


def test_the_report_holds_every_counter_and_the_figures_it_is_given():
    stats = EngineStats()
    names = ["startup_late_renders", "late_onsets", "muted_blocks", "render_errors", "gate_overflows",
             "fallbacks", "lookahead_raises", "lookahead_drops"]
    for value, name in enumerate(names, start=1):
        setattr(stats, name, value)
    stats.underflows, stats.late_renders = 11, 12
    report = stats.report(40, 2.0, "drums")
    assert [report[name] for name in names] == list(range(1, len(names) + 1))
    assert (report["underflows"], report["late_renders"], report["callbacks"]) == (11, 12, 40)
    assert (report["lookahead_blocks"], report["voice"]) == (2.0, "drums")


def test_render_times_are_summed_up_over_the_blocks_rendered_only():
    stats = EngineStats()
    stats.render_ms[:100] = np.arange(1, 101)
    stats.render_ms[100:] = 1000.0  # not rendered yet: left out
    stats.blocks_rendered = 100
    render_ms = stats.report(0, 1.0, "v")["render_ms"]
    assert render_ms["p50"] == pytest.approx(50.5) and render_ms["max"] == 100.0
    assert render_ms["p99"] == pytest.approx(np.percentile(np.arange(1, 101), 99))


def test_render_times_beyond_the_ring_keep_the_last_ones():
    stats = EngineStats()
    stats.render_ms[:] = 2.0
    stats.blocks_rendered = 3 * RENDER_TIMES
    assert stats.report(0, 1.0, "v")["render_ms"] == {"p50": 2.0, "p99": 2.0, "max": 2.0}


def test_the_reported_warnings_are_a_copy():
    stats = EngineStats()
    stats.warnings.append("first")
    report = stats.report(0, 1.0, "v")
    stats.warnings.append("second")
    assert report["warnings"] == ["first"]
