# SPDX-License-Identifier: MIT
"""Integer helpers shared by the bit-exact block references: ranges, saturation, shifts, formats.

Conventions used by every ``golden`` integer reference:

* Values are ``torch.int64`` tensors holding the *numeric* value of a ``width``-bit two's
  complement (``signed=True``) or unsigned word, never its raw bit pattern.
* ``width`` is at most :data:`MAX_WIDTH` (63) bits (the integer checks and bounds live in the
  torch-free :mod:`golden.params` and are re-exported here), so the sum of two words and every
  intermediate quoted in the block docstrings fits an ``int64`` without wrapping.
* Right shifts are arithmetic (:func:`asr`), i.e. they round toward minus infinity (floor).
  :func:`round_shift` (round half up) is used only where a block says so.
* Saturation clamps to ``[min, max]`` of the target width; nothing wraps unless :func:`wrap` is
  called explicitly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import torch

from .params import MAX_WIDTH, check_bool, check_int, check_width, int_range

__all__ = [
    "MAX_WIDTH", "int_range", "check_width", "check_int", "check_range", "saturate",
    "saturate_flag", "wrap", "asr", "round_shift", "FixedFormat",
]


def _check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, not {type(x).__name__}")
    if x.dtype != torch.int64:
        raise TypeError(f"{name} must have dtype torch.int64, not {x.dtype}")
    return x


def check_range(x: torch.Tensor, width: int, *, signed: bool = True,
                name: str = "x") -> torch.Tensor:
    """Return ``x`` after checking it is an ``int64`` tensor whose values fit ``width`` bits.

    Raises
    ------
    TypeError
        ``x`` is not a ``torch.int64`` tensor.
    ValueError
        Some element lies outside :func:`int_range` ``(width, signed=signed)``; the message
        names the first offending value.
    """
    _check_tensor(x, name)
    lo, hi = int_range(width, signed=signed)
    bad = (x < lo) | (x > hi)
    if bool(bad.any()):
        first = int(x[bad].flatten()[0])
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"{name} holds {first}, outside the {width}-bit {kind} range "
                         f"[{lo}, {hi}]")
    return x


def saturate(x: torch.Tensor, width: int, *, signed: bool = True) -> torch.Tensor:
    """Clamp ``x`` to the range of a ``width``-bit word (no wrap-around)."""
    _check_tensor(x, "x")
    lo, hi = int_range(width, signed=signed)
    return torch.clamp(x, lo, hi)


def saturate_flag(x: torch.Tensor, width: int, *,
                  signed: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Clamp like :func:`saturate` and also return a bool tensor, true where clamping happened."""
    y = saturate(x, width, signed=signed)
    return y, y != x


def wrap(x: torch.Tensor, width: int, *, signed: bool = True) -> torch.Tensor:
    """Keep the low ``width`` bits of ``x`` (two's complement wrap-around, i.e. modulo 2**width).

    The result is read back as signed (sign bit ``width - 1``) or unsigned.
    """
    _check_tensor(x, "x")
    width = check_width(width)
    y = x & ((1 << width) - 1)
    if signed:
        y = torch.where(y >= (1 << (width - 1)), y - (1 << width), y)
    return y


def asr(x: torch.Tensor, shift: int) -> torch.Tensor:
    """Arithmetic shift right: ``floor(x / 2**shift)`` (rounds toward minus infinity).

    ``shift`` of 63 or more gives 0 for ``x >= 0`` and -1 for ``x < 0``, as a sign-extending
    shifter of that width would.
    """
    _check_tensor(x, "x")
    shift = check_int(shift, name="shift", minimum=0)
    return x >> min(shift, 63)


def round_shift(x: torch.Tensor, shift: int) -> torch.Tensor:
    """Shift right rounding to nearest, ties toward plus infinity: ``floor(x/2**shift + 1/2)``.

    Computed as ``(x + 2**(shift-1)) >> shift``; the addition needs one more bit than ``x``.
    ``shift = 0`` returns ``x`` unchanged.
    """
    _check_tensor(x, "x")
    shift = check_int(shift, name="shift", minimum=0, maximum=MAX_WIDTH - 1)
    if shift == 0:
        return x.clone()
    return (x + (1 << (shift - 1))) >> shift


@dataclass(frozen=True)
class FixedFormat:
    """A fixed-point word: ``width`` bits, ``frac_bits`` of them after the binary point.

    The integer ``q`` stands for the real value ``q * 2**-frac_bits``.

    Parameters
    ----------
    width : int
        Total word width in bits, sign included, ``1 <= width <= 63``.
    frac_bits : int
        Fractional bits, ``0 <= frac_bits <= 62`` (may exceed ``width``).
    signed : bool
        Two's complement (default) or unsigned.
    """

    width: int = 16
    frac_bits: int = 8
    signed: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "width", check_width(self.width, name="width"))
        object.__setattr__(self, "frac_bits",
                           check_int(self.frac_bits, name="frac_bits", minimum=0,
                                     maximum=MAX_WIDTH - 1))
        check_bool(self.signed, name="signed")

    @property
    def min_int(self) -> int:
        """Smallest integer code."""
        return int_range(self.width, signed=self.signed)[0]

    @property
    def max_int(self) -> int:
        """Largest integer code."""
        return int_range(self.width, signed=self.signed)[1]

    @property
    def lsb(self) -> float:
        """Real value of one least-significant bit, ``2**-frac_bits``."""
        return math.ldexp(1.0, -self.frac_bits)

    def quantize_scalar(self, value: float, *, saturate: bool = False) -> int:
        """Return the integer code of a Python number, rounded to nearest, ties to even.

        Raises ``ValueError`` for a non-finite value, or for one outside the range unless
        ``saturate=True``.
        """
        if isinstance(value, bool) or not isinstance(value, (Integral, float)):
            raise TypeError(f"value must be a real number, not {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"value must be finite, not {value!r}")
        q = round(math.ldexp(float(value), self.frac_bits))  # Python round(): ties to even
        if not self.min_int <= q <= self.max_int:
            if not saturate:
                raise ValueError(f"value {value!r} (code {q}) is not representable in {self}")
            q = min(max(q, self.min_int), self.max_int)
        return q

    def quantize(self, x: torch.Tensor, *, saturate: bool = True) -> torch.Tensor:
        """Turn a float tensor into ``int64`` codes: round to nearest, ties to even, then clamp.

        ``x`` is first converted to float64; scaling by ``2**frac_bits`` is exact, so the only
        rounding is the single round-to-nearest-even (``torch.round``). Out-of-range values are
        clamped to ``[min_int, max_int]`` when ``saturate=True`` (default), otherwise they raise
        ``ValueError``. NaN always raises ``ValueError``; infinities saturate.
        """
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"quantize expects a floating-point tensor, not {x!r:.60}")
        y = torch.round(x.double() * math.ldexp(1.0, self.frac_bits))
        if bool(torch.isnan(y).any()):
            raise ValueError("quantize got NaN")
        lo, hi = self.min_int, self.max_int
        if not saturate:
            bad = (y < lo) | (y > hi)
            if bool(bad.any()):
                raise ValueError(f"value {float(x[bad].flatten()[0])!r} is not representable "
                                 f"in {self}")
        # Clamp in float first (int64 conversion of inf is undefined), then exactly in int.
        y = torch.clamp(y, float(lo), float(hi)).to(torch.int64)
        return torch.clamp(y, lo, hi)

    def to_float(self, q: torch.Tensor) -> torch.Tensor:
        """Return the real values (float64) of integer codes ``q`` (exact up to 53 bits)."""
        _check_tensor(q, "q")
        return q.double() * self.lsb
