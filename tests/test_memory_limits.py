"""neurorack.memory_limits: OpenBLAS kept to one thread, and room checked under an address-space
limit before the steps where OpenBLAS would end the process instead of raising."""

from __future__ import annotations

import os
import resource
from types import SimpleNamespace

import pytest

from neurorack import cli, memory_limits
from neurorack.memory_limits import (
    NATIVE_HEADROOM,
    OutOfAddressSpace,
    address_space_left,
    before_numpy,
    require_headroom,
    single_threaded_blas,
)


def test_openblas_gets_one_thread_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "")  # put back as it was after the test
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    single_threaded_blas()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    single_threaded_blas()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"


def test_without_a_limit_there_is_nothing_to_check(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert address_space_left() is None
    require_headroom("anything", needed=1 << 40)


def test_the_room_left_is_the_limit_less_what_is_mapped(monkeypatch):
    limit = 1 << 40
    monkeypatch.setattr(resource, "getrlimit", lambda which: (limit, limit))
    left = address_space_left()
    assert limit - (4 << 30) < left < limit  # this process maps a little, and far below 4 GiB


def test_too_little_room_is_one_clear_out_of_memory_error(monkeypatch):
    monkeypatch.setattr(memory_limits, "address_space_left", lambda: 40 << 20)
    with pytest.raises(OutOfAddressSpace) as raised:
        require_headroom("starting the audio")
    assert str(raised.value) == ("out of memory: the address-space limit leaves 40 MiB and starting the audio "
                                 f"needs {NATIVE_HEADROOM >> 20} MiB; raise the service's memory limit")
    require_headroom("starting the audio", needed=40 << 20)


def test_before_numpy_loads_openblas_gets_one_thread_and_the_load_room(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "")  # put back as it was after the test
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setattr(memory_limits, "sys", SimpleNamespace(modules={}))  # as in a fresh process
    monkeypatch.setattr(memory_limits, "address_space_left", lambda: 10 << 20)
    with pytest.raises(OutOfAddressSpace, match="leaves 10 MiB and loading NumPy needs"):
        before_numpy()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_once_numpy_is_loaded_there_is_nothing_left_to_do(monkeypatch):
    monkeypatch.setattr(memory_limits, "address_space_left", lambda: 10 << 20)
    before_numpy()  # NumPy is loaded in this process


def test_run_does_it_before_loading_the_daemon(monkeypatch, capsys):
    def no_room():
        raise OutOfAddressSpace("out of memory: no room (test)")

    monkeypatch.setattr(memory_limits, "before_numpy", no_room)
    assert cli.main(["run", "--mock", "--seconds", "1"]) == 2
    assert capsys.readouterr().err == "neurorack: error: out of memory: no room (test)\n"


def test_other_runtime_errors_are_not_called_out_of_memory():
    from neurorack.memory_limits import out_of_memory

    assert not out_of_memory(RuntimeError("something else"))
    assert not out_of_memory(ImportError("No module named 'nothing'"))
