# SPDX-License-Identifier: MIT
"""A non-delay list scheduler over a task graph (stored tensors placed by ``placement.py``).

A :class:`TaskGraph` holds resources (a name, a kind, identical servers), operations (a kind, a
duration, the resources they hold, their dependencies, a priority) and stored tensors (bytes, a
home buffer, a producer, consumers). :meth:`TaskGraph.schedule` applies Graham's list scheduling
with the non-delay rule: among the operations whose dependencies have all ended it repeatedly
starts the one that can start earliest, ties broken by the smaller priority tuple and then the
smaller op id, on the server of each of its resources that frees first. Nothing is random and
nothing depends on dict order, so one graph gives one schedule bit for bit
(``docs/simulator.md``, "Engine: a list scheduler").

The scheduler is a heap keyed by ``(earliest start, rank)``, the rank being the op's place in
``(priority, op id)`` order. Resource free times only grow, so a key can only grow and a popped
op whose key has grown is re-keyed lazily. An op that holds one server of one resource (nearly
every op) and finds that its key has grown is parked on that resource instead, behind one token
in the heap that stands for all the ops waiting there: without it, ``n`` ops queued on one busy
resource would each be re-keyed after every start, ``n**2 / 2`` heap operations for a phase such
as a batch's gradient accumulation on one WGU bank. Ops holding several resources, or every
server of one, are re-keyed in the heap (they are few: stages, writes).

An op holding every server of a resource starts when all of them are free; ops needing one
server that can start earlier do so first (the non-delay rule), so a stream of them can hold
such an op back.

:meth:`Schedule.occupancy` hands the schedule and the graph's stored tensors to
:func:`~dfasim.models.archsim.placement.place` ("Stored tensors").
"""
from __future__ import annotations

import gc
import heapq
import math
import operator
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from .placement import Occupancy, TensorTable, place

__all__ = ["TaskGraph", "Schedule"]

_INF = math.inf
# Codes of an op's resource needs, besides a resource id (one server of one resource).
_NO_RESOURCE = -1
_SEVERAL = -2
# Op states while scheduling.
_WAITING, _IN_HEAP, _PARKED, _STARTED = 0, 1, 2, 3


def _resource_index(value, n_resources: int) -> int:
    """``value`` as the id of one of ``n_resources`` resources, or ``ValueError``."""
    try:
        r = operator.index(value)
    except TypeError:
        raise ValueError(f"unknown resource id {value!r} ({n_resources} resources)") from None
    if not 0 <= r < n_resources:
        raise ValueError(f"unknown resource id {r} ({n_resources} resources)")
    return r


