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
