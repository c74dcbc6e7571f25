"""neurorack.audio.schedule: the gate latency, where onsets go, and the lookahead under load.

Each test drives a ``GateSchedule`` by hand: callbacks are recorded on its timeline at their
exact times (origin 0), and the engine's counters are set as the render thread and the
callback would. No engine is built.
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from neurorack.audio.engine_stats import EngineStats
from neurorack.audio.schedule import (
    CALM_MAX_S,
    CALM_S,
    GATE_QUEUE_SIZE,
    OVERLOAD_WARMUP_S,
    SAFETY_MARGIN_S,
    GateSchedule,
    Onset,
    default_gate_latency_s,
    late_renders_to_raise,
)
from neurorack.audio.timeline import CallbackTimeline
from neurorack.config.module import AudioSettings
from neurorack.core.events import GateEdge

SR = 48000
BLOCK = 128
OVERLOAD_LATE_RENDERS = late_renders_to_raise(AudioSettings())  # 25 at these blocks
BLOCK_S = BLOCK / SR


def make(audio: AudioSettings | None = None, max_blocks: int = 4) -> GateSchedule:
    audio = audio or AudioSettings()
    timeline = CallbackTimeline(audio.sample_rate, audio.block_size)
    block_s = audio.block_size / audio.sample_rate
    return GateSchedule(audio, timeline, EngineStats(), max_lookahead_s=max_blocks * block_s)


def play(schedule: GateSchedule, callbacks: int = 1) -> None:
    """Record callbacks that fetch the next blocks on time, on the origin-0 timeline."""
    timeline = schedule.timeline
    for _ in range(callbacks):
        read_index = timeline.count * schedule.block_size
        timeline.record(read_index, read_index / schedule.sample_rate, 0.0)


def place(schedule: GateSchedule, blocks: int, first: int = 0) -> list[tuple[int, GateEdge]]:
    """The (sample, edge) pairs placed in ``blocks`` blocks from block ``first`` on."""
    placed = []
    for block in range(first, first + blocks):
        start = block * schedule.block_size
        placed += [(start + offset, edge) for offset, edge in schedule.onsets_in_block(start)]
    return placed


def past_warmup(schedule: GateSchedule) -> None:
    play(schedule, round(OVERLOAD_WARMUP_S * SR / schedule.block_size) + 1)


def late_renders(schedule: GateSchedule, count: int) -> None:
    """``count`` more late renders, then the render thread's next block."""
    schedule.counters.late_renders += count
    schedule.adapt()


def calm(schedule: GateSchedule, seconds: float) -> None:
    """The render thread renders ``seconds`` of blocks, none of them late."""
    counters = schedule.counters
    for _ in range(round(seconds * SR / BLOCK)):
        counters.blocks_rendered += 1
        schedule.adapt()


# -- gate latency ------------------------------------------------------------------------


def test_default_gate_latency_is_lookahead_plus_one_block_plus_margin():
    assert make().gate_latency_s == pytest.approx((1 + 1) * 128 / 48000 + 0.0005, abs=1e-15)
    assert SAFETY_MARGIN_S == 0.0005


def test_default_gate_latency_follows_rate_block_and_lookahead():
    audio = AudioSettings(sample_rate=44100, block_size=256, lookahead_blocks=2.5)
    assert default_gate_latency_s(audio) == pytest.approx(3.5 * 256 / 44100 + 0.0005)
    assert make(audio).gate_latency_s == pytest.approx(3.5 * 256 / 44100 + 0.0005)
    assert make(audio).lookahead_s == pytest.approx(2.5 * 256 / 44100)


def test_gate_latency_ms_setting_overrides_the_default():
    audio = dataclasses.replace(AudioSettings(), gate_latency_ms=12.5)
    assert make(audio).gate_latency_s == pytest.approx(0.0125)


def test_gate_latency_below_lookahead_plus_one_block_logs_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="neurorack.audio.schedule"):
        make(dataclasses.replace(AudioSettings(), gate_latency_ms=1.0))
    assert "some onsets will be late" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="neurorack.audio.schedule"):
        make()
    assert caplog.text == ""


# -- placing onsets ----------------------------------------------------------------------


