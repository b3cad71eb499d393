# SPDX-License-Identifier: MIT
"""Placement of a scheduled graph's stored tensors in buffers of finite size.

:func:`place` replays the tensors' allocations (at the producer's end) and releases (at the last
consumer's end) in time order, releases first at equal times, and fills each buffer up to its
capacity, passing what does not fit to the parent buffer and finally to DRAM (a spill, written
once and read back once): ``docs/simulator.md``, "Stored tensors". A buffer that never
overflows is handled with numpy alone; one that overflows is replayed in a short loop.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .engine import TaskGraph

__all__ = ["TensorTable", "BufferOccupancy", "Occupancy", "place"]


@dataclass
class TensorTable:
    """Stored tensors and buffers of a graph, frozen when it is scheduled."""

    nbytes: np.ndarray
    home: np.ndarray
    producer: np.ndarray
    consumers: np.ndarray
    n_consumers: np.ndarray
    kind: np.ndarray
    kinds: list[str]
    buffer_names: list[str]
    buffer_capacity: list[float]
    buffer_parent: list[int]

    @classmethod
    def from_graph(cls, graph: "TaskGraph", n_tensors: int, n_consumers: int,
                   n_buffers: int) -> "TensorTable":
        """The first ``n_tensors`` tensors and ``n_buffers`` buffers of ``graph``."""
        rows = graph._tensors[:n_tensors]
        n = len(rows)

        def column(k: int, dtype) -> np.ndarray:
            return np.fromiter(map(operator.itemgetter(k), rows), dtype=dtype, count=n)

        return cls(nbytes=column(0, np.float64), home=column(1, np.int64),
                   producer=column(2, np.int64),
                   consumers=np.array(graph._consumers[:n_consumers], dtype=np.int64),
                   n_consumers=column(3, np.int64),
                   kind=column(4, np.int64), kinds=list(graph._tensor_kinds),
                   buffer_names=graph._buf_names[:n_buffers],
                   buffer_capacity=graph._buf_capacity[:n_buffers],
                   buffer_parent=graph._buf_parent[:n_buffers])


@dataclass
class BufferOccupancy:
    """Bytes held by one buffer over time (the per-buffer view of :class:`Occupancy`).

    Members
    -------
    name : str
    capacity_bytes : float
    times, bytes : array of float
        Step function: ``bytes[k]`` from ``times[k]`` until ``times[k + 1]`` (``times[0] = 0``).
    peak_bytes : float
        Largest value of ``bytes``.
    """

    name: str
    capacity_bytes: float
    times: np.ndarray
    bytes: np.ndarray
    peak_bytes: float


@dataclass
class Occupancy:
    """Where the stored tensors of a schedule lived, and what went to DRAM.

    Members
    -------
    times, bytes : dict of str to array of float
        Per buffer (declaration order), a step function: the buffer holds ``bytes[k]`` from
        ``times[k]`` until ``times[k + 1]`` (``times[0] = 0``).
    peak_bytes, capacity_bytes : dict of str to float
        Per buffer, the largest value of ``bytes`` and the declared capacity.
    spilled_bytes : float
        Bytes no buffer could take (written to DRAM once and read back once).
    spilled_bytes_by_home, spilled_bytes_by_kind, spilled_bytes_by_batch : dict
        The same by the tensor's home buffer, kind, and ``batch`` label of its producer.
    tensor_spilled_bytes : array of float
        Per tensor id, its bytes that went to DRAM.
    peak_demand_bytes : dict of str to float
        Peak of the live bytes had nothing been turned away: per home buffer (the capacity at
        which it passes nothing on), and under ``"total"`` for all tensors (the on-chip
        capacity at which nothing would spill, were it shared freely).
    buffers : dict of str to BufferOccupancy
        The per-buffer members above, grouped by buffer.
    """

    times: dict[str, np.ndarray]
    bytes: dict[str, np.ndarray]
    peak_bytes: dict[str, float]
    capacity_bytes: dict[str, float]
    spilled_bytes: float
    spilled_bytes_by_home: dict[str, float]
    spilled_bytes_by_kind: dict[str, float]
    spilled_bytes_by_batch: dict[int, float]
    tensor_spilled_bytes: np.ndarray
    peak_demand_bytes: dict[str, float]
    buffers: dict[str, BufferOccupancy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.buffers:
            self.buffers = {n: BufferOccupancy(n, self.capacity_bytes[n], self.times[n],
                                               self.bytes[n], self.peak_bytes[n])
                            for n in self.times}


def _events(tensor: np.ndarray, size: np.ndarray, alloc: np.ndarray, release: np.ndarray):
    """Allocations and releases of pieces in replay order: time, releases first, tensor id.

    Returns ``(event, time, signed bytes)``, sorted; ``event`` is the piece index ``p`` for
    an allocation and ``~p`` (negative) for a release.
    """
    m = len(size)
    by_id = np.argsort(tensor, kind="stable")
    # Releases then allocations, each in tensor id order: a stable sort by time then gives
    # the replay order without a three-key sort.
    event = np.concatenate([~by_id, by_id])
    times = np.concatenate([release[by_id], alloc[by_id]])
    order = np.argsort(times, kind="stable")
    event = event[order]
    signed = np.concatenate([-size[by_id], size[by_id]])[order] if m else np.zeros(0)
    return event, times[order], signed


def _step(times: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A step function from levels after each event: one point per distinct time, from 0."""
    if not len(times):
        return np.zeros(1), np.zeros(1)
    last = np.r_[times[1:] != times[:-1], True]
    t, b = times[last], level[last]
    if t[0] > 0:
        t, b = np.r_[0.0, t], np.r_[0.0, b]
    return t, b


