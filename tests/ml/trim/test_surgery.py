import pytest
import torch

from neurorack.ml.trim.groups import GroupDeclarationError, UnitGroup
from neurorack.ml.trim.surgery import (
    SelfDescribingAdapter,
    count_parameters,
    masked_copy,
    remove_units,
    slice_state,
)
from tests.ml.trim.tiny_models import ALL_KINDS, LinearChain, frames

ADAPTER = SelfDescribingAdapter()


def _removal(model, seed=1):
    """About half the removable units of every group, drawn at random."""
    generator = torch.Generator().manual_seed(seed)
    removal = {}
    for group in model.unit_groups():
        count = (group.size - group.minimum + 1) // 2
        removal[group.name] = sorted(torch.randperm(group.size, generator=generator)[:count].tolist())
    return removal


@pytest.mark.parametrize("kind", sorted(ALL_KINDS))
def test_trimmed_model_matches_dense_model_with_units_masked(kind):
    torch.manual_seed(0)
    model = ALL_KINDS[kind]().eval()
    removal = _removal(model)
    trimmed = remove_units(model, removal, ADAPTER)
    x = frames()
    with torch.no_grad():
        expected = masked_copy(model, removal, ADAPTER)(x)
        got = trimmed(x)
        dense = model(x)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert not torch.allclose(dense, expected, atol=1e-4)  # the masked units mattered
    assert type(trimmed) is type(model)
    assert count_parameters(trimmed) < count_parameters(model)
    for group in trimmed.unit_groups():
        assert group.size == next(g for g in model.unit_groups() if g.name == group.name).size \
            - len(removal[group.name])


def test_removal_shrinks_every_producer_and_consumer_tensor():
    model = ALL_KINDS["all"]()
    trimmed = remove_units(model, {"hidden": [0, 5, 6]}, ADAPTER)
    w = trimmed.widths
    assert w.hidden == 13 and w.embed == model.widths.embed
    assert trimmed.gru.weight_ih_l0.shape == (3 * 13, w.embed)
    assert trimmed.gru.weight_hh_l0.shape == (3 * 13, 13)
    assert trimmed.gate.weight.shape == (2 * w.gated, 13 + 4)
    # the kept rows of the update gate block are the dense rows of units 1..4, 7..15
    kept = [u for u in range(16) if u not in (0, 5, 6)]
    torch.testing.assert_close(trimmed.gru.weight_ih_l0[13:26], model.gru.weight_ih_l0[16:32][kept])
    torch.testing.assert_close(trimmed.gate.weight[:, 13:], model.gate.weight[:, 16:])


def test_removal_below_minimum_is_refused():
    model = LinearChain()
    with pytest.raises(GroupDeclarationError, match="minimum of 2"):
        remove_units(model, {"first": list(range(11))}, ADAPTER)


def test_declaration_missing_a_consumer_fails_with_the_parameter_name():
    class Forgetful(LinearChain):
        def unit_groups(self):
            first, second = super().unit_groups()
            return [UnitGroup("first", "linear", "first", first.size, first.producers, first.producers[:1]), second]

    with pytest.raises(GroupDeclarationError, match=r"b\.weight: after removal the shape"):
        remove_units(Forgetful(), {"first": [0]}, ADAPTER)


def test_slice_state_from_a_snapshot_uses_the_snapshot_layout():
    model = LinearChain()
    snapshot = {k: v.clone() + 1.0 for k, v in model.state_dict().items()}
    trimmed = remove_units(model, {"first": [3, 4]}, ADAPTER, source_state=snapshot,
                           source_groups=model.unit_groups())
    torch.testing.assert_close(trimmed.a.weight, snapshot["a.weight"][[0, 1, 2] + list(range(5, 12))])
    sliced = slice_state(snapshot, model.unit_groups(), {"second": [0]})
    assert sliced["b.weight"].shape == (9, 12) and sliced["c.weight"].shape == (3, 9)
