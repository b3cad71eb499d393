# SPDX-License-Identifier: MIT
"""Conductance noise models: the distribution of the conductance a device actually reaches.

A noise model maps a target conductance ``g`` (µS) to a Gaussian ``N(mean(g), std(g)^2)`` of the
conductance read back after programming. Devices carry a standard-normal "personality" ``z``:
the conductance is ``mean(g) + std(g) * z``. Keeping ``z`` across re-programming models
device-to-device variation; drawing a new ``z`` per write models cycle-to-cycle variation.
A heavy-tailed model (the Student-t GPR of :mod:`.gpr`) keeps the same ``z`` and maps it through
its own quantile function, so ``std`` is then the std of a t, not of a Gaussian.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch

__all__ = ["NoiseModel", "IdealDevice", "PolynomialSpread", "CROSSSIM_RRAM_WAN"]


class NoiseModel(ABC):
    """Heteroscedastic Gaussian conductance model, in µS."""

    @abstractmethod
    def mean_std(self, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation (µS) of the conductance reached for target ``g`` (µS)."""

    def sample(self, g: torch.Tensor, z: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Conductance reached for target ``g``: ``mean + std * z`` (``z`` drawn if not given).

        The result is clamped at zero: a device cannot have negative conductance.
        """
        mean, std = self.mean_std(g)
        if z is None:
            z = torch.randn(g.shape, generator=generator, dtype=g.dtype).to(g.device)
        return torch.clamp(mean + std * z, min=0.0)


class IdealDevice(NoiseModel):
    """No programming error: every device reaches its target exactly."""

    def mean_std(self, g):
        return g, torch.zeros_like(g)


#: CrossSim's ``RRAM_Wan`` fit of NeuRRAM's measured spread (Wan et al., Nature 2022, Extended
#: Data Fig. 3), t = 1 s after programming: sigma_G in µS as a cubic in G (µS), valid for
#: G <= 39.26 µS. Coefficients high -> low order. Source: REFERENCE.md §1 (CrossSim, cited, not
#: copied).
CROSSSIM_RRAM_WAN = (1.536e-4, -1.167e-2, 0.2374, 1.053)


class PolynomialSpread(NoiseModel):
    """Unbiased noise whose spread is a polynomial in the target conductance (µS).

    Parameters
    ----------
    coeffs : tuple of float
        Polynomial coefficients of ``sigma(G)`` in µS, highest order first.
    g_valid_max : float
        Upper end (µS) of the fit's validity; targets above it use ``sigma(g_valid_max)``.
    """

    def __init__(self, coeffs: tuple[float, ...] = CROSSSIM_RRAM_WAN,
                 g_valid_max: float = 39.26) -> None:
        if not coeffs:
            raise ValueError("need at least one polynomial coefficient")
        self.coeffs = tuple(float(c) for c in coeffs)
        self.g_valid_max = float(g_valid_max)

    def mean_std(self, g):
        x = torch.clamp(g, max=self.g_valid_max)
        # Horner's rule in place (the same roundings as sigma * x + c, without a new tensor
        # per operation: it runs on every device write).
        sigma = torch.zeros_like(x)
        for c in self.coeffs:
            sigma.mul_(x).add_(c)
        return g, sigma.clamp_(min=0.0)
