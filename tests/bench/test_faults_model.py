"""Fault family "model": broken model folders while a model plays."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from neurorack_bench import faults_model
from neurorack_bench.faults_model import (
    CASES,
    MarkerPayload,
    eval_case,
    try_case,
    write_model,
)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return write_model(tmp_path_factory.mktemp("good") / "model", np.random.default_rng(0))


def test_the_marker_payload_really_runs_code_when_unpickled(tmp_path):
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(MarkerPayload(str(marker))))
    assert marker.exists()


@pytest.mark.parametrize("case", CASES)
def test_every_broken_model_is_refused_naming_its_folder_and_runs_no_code(good, tmp_path, case):
    ok, why = try_case(good, tmp_path, case, 0, random.Random(1))
    assert ok, why
    assert not list(tmp_path.glob("marker-*"))


def test_a_loader_that_unpickles_is_caught(good, tmp_path, monkeypatch):
    """The check can fail: a loader that unpickles the weights runs the payload and loses."""
    from neurorack.runtime import loader

    def unpickling_loader(folder):
        pickle.loads((folder / "weights.safetensors").read_bytes())
        raise loader.ModelLoadError(f"{folder}: not a model")

    monkeypatch.setattr(loader, "load_model", unpickling_loader)
    ok, why = try_case(good, tmp_path, "pickle_as_weights", 0, random.Random(0))
    assert (ok, why) == (False, "code in a pickle ran: the marker file exists")


def test_eval_of_a_model_rendering_nan_exits_2_naming_it_and_writes_nothing(good, tmp_path):
    ok, why = eval_case(good, tmp_path, 0, random.Random(0))
    assert ok, why
    assert why == "neurorack: error: fault-test renders NaN or Inf for Kit/hit3.wav: its figures cannot be measured"


SILENCED = ("import numpy as np, neurorack.runtime.resynth as r, neurorack.ml.sound_eval as s; "
            "real = r.Resynthesizer.render; "
            "r.Resynthesizer.render = lambda self, code: np.nan_to_num(real(self, code), nan=0, posinf=0, neginf=0); "
            "s.unmeasured_figures = lambda figures: []; ")


@pytest.mark.parametrize(("broken", "lost"), [
    ("import neurorack.ml.sound_eval as s; s.NeurorackError = IndexError; ", "traceback: IndexError: "),
    (SILENCED, "exit 0 for a model that renders NaN"),
])
def test_an_eval_that_shows_a_traceback_or_exits_0_with_nan_figures_is_caught(good, tmp_path, monkeypatch,
                                                                              broken, lost):
    """The check can fail: an eval whose NaN check raises a plain exception (a traceback, as the
    IndexError before the fix), or one that measures the NaN away and exits 0."""
    monkeypatch.setattr(faults_model, "EVAL_CODE", broken + faults_model.EVAL_CODE)
    ok, why = eval_case(good, tmp_path, 0, random.Random(0))
    assert not ok and why.startswith(lost)


def test_family_run_keeps_the_playing_model_undisturbed(tmp_path):
    trials = len(CASES) + 1  # and the eval case
    result = faults_model.run(trials, random.Random(2), tmp_path, lambda done, total: None)
    assert (result.tried, result.lost) == (trials, 0), result.failures