def place(table: TensorTable, op_end: np.ndarray, op_batch: np.ndarray) -> Occupancy:
    """Replay the tensors through the buffer tree (see :meth:`Schedule.occupancy`)."""
    n_t = len(table.nbytes)
    alloc = op_end[table.producer] if n_t else np.zeros(0)
    release = alloc.copy()
    has = table.n_consumers > 0
    if table.consumers.size:
        offsets = np.concatenate([[0], np.cumsum(table.n_consumers)[:-1]])
        last = np.maximum.reduceat(op_end[table.consumers], offsets[has])
        release[has] = np.maximum(alloc[has], last)
    # A tensor released when it is allocated is never live (its release comes first).
    live = (release > alloc) & (table.nbytes > 0)
    ids = np.flatnonzero(live)
    names = table.buffer_names
    n_buf = len(names)
    spilled = np.zeros(n_t)
    # Pieces arriving at each buffer: (tensor ids, bytes, alloc, release).
    incoming: list[list[tuple]] = [[] for _ in range(n_buf)]
    home_of = table.home[ids]
    by_home = np.argsort(home_of, kind="stable")
    bounds = np.searchsorted(home_of[by_home], np.arange(n_buf + 1))
    for b in range(n_buf):
        sel = ids[by_home[bounds[b]:bounds[b + 1]]]
        if len(sel):
            incoming[b].append((sel, table.nbytes[sel], alloc[sel], release[sel]))
    demand_peak = np.zeros(n_buf)
    steps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    # A parent is declared before its children: reverse declaration order sees every child
    # before its parent, and each buffer's events in the global replay order.
    for b in reversed(range(n_buf)):
        cap = table.buffer_capacity[b]
        homed = bounds[b + 1] > bounds[b]
        if incoming[b]:
            tid, size, t_alloc, t_rel = (np.concatenate(x) for x in zip(*incoming[b]))
        else:
            tid, size, t_alloc, t_rel = (np.zeros(0, np.int64),) + (np.zeros(0),) * 3
        event, times, signed = _events(tid, size, t_alloc, t_rel)
        level = np.cumsum(signed)
        if homed and len(incoming[b]) == 1:
            demand_peak[b] = max(0.0, float(level.max()))
        elif homed:
            _, _, home_signed = _events(*incoming[b][0])
            demand_peak[b] = max(0.0, float(np.cumsum(home_signed).max()))
        if len(level) and level.max() > cap:
            taken = _fill(event.tolist(), size.tolist(), cap)
            piece = np.where(event >= 0, event, ~event)
            level = np.cumsum(np.where(event >= 0, taken[piece], -taken[piece]))
            over = size - taken
            sel = over > 0
            parent = table.buffer_parent[b]
            if parent >= 0:
                incoming[parent].append((tid[sel], over[sel], t_alloc[sel], t_rel[sel]))
            else:
                np.add.at(spilled, tid[sel], over[sel])
        steps[names[b]] = _step(times, level)
    _, _, signed = _events(ids, table.nbytes[ids], alloc[ids], release[ids])
    total_peak = max(0.0, float(np.cumsum(signed).max())) if len(ids) else 0.0
    spilled_by_home = np.bincount(table.home, weights=spilled, minlength=n_buf) if n_t else \
        np.zeros(n_buf)
    spilled_by_kind = np.bincount(table.kind, weights=spilled, minlength=len(table.kinds)) \
        if n_t else np.zeros(len(table.kinds))
    by_batch: dict[int, float] = {}
    if n_t:
        tensor_batch = op_batch[table.producer]
        for batch in np.unique(tensor_batch).tolist():
            by_batch[batch] = float(spilled[tensor_batch == batch].sum())
    demand = {n: float(v) for n, v in zip(names, demand_peak)}
    demand["total"] = total_peak
    return Occupancy(
        times={n: steps[n][0] for n in names}, bytes={n: steps[n][1] for n in names},
        peak_bytes={n: float(steps[n][1].max()) for n in names},
        capacity_bytes=dict(zip(names, table.buffer_capacity)),
        spilled_bytes=float(spilled.sum()),
        spilled_bytes_by_home={n: float(v) for n, v in zip(names, spilled_by_home)},
        spilled_bytes_by_kind={k: float(v) for k, v in zip(table.kinds, spilled_by_kind)},
        spilled_bytes_by_batch=by_batch, tensor_spilled_bytes=spilled,
        peak_demand_bytes=demand)


def _fill(event: list, size: list, capacity: float) -> np.ndarray:
    """Bytes each piece gets in a buffer of ``capacity``, events (see :func:`_events`)
    replayed in order."""
    taken = [0.0] * len(size)
    used = 0.0
    for p in event:
        if p >= 0:
            s = size[p]
            room = capacity - used
            if s > room:
                s = room if room > 0.0 else 0.0
            taken[p] = s
            used += s
        else:
            used -= taken[~p]
    return np.array(taken)
