# SPDX-License-Identifier: MIT
"""Fixed-point datapath helpers of the digital blocks: saturation to a signed width."""
from __future__ import annotations

from amaranth.hdl import Mux

__all__ = ["saturate"]


def saturate(value, width: int):
    """Return ``(clamped, hit)``: ``value`` clamped to ``width`` signed bits, and whether it was.

    The Amaranth counterpart of ``golden.fixed.saturate_flag``; ``value`` is any signed
    expression wide enough to hold the exact result.
    """
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return Mux(value > hi, hi, Mux(value < lo, lo, value)), (value > hi) | (value < lo)
