# SPDX-License-Identifier: MIT
"""Loss on the time-averaged network output, and its gradient ``e = dL/d(output)``."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .options import LOSSES, MSE_REDUCTIONS

__all__ = ["LOSSES", "MSE_REDUCTIONS", "output_loss", "output_error"]


def output_loss(out: torch.Tensor, y: torch.Tensor, kind: str = "ce",
                mse_reduction: str = "sum") -> torch.Tensor:
    """Batch-mean loss of outputs ``(B, C)`` against integer labels ``(B,)``.

    ``"ce"``: cross-entropy with the averaged output used as logits; ``"mse"``: squared error
    against the one-hot target, summed over classes (``mse_reduction="sum"``, the default) or
    averaged over them (``"mean"``, PyTorch's ``nn.MSELoss``), then averaged over the batch.
    """
    if mse_reduction not in MSE_REDUCTIONS:
        raise ValueError(f"mse_reduction must be one of {MSE_REDUCTIONS}, not {mse_reduction!r}")
    if kind == "ce":
        return F.cross_entropy(out, y)
    if kind == "mse":
        target = F.one_hot(y, out.shape[-1]).to(out.dtype)
        if mse_reduction == "mean":
            return ((out - target) ** 2).mean()
        return ((out - target) ** 2).sum(dim=-1).mean()
    raise ValueError(f"loss must be one of {LOSSES}, not {kind!r}")


def output_error(out: torch.Tensor, y: torch.Tensor, kind: str = "ce",
                 mse_reduction: str = "sum") -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(loss, e)`` with ``e = dL/d(out)``, the error that DFA and SDFA broadcast."""
    o = out.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = output_loss(o, y, kind, mse_reduction)
        (e,) = torch.autograd.grad(loss, o)
    return loss.detach(), e