class TaskGraph:
    """Resources, operations and stored tensors of one simulation, built op by op.

    Ops are kept as one tuple each and turned into numpy arrays by :meth:`schedule`, so that
    building ~10**5 ops costs about a microsecond each.

    Members
    -------
    n_ops, n_tensors, n_resources : int
        What has been declared so far (op ids run ``0 .. n_ops - 1``, tensor and resource ids
        likewise).
    """

    def __init__(self) -> None:
        self._res_names: list[str] = []
        self._res_kinds: list[str] = []
        self._res_servers: list[int] = []
        self._res_ids: dict[str, int] = {}
        self._kinds: list[str] = []
        self._kind_ids: dict[str, int] = {}
        # One tuple per op: (kind id, duration, resource code, dependencies, priority, layer,
        # sample, timestep, batch, nbytes); dependencies flat in _dep_src.
        self._ops: list[tuple] = []
        self._dep_src: list[int] = []
        # Ops holding several resources or every server of one: id -> (resources, all_servers).
        self._several: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self._buf_names: list[str] = []
        self._buf_capacity: list[float] = []
        self._buf_parent: list[int] = []
        self._buf_ids: dict[str, int] = {}
        # One tuple per tensor: (nbytes, home buffer id, producer, consumer count, kind id);
        # consumers flat in _consumers.
        self._tensors: list[tuple] = []
        self._consumers: list[int] = []
        self._tensor_kinds: list[str] = []
        self._tensor_kind_ids: dict[str, int] = {}

    @property
    def n_ops(self) -> int:
        return len(self._ops)

    @property
    def n_tensors(self) -> int:
        return len(self._tensors)

    @property
    def n_resources(self) -> int:
        return len(self._res_names)

    def resource(self, name: str, kind: str, servers: int = 1) -> int:
        """Declare a resource of ``servers`` identical servers; return its id."""
        if name in self._res_ids:
            raise ValueError(f"duplicate resource name {name!r}")
        try:
            count = operator.index(servers)
        except TypeError:
            count = 0
        if count < 1:
            raise ValueError(f"resource {name!r} servers must be an int >= 1, not {servers}")
        self._res_ids[name] = len(self._res_names)
        self._res_names.append(name)
        self._res_kinds.append(str(kind))
        self._res_servers.append(count)
        return len(self._res_names) - 1

    def resource_id(self, name: str) -> int:
        """Id of the resource called ``name``."""
        try:
            return self._res_ids[name]
        except KeyError:
            raise ValueError(f"unknown resource {name!r}") from None

    def op(self, kind: str, duration_ns: float, *, resources: Sequence[int] = (),
           all_servers: Sequence[int] = (), deps: Iterable[int] = (), priority: tuple = (),
           layer: int = -1, sample: int = -1, timestep: int = -1, batch: int = -1,
           nbytes: float = 0.0) -> int:
        """Declare an operation; return its id (consecutive from 0).

        It holds one server of each resource in ``resources`` and every server of each resource
        in ``all_servers`` for ``duration_ns``, and starts after every op in ``deps`` (ids of
        ops declared before it) has ended. ``layer`` .. ``nbytes`` are labels carried into the
        :class:`Schedule`.
        """
        i = len(self._ops)
        if not 0.0 <= duration_ns < _INF:
            raise ValueError(f"op {i} ({kind!r}) duration must be finite and >= 0 ns, "
                             f"not {duration_ns}")
        # Everything is checked before anything is recorded: a rejected op leaves no trace.
        deps = tuple(deps)
        if deps and (min(deps) < 0 or max(deps) >= i):
            bad = next(d for d in deps if not 0 <= d < i)
            raise ValueError(f"dependency {bad} of op {i} ({kind!r}) is not the id of an "
                             f"earlier op (0 .. {i - 1})")
        n_res = len(self._res_names)
        if all_servers or len(resources) > 1:
            one = tuple(_resource_index(r, n_res) for r in resources)
            every = tuple(_resource_index(r, n_res) for r in all_servers)
            if len(set(one + every)) < len(one) + len(every):
                raise ValueError(f"op {i} ({kind!r}) lists a resource twice: "
                                 f"resources={list(one)}, all_servers={list(every)}")
            self._several[i] = (one, every)
            code = _SEVERAL
        elif resources:
            code = resources[0]
            if type(code) is not int or not 0 <= code < n_res:
                code = _resource_index(code, n_res)
        else:
            code = _NO_RESOURCE
        kind_id = self._kind_ids.get(kind)
        if kind_id is None:
            kind_id = self._kind_ids[kind] = len(self._kinds)
            self._kinds.append(kind)
        if deps:
            self._dep_src.extend(deps)
        self._ops.append((kind_id, duration_ns, code, len(deps), priority, layer, sample,
                          timestep, batch, nbytes))
        return i

    def barrier(self, deps: Iterable[int], *, priority: tuple = (), batch: int = -1) -> int:
        """A zero-duration op of kind ``"barrier"`` holding nothing, after every op in ``deps``."""
        return self.op("barrier", 0.0, deps=deps, priority=priority, batch=batch)

    def buffer(self, name: str, capacity_bytes: float, parent: str | None = None) -> None:
        """Declare a buffer; what does not fit goes to ``parent`` (declared before), else DRAM."""
        if name in self._buf_ids:
            raise ValueError(f"duplicate buffer name {name!r}")
        if name == "total":
            raise ValueError("a buffer may not be called 'total' (Occupancy.peak_demand_bytes "
                             "keeps the sum over all buffers under that name)")
        if not capacity_bytes >= 0:
            raise ValueError(f"buffer {name!r} capacity must be >= 0 bytes, not {capacity_bytes}")
        if parent is None:
            parent_id = -1
        elif parent in self._buf_ids:
            parent_id = self._buf_ids[parent]
        else:
            raise ValueError(f"unknown parent buffer {parent!r} of buffer {name!r}")
        self._buf_ids[name] = len(self._buf_names)
        self._buf_names.append(name)
        self._buf_capacity.append(float(capacity_bytes))
        self._buf_parent.append(parent_id)

    def tensor(self, nbytes: float, home: str, producer: int, consumers: Sequence[int],
               kind: str) -> int:
        """Declare a stored tensor; return its id.

        It is allocated when op ``producer`` ends and released when the last of ``consumers``
        ends (at the producer's end if there are none, or if they all end before it).
        """
        if not 0.0 <= nbytes < _INF:
            raise ValueError(f"tensor size must be finite and >= 0 bytes, not {nbytes}")
        home_id = self._buf_ids.get(home)
        if home_id is None:
            raise ValueError(f"unknown buffer {home!r} (home of a {kind!r} tensor)")
        n = len(self._ops)
        if not (type(producer) is int or isinstance(producer, np.integer)) or \
                not 0 <= producer < n:
            raise ValueError(f"unknown producer op {producer!r} of a {kind!r} tensor ({n} ops)")
        for c in consumers:
            if not (type(c) is int or isinstance(c, np.integer)) or not 0 <= c < n:
                raise ValueError(f"unknown consumer op {c!r} of a {kind!r} tensor ({n} ops)")
        kind_id = self._tensor_kind_ids.get(kind)
        if kind_id is None:
            kind_id = self._tensor_kind_ids[kind] = len(self._tensor_kinds)
            self._tensor_kinds.append(kind)
        self._consumers.extend(consumers)
        self._tensors.append((float(nbytes), home_id, int(producer), len(consumers), kind_id))
        return len(self._tensors) - 1

    def schedule(self) -> "Schedule":
        """Schedule every op (non-delay list scheduling) and return the :class:`Schedule`."""
        # Nothing built here can form a reference cycle; the collector would only rescan the
        # graph's ~10**5 op tuples again and again (a third of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._schedule()
        finally:
            if collecting:
                gc.enable()

    def _schedule(self) -> "Schedule":
        n = len(self._ops)
        n_res = len(self._res_names)
        servers = self._res_servers
        ops = self._ops

        def column(k: int, dtype) -> np.ndarray:
            return np.fromiter(map(operator.itemgetter(k), ops), dtype=dtype, count=n)

        kind = column(0, np.int32)
        duration = column(1, np.float64)
        code = column(2, np.int64)
        ndeps = column(3, np.int64)
        prio_col = list(map(operator.itemgetter(4), ops))
        nbytes = column(9, np.float64)
        if not np.all(nbytes >= 0):
            bad = int(np.argmin(nbytes >= 0))
            raise ValueError(f"op {bad} nbytes must be >= 0, not {nbytes[bad]}")
        src = np.array(self._dep_src) if self._dep_src else np.zeros(0, np.int64)
        if not np.issubdtype(src.dtype, np.integer):
            bad = next(d for d in self._dep_src if not isinstance(d, (int, np.integer)))
            raise ValueError(f"dependency {bad!r} is not an op id")
        dst = np.repeat(np.arange(n, dtype=np.int64), ndeps)

        # Rank = place in (priority, op id) order; the scheduler works in rank space so that a
        # heap entry is (key, rank) and ties need no further comparison.
        if n and prio_col.count(prio_col[0]) != n:
            order = np.array(sorted(range(n), key=prio_col.__getitem__), dtype=np.int64)
        else:
            order = np.arange(n, dtype=np.int64)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n, dtype=np.int64)
        src_r, dst_r = rank[src], rank[dst]
        by_src = np.argsort(src_r, kind="stable")
        succ = dst_r[by_src].tolist()
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src_r, minlength=n), out=ptr[1:])
        several = {int(rank[i]): needs for i, needs in self._several.items()}
        start_r, server_r = _list_schedule(
            duration[order].tolist(), code[order].tolist(), ndeps[order].tolist(), succ,
            ptr.tolist(), several, servers)

        start = np.asarray(start_r)[rank]
        end = start + duration
        server = np.asarray(server_r, dtype=np.int64)[rank]
        first_resource = code.copy()
        first_resource[code == _SEVERAL] = -1
        busy = np.zeros(n_res)
        held_bytes = np.zeros(n_res)
        simple = code >= 0
        if n_res:
            busy += np.bincount(code[simple], weights=duration[simple], minlength=n_res)
            held_bytes += np.bincount(code[simple], weights=nbytes[simple], minlength=n_res)
        for i, (one, every) in self._several.items():
            first_resource[i] = one[0] if one else every[0]
            for r in one:
                busy[r] += duration[i]
                held_bytes[r] += nbytes[i]
            for r in every:
                busy[r] += duration[i] * servers[r]
                held_bytes[r] += nbytes[i]
        # The builder only appends, so the graph and today's lengths are a snapshot; the tensor
        # table is built when occupancy() asks for it.
        tensors = (self, len(self._tensors), len(self._consumers), len(self._buf_names))
        return Schedule(
            start=start, end=end, server=server, kind=kind, kinds=list(self._kinds),
            layer=column(5, np.int64), sample=column(6, np.int64), timestep=column(7, np.int64),
            batch=column(8, np.int64), nbytes=nbytes, resource=first_resource,
            makespan=float(end.max()) if n else 0.0,
            resources=list(zip(self._res_names, self._res_kinds, servers)), busy_ns=busy,
            _held_bytes=held_bytes, _tensors=tensors)


