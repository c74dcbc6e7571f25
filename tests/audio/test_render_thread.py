"""The render thread: on the core audio.cpu names, or where the kernel puts it, with a clear word why."""

from __future__ import annotations

import logging
import os
import time

from neurorack.audio.engine import Engine
from neurorack.audio.render_thread import RenderThread
from neurorack.audio.voices import TestVoice


def _affinity_once_running(cpu, timeout_s: float = 2.0) -> set[int]:
    """Start a render thread for ``cpu``; its affinity once it has had its chance to pin itself."""
    thread = RenderThread(Engine(TestVoice(48000)), cpu)
    thread.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            affinity = os.sched_getaffinity(thread.native_id)
            if cpu is None or cpu not in os.sched_getaffinity(0) or affinity == {cpu}:
                time.sleep(0.05)  # long enough for a refusal to be logged
                return os.sched_getaffinity(thread.native_id)
            time.sleep(0.005)
        return os.sched_getaffinity(thread.native_id)
    finally:
        thread.stop()


def test_the_render_thread_runs_on_audio_cpu():
    core = max(os.sched_getaffinity(0))
    assert _affinity_once_running(core) == {core}


def test_without_audio_cpu_it_runs_where_the_process_may(caplog):
    with caplog.at_level(logging.WARNING, logger="neurorack.audio.render_thread"):
        assert _affinity_once_running(None) == os.sched_getaffinity(0)
    assert not caplog.records


def test_a_core_out_of_reach_is_a_warning_and_the_thread_stays_where_it_may_run(caplog):
    with caplog.at_level(logging.WARNING, logger="neurorack.audio.render_thread"):
        assert _affinity_once_running(1023) == os.sched_getaffinity(0)
    assert "the render thread runs where the kernel puts it: audio.cpu 1023" in caplog.text
