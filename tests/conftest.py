"""Fixtures shared by the instrument and module tests: a tiny exported percussion model."""

import pytest

from tests.instrument.model_fixture import make_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from neurorack.runtime.loader import load_model
    from neurorack.runtime.numpy_model import NumpyModel

    return NumpyModel(load_model(tiny_model_dir))


@pytest.fixture(autouse=True)
def scheduling_put_back():
    """A test that runs the daemon in-process puts the runner's thread under SCHED_FIFO (as the
    daemon does); each test leaves the scheduling as it found it, so a later test's children
    do not inherit a real-time priority."""
    import os

    policy, priority = os.sched_getscheduler(0), os.sched_getparam(0).sched_priority
    yield
    if (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority) != (policy, priority):
        os.sched_setscheduler(0, policy, os.sched_param(priority))
