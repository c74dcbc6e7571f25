"""neurorack.controls.gates: the Schmitt trigger under noise and bounce, and the edge queue."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from neurorack.controls.gates import EdgeQueue, SchmittTrigger
from neurorack.core.events import GateEdge

POLL_S = 0.0005


def run(trigger: SchmittTrigger, volts: np.ndarray) -> list[GateEdge]:
    edges = []
    for index, v in enumerate(volts):
        edge = trigger.update(float(v), index * POLL_S)
        if edge is not None:
            edges.append(edge)
    return edges


def gate_train(true_edges_s: list[tuple[float, float]], seconds: float, high: float = 5.0) -> np.ndarray:
    t = np.arange(int(seconds / POLL_S)) * POLL_S
    volts = np.zeros_like(t)
    for on, off in true_edges_s:
        volts[(t >= on) & (t < off)] = high
    return volts


def test_every_gate_gives_exactly_one_rising_and_one_falling_edge_under_noise_and_bounce():
    rng = np.random.default_rng(7)
    starts = np.cumsum(rng.uniform(0.02, 0.06, size=60))
    pulses = [(float(s), float(s) + float(rng.uniform(0.005, 0.015))) for s in starts]
    volts = gate_train(pulses, float(starts[-1]) + 0.1)
    volts += rng.normal(0.0, 0.15, size=volts.size)  # pickup noise
    t = np.arange(volts.size) * POLL_S
    for on, off in pulses:  # contact-like bounce: 1 ms of chatter after each true edge
        for edge, level in ((on, 5.0), (off, 0.0)):
            chatter = (t >= edge) & (t < edge + 0.001)
            volts[chatter] = np.where(rng.random(int(chatter.sum())) < 0.5, 5.0 - level, level)
            volts[np.searchsorted(t, edge)] = level  # the first sample after the edge is already there
    edges = run(SchmittTrigger(1.5, 0.8, debounce_s=0.002), volts)
    rising = [e for e in edges if e.rising]
    falling = [e for e in edges if not e.rising]
    assert len(rising) == len(falling) == len(pulses)
    for (on, off), up, down in zip(pulses, rising, falling):
        assert 0 <= up.time_s - on < POLL_S + 1e-12
        assert 0 <= down.time_s - off < POLL_S + 1e-12


def test_hysteresis_ignores_noise_straddling_one_threshold():
    rng = np.random.default_rng(2)
    volts = 1.5 + rng.normal(0.0, 0.12, size=4000)  # hovers around the rising threshold
    volts[:10] = 0.0
    edges = run(SchmittTrigger(1.5, 0.8, debounce_s=0.0), volts)
    assert [e.rising for e in edges] == [True]


def test_without_hysteresis_the_same_noise_would_chatter():
    rng = np.random.default_rng(2)
    volts = 1.5 + rng.normal(0.0, 0.12, size=4000)
    naive = np.diff((volts > 1.5).astype(int))
    assert np.count_nonzero(naive) > 100  # why the trigger needs two thresholds


def test_velocity_follows_the_gate_level_when_asked():
    trigger = SchmittTrigger(1.5, 0.8, 0.0, gate=1, velocity_full_volts=8.0)
    edge = trigger.update(4.0, 1.0)
    assert edge == GateEdge(1.0, 1, True, 0.5)
    assert SchmittTrigger(1.5, 0.8, 0.0).update(4.0, 1.0).velocity == 1.0


def test_reversed_thresholds_are_refused():
    with pytest.raises(ValueError):
        SchmittTrigger(0.8, 1.5, 0.0)


def test_the_queue_drops_and_counts_edges_beyond_its_size():
    queue = EdgeQueue(size=4)
    for i in range(7):
        queue.put(GateEdge(float(i)))
    assert queue.overflows == 3
    assert [e.time_s for e in queue.drain()] == [0.0, 1.0, 2.0, 3.0]
    assert len(queue) == 0


def test_the_queue_hands_edges_across_threads_in_order():
    queue = EdgeQueue(size=10_000)
    producer = threading.Thread(target=lambda: [queue.put(GateEdge(float(i))) for i in range(5000)])
    producer.start()
    got = []
    while len(got) < 5000:
        edge = queue.wait_for_edge(1.0)
        assert edge is not None
        got.append(edge.time_s)
    producer.join()
    assert got == [float(i) for i in range(5000)] and queue.overflows == 0
