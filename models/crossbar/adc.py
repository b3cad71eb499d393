# SPDX-License-Identifier: MIT
"""ADC transfer and full scale, and the saturating digital sum of partial results.

Every physical line current ``sum_j G_j * s_j`` (µS at unit read voltage) goes to an unsigned
``adc_bits`` ADC: ``code = clamp(round(I / lsb), 0, 2**adc_bits - 1)`` with
``lsb = full_scale / (2**adc_bits - 1)``. The full scale follows ``crossbar.adc_range``:
``"calibrated"`` sets it once per matrix and direction from the ``adc_percentile`` percentile of
the line currents of the non-skipped reads of a calibration batch; ``"max"`` is
``rows * g_max`` forward and ``cols * g_max`` transposed, which never clips; ``"fixed"`` is
``adc_full_scale_us``. ``adc_bits = 0`` is an ideal ADC (no quantisation, no clipping).
Signed codes of bit planes are combined and row (column) tiles accumulated with saturation to
``psum_bits`` after every add, as :func:`golden.psum.psum_accumulate` does.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["percentile", "adc_lsb", "to_codes", "accumulate_tiles"]


def percentile(values: torch.Tensor, p: float) -> float:
    """``p``-th percentile (nearest rank) of a 1-D tensor of any length."""
    n = values.numel()
    if n == 0:
        return 0.0
    k = min(n, max(1, math.ceil(p / 100.0 * n)))
    flat = values.reshape(-1)
    if flat.device.type == "cpu" and not flat.requires_grad:
        # The same order statistic (NaN sorts last in both), by numpy's introselect: several
        # times faster than torch's kthvalue on the millions of currents of a calibration.
        return float(np.partition(flat.numpy(), k - 1)[k - 1])
    return float(flat.kthvalue(k).values)



def adc_lsb(full_scale: float, adc_bits: int) -> float:
    """ADC step in µS for a full scale in µS."""
    return full_scale / ((1 << adc_bits) - 1)


def to_codes(current_lsb: torch.Tensor, adc_bits: int) -> torch.Tensor:
    """ADC transfer on currents already in LSB units (in place): round, clip to the range."""
    return current_lsb.round_().clamp_(0, (1 << adc_bits) - 1)


def accumulate_tiles(tile_psum: torch.Tensor, adc_bits: int, psum_bits: int, *,
                     inplace: bool = False) -> torch.Tensor:
    """Saturate tile sums ``(R, ..., out)`` once, then accumulate tiles saturating each add
    (a plain sum for an ideal ADC). ``inplace`` saturates ``tile_psum`` itself (a temporary of
    the caller's)."""
    if adc_bits == 0:
        return tile_psum.sum(0)
    hi = float((1 << (psum_bits - 1)) - 1)
    lo = -hi - 1
    tile_psum = tile_psum.clamp_(lo, hi) if inplace else torch.clamp(tile_psum, lo, hi)
    acc = tile_psum[0]
    for r in range(1, tile_psum.shape[0]):
        acc = torch.clamp(acc + tile_psum[r], lo, hi)
    return acc
