# SPDX-License-Identifier: MIT
"""The NIR ↔ dfasim neuron mapping: one timestep is one Euler step of ``dt``, leak = 1 - dt/tau."""
from __future__ import annotations

import math
from fractions import Fraction

from ..errors import DfasimError

__all__ = ["DT", "META_PREFIX", "leak_to_tau", "tau_to_leak", "nir_module"]

#: Default Euler step of one dfasim timestep, in NIR's time unit.
DT = 1.0

#: Graph metadata keys the export writes and the import reads.
META_PREFIX = "dfasim."


def nir_module():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a dependency
        raise DfasimError("NIR support needs the nir package (pip install nir)") from None
    return nir


def tau_to_leak(tau: float, dt: float = DT) -> float:
    """dfasim's leak of a NIR time constant: ``1 - dt / tau`` (one Euler step), worked in
    exact rational arithmetic and rounded once (``inf`` gives 1)."""
    if math.isinf(tau):
        return 1.0
    return float(1 - Fraction(dt) / Fraction(tau))


def leak_to_tau(leak: float, dt: float = DT) -> float:
    """The NIR time constant ``tau = dt / (1 - leak)``, nudged by ulps until
    :func:`tau_to_leak` gives back exactly ``leak`` (``inf`` for ``leak = 1``).

    Exact for every leak in [0.5, 1] and 0: there ``dt / tau`` moves by less than an ulp of
    ``leak`` per ulp of ``tau``. Below 0.5 the nearest is returned (off by at most an ulp of
    float64, which rounds to the same float32 the network computes with)."""
    leak = float(leak)
    if not 0.0 <= leak < 1.0:
        if leak == 1.0:
            return math.inf
        raise ValueError(f"leak must be in [0, 1], not {leak!r}")
    tau = dt / (1.0 - leak)
    if tau_to_leak(tau, dt) == leak:
        return tau
    best, down, up = tau, tau, tau
    for _ in range(64):
        down, up = math.nextafter(down, 0.0), math.nextafter(up, math.inf)
        for cand in (down, up):
            if tau_to_leak(cand, dt) == leak:
                return cand
            if abs(tau_to_leak(cand, dt) - leak) < abs(tau_to_leak(best, dt) - leak):
                best = cand
    return best   # leak < 0.5: within an ulp of float64 (module docstring)


