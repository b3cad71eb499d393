# SPDX-License-Identifier: MIT
"""Encodings of what drives a crossbar's lines: spikes, sign-magnitude bit planes, error planes.

1-bit spikes drive rows directly (Table II: 1-bit spike decoder). Multi-bit inputs (the first
layer's real-valued samples, DFA errors on the feedback matrices) and BP errors are
sign-magnitude quantised to ``bits`` against each vector's own max-abs (a per-vector scale kept
digitally) and applied bit-serially: one 1-bit read per magnitude bit plane, and separate passes
(or column phases) for positive and negative values so every line current stays positive.
``bits = 0`` is an ideal analog driver (no quantisation), for ablations.
"""
from __future__ import annotations

import numba
import torch

__all__ = ["ANALOG_WORD_BITS", "LOOKUP_MAX_ROWS", "is_binary", "all_patterns", "bit_planes",
           "all_planes_present", "sign_magnitude"]

#: Word width used for buffer traffic of an ideal (unquantised) analog input or error.
ANALOG_WORD_BITS = 16

def is_binary(x: torch.Tensor) -> bool:
    """Whether every entry of ``x`` is 0 or 1 (spikes, bit planes)."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and x.numel():
        # One pass that stops at the first other value (a real-valued input fails at once)
        # instead of three full passes.
        return bool(_all_zero_or_one(x.detach().reshape(-1).contiguous().numpy()))
    return bool(((x == 0) | (x == 1)).all())


@numba.njit(cache=True, nogil=True)
def _all_zero_or_one(values):
    for value in values:
        if value != 0 and value != 1:
            return False
    return True


#: Largest row count read through the pattern lookup of ``AnalogMatrix._tile_psums``.
LOOKUP_MAX_ROWS = 10
_PATTERNS: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}


def all_patterns(n: int, dtype: torch.dtype,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """All ``2**n`` binary vectors of length ``n``; row ``p`` has bit ``j`` of ``p`` at ``j``."""
    key = (n, dtype, torch.device(device))
    if key not in _PATTERNS:
        p = torch.arange(1 << n, device=device).unsqueeze(1)
        _PATTERNS[key] = ((p >> torch.arange(n, device=device)) & 1).to(dtype)
    return _PATTERNS[key]


def bit_planes(mag: torch.Tensor, sign: torch.Tensor, bits: int, dtype: torch.dtype, *,
               sign_inner: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Bit planes of sign-magnitude codes: ``(K, 2, N, n)`` 0/1 drives and weights ``2**k``.

    ``[:, 0]`` holds the bits of positive entries, ``[:, 1]`` of negative ones. With
    ``sign_inner`` the planes are stored as ``(K, N, 2, n)`` and returned as a permuted view of
    the same logical shape: the layout in which a transposed read drives both signs of a
    vector side by side, so the read needs no copy.
    """
    # Magnitudes below 2**8 fit bytes: a quarter of the memory traffic of int32 for the planes.
    itype = torch.uint8 if bits <= 9 else torch.int32
    k = torch.arange(bits - 1, dtype=itype, device=mag.device)
    m = mag.to(itype)
    zero = torch.zeros((), dtype=itype, device=mag.device)
    # The magnitude where the entry has that sign, else 0: the planes of these two codes are the
    # magnitude's planes masked by the sign, as 0/1 values (NaN signs give 0 in both).
    signed = torch.stack([torch.where(sign > 0, m, zero), torch.where(sign < 0, m, zero)],
                         -2 if sign_inner else 0)
    b = ((signed.unsqueeze(0) >> k.view(-1, *([1] * signed.dim()))) & 1).to(dtype)
    if sign_inner:
        b = b.transpose(1, 2)
    return b, (2.0 ** k.to(torch.int32)).to(dtype)


def all_planes_present(mag: torch.Tensor, where: torch.Tensor, bits: int) -> bool:
    """Whether every bit plane of the entries ``where`` (a boolean mask, e.g. ``sign > 0``)
    holds a 1: true as soon as one of them has the full-scale magnitude ``2**(bits-1) - 1``
    (all bits set), which the per-vector scale of :func:`sign_magnitude` gives the largest
    entry of every non-zero vector. A check on the codes instead of a pass over the planes;
    false means "not known", not "some plane is empty"."""
    qmax = (1 << (bits - 1)) - 1
    return bool(((mag == qmax) & where).any())


def sign_magnitude(x: torch.Tensor, bits: int
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Quantise ``x`` (``N x n``) per row to sign-magnitude: ``(mag int64, sign, scale[N])``.

    ``x ~= sign * mag * scale[:, None]`` with ``mag`` in ``[0, 2**(bits-1) - 1]``.
    """
    qmax = (1 << (bits - 1)) - 1
    amax = x.abs().amax(dim=-1)
    scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    mag = torch.clamp(torch.round(x.abs() / scale[:, None]), 0, qmax).to(torch.int64)
    return mag, torch.sign(x), scale

