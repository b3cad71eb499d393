# SPDX-License-Identifier: MIT
"""Seeded weight-gradient unit test vectors and the golden readouts of each window."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ...golden.stimulus import uniform_ints
from ...golden.wgu import wgu_accumulate, wgu_readout
from .mixes import code_mix
from .seeds import sub_seed

__all__ = ["WGUVectors", "wgu_vectors", "wgu_layer_vectors"]


@dataclass(frozen=True)
class WGUVectors:
    """Accumulation windows for the weight-gradient unit, each closed by a readout.

    Window ``w`` sends ``beats_per_window[w]`` ``(t, b)`` pairs, each as ``rows`` per-row
    update beats in a random row order, then one read command (``clear[w]``: clear-on-read).
    The memory is cleared once before window 0.

    Members
    -------
    seed, rows, cols, grad_width, delta_width, shift, out_width : int
        Generation arguments; ``(seed, window)`` or ``(seed, index)`` identifies a vector.
    rounding : str
    row, delta : list, ``[index]``
        Row index and ``delta`` of every update beat (``index`` counts all windows).
    spikes : list, ``[index][col]``
        Spike vector of every update beat.
    pair : list, ``[index]``
        Index of the ``(t, b)`` pair the update beat belongs to.
    ends : list, ``[window]``
        One past the index of the window's last update beat.
    clear : list, ``[window]``
        Clear-on-read flag of the window's readout (0/1).
    update, overflow : list, ``[window][row][col]``
        Golden readout (``wgu_readout``) and the sticky flags since the last clear (the union
        of the ``wgu_accumulate`` overflow of every window since then).
    """

    seed: int
    rows: int
    cols: int
    grad_width: int
    delta_width: int
    shift: int
    out_width: int
    rounding: str
    row: list
    delta: list
    spikes: list
    pair: list
    ends: list
    clear: list
    update: list
    overflow: list

    def replay(self, window: int, row: int) -> str:
        """Describe the readout of ``row`` in ``window`` so that it can be regenerated."""
        start = self.ends[window - 1] if window else 0
        mine = [k for k in range(start, self.ends[window]) if self.row[k] == row]
        beats = [(self.pair[k], self.delta[k], self.spikes[k]) for k in mine[:8]]
        return (f"seed={self.seed} window={window} row={row} rows={self.rows} "
                f"cols={self.cols} grad_width={self.grad_width} "
                f"delta_width={self.delta_width} shift={self.shift} "
                f"out_width={self.out_width} rounding={self.rounding} "
                f"beats {start}..{self.ends[window] - 1} clear={self.clear[window]} "
                f"first (pair, delta, spikes) of the row: {beats} expected: "
                f"update={self.update[window][row]} overflow={self.overflow[window][row]}")


def wgu_vectors(*, rows: int, cols: int, grad_width: int, delta_width: int, pairs: int,
                seed: int, shift: int = 0, out_width: int | None = None,
                rounding: str = "floor", max_window: int = 48,
                lengths: Sequence[int] | None = None, modes: Sequence[int] | None = None,
                density: int | None = None, clears: Sequence[int] | None = None) -> WGUVectors:
    """Generate seeded update beats for ``pairs`` ``(t, b)`` pairs and the golden readouts.

    Windows hold ``1 .. max_window`` pairs. Every window draws, per row, its deltas from one
    mix of :func:`code_mix` (full range, small, large of one sign, extremes, tiny), so rows
    drift into saturation at either end and come back; the spike density of each pair is
    10 %, 50 % or 90 %. Half of the readouts clear the memory.

    A directed phase replaces the random draws: ``lengths`` (pairs per window), ``modes``
    (one :func:`code_mix` mode per window, for every row) and ``clears`` (clear-on-read per
    window), each repeated cyclically, and ``density`` (spike density of every pair, in %).
    """
    out_width = grad_width if out_width is None else out_width
    if lengths is None:
        lens = uniform_ints((pairs,), 1, max_window, seed=sub_seed(seed, 0))
    else:
        lens = torch.tensor([lengths[k % len(lengths)] for k in range(pairs)])
    bounds = (torch.cumsum(lens, 0)).tolist()
    bounds = [b for b in bounds if b < pairs] + [pairs]
    n_win = len(bounds)
    window = torch.zeros(pairs, dtype=torch.int64)
    for b in bounds[:-1]:
        window[b:] += 1
    if modes is None:
        mode = uniform_ints((n_win, rows), 0, 5, seed=sub_seed(seed, 1))
    else:
        mode = torch.tensor([[modes[w % len(modes)]] * rows for w in range(n_win)])
    mode = mode[window]                                                   # (pairs, rows)
    delta = code_mix((pairs, rows), delta_width, mode, sub_seed(seed, 2))
    if density is None:
        density = torch.tensor([10, 50, 90])[uniform_ints((pairs, 1), 0, 2,
                                                          seed=sub_seed(seed, 3))]
    spikes = (uniform_ints((pairs, cols), 0, 99, seed=sub_seed(seed, 4)) < density).to(torch.int64)
    if clears is None:
        clear = uniform_ints((n_win,), 0, 1, seed=sub_seed(seed, 5)).tolist()
    else:
        clear = [int(clears[w % len(clears)]) for w in range(n_win)]
    order = torch.argsort(uniform_ints((pairs, rows), 0, (1 << 30), seed=sub_seed(seed, 6)), dim=1)

    G = torch.zeros(rows, cols, dtype=torch.int64)
    ovf = torch.zeros(rows, cols, dtype=torch.bool)
    updates, flags, ends = [], [], []
    start = 0
    for w, end in enumerate(bounds):
        G, o = wgu_accumulate(G, delta[start:end, None, :], spikes[start:end, None, :],
                              grad_width=grad_width, delta_width=delta_width)
        ovf |= o
        upd, G = wgu_readout(G, grad_width=grad_width, shift=shift, out_width=out_width,
                             rounding=rounding, clear=bool(clear[w]))
        updates.append(upd.tolist())
        flags.append(ovf.to(torch.int64).tolist())
        if clear[w]:
            ovf = torch.zeros_like(ovf)
        ends.append(end * rows)
        start = end
    row_idx = order.reshape(-1)
    pair_idx = torch.arange(pairs).repeat_interleave(rows)
    return WGUVectors(seed=seed, rows=rows, cols=cols, grad_width=grad_width,
                      delta_width=delta_width, shift=shift, out_width=out_width,
                      rounding=rounding, row=row_idx.tolist(),
                      delta=delta[pair_idx, row_idx].tolist(),
                      spikes=spikes[pair_idx].tolist(), pair=pair_idx.tolist(), ends=ends,
                      clear=clear, update=updates, overflow=flags)



def wgu_layer_vectors(delta: torch.Tensor, spikes: torch.Tensor, *, grad_width: int,
                      delta_width: int, shift: int = 0, out_width: int | None = None,
                      rounding: str = "floor", seed: int = 0) -> WGUVectors:
    """One accumulation window of a layer's ``delta (T, out)`` x ``spikes (T, in)``.

    Timestep ``t`` sends one update beat per row in row order, then a clear-on-read readout;
    the golden readout is ``wgu_readout`` of ``wgu_accumulate`` from a cleared memory (the
    layer's integer ``ΔW``). ``seed`` only labels the vectors for :meth:`WGUVectors.replay`.
    """
    n_t, rows = delta.shape
    cols = spikes.shape[1]
    out_width = grad_width if out_width is None else out_width
    G, ovf = wgu_accumulate(torch.zeros(rows, cols, dtype=torch.int64), delta[:, None],
                            spikes[:, None], grad_width=grad_width, delta_width=delta_width)
    update, _ = wgu_readout(G, grad_width=grad_width, shift=shift, out_width=out_width,
                            rounding=rounding, clear=True)
    pair = torch.arange(n_t).repeat_interleave(rows)
    row = torch.arange(rows).repeat(n_t)
    return WGUVectors(seed=seed, rows=rows, cols=cols, grad_width=grad_width,
                      delta_width=delta_width, shift=shift, out_width=out_width,
                      rounding=rounding, row=row.tolist(), delta=delta[pair, row].tolist(),
                      spikes=spikes[pair].tolist(), pair=pair.tolist(), ends=[n_t * rows],
                      clear=[1], update=[update.tolist()],
                      overflow=[ovf.to(torch.int64).tolist()])