def _list_schedule(duration: list, code: list, remaining: list, succ: list, ptr: list,
                   several: dict, servers: list) -> tuple[list, list]:
    """The scheduling loop, in rank space (op ``q`` is the ``q``-th in priority order).

    ``code[q]`` is the one resource op ``q`` holds one server of, ``_NO_RESOURCE``, or
    ``_SEVERAL`` (its needs in ``several[q]``). Returns start and first server per op
    (an end is its start plus its duration, to the bit).
    """
    n = len(duration)
    n_res = len(servers)
    # Module constants as locals: this loop runs once per op and pop.
    SEVERAL, IN_HEAP, PARKED, STARTED = _SEVERAL, _IN_HEAP, _PARKED, _STARTED
    heappush, heappop = heapq.heappush, heapq.heappop
    # avail[r]: when the first server of r frees; free[r]: every server's free time (only kept
    # for resources of several servers).
    avail = [0.0] * n_res
    free = [[0.0] * s if s > 1 else None for s in servers]
    single = [s == 1 for s in servers]
    # Ops waiting on a busy resource, by rank, and the token standing for them in the heap.
    park: list[list[int]] = [[] for _ in range(n_res)]
    token_rank = [-1] * n_res
    token_time = [0.0] * n_res
    state = bytearray(n)
    ready = [0.0] * n
    start = [0.0] * n
    server = [0 if c >= 0 else -1 for c in code]
    heap: list[tuple[float, int]] = []

    def several_key(q: int, t: float) -> float:
        one, every = several[q]
        for r in one:
            a = avail[r]
            if a > t:
                t = a
        for r in every:
            a = avail[r] if single[r] else max(free[r])
            if a > t:
                t = a
        return t

    def make_ready(q: int) -> None:
        """Push op ``q``, whose dependencies have all ended, with its earliest start."""
        c = code[q]
        t = ready[q]
        if c >= 0:
            a = avail[c]
            if a > t:
                t = a
        elif c == SEVERAL:
            t = several_key(q, t)
        state[q] = IN_HEAP
        heappush(heap, (t, q))

    for q in range(n):
        if remaining[q] == 0:
            make_ready(q)

    while heap:
        s, q = heappop(heap)
        q_state = state[q]
        if q_state == IN_HEAP:
            c = code[q]
            if c >= 0:
                a = avail[c]
                if a > s:
                    # Overtaken since it was pushed: wait behind the resource's token (an op
                    # is pushed with its exact key, so each is parked at most once).
                    state[q] = PARKED
                    heappush(park[c], q)
                    held = token_rank[c]
                    # A token for an earlier time is a lower bound for q as well (it will be
                    # re-keyed with the rank then first in the park); one for the same time
                    # must not carry a larger rank.
                    if held < 0 or (q < held and token_time[c] == a):
                        token_rank[c] = q
                        token_time[c] = a
                        heappush(heap, (a, q))
                    continue
            elif c == SEVERAL:
                t = several_key(q, s)
                if t > s:
                    heappush(heap, (t, q))
                    continue
        elif q_state == PARKED:
            # A token: the ops parked on resource c can start no earlier than s.
            c = code[q]
            if token_rank[c] != q or token_time[c] != s:
                continue
            a = avail[c]
            if a > s:
                q = park[c][0]
                token_rank[c] = q
                token_time[c] = a
                heappush(heap, (a, q))
                continue
            # Here the token's rank is the first in the park (see the parking above).
            heappop(park[c])
            token_rank[c] = -1
        else:
            continue
        state[q] = STARTED
        e = s + duration[q]
        start[q] = s
        if c >= 0:
            if single[c]:
                avail[c] = e
            else:
                servers_free = free[c]
                j = servers_free.index(avail[c])
                servers_free[j] = e
                server[q] = j
                avail[c] = min(servers_free)
            if q_state == PARKED and park[c]:
                nxt = park[c][0]
                token_rank[c] = nxt
                token_time[c] = avail[c]
                heappush(heap, (avail[c], nxt))
        elif c == SEVERAL:
            one, every = several[q]
            first = True
            for r in one:
                if single[r]:
                    j = 0
                    avail[r] = e
                else:
                    servers_free = free[r]
                    j = servers_free.index(min(servers_free))
                    servers_free[j] = e
                    avail[r] = min(servers_free)
                if first:
                    server[q] = j
                    first = False
            for r in every:
                if single[r]:
                    avail[r] = e
                else:
                    free[r] = [e] * servers[r]
                    avail[r] = e
            if first:
                server[q] = 0
        for j in succ[ptr[q]:ptr[q + 1]]:
            if ready[j] < e:
                ready[j] = e
            left = remaining[j] - 1
            remaining[j] = left
            if left == 0:
                # make_ready(j), inlined: this runs once per op.
                c = code[j]
                t = ready[j]
                if c >= 0:
                    a = avail[c]
                    if a > t:
                        t = a
                elif c == SEVERAL:
                    t = several_key(j, t)
                state[j] = IN_HEAP
                heappush(heap, (t, j))
    return start, server


