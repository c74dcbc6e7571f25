import pytest

from neurorack.ml.trim.groups import (
    GroupDeclarationError,
    UnitGroup,
    UnitSlice,
    kept_indices,
    validate_groups,
)
from tests.ml.trim.tiny_models import ChainWidths, LinearChain, TinySynth


def _shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_gate_blocks_and_concatenated_inputs_map_to_the_right_indices():
    assert UnitSlice("w", 0, blocks=3).indices([1, 4], 6) == [1, 4, 7, 10, 13, 16]
    assert UnitSlice("w", 1, offset=5).indices([0, 2], 3) == [5, 7]
    model = TinySynth()
    keep = kept_indices(model.unit_groups(), {"hidden": [15], "gated": [0]}, _shapes(model))
    assert keep[("gate.weight", 1)] == list(range(15)) + [16, 17, 18, 19]  # the 4 input columns stay
    assert keep[("gate.weight", 0)] == [i for i in range(24) if i not in (0, 12)]


def test_two_groups_claiming_one_index_are_refused():
    model = LinearChain()
    first, second = model.unit_groups()
    clash = UnitGroup("clash", "linear", "second", second.size, second.producers, first.consumers)
    with pytest.raises(GroupDeclarationError, match="claimed by groups first and clash"):
        validate_groups([first, clash], _shapes(model))


def test_a_size_that_disagrees_with_the_widths_config_is_refused():
    model = LinearChain()
    with pytest.raises(GroupDeclarationError, match="size 12 but first = 13"):
        validate_groups(model.unit_groups(), _shapes(model), ChainWidths(first=13))


def test_an_unknown_parameter_is_named():
    bad = UnitGroup("g", "linear", "first", 12, (UnitSlice("nope.weight", 0),), (UnitSlice("b.weight", 1),))
    with pytest.raises(GroupDeclarationError, match="no parameter named nope.weight"):
        validate_groups([bad], _shapes(LinearChain()))
