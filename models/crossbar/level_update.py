# SPDX-License-Identifier: MIT
"""The level arithmetic of a weight update in one compiled pass: rounding, clipping, and the
devices whose level moves.

:meth:`.programming.DeviceArray.update` turns a requested weight change into level steps
(stochastic or nearest rounding), clips the new levels to the device range and re-programs the
devices whose own level changed. As tensor operations that is some twenty passes over arrays of
a few thousand elements, each costing more in dispatch than in arithmetic, four times per
adaptation step. :func:`level_update` does it in one pass on the CPU and hands back the written
devices' flat indices and new levels directly (the order the tensor path's ``nonzero`` gives).

Numerics: the same operations in the same precision, so the same bits: ``floor(dq + u)`` (or
``rint(dq)``, half to even, as ``torch.round``) in the float type of ``dq``, truncated to int64
as ``Tensor.to(torch.int64)`` truncates (``tests/models/test_level_update.py`` checks both paths
on random updates, ties, NaN and out-of-range steps).
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import torch

__all__ = ["LevelUpdate", "level_update", "level_update_applies"]


class LevelUpdate(NamedTuple):
    """What an update changes.

    Members
    -------
    q_new : Tensor, int64
        The new level map, the shape of the old one.
    index_a, levels_a : Tensor, int64
        Flat (row-major) indices, ascending, of the ``a`` devices whose level moves, and their
        new levels.
    index_b, levels_b : Tensor, int64
        The same for the ``b`` devices (empty for the offset mapping: its reference is fixed).
    clipped : int
        Weights whose requested level lay outside the range.
    changed : int
        Weights whose level changed.
    """

    q_new: torch.Tensor
    index_a: torch.Tensor
    levels_a: torch.Tensor
    index_b: torch.Tensor
    levels_b: torch.Tensor
    clipped: int
    changed: int


def level_update_applies(q: torch.Tensor, dq: torch.Tensor) -> bool:
    """Whether :func:`level_update` takes these tensors: CPU, int64 levels, a float step."""
    return (q.device.type == "cpu" and dq.device.type == "cpu" and q.dtype == torch.int64
            and dq.dtype in (torch.float32, torch.float64))


@numba.njit(cache=True, nogil=True)
def _level_loop(q, dq, u, stochastic, lo, hi, differential, ref_level, q_new, index_a, levels_a,
                index_b, levels_b, counts):
    """One pass over the flat arrays; ``counts`` receives ``[n_a, n_b, clipped, changed]``."""
    n_a = 0
    n_b = 0
    clipped = 0
    changed = 0
    for i in range(q.shape[0]):
        if stochastic:
            step = np.floor(dq[i] + u[i])
        else:
            step = np.rint(dq[i])
        old = q[i]
        want = old + np.int64(step)
        new = lo if want < lo else want
        new = hi if new > hi else new
        q_new[i] = new
        clipped += want != new
        changed += new != old
        if differential:
            a_old, a_new = max(old, 0), max(new, 0)
            b_old, b_new = max(-old, 0), max(-new, 0)
            if b_new != b_old:
                index_b[n_b] = i
                levels_b[n_b] = b_new
                n_b += 1
        else:
            a_old, a_new = old + ref_level, new + ref_level
        if a_new != a_old:
            index_a[n_a] = i
            levels_a[n_a] = a_new
            n_a += 1
    counts[0] = n_a
    counts[1] = n_b
    counts[2] = clipped
    counts[3] = changed


def level_update(q: torch.Tensor, dq: torch.Tensor, u: torch.Tensor | None, lo: int, hi: int,
                 differential: bool, ref_level: int) -> LevelUpdate:
    """New levels ``clamp(q + step, lo, hi)`` of a requested change ``dq`` in level units.

    Parameters
    ----------
    q : Tensor, int64
        The current level map.
    dq : Tensor, float, ``q``'s shape
        Requested change in levels.
    u : Tensor or None
        Uniform draws in ``[0, 1)`` for stochastic rounding, ``step = floor(dq + u)``; None
        rounds to the nearest level, ``step = rint(dq)``.
    lo, hi : int
        Level range.
    differential : bool
        Device levels ``a = max(q, 0)``, ``b = max(-q, 0)``; else ``a = q + ref_level`` and the
        reference (``b``) never moves.
    ref_level : int

    Returns
    -------
    LevelUpdate
    """
    flat_q = q.contiguous().reshape(-1)
    flat_dq = dq.contiguous().reshape(-1)
    size = flat_q.numel()
    q_new = torch.empty_like(flat_q)
    # (explicitly on the CPU: a caller's default device may be another one)
    index_a = torch.empty(size, dtype=torch.int64, device="cpu")
    levels_a = torch.empty(size, dtype=torch.int64, device="cpu")
    index_b = torch.empty(size if differential else 0, dtype=torch.int64, device="cpu")
    levels_b = torch.empty(size if differential else 0, dtype=torch.int64, device="cpu")
    counts = np.zeros(4, dtype=np.int64)
    draws = (u.contiguous().reshape(-1) if u is not None else flat_dq).numpy()
    _level_loop(flat_q.numpy(), flat_dq.numpy(), draws, u is not None, int(lo), int(hi),
                bool(differential), int(ref_level), q_new.numpy(), index_a.numpy(),
                levels_a.numpy(), index_b.numpy(), levels_b.numpy(), counts)
    n_a, n_b, clipped, changed = (int(c) for c in counts)
    return LevelUpdate(q_new.reshape(q.shape), index_a[:n_a], levels_a[:n_a], index_b[:n_b],
                       levels_b[:n_b], clipped, changed)
