import torch

from neurorack.ml.trim.criteria import (
    ScoringData,
    magnitude_scores,
    mutual_information,
    score_units,
)
from tests.ml.trim.tiny_models import GatedNet, LinearChain, frames


def test_mi_ranks_a_dependent_unit_above_an_independent_one():
    generator = torch.Generator().manual_seed(0)
    target = torch.randn(4000, 2, generator=generator)
    units = torch.stack([target[:, 0] ** 2 + 0.1 * torch.randn(4000, generator=generator),  # non-linear link
                         torch.randn(4000, generator=generator),  # independent
                         torch.zeros(4000)], dim=1)  # dead
    mi = mutual_information(units, target, bins=8)
    assert mi[0] > 0.15 and mi[1] < 0.01 and mi[2] == 0.0


def test_magnitude_sums_every_producer_block_of_a_unit():
    model = GatedNet()
    with torch.no_grad():
        model.a.weight.zero_()
        model.a.bias.zero_()
        model.a.weight[2 + 9, 0] = 3.0  # the gate row of unit 2
        model.a.bias[2] = 4.0  # the value row of unit 2
    scores = magnitude_scores(model, model.unit_groups())["gated"]
    assert float(scores[2]) == 5.0 and float(scores.sum()) == 5.0


def test_activation_reads_the_consumer_input():
    model = LinearChain()
    with torch.no_grad():
        model.a.weight.zero_()
        model.a.bias.copy_(torch.arange(12.0) - 6.0)  # relu(bias): units 7..11 output 1..5
    x = frames()
    data = ScoringData([(x, None)], lambda m, batch: m(batch[0]).sum())
    scores = score_units(model, model.unit_groups(), "activation", data)["first"]
    torch.testing.assert_close(scores, torch.clamp(torch.arange(12.0) - 6.0, min=0).double())
