"""Counting multiply-accumulates by running a model once with hooks.

Counts the products of ``nn.Linear``, ``nn.Conv1d`` and ``nn.GRU`` (input and recurrent
matrices of all three gates); element-wise work is not counted. Models that know their own
count (including their synthesis) should report it themselves.
"""

from __future__ import annotations

import torch
from torch import nn


def count_macs(model: nn.Module, *inputs) -> int:
    """Multiply-accumulates of one ``model(*inputs)`` call."""
    total = 0

    def linear(module, args, output):
        nonlocal total
        total += output.numel() * module.in_features

    def conv(module, args, output):
        nonlocal total
        total += output.numel() * (module.in_channels // module.groups) * module.kernel_size[0]

    def gru(module, args, output):
        nonlocal total
        sequence = output[0]
        steps = sequence.numel() // (module.hidden_size * (2 if module.bidirectional else 1))
        per_step = 0
        for layer in range(module.num_layers):
            width_in = module.input_size if layer == 0 else module.hidden_size
            per_step += 3 * module.hidden_size * (width_in + module.hidden_size)
        total += steps * per_step

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear))
        elif isinstance(module, nn.Conv1d):
            hooks.append(module.register_forward_hook(conv))
        elif isinstance(module, nn.GRU):
            hooks.append(module.register_forward_hook(gru))
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total
