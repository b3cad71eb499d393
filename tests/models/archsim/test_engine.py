# SPDX-License-Identifier: MIT
"""The list scheduler and the buffer placement, on graphs small enough to work out by hand."""
import numpy as np
import pytest

from dfasim.models.archsim import TaskGraph
from dfasim.flows.bench_simulate import measure_engine_speed


def _pipeline(items=3):
    """``items`` items through stage A (2 ns) then stage B (3 ns), one resource per stage."""
    g = TaskGraph()
    a, b = g.resource("A", "stage"), g.resource("B", "stage")
    ids = []
    for i in range(items):
        x = g.op("a", 2.0, resources=(a,), sample=i)
        y = g.op("b", 3.0, resources=(b,), deps=(x,), sample=i)
        ids.append((x, y))
    return g, ids


def test_two_stage_pipeline_by_hand():
    g, ids = _pipeline()
    s = g.schedule()
    a_ops = [x for x, _ in ids]
    b_ops = [y for _, y in ids]
    # A runs back to back: ends 2, 4, 6. B starts at max(A end, B free): 2->5, 5->8, 8->11.
    assert s.end[a_ops].tolist() == [2.0, 4.0, 6.0]
    assert s.start[b_ops].tolist() == [2.0, 5.0, 8.0]
    assert s.end[b_ops].tolist() == [5.0, 8.0, 11.0]
    assert s.makespan == 11.0
    assert s.server.tolist() == [0] * 6
    assert s.resource.tolist() == [0, 1] * 3
    assert s.kinds[s.kind[0]] == "a" and s.ops_of("b").tolist() == [False, True] * 3
    assert not s.ops_of("missing").any()
    assert s.sample.tolist() == [0, 0, 1, 1, 2, 2] and s.layer.tolist() == [-1] * 6


def test_busy_and_utilisation_by_hand():
    g, _ = _pipeline()
    g.resource("idle", "other", servers=2)
    s = g.schedule()
    # A busy 3 x 2 = 6 ns, B 3 x 3 = 9 ns, over a makespan of 11 ns.
    assert s.busy_ns.tolist() == [6.0, 9.0, 0.0]
    u = s.utilisation_by_kind()
    assert u["stage"] == pytest.approx((6 + 9) / (2 * 11))
    assert u["other"] == 0.0
    assert s.resources == [("A", "stage", 1), ("B", "stage", 1), ("idle", "other", 2)]


def test_non_delay_earlier_ready_op_does_not_wait():
    g = TaskGraph()
    r, other = g.resource("R", "tile"), g.resource("other", "tile")
    blocker = g.op("x", 5.0, resources=(other,))
    # Declared first and with the best priority, but ready only at 5.
    late = g.op("late", 1.0, resources=(r,), deps=(blocker,), priority=(0,))
    early = g.op("early", 3.0, resources=(r,), priority=(9,))
    s = g.schedule()
    # early runs 0..3 on the free R; late then starts at 5 (its dependency's end), not 8.
    assert (s.start[early], s.end[early]) == (0.0, 3.0)
    assert (s.start[late], s.end[late]) == (5.0, 6.0)


def test_priority_then_op_id_break_ties():
    g = TaskGraph()
    r = g.resource("R", "tile")
    first = g.op("p", 1.0, resources=(r,), priority=(1, 0))
    second = g.op("p", 1.0, resources=(r,), priority=(0, 5))
    third = g.op("p", 1.0, resources=(r,), priority=(0, 5))
    s = g.schedule()
    # All ready at 0 on one server: priority (0, 5) twice before (1, 0); the tie by op id.
    assert s.start[[second, third, first]].tolist() == [0.0, 1.0, 2.0]


def test_waiting_ops_keep_priority_order_on_a_busy_resource():
    g = TaskGraph()
    r = g.resource("R", "tile")
    head = g.op("head", 10.0, resources=(r,))
    # Ready at 0 while R is busy until 10; they queue in priority order, not id order.
    queued = [g.op("q", 1.0, resources=(r,), priority=(p,)) for p in (3, 1, 2, 0)]
    late = g.op("late", 1.0, resources=(r,), deps=(queued[0],), priority=(-1,))
    s = g.schedule()
    assert s.start[head] == 0.0
    # Priority 0, 1, 2, 3 at 10, 11, 12, 13; "late" (ready at 14) last despite priority -1.
    assert s.start[queued].tolist() == [13.0, 11.0, 12.0, 10.0]
    assert s.start[late] == 14.0


