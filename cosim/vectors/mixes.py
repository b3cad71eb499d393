# SPDX-License-Identifier: MIT
"""Seeded mixtures of integer codes that drive the accumulators into and out of saturation."""
from __future__ import annotations

import torch

from ...golden.params import int_range
from ...golden.stimulus import uniform_ints
from .seeds import sub_seed

__all__ = ["code_mix"]


def code_mix(shape, width: int, mode: torch.Tensor, seed: int) -> torch.Tensor:
    """Draw signed ``width``-bit codes whose distribution depends on ``mode`` (0 .. 7).

    0: uniform over the full range; 1: small magnitudes (sums stay in range); 2 and 3: large
    positive and large negative codes (drive the sum into saturation at either end); 4: only
    the two extreme codes; 5: tiny codes in ``[-1, 1]`` (cancellation near zero). The random
    mixes draw modes 0 .. 5; the directed corner phases also use 6 and 7: every code at the
    top, or at the bottom, of the range (the fastest way into saturation at either end).
    """
    lo, hi = int_range(width)
    small = max(1, hi // 8)
    full = uniform_ints(shape, lo, hi, seed=sub_seed(seed, 10))
    little = uniform_ints(shape, max(lo, -small), min(hi, small), seed=sub_seed(seed, 11))
    pos = uniform_ints(shape, (hi + 1) // 2, hi, seed=sub_seed(seed, 12))
    neg = uniform_ints(shape, lo, lo // 2, seed=sub_seed(seed, 13))
    ends = torch.where(uniform_ints(shape, 0, 1, seed=sub_seed(seed, 14)) == 1, hi, lo)
    tiny = uniform_ints(shape, max(lo, -1), min(hi, 1), seed=sub_seed(seed, 15))
    choices = (full, little, pos, neg, ends, tiny, torch.full_like(full, hi),
               torch.full_like(full, lo))
    out = full.clone()
    for k, choice in enumerate(choices):
        out = torch.where(mode == k, choice, out)
    return out
