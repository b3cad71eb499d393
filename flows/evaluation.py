# SPDX-License-Identifier: MIT
"""Test accuracy of a trained FP32 spiking network."""
from __future__ import annotations

import torch

from ..golden.network import SpikingMLP

__all__ = ["evaluate"]


@torch.no_grad()
def evaluate(model: SpikingMLP, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256,
             device: torch.device | None = None) -> float:
    """Classification accuracy (fraction) of ``model`` on ``(x, y)``."""
    device = device or next(model.parameters()).device
    correct = 0
    training = model.training
    model.eval()        # batch norm (convolutional networks) uses its running statistics
    try:
        for i in range(0, len(x), batch_size):
            out, _ = model(x[i:i + batch_size].to(device))
            correct += int((out.argmax(dim=1).cpu() == y[i:i + batch_size]).sum())
    finally:
        model.train(training)
    return correct / max(len(x), 1)