def test_multi_server_resource():
    g = TaskGraph()
    r = g.resource("tile", "tile", servers=2)
    ops = [g.op("fwd", 4.0, resources=(r,)) for _ in range(3)]
    s = g.schedule()
    # Two servers: ops 0 and 1 at 0 on servers 0 and 1, op 2 at 4 on server 0 (frees first,
    # tie with server 1 broken by the lower index).
    assert s.end[ops].tolist() == [4.0, 4.0, 8.0]
    assert s.server[ops].tolist() == [0, 1, 0]
    assert s.busy_ns[r] == 12.0


def test_all_servers_waits_for_every_server_and_holds_them():
    g = TaskGraph()
    r = g.resource("tile", "tile", servers=2)
    a = g.op("fwd", 4.0, resources=(r,))
    b = g.op("fwd", 6.0, resources=(r,))
    w = g.op("write", 5.0, all_servers=(r,), deps=(a,))
    c = g.op("fwd", 1.0, resources=(r,), deps=(a,))
    s = g.schedule()
    # The write waits for server 1 (free at 6), not just server 0 (free at 4); it is ready at
    # 4 like c, but c can start at 4 on server 0 (non-delay) and ends at 5 < 6.
    assert (s.start[c], s.server[c]) == (4.0, 0)
    assert (s.start[w], s.end[w]) == (6.0, 11.0)
    d = g.op("fwd", 1.0, resources=(r,), deps=(c,))
    s = g.schedule()
    # d, ready at 5, could start on server 0 at 5 and ends at 6: still before the write.
    assert s.start[d] == 5.0 and s.start[w] == 6.0
    e = g.op("fwd", 1.0, resources=(r,), deps=(b,))
    s = g.schedule()
    # e is ready at 6 like the write; the write's op id is smaller and it holds both servers,
    # so e waits until 11.
    assert s.start[w] == 6.0 and s.start[e] == 11.0
    # Busy: 4 + 6 + 1 + 1 + 1 for single ops, 5 x 2 for the write.
    assert s.busy_ns[r] == 23.0


def test_op_holding_two_resources_waits_for_both():
    g = TaskGraph()
    x, y = g.resource("X", "link"), g.resource("Y", "tile")
    g.op("on_x", 3.0, resources=(x,))
    g.op("on_y", 7.0, resources=(y,))
    both = g.op("both", 2.0, resources=(x, y), nbytes=8.0)
    after_x = g.op("on_x", 1.0, resources=(x,), nbytes=4.0)
    s = g.schedule()
    # X frees at 3, Y at 7: "both" at 7..9. The later X op is ready at 0 and X is free at 3:
    # non-delay, it runs 3..4 instead of waiting behind "both".
    assert (s.start[both], s.end[both]) == (7.0, 9.0)
    assert s.start[after_x] == 3.0
    assert s.resource[both] == x and s.server[both] == 0
    assert s.busy_ns.tolist() == [3.0 + 2.0 + 1.0, 7.0 + 2.0]
    assert s.bytes_by_resource() == {"X": 12.0, "Y": 8.0}


def test_barrier_and_zero_duration_ops():
    g = TaskGraph()
    r, q = g.resource("R", "tile"), g.resource("Q", "tile")
    a = g.op("a", 2.0, resources=(r,))
    b = g.op("b", 5.0, resources=(q,))
    zero = g.op("z", 0.0, resources=(r,), deps=(a,))
    bar = g.barrier([a, b, zero], batch=0)
    after = g.op("c", 1.0, resources=(r,), deps=(bar,))
    s = g.schedule()
    # The zero-duration op starts and ends at 2; the barrier at max(2, 5, 2) = 5; c at 5.
    assert (s.start[zero], s.end[zero]) == (2.0, 2.0)
    assert (s.start[bar], s.end[bar]) == (5.0, 5.0)
    assert s.resource[bar] == -1 and s.server[bar] == -1 and s.kinds[s.kind[bar]] == "barrier"
    assert s.batch[bar] == 0 and s.start[after] == 5.0


