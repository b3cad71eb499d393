# SPDX-License-Identifier: MIT
"""Weight-to-conductance mapping of multi-level RRAM cells: levels, differential and offset pairs.

A device (:class:`dfasim.models.chip.DeviceConfig`, the ``device`` part of the chip description)
has ``L = 2**cell_bits`` programmable levels spread uniformly over ``[g_min_us, g_max_us]`` (µS):
``g(k) = g_min_us + k * step`` with ``step = (g_max_us - g_min_us) / (L - 1)``, ``k = 0 .. L-1``.
Defaults are DFA_Sim Table II: 4-bit cells in a [1, 10] µS window (REFERENCE.md §1).

A layer is deployed with a scale ``w_max`` (the largest ``|w|`` of the layer at deployment,
stored with the layer). A weight is held as a signed *level index* ``q``:

* ``mapping="differential"`` (default): two devices per weight in a column pair. ``q`` lies in
  ``[-(L-1), L-1]``; ``q >= 0`` puts level ``q`` on the positive device and level 0 (``g_min``)
  on the negative one, ``q < 0`` the reverse. The column pair computes ``G+ - G-``, so
  ``w = (G+ - G-) / (g_max - g_min) * w_max`` and one level is ``w_max / (L-1)``.
* ``mapping="offset"``: one device per weight at level ``k = k_ref + q`` and one shared reference
  column per crossbar whose devices sit at the middle level ``k_ref = (L-1) // 2``; the column
  computes ``G - G_ref``. With an even ``L`` the exact middle of the window is not a level, so the
  reference is the level just below it: ``q`` lies in ``[-k_ref, L-1-k_ref]`` (for 4 bits
  ``[-7, 8]``), zero is exact, ``w = q * w_max / k_ref``, and the positive side has one level of
  headroom above ``w_max``.

In both cases ``w = (G_a - G_b) * w_max / (unit * step)`` with ``unit = L-1`` (differential) or
``k_ref`` (offset): :func:`conductance_to_weight`.
"""
from __future__ import annotations

import torch

from ..chip import MAPPINGS, DeviceConfig

__all__ = [
    "MAPPINGS", "DeviceConfig", "weight_to_levels", "levels_to_weight", "device_levels",
    "level_conductance", "conductance_to_weight", "weight_scale",
]

def weight_scale(w: torch.Tensor) -> float:
    """Deployment scale ``w_max = max |w|`` of a layer (1.0 for an all-zero layer)."""
    m = float(w.detach().abs().max()) if w.numel() else 0.0
    return m if m > 0 else 1.0


def weight_to_levels(w: torch.Tensor, w_max: float, cfg: DeviceConfig) -> torch.Tensor:
    """Nearest signed level index ``q`` (int64) of weights ``w``, clipped to ``cfg.q_range``."""
    lo, hi = cfg.q_range
    return torch.clamp(torch.round(w.detach() / w_max * cfg.unit), lo, hi).to(torch.int64)


def levels_to_weight(q: torch.Tensor, w_max: float, cfg: DeviceConfig,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Weight represented by level index ``q`` on ideal devices: ``q * w_max / unit``."""
    return q.to(dtype) * (w_max / cfg.unit)


def device_levels(q: torch.Tensor, cfg: DeviceConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-device levels ``(k_a, k_b)`` of the two conductances whose difference holds ``q``.

    Differential: ``k_a = max(q, 0)``, ``k_b = max(-q, 0)``. Offset: ``k_a = ref_level + q``,
    ``k_b = ref_level`` (the reference column).
    """
    if cfg.differential:
        return torch.clamp(q, min=0), torch.clamp(-q, min=0)
    return q + cfg.ref_level, torch.full_like(q, cfg.ref_level)


def level_conductance(k: torch.Tensor, cfg: DeviceConfig,
                      dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Target conductance (µS) of level ``k``: ``g_min + k * step``."""
    return cfg.g_min_us + k.to(dtype) * cfg.step


def conductance_to_weight(g_a: torch.Tensor, g_b: torch.Tensor, w_max: float,
                          cfg: DeviceConfig) -> torch.Tensor:
    """Effective weight of a conductance pair: ``(g_a - g_b) * w_max / (unit * step)``."""
    return (g_a - g_b) * (w_max / (cfg.unit * cfg.step))
