# SPDX-License-Identifier: MIT
"""Loss on the time-averaged network output, and its gradient ``e = dL/d(output)``."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .options import LOSSES

__all__ = ["LOSSES", "output_loss", "output_error"]


def output_loss(out: torch.Tensor, y: torch.Tensor, kind: str = "ce") -> torch.Tensor:
    """Batch-mean loss of outputs ``(B, C)`` against integer labels ``(B,)``.

    ``"ce"``: cross-entropy with the averaged output used as logits; ``"mse"``: mean squared
    error against the one-hot target, summed over classes.
    """
    if kind == "ce":
        return F.cross_entropy(out, y)
    if kind == "mse":
        target = F.one_hot(y, out.shape[-1]).to(out.dtype)
        return ((out - target) ** 2).sum(dim=-1).mean()
    raise ValueError(f"loss must be one of {LOSSES}, not {kind!r}")


def output_error(out: torch.Tensor, y: torch.Tensor, kind: str = "ce"
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(loss, e)`` with ``e = dL/d(out)``, the error that DFA and SDFA broadcast."""
    o = out.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = output_loss(o, y, kind)
        (e,) = torch.autograd.grad(loss, o)
    return loss.detach(), e
