import pytest
import torch

from neurorack.errors import NeurorackError
from neurorack.ml.trim.selection import select_units
from tests.ml.trim.tiny_models import LinearChain

GROUPS = LinearChain().unit_groups()  # first: 12 units (min 2), second: 10 units (min 3)


def test_global_selection_compares_scores_normalised_per_layer():
    scores = {"first": torch.tensor([100.0] * 11 + [1.0]), "second": torch.arange(1.0, 11.0)}
    chosen = select_units(GROUPS, scores, 0.2, "global")  # 0.2 * (10 + 7) = 3 units
    # first's unit 11 is tiny relative to its layer's mean; second's lowest are units 0, 1
    assert chosen == {"first": [11], "second": [0, 1]}


def test_local_selection_takes_the_same_share_of_every_layer():
    scores = {"first": torch.arange(12.0).flip(0), "second": torch.arange(10.0)}
    assert select_units(GROUPS, scores, 0.25, "local") == {"first": [9, 10, 11], "second": [0, 1]}


def test_selection_never_goes_below_a_group_minimum():
    scores = {"first": torch.ones(12), "second": torch.zeros(10)}
    chosen = select_units(GROUPS, scores, 0.99, "global")
    assert len(chosen["second"]) == 10 - 3 and len(chosen["first"]) == 12 - 2


def test_ties_break_the_same_way_every_time():
    scores = {"first": torch.ones(12), "second": torch.ones(10)}
    assert select_units(GROUPS, scores, 0.3, "global") == select_units(GROUPS, scores, 0.3, "global") \
        == {"first": [0, 1, 2, 3, 4]}


def test_bad_rate_is_refused():
    with pytest.raises(NeurorackError, match="rate expected"):
        select_units(GROUPS, {"first": torch.ones(12), "second": torch.ones(10)}, 1.5, "global")