def test_an_onset_goes_to_the_sample_fetched_the_gate_latency_after_its_edge():
    schedule = make()
    play(schedule)
    schedule.post_gate(GateEdge(0.1))
    expected = round((0.1 + schedule.gate_latency_s) * SR)
    assert expected == 5080
    assert place(schedule, expected // BLOCK) == []  # the blocks before it: not yet
    (offset, edge), = schedule.onsets_in_block(expected - expected % BLOCK)
    assert (offset, edge) == (expected % BLOCK, GateEdge(0.1))
    assert list(schedule.onsets) == [Onset(GateEdge(0.1), expected, False)]
    assert schedule.counters.late_onsets == 0


def test_edges_wait_for_the_first_callback():
    schedule = make()
    schedule.post_gate(GateEdge(0.0))
    assert place(schedule, 4) == []
    play(schedule)
    assert place(schedule, 4, first=1) == [(round(schedule.gate_latency_s * SR), GateEdge(0.0))]


def test_edges_posted_out_of_order_are_placed_in_time_order():
    schedule = make()
    play(schedule)
    schedule.post_gate(GateEdge(0.010))
    schedule.post_gate(GateEdge(0.005))
    schedule.post_gate(GateEdge(0.0051))  # in the same block as the one before
    placed = place(schedule, 8)
    assert [edge.time_s for _, edge in placed] == [0.005, 0.0051, 0.010]
    assert [sample for sample, _ in placed] == [round((t + schedule.gate_latency_s) * SR)
                                                for t in (0.005, 0.0051, 0.010)]
    assert [onset.sample for onset in schedule.onsets] == [sample for sample, _ in placed]


def test_a_late_edge_goes_to_the_start_of_the_block_and_is_counted():
    schedule = make()
    play(schedule)
    assert place(schedule, 3) == []
    schedule.post_gate(GateEdge(0.0))  # its onset, sample 280, is in block 2: rendered already
    assert schedule.onsets_in_block(3 * BLOCK) == [(0, GateEdge(0.0))]
    assert list(schedule.onsets) == [Onset(GateEdge(0.0), 3 * BLOCK, True)]
    assert schedule.counters.late_onsets == 1


def test_gate_queue_drops_edges_beyond_its_size_and_counts_them():
    schedule = make()
    for k in range(GATE_QUEUE_SIZE + 3):
        schedule.post_gate(GateEdge(k * 1e-3))
    assert schedule.counters.gate_overflows == 3


# -- the lookahead under load ------------------------------------------------------------


def test_late_renders_in_the_start_up_raise_nothing_and_are_counted_apart():
    schedule = make()
    play(schedule, 10)
    late_renders(schedule, OVERLOAD_LATE_RENDERS + 3)
    assert schedule.lookahead_s == pytest.approx(BLOCK_S) and schedule.counters.lookahead_raises == 0
    assert schedule.counters.startup_late_renders == OVERLOAD_LATE_RENDERS + 3
    assert schedule.counters.warnings == []


def test_late_renders_that_keep_coming_raise_lookahead_and_gate_latency_by_one_block(caplog):
    schedule = make()
    past_warmup(schedule)
    lookahead, latency = schedule.lookahead_s, schedule.gate_latency_s
    late_renders(schedule, OVERLOAD_LATE_RENDERS - 1)
    assert schedule.counters.lookahead_raises == 0  # not yet
    with caplog.at_level(logging.WARNING, logger="neurorack.audio.schedule"):
        late_renders(schedule, 1)
    assert schedule.lookahead_s == pytest.approx(lookahead + BLOCK_S)
    assert schedule.gate_latency_s == pytest.approx(latency + BLOCK_S)
    assert schedule.counters.lookahead_raises == 1
    assert schedule.counters.warnings == ["CPU overloaded: lookahead 2 blocks, gate latency 8.5 ms"]
    assert "late renders within" in caplog.text


def test_smaller_blocks_take_as_much_late_audio_to_raise_the_lookahead():
    """A host hiccup of some milliseconds makes twice as many late 64-sample blocks as 128-sample
    ones: the lookahead rises on the same late audio, whatever the block size."""
    assert OVERLOAD_LATE_RENDERS == 25
    small = dataclasses.replace(AudioSettings(), block_size=64)
    assert late_renders_to_raise(small) == 50
    assert late_renders_to_raise(dataclasses.replace(AudioSettings(), block_size=1024)) == 3
    schedule = make(small)
    past_warmup(schedule)
    late_renders(schedule, 49)
    assert schedule.counters.lookahead_raises == 0
    late_renders(schedule, 1)
    assert schedule.counters.lookahead_raises == 1


def test_the_lookahead_never_goes_past_the_maximum():
    schedule = make(max_blocks=2)
    past_warmup(schedule)
    for _ in range(3):
        late_renders(schedule, OVERLOAD_LATE_RENDERS)
    assert schedule.counters.lookahead_raises == 1 and schedule.lookahead_s == pytest.approx(2 * BLOCK_S)


@pytest.fixture
def raised() -> GateSchedule:
    """A schedule whose lookahead was just raised by one block."""
    schedule = make()
    past_warmup(schedule)
    late_renders(schedule, OVERLOAD_LATE_RENDERS)
    assert schedule.counters.lookahead_raises == 1
    return schedule


def test_a_calm_spell_brings_the_lookahead_down_then_the_gate_latency(raised, caplog):
    lowered = default_gate_latency_s(AudioSettings())
    calm(raised, CALM_S - BLOCK_S)
    assert raised.lookahead_s == pytest.approx(2 * BLOCK_S)  # not calm for long enough yet
    with caplog.at_level(logging.INFO, logger="neurorack.audio.schedule"):
        calm(raised, BLOCK_S)
        assert raised.lookahead_s == pytest.approx(BLOCK_S)
        assert raised.gate_latency_s == pytest.approx(lowered + BLOCK_S)  # still: rendered audio reaches further
        calm(raised, BLOCK_S)
    assert raised.gate_latency_s == pytest.approx(lowered)
    assert raised.counters.lookahead_drops == 1
    assert "lookahead back to 1 blocks" in caplog.text and "gate latency back to 5.8 ms" in caplog.text
    calm(raised, 2 * CALM_S)
    assert raised.counters.lookahead_drops == 1  # never below the configured lookahead


def test_the_gate_latency_comes_down_only_while_no_edge_waits(raised):
    lowered = default_gate_latency_s(AudioSettings())
    calm(raised, CALM_S)
    assert raised.lookahead_s == pytest.approx(BLOCK_S)
    raised.post_gate(GateEdge(100.0))  # far ahead: it waits for its block
    calm(raised, 1.0)
    assert raised.gate_latency_s == pytest.approx(lowered + BLOCK_S)
    assert place(raised, 1, first=round((100.0 + raised.gate_latency_s) * SR) // BLOCK) != []
    calm(raised, BLOCK_S)
    assert raised.gate_latency_s == pytest.approx(lowered)


def test_a_late_render_restarts_the_calm_spell(raised):
    calm(raised, CALM_S - 1.0)
    late_renders(raised, 1)
    calm(raised, CALM_S - BLOCK_S)
    assert raised.counters.lookahead_drops == 0 and raised.counters.lookahead_raises == 1
    calm(raised, BLOCK_S)
    assert raised.counters.lookahead_drops == 1


def test_a_load_that_comes_back_after_the_lookahead_came_down_doubles_the_next_calm_spell():
    schedule = make()
    past_warmup(schedule)
    spells = [CALM_S, 2 * CALM_S, 4 * CALM_S, 8 * CALM_S, CALM_MAX_S, CALM_MAX_S]  # up to the maximum
    assert 8 * CALM_S < CALM_MAX_S < 16 * CALM_S
    for spell in spells:
        late_renders(schedule, OVERLOAD_LATE_RENDERS)
        calm(schedule, spell - BLOCK_S)
        assert schedule.lookahead_s == pytest.approx(2 * BLOCK_S)
        calm(schedule, BLOCK_S)
        assert schedule.lookahead_s == pytest.approx(BLOCK_S)
    assert (schedule.counters.lookahead_raises, schedule.counters.lookahead_drops) == (6, 6)