def test_same_graph_same_schedule():
    def build():
        g = TaskGraph()
        r = [g.resource(f"r{i}", "tile", servers=1 + i % 2) for i in range(3)]
        rng = np.random.default_rng(3)
        for i in range(300):
            deps = [int(d) for d in rng.integers(0, i, size=min(i, 2))] if i else []
            g.op("k", float(rng.integers(0, 5)), resources=(r[i % 3],), deps=deps,
                 priority=(int(rng.integers(0, 3)),))
        return g, g.schedule()
    (g, one), (_, two) = build(), build()
    for name in ("start", "end", "server", "resource"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    # Every dependency ended before its op started ...
    ends = np.repeat(np.arange(g.n_ops), [op[3] for op in g._ops])
    assert np.all(one.end[g._dep_src] <= one.start[ends])
    # ... and no server ran two ops at once (zero-duration ops may share an instant).
    order = np.lexsort((one.end, one.start, one.server, one.resource))
    for prev, nxt in zip(order[:-1], order[1:]):
        if (one.resource[prev], one.server[prev]) == (one.resource[nxt], one.server[nxt]):
            assert one.end[prev] <= one.start[nxt]


def _reference_schedule(servers, ops):
    """The scheduling rule applied literally, O(n**2): ``ops`` are (duration, one, every,
    deps, priority). Returns start times and first servers."""
    free = [[0.0] * k for k in servers]
    n = len(ops)
    start, end, server = [None] * n, [None] * n, [-1] * n
    while None in start:
        best = None
        for i, (dur, one, every, deps, prio) in enumerate(ops):
            if start[i] is not None or any(end[d] is None for d in deps):
                continue
            t = max([0.0] + [end[d] for d in deps] + [min(free[r]) for r in one]
                    + [max(free[r]) for r in every])
            if best is None or (t, prio, i) < best:
                best = (t, prio, i)
        t, _, i = best
        dur, one, every, _, _ = ops[i]
        start[i], end[i] = t, t + dur
        for r in one:
            j = free[r].index(min(free[r]))
            free[r][j] = t + dur
            server[i] = j if server[i] < 0 else server[i]
        for r in every:
            free[r] = [t + dur] * servers[r]
            server[i] = 0 if server[i] < 0 else server[i]
    return start, server


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_the_rule_applied_literally(seed):
    rng = np.random.default_rng(seed)
    servers = [1, 2, 1, 3]
    g = TaskGraph()
    for k, count in enumerate(servers):
        g.resource(f"r{k}", "tile", servers=count)
    ops = []
    for i in range(120):
        deps = sorted({int(d) for d in rng.integers(0, i, size=rng.integers(0, 3))}) if i else []
        kind = rng.integers(0, 10)
        one = [] if kind == 0 else [int(rng.integers(0, 4))]
        every = [int(rng.integers(0, 4))] if kind == 1 else []
        if kind == 2:
            one = [0, 3]
        every = [r for r in every if r not in one]
        dur = float(rng.integers(0, 4))
        prio = (int(rng.integers(0, 3)),)
        g.op("k", dur, resources=one, all_servers=every, deps=deps, priority=prio)
        ops.append((dur, one, every, deps, prio))
    s = g.schedule()
    start, server = _reference_schedule(servers, ops)
    assert s.start.tolist() == start
    assert s.server.tolist() == server


def _buffers(tile_capacity, global_capacity):
    g = TaskGraph()
    r = g.resource("R", "tile")
    g.buffer("global", global_capacity)
    g.buffer("tile", tile_capacity, parent="global")
    return g, r


def test_tensor_that_fits_does_not_spill():
    g, r = _buffers(100.0, 100.0)
    p = g.op("p", 2.0, resources=(r,))
    c = g.op("c", 3.0, resources=(r,), deps=(p,))
    g.tensor(60.0, "tile", p, [c], "act")
    occ = g.schedule().occupancy()
    # Live from 2 (producer end) to 5 (consumer end).
    assert occ.spilled_bytes == 0.0
    assert occ.times["tile"].tolist() == [0.0, 2.0, 5.0]
    assert occ.bytes["tile"].tolist() == [0.0, 60.0, 0.0]
    assert occ.peak_bytes["tile"] == 60.0 and occ.capacity_bytes["tile"] == 100.0
    assert occ.peak_bytes["global"] == 0.0
    assert occ.peak_demand_bytes["total"] == 60.0
    assert occ.buffers["tile"].bytes.tolist() == [0.0, 60.0, 0.0]
    assert occ.buffers["tile"].peak_bytes == 60.0


def test_overflow_goes_to_parent_then_dram():
    g, r = _buffers(50.0, 30.0)
    p1 = g.op("p", 1.0, resources=(r,))
    p2 = g.op("p", 1.0, resources=(r,))
    c = g.op("c", 1.0, resources=(r,), deps=(p1, p2))
    g.tensor(40.0, "tile", p1, [c], "act")    # at 1: tile 40
    g.tensor(30.0, "tile", p2, [c], "psum")   # at 2: tile +10 (full), global +20
    g.tensor(25.0, "global", p2, [c], "act")  # at 2: global +10 (full), DRAM 15
    occ = g.schedule().occupancy()
    # Both released at 3 (c ends). Demand 40 + 30 + 25 = 95 from 2 to 3.
    assert occ.bytes["tile"].tolist() == [0.0, 40.0, 50.0, 0.0]
    assert occ.times["global"].tolist() == [0.0, 2.0, 3.0]
    assert occ.bytes["global"].tolist() == [0.0, 30.0, 0.0]
    assert occ.spilled_bytes == 15.0
    assert occ.spilled_bytes_by_home == {"global": 15.0, "tile": 0.0}
    assert occ.spilled_bytes_by_kind == {"act": 15.0, "psum": 0.0}
    assert occ.tensor_spilled_bytes.tolist() == [0.0, 0.0, 15.0]
    assert occ.peak_demand_bytes == {"global": 25.0, "tile": 70.0, "total": 95.0}


def test_a_chain_spills_across_levels():
    g = TaskGraph()
    r = g.resource("R", "tile")
    g.buffer("global", 10.0)
    g.buffer("tile", 20.0, parent="global")
    g.buffer("pe", 5.0, parent="tile")
    p = g.op("p", 1.0, resources=(r,), batch=0)
    c = g.op("c", 1.0, resources=(r,), deps=(p,), batch=0)
    g.tensor(100.0, "pe", p, [c], "psum")
    occ = g.schedule().occupancy()
    # 100 bytes: pe 5, tile 20, global 10, DRAM 65.
    assert [occ.peak_bytes[b] for b in ("pe", "tile", "global")] == [5.0, 20.0, 10.0]
    assert occ.spilled_bytes == 65.0 and occ.spilled_bytes_by_batch == {0: 65.0}
    assert occ.peak_demand_bytes["pe"] == 100.0


def test_zero_capacity_spills_everything():
    g = TaskGraph()
    r = g.resource("R", "tile")
    g.buffer("none", 0)
    p = g.op("p", 1.0, resources=(r,))
    c = g.op("c", 1.0, resources=(r,), deps=(p,))
    g.tensor(7.0, "none", p, [c], "act")
    g.tensor(3.0, "none", p, [], "dead")      # no consumer: released when allocated, never live
    occ = g.schedule().occupancy()
    assert occ.spilled_bytes == 7.0 and occ.peak_bytes["none"] == 0.0


def test_release_comes_before_allocation_at_equal_times():
    g = TaskGraph()
    r = g.resource("R", "tile")
    g.buffer("tile", 10.0)
    a = g.op("a", 2.0, resources=(r,))
    b = g.op("b", 2.0, resources=(r,), deps=(a,))       # 2..4: consumes x, produces y
    c = g.op("c", 2.0, resources=(r,), deps=(b,))
    g.tensor(10.0, "tile", a, [b], "x")                  # live 2..4
    g.tensor(10.0, "tile", b, [c], "y")                  # live 4..6
    occ = g.schedule().occupancy()
    # At 4, x's release frees the buffer before y is placed: nothing spills, peak 10.
    assert occ.spilled_bytes == 0.0
    assert occ.times["tile"].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert occ.bytes["tile"].tolist() == [0.0, 10.0, 10.0, 0.0]
    assert occ.peak_demand_bytes == {"tile": 10.0, "total": 10.0}


def test_equal_time_allocations_in_tensor_id_order():
    g = TaskGraph()
    r = g.resource("R", "tile")
    g.buffer("tile", 10.0)
    p = g.op("p", 1.0, resources=(r,))
    c = g.op("c", 1.0, resources=(r,), deps=(p,))
    g.tensor(4.0, "tile", p, [c], "first")
    g.tensor(8.0, "tile", p, [c], "second")
    occ = g.schedule().occupancy()
    # Tensor 0 takes 4, tensor 1 gets the remaining 6 and spills 2.
    assert occ.tensor_spilled_bytes.tolist() == [0.0, 2.0]


def test_spilled_space_is_given_back_exactly():
    g = TaskGraph()
    r = g.resource("R", "tile")
    g.buffer("global", 5.0)
    g.buffer("tile", 10.0, parent="global")
    p = g.op("p", 1.0, resources=(r,))
    c1 = g.op("c", 1.0, resources=(r,), deps=(p,))       # ends 2
    c2 = g.op("c", 1.0, resources=(r,), deps=(c1,))      # ends 3
    g.tensor(12.0, "tile", p, [c1], "a")                 # 1..2: tile 10, global 2
    g.tensor(6.0, "tile", c1, [c2], "b")                 # 2..3: tile 6 once a is released
    occ = g.schedule().occupancy()
    assert occ.times["global"].tolist() == [0.0, 1.0, 2.0]
    assert occ.bytes["global"].tolist() == [0.0, 2.0, 0.0]
    assert occ.bytes["tile"].tolist() == [0.0, 10.0, 6.0, 0.0]
    assert occ.spilled_bytes == 0.0


@pytest.mark.parametrize("build, message", [
    (lambda g: g.op("a", -1.0), "duration must be finite and >= 0 ns, not -1.0"),
    (lambda g: g.op("a", float("nan")), "not nan"),
    (lambda g: g.op("a", float("inf")), "not inf"),
    (lambda g: g.resource("x", "tile", servers=0), "servers must be an int >= 1, not 0"),
    (lambda g: g.resource("R", "tile"), "duplicate resource name 'R'"),
    (lambda g: g.op("a", 1.0, resources=(5,)), "unknown resource id 5"),
    (lambda g: g.op("a", 1.0, resources=(0, 7)), "unknown resource id 7"),
    (lambda g: g.op("a", 1.0, all_servers=(-1,)), "unknown resource id -1"),
    (lambda g: g.op("a", 1.0, resources=(0, 0)), "lists a resource twice"),
    (lambda g: g.op("a", 1.0, deps=(1,)), "dependency 1 of op 1 ('a') is not the id"),
    (lambda g: g.op("a", 1.0, deps=(-1,)), "dependency -1 of op 1"),
    (lambda g: g.buffer("tile", 1.0), "duplicate buffer name 'tile'"),
    (lambda g: g.buffer("tile:L0", -1), "buffer 'tile:L0' capacity must be >= 0 bytes, not -1"),
    (lambda g: g.buffer("x", 1.0, parent="nowhere"), "unknown parent buffer 'nowhere'"),
    (lambda g: g.buffer("total", 1.0), "may not be called 'total'"),
    (lambda g: g.tensor(-1.0, "tile", 0, [0], "a"), "tensor size must be finite and >= 0"),
    (lambda g: g.tensor(1.0, "nowhere", 0, [0], "a"), "unknown buffer 'nowhere'"),
    (lambda g: g.tensor(1.0, "tile", 3, [0], "a"), "unknown producer op 3"),
    (lambda g: g.tensor(1.0, "tile", 0, [0, 9], "a"), "unknown consumer op 9"),
])
def test_invalid_input_is_rejected_in_one_line(build, message):
    g = TaskGraph()
    g.resource("R", "tile")
    g.op("first", 1.0, resources=(0,))
    g.buffer("tile", 10.0)
    with pytest.raises(ValueError) as error:
        build(g)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_rejected_op_leaves_the_graph_unchanged():
    g = TaskGraph()
    g.resource("R", "tile", servers=2)
    with pytest.raises(ValueError):
        g.op("write", 1.0, all_servers=(0,), deps=(4,))
    assert g.n_ops == 0 and g.op("a", 1.0, resources=(0,)) == 0
    # Had the rejected op's needs been kept under id 0, "a" would hold both servers.
    s = g.schedule()
    assert s.busy_ns[0] == 1.0 and s.resource[0] == 0


def test_engine_speed_report():
    speed = measure_engine_speed(3_000)
    # Small, so only the shape of the report and that both phases did their work.
    assert speed["ops"] > 2_000 and speed["tensors"] > 2_000
    assert speed["ops_per_s"] > 0 and speed["tensors_per_s"] > 0
