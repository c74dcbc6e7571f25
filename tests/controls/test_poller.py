"""neurorack.controls.poller: the real MCP3008 driver over the simulated bus, polled."""

from __future__ import annotations

import time

import pytest

from neurorack.config.board import load_board
from neurorack.controls.cv import Conditioning
from neurorack.controls.gates import EdgeQueue
from neurorack.controls.poller import ControlPoller, board_conditioning
from neurorack.hardware.adc import open_simulated_adc
from neurorack.hardware.scenario import Constant, GatePattern, Lfo, Scenario, Steps


class VirtualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def virtual_run(scenario: Scenario, seconds: float, noise_lsb: float = 0.3):
    board = load_board("mock")
    clock = VirtualClock()
    adc = open_simulated_adc(board, scenario, noise_lsb=noise_lsb, seed=11, clock=clock)
    queue = EdgeQueue(4096)
    poller = ControlPoller(adc.driver, board, queue.put, clock=clock)
    start = clock.now
    while clock.now - start < seconds:
        poller.poll_once()
        clock.now += poller.period_s
    return poller, queue, adc, start


def test_gate_edges_are_neither_lost_nor_doubled_and_stamped_within_one_poll_period():
    pattern = GatePattern(gate_s=0.01, high_volts=8.0)
    scenario = Scenario({"gate1": pattern, "cv1": Lfo("sine", 3.0, -5, 5)}, noise_volts=0.05, seed=3)
    poller, queue, _, start = virtual_run(scenario, 8.5)
    edges = queue.drain()
    truth = pattern.edges(8.5 - 0.001)
    assert len(edges) == len(truth) == 2 * 2 * len(pattern.hits) + 2  # two loops and the start of a third
    for edge, (true_s, rising, velocity) in zip(edges, truth):
        assert edge.rising == rising and edge.gate == 0
        assert 0 <= edge.time_s - (start + true_s) < poller.period_s + 1e-9
        if rising:
            assert edge.velocity == pytest.approx(velocity, abs=0.02)


def test_cvs_and_pots_read_as_calibrated_jack_volts():
    scenario = Scenario({"cv1": Constant(1.0), "cv2": Constant(-3.25), "cv3": Constant(4.5), "cv4": Constant(0.0),
                         "pot1": Constant(0.75), "pot2": Constant(0.1), "gate2": Steps((0.0, 10.0), 0.05)})
    poller, _, _, _ = virtual_run(scenario, 0.2, noise_lsb=0.0)
    status = poller.status()
    lsb_jack = 10.0 / 1024
    assert status.cv_volts == pytest.approx((1.0, -3.25, 4.5, 0.0), abs=lsb_jack)
    assert status.pots == pytest.approx((0.75, 0.1), abs=1 / 1024)
    assert status.gates == (False, True) and status.fault is None


def test_each_cv_is_read_at_poll_rate_times_others_per_poll_over_six():
    poller, _, _, _ = virtual_run(Scenario({}), 1.0)
    board = poller.board
    assert poller.polls == pytest.approx(board.adc.poll_hz, abs=1)
    assert poller.reads == poller.polls * (2 + board.adc.others_per_poll)


def test_adc_failures_are_counted_values_held_fault_flagged_and_recovered():
    scenario = Scenario({"cv1": Constant(2.0)})
    board = load_board("mock")
    clock = VirtualClock()
    adc = open_simulated_adc(board, scenario, noise_lsb=0.0, clock=clock)
    poller = ControlPoller(adc.driver, board, EdgeQueue().put, clock=clock)
    for _ in range(10):
        poller.poll_once()
        clock.now += poller.period_s
    held = poller.status().cv_volts
    adc.chip.fail_next = 5
    for _ in range(5):
        poller.poll_once()
        clock.now += poller.period_s
    assert poller.errors == 5
    assert poller.status().fault == "ADC read failed: [Errno 5] Input/output error"
    assert poller.status().cv_volts == held
    poller.poll_once()
    assert poller.status().fault is None and poller.status().cv_volts[0] == pytest.approx(2.0, abs=0.01)


def test_every_channel_stuck_at_a_rail_is_flagged_as_an_unplugged_adc():
    board = load_board("mock")
    clock = VirtualClock()
    adc = open_simulated_adc(board, Scenario({}), clock=clock)
    poller = ControlPoller(adc.driver, board, EdgeQueue().put, clock=clock)
    adc.chip.unplugged = True  # DOUT floats high: every code reads 1023
    for _ in range(int(0.6 * board.adc.poll_hz)):
        poller.poll_once()
        clock.now += poller.period_s
    assert "every ADC channel reads 1023" in poller.status().fault
    adc.chip.unplugged = None
    for _ in range(4):
        poller.poll_once()
    assert poller.status().fault is None


def test_calibration_overrides_the_board_conditioning():
    board = load_board("mock")
    conditioning = board_conditioning(board, {"cv1": Conditioning(3.0, -4.9)})
    assert conditioning["cv1"] == Conditioning(3.0, -4.9, -5.0, 5.0)
    assert conditioning["cv2"].scale == board.inputs.cv2.scale


def test_the_poller_thread_runs_in_real_time_and_delivers_every_edge():
    board = load_board("mock")
    pattern = GatePattern(gate_s=0.08)  # long gates: a stall of the shared test machine cannot hide one
    adc = open_simulated_adc(board, Scenario({"gate1": pattern}))
    queue = EdgeQueue(1024)
    started = time.monotonic()
    with ControlPoller(adc.driver, board, queue.put) as poller:
        time.sleep(1.2)
    elapsed = time.monotonic() - started
    truth = pattern.edges(elapsed)
    edges = queue.drain()
    # allow the edge that was in flight when the poller stopped
    assert len(truth) - 1 <= len(edges) <= len(truth)
    assert [e.rising for e in edges] == [r for _, r, _ in truth[:len(edges)]]
    assert poller.polls > 0.5 * board.adc.poll_hz * 1.2  # loose: the test box is shared
