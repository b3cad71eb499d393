# SPDX-License-Identifier: MIT
"""Parameter checks and saturation shared by all digital blocks."""
from __future__ import annotations

from amaranth.hdl import Mux

__all__ = ["MAX_WIDTH", "check_int", "saturate"]

#: Widest word of the golden references (``golden.fixed.MAX_WIDTH``).
MAX_WIDTH = 63


def check_int(value, name: str, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` after checking it is an ``int`` (not ``bool``) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, not {value!r}")
    return value


def saturate(value, width: int):
    """Return ``(clamped, clamped != value)`` of ``value`` to ``width`` signed bits."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return Mux(value > hi, hi, Mux(value < lo, lo, value)), (value > hi) | (value < lo)
