# SPDX-License-Identifier: MIT
"""Accumulation blocks: the PE shift-adder and the tile partial-sum accumulator."""
from .psum import PsumAccumulator
from .shift_add import ShiftAdder

__all__ = ["PsumAccumulator", "ShiftAdder"]