@dataclass
class Schedule:
    """Start and end of every op; numpy arrays indexed by op id.

    Members
    -------
    start, end : array of float
        Times in ns from the start of the graph.
    server : array of int
        Server held on :attr:`resource` (the first server if it holds them all), -1 if none.
    kind : array of int
        Index into :attr:`kinds` of each op's kind.
    kinds : list of str
    layer, sample, timestep, batch : array of int
        The labels given to :meth:`TaskGraph.op` (-1 where none).
    nbytes : array of float
        The bytes each op was labelled with.
    resource : array of int
        First resource the op holds (from ``resources``, else ``all_servers``), -1 if none.
    makespan : float
        Latest end (0 for an empty graph).
    resources : list of (str, str, int)
        Name, kind and servers of every resource, by resource id.
    busy_ns : array of float
        Per resource, the time its servers were held, summed over servers (an op holding every
        server counts its duration once per server).
    """

    start: np.ndarray
    end: np.ndarray
    server: np.ndarray
    kind: np.ndarray
    kinds: list[str]
    layer: np.ndarray
    sample: np.ndarray
    timestep: np.ndarray
    batch: np.ndarray
    nbytes: np.ndarray
    resource: np.ndarray
    makespan: float
    resources: list[tuple[str, str, int]]
    busy_ns: np.ndarray
    _held_bytes: np.ndarray = field(repr=False)
    _tensors: tuple = field(repr=False)

    def ops_of(self, kind: str) -> np.ndarray:
        """Mask of the ops of ``kind`` (all False for a kind the graph does not have)."""
        if kind not in self.kinds:
            return np.zeros(len(self.kind), dtype=bool)
        return self.kind == self.kinds.index(kind)

    def utilisation_by_kind(self) -> dict[str, float]:
        """Per resource kind: busy time over available time (servers x makespan), both summed
        over the resources of that kind; 0 for an empty schedule."""
        busy: dict[str, float] = {}
        available: dict[str, float] = {}
        for (_, kind, servers), held in zip(self.resources, self.busy_ns):
            busy[kind] = busy.get(kind, 0.0) + float(held)
            available[kind] = available.get(kind, 0.0) + servers * self.makespan
        return {k: busy[k] / available[k] if available[k] > 0 else 0.0 for k in busy}

    def bytes_by_resource(self) -> dict[str, float]:
        """Per resource name, the ``nbytes`` of the ops that held it, summed."""
        return {name: float(b) for (name, _, _), b in zip(self.resources, self._held_bytes)}

    def occupancy(self) -> "Occupancy":
        """Buffer occupancy and spills of the graph's stored tensors under this schedule."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            return place(TensorTable.from_graph(*self._tensors), self.end, self.batch)
        finally:
            if collecting:
                gc.enable()
