# SPDX-License-Identifier: MIT
"""Surrogate gradients for the Heaviside spike function.

Every surrogate is a function ``h(x)`` of ``x = u - theta`` (membrane minus threshold). The forward
pass is always the exact step ``H(x) = [x > 0]`` (or ``[x >= 0]`` with ``inclusive=True``, as
spikingjelly fires); only the backward pass uses ``h``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Surrogate", "SURROGATES", "spike"]


@dataclass(frozen=True)
class Surrogate:
    """A named surrogate-gradient family with its width/sharpness parameter.

    Parameters
    ----------
    name : str
        ``"triangle"``: ``(1/g^2) * max(0, g - |x|)`` (SNN_HAR style, ``width = g``);
        ``"rectangular"``: ``1/g`` for ``|x| < g/2``;
        ``"atan"``: ``alpha / (2 * (1 + (pi/2 * alpha * x)^2))`` (``width = alpha``);
        ``"fast_sigmoid"``: ``1 / (1 + k|x|)^2`` (``width = k``).
    width : float
        The family's parameter (``g``, ``g``, ``alpha`` or ``k``).
    """

    name: str = "triangle"
    width: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in SURROGATES:
            raise ValueError(f"unknown surrogate {self.name!r}; choose from {sorted(SURROGATES)}")
        if not (isinstance(self.width, (int, float)) and math.isfinite(self.width)
                and self.width > 0):
            raise ValueError(f"surrogate width must be a positive number, not {self.width!r}")

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``h(x)``, the surrogate derivative of the spike with respect to ``x``."""
        return SURROGATES[self.name](x, float(self.width))


def _triangle(x: torch.Tensor, g: float) -> torch.Tensor:
    if (torch.is_grad_enabled() and x.requires_grad) or x.dtype not in (torch.float32,
                                                                         torch.float64):
        return torch.clamp(g - x.abs(), min=0.0) / (g * g)
    # The same operations on one temporary: the adaptation loop evaluates this on every
    # neuron-timestep, where each extra pass over it counts (and x / 1 is x).
    a = x.abs()
    torch.sub(torch.tensor(g, dtype=a.dtype, device=a.device), a, out=a)
    a.clamp_(min=0.0)
    return a if g * g == 1.0 else a.div_(g * g)


def _rectangular(x: torch.Tensor, g: float) -> torch.Tensor:
    return (x.abs() < g / 2).to(x.dtype) / g


def _atan(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return alpha / (2.0 * (1.0 + (math.pi / 2.0 * alpha * x) ** 2))


def _fast_sigmoid(x: torch.Tensor, k: float) -> torch.Tensor:
    return 1.0 / (1.0 + k * x.abs()) ** 2


SURROGATES = {
    "triangle": _triangle,
    "rectangular": _rectangular,
    "atan": _atan,
    "fast_sigmoid": _fast_sigmoid,
}


class _SpikeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:  # noqa: D401
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.surrogate.grad(x), None


class _SpikeGeFn(_SpikeFn):
    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:  # noqa: D401
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x >= 0).to(x.dtype)


def spike(x: torch.Tensor, surrogate: Surrogate, inclusive: bool = False) -> torch.Tensor:
    """Heaviside step ``[x > 0]`` (``[x >= 0]`` if ``inclusive``) whose gradient is
    ``surrogate.grad(x)``."""
    return (_SpikeGeFn if inclusive else _SpikeFn).apply(x, surrogate)
