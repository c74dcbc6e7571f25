"""The C audio callback: the same work as Engine.pull on the same memory, built by pip install."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from neurorack.audio.backends import native_callback
from neurorack.audio.backends.native_callback import (
    NativeCallback,
    NativeCallbackUnavailable,
)
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice

OUTPUT_UNDERFLOW = 0x4  # paOutputUnderflow


def _twin_engines():
    python_engine, c_engine = Engine(TestVoice(48000)), Engine(TestVoice(48000))
    callback = NativeCallback(c_engine, channels=2, priority=0)  # the test's thread keeps its scheduling
    python_engine.voice.trigger(1.0)
    c_engine.voice.trigger(1.0)
    python_engine.prefill()
    c_engine.prefill()
    return python_engine, c_engine, callback


def test_the_c_callback_does_what_engine_pull_does_on_the_same_memory():
    """Block by block through ring wrap-arounds, starved blocks (silence, a late render) and
    underflow flags, the C callback leaves the output, the FIFO, the timeline and the counters
    exactly as the Python callback path does."""
    python_engine, c_engine, callback = _twin_engines()
    python_out, c_out = np.full((128, 2), 7.0, np.float32), np.full((128, 2), 7.0, np.float32)
    peak = 0.0
    for k in range(60):
        if k % 9 != 4:  # every ninth block the render thread misses its turn
            assert python_engine.render_block() and c_engine.render_block()
        underflow = k % 5 == 0
        if underflow:
            python_engine.counters.underflows += 1
        python_engine.pull(python_out, time.monotonic(), 0.01 * k)
        callback(c_out, status=OUTPUT_UNDERFLOW if underflow else 0, stream_time=0.01 * k)
        np.testing.assert_array_equal(c_out, python_out, err_msg=f"block {k}")
        peak = max(peak, float(np.abs(c_out).max()))
    assert c_engine.fifo.read_index == python_engine.fifo.read_index > 2 * c_engine.fifo.capacity
    assert c_engine.counters.late_renders == python_engine.counters.late_renders > 0
    assert c_engine.counters.underflows == python_engine.counters.underflows == 12
    assert c_engine.timeline.count == python_engine.timeline.count == 60
    c_reads, c_times, c_stream_times = c_engine.timeline.recent()
    python_reads, _, _ = python_engine.timeline.recent()
    np.testing.assert_array_equal(c_reads, python_reads)
    np.testing.assert_array_equal(c_stream_times, 0.01 * np.arange(60))
    assert np.all(np.diff(c_times) >= 0)
    assert peak > 0.01  # the test voice was playing, not silence against silence


def test_the_c_callback_records_time_on_pythons_monotonic_clock():
    _, c_engine, callback = _twin_engines()
    out = np.zeros((128, 2), np.float32)
    before = time.monotonic()
    callback(out)
    after = time.monotonic()
    assert before <= c_engine.timeline.called_at[0] <= after
    assert c_engine.timeline.origin() == pytest.approx(c_engine.timeline.called_at[0])


def test_priority_zero_leaves_the_calling_threads_scheduling_alone():
    scheduling = os.sched_getscheduler(0), os.sched_getparam(0).sched_priority
    _, _, callback = _twin_engines()
    callback(np.zeros((128, 2), np.float32))
    assert (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority) == scheduling
    assert callback.realtime is None


def test_the_render_thread_publishes_through_the_c_release_store():
    python_engine, c_engine, _ = _twin_engines()
    assert c_engine.fifo.publish_write_index is not python_engine.fifo.publish_write_index
    written = c_engine.fifo.write_index
    assert c_engine.render_block()
    assert c_engine.fifo.write_index == written + 128


def test_out_of_the_wrong_shape_is_refused_before_it_reaches_c():
    _, _, callback = _twin_engines()
    with pytest.raises(ValueError, match="float32"):
        callback(np.zeros((128, 1), np.float32))
    with pytest.raises(ValueError, match="float32"):
        callback(np.zeros((128, 2), np.float64))


def test_the_install_built_the_c_callback_into_the_package():
    """pip install (install.sh) compiled native_callback.c with the package; nothing is built at run time."""
    assert native_callback.installed_callback() == {"runs": "native", "why": None}
    assert native_callback.LIBRARY.parent == native_callback.SOURCE.parent
    assert native_callback.LIBRARY.name.startswith("_native_callback.")


def test_without_the_library_the_python_callback_is_chosen_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(native_callback, "LIBRARY", tmp_path / native_callback.LIBRARY.name)
    with pytest.raises(NativeCallbackUnavailable, match="not built at install; install a C compiler "
                                                        r"\(sudo apt-get install gcc libc6-dev\)"):
        NativeCallback(Engine(TestVoice(48000)), channels=2)
    # the build step's note, when the compiler was missing at install, is the reason given
    (tmp_path / native_callback.NOT_BUILT_NOTE).write_text("command 'gcc' failed: No such file or directory\n")
    described = native_callback.installed_callback()
    assert described["runs"] == "python"
    assert described["why"].startswith("the C callback was not built at install "
                                       "(command 'gcc' failed: No such file or directory); install a C compiler")
    assert native_callback.callback_summary(described) == f"python ({described['why']})"


def test_a_library_built_from_another_source_is_refused(tmp_path, monkeypatch):
    source = tmp_path / "native_callback.c"
    source.write_bytes(native_callback.SOURCE.read_bytes() + b"\n/* changed */\n")
    monkeypatch.setattr(native_callback, "SOURCE", source)
    with pytest.raises(NativeCallbackUnavailable, match="built from another native_callback.c"):
        native_callback.load_library()
    assert native_callback.installed_callback()["runs"] == "python"


def test_a_file_that_is_no_library_is_refused_with_the_fix(tmp_path, monkeypatch):
    broken = tmp_path / native_callback.LIBRARY.name
    broken.write_text("not a shared object")
    monkeypatch.setattr(native_callback, "LIBRARY", broken)
    with pytest.raises(NativeCallbackUnavailable, match="does not load.*install neurorack again"):
        native_callback.load_library()


def _first_call_on_a_fresh_thread(cpu):
    """A C callback for ``cpu`` called once on a new thread: its ``pinned`` and that thread's affinity."""
    import threading

    engine = Engine(TestVoice(48000))
    callback = NativeCallback(engine, channels=2, priority=0, cpu=cpu)
    engine.prefill()
    affinity = []

    def first_call():
        callback(np.zeros((128, 2), np.float32))
        affinity.append(os.sched_getaffinity(0))

    thread = threading.Thread(target=first_call)
    thread.start()
    thread.join()
    return callback.pinned, affinity[0]


def test_the_callbacks_thread_pins_itself_to_audio_cpu_on_its_first_call():
    core = max(os.sched_getaffinity(0))
    assert _first_call_on_a_fresh_thread(core) == (True, {core})


def test_a_core_out_of_reach_is_reported_and_no_core_leaves_the_thread_alone():
    allowed = os.sched_getaffinity(0)
    assert _first_call_on_a_fresh_thread(1023) == (False, allowed)
    assert _first_call_on_a_fresh_thread(None) == (None, allowed)
