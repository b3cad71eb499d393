# SPDX-License-Identifier: MIT
"""Vectorised integer kernels of the adaptation loop, bit for bit the golden block functions.

The golden references (``golden/wgu.py``, ``golden/grad_lif.py``) step one beat or timestep at
a time with their range checks in every step: the specification, and far too slow for whole
epochs. These compute the same integers for the integer datapath
(:mod:`models.integer_datapath`); ``tests/models/test_integer_datapath.py`` holds them to the
golden functions, beat for beat on saturating cases.
"""
from __future__ import annotations

import torch

from ..golden.fixed import check_range, int_range
from ..golden.params import GradLIFParams

__all__ = ["saturating_sum", "wgu_accumulate_fast", "lif_forward_seq_fast"]


def saturating_sum(start: torch.Tensor, additions: torch.Tensor, low: int, high: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Add the rows of ``additions`` to ``start`` one at a time, clamping after every add.

    Every column is one word: ``value = clamp(value + additions[k], low, high)`` for
    ``k = 0, 1, ...`` in order, returned with a flag that is true where some add clamped. This
    is the sequential loop of :func:`golden.wgu.wgu_accumulate` computed in ``log2(beats)``
    vectorised steps instead of one step per beat, exactly (integers throughout):

    * One add-and-clamp is the map ``v -> min(max(v + a, l), h)``. Two of them in a row,
      ``(a1, l1, h1)`` then ``(a2, l2, h2)``, are again such a map, with
      ``a = a1 + a2``, ``l = clamp(l1 + a2, l2, h2)``, ``h = clamp(h1 + a2, l2, h2)`` (a clamp
      of a clamp is a clamp to the clamped bounds), so neighbouring beats are composed pairwise
      until one map per word is left and applied to ``start``.
    * Until the first clamp the running value is ``start`` plus the prefix sum, so a word
      clamps at least once exactly when some prefix sum leaves ``[low, high]``.

    Parameters
    ----------
    start : Tensor, int64, shape ``(words,)``
        Values before the first add, inside ``[low, high]``.
    additions : Tensor, int64, shape ``(beats, words)``
    low, high : int
        Saturation bounds.

    Returns
    -------
    value : Tensor, int64, shape ``(words,)``
    clamped : Tensor, bool, shape ``(words,)``
    """
    prefix = start + additions.cumsum(0)
    clamped = ((prefix < low) | (prefix > high)).any(0)
    shift = additions
    lower = torch.full_like(additions, low)
    upper = torch.full_like(additions, high)
    while shift.shape[0] > 1:
        if shift.shape[0] % 2:
            # An odd beat out is composed with the identity map (no add, bounds that never bind:
            # |value| stays below 2**62 because every word and addition is under 2**62 / beats).
            shift = torch.cat([shift, torch.zeros_like(shift[:1])])
            lower = torch.cat([lower, torch.full_like(lower[:1], -(2 ** 62))])
            upper = torch.cat([upper, torch.full_like(upper[:1], 2 ** 62)])
        add_2 = shift[1::2]
        low_2, high_2 = lower[1::2], upper[1::2]
        lower = torch.minimum(torch.maximum(lower[0::2] + add_2, low_2), high_2)
        upper = torch.minimum(torch.maximum(upper[0::2] + add_2, low_2), high_2)
        shift = shift[0::2] + add_2
    value = torch.minimum(torch.maximum(start + shift[0], lower[0]), upper[0])
    return value, clamped


# Most words of a saturating-scan chunk (beats x words int64 maps, about three times over) so that
# one chunk stays near 100 MB.
_SCAN_CHUNK_ELEMENTS = 4_000_000


def wgu_accumulate_fast(G: torch.Tensor, delta: torch.Tensor, spikes: torch.Tensor, *,
                        grad_width: int, delta_width: int
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`golden.wgu.wgu_accumulate`, bit for bit, without its beat loop.

    Word ``(i, j)`` only ever adds ``delta[:, :, i]`` where ``spikes[:, :, j]`` is set, so its
    running value lies between ``G - N`` and ``G + P`` with ``P`` (``N``) the sum of its positive
    (negative) additions. Where both bounds fit ``grad_width`` bits no addition clamps and the
    result is the exact sum ``G + delta^T s`` (one float64 product: every partial sum is an
    integer below ``2**53``, so it is exact); the words that might clamp are run through
    :func:`saturating_sum` on the beats where their row and column add anything (a beat that
    adds zero leaves a saturating word unchanged).
    """
    check_range(G, grad_width, name="G")
    check_range(delta, delta_width, name="delta")
    n_out, n_in = G.shape
    d = delta.reshape(-1, n_out)
    s = spikes.reshape(-1, n_in)
    sf = s.double()
    lo, hi = int_range(grad_width)
    pos = d.clamp(min=0).double().t() @ sf
    neg = d.clamp(max=0).double().t() @ sf
    g0 = G.double()
    risky = ((g0 + pos) > hi) | ((g0 + neg) < lo)
    out = (g0 + pos + neg).to(torch.int64)
    overflow = torch.zeros(G.shape, dtype=torch.bool, device=G.device)
    if bool(risky.any()):
        rows, cols = risky.nonzero(as_tuple=True)
        beats = ((d[:, rows.unique()] != 0).any(1) & (s[:, cols.unique()] != 0).any(1))
        d_sub, s_sub = d[beats], s[beats]
        chunk = max(1, _SCAN_CHUNK_ELEMENTS // max(1, d_sub.shape[0]))
        for first in range(0, rows.numel(), chunk):
            word_rows, word_cols = rows[first:first + chunk], cols[first:first + chunk]
            additions = d_sub[:, word_rows] * s_sub[:, word_cols]
            value, clamped = saturating_sum(G[word_rows, word_cols], additions, lo, hi)
            out[word_rows, word_cols] = value
            overflow[word_rows, word_cols] = clamped
    return out, overflow


def lif_forward_seq_fast(currents: torch.Tensor, p: GradLIFParams
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`golden.grad_lif.lif_forward_int_seq` from a zero membrane, bit for bit, with its
    range checks done once for the whole sequence instead of once per timestep.

    Per timestep: leak ``v - (v >> leak_shift)``, integrate, saturate to ``mem_width``, fire on
    ``u > threshold``, reset (hard, soft or none), exactly as :func:`golden.grad_lif.
    lif_forward_int`; the membrane fits ``mem_width`` bits at every step by construction, so
    only the currents are checked. Returns ``(spikes, membranes)``, int64 ``(T, ..., N)``.
    """
    check_range(currents, p.current_width, name="currents")
    lo, hi = int_range(p.mem_width)
    spikes = torch.empty_like(currents)
    membranes = torch.empty_like(currents)
    v = torch.zeros_like(currents[0])
    for t in range(currents.shape[0]):
        u = membranes[t]
        if p.leak_shift:
            torch.sub(v, v >> p.leak_shift, out=u)
            u += currents[t]
        else:
            torch.add(v, currents[t], out=u)
        u.clamp_(lo, hi)
        fire = u > p.threshold
        spikes[t] = fire
        if p.reset == "hard":
            v = u.masked_fill(fire, 0)
        elif p.reset == "soft":
            v = u - fire * p.threshold
        else:
            v = u
    return spikes, membranes
