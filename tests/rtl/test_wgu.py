# amaranth: UnusedElaboratable=no
# SPDX-License-Identifier: MIT
"""Tier 1: the weight-gradient unit RTL in amaranth.sim against golden.wgu, bit for bit."""
from __future__ import annotations

import random

import pytest
import torch
from amaranth.hdl import Fragment

from dfasim.cosim.sim import ResetHarness, run_testbenches, stream_get, stream_put
from dfasim.cosim.vectors import sub_seed, wgu_vectors
from dfasim.rtl.common.layouts import WGUCommandLayout, WGUReadoutLayout, WGUUpdateLayout
from dfasim.rtl.wgu import WGU
from dfasim.golden.wgu import wgu_accumulate, wgu_readout

# Parameter sets of the random tests: the paper's 16-bit gradients with 8-bit deltas, a
# 10-bit memory that saturates within a few beats (half-up readout into 8 bits), the narrowest
# words, and wide words with a floor shift by the full gradient width.
PARAM_SETS = {
    "default": dict(rows=4, cols=6, grad_width=16, delta_width=8),
    "narrow":  dict(rows=3, cols=5, grad_width=10, delta_width=8, shift=3, out_width=8,
                    rounding="half_up"),
    "min":     dict(rows=1, cols=1, grad_width=1, delta_width=1),
    "min2":    dict(rows=2, cols=3, grad_width=2, delta_width=1, shift=1, rounding="half_up"),
    "wide":    dict(rows=5, cols=2, grad_width=63, delta_width=62, shift=63, out_width=63),
    "deep":    dict(rows=7, cols=4, grad_width=12, delta_width=12, shift=2, out_width=11),
}


_Harness = ResetHarness


def reference(ops, p):
    """Golden readouts of an op list, one ``[(update_row, overflow_row)]`` list per read.

    Ops are ``("u", row, delta, spikes)`` (one update beat), ``("c", read, clear)`` (a
    command) and ``("r",)`` (a reset pulse, which leaves the memory alone). Each update beat is
    one ``wgu_accumulate`` call on its row; the sticky flags are the union of the per-call
    overflow since the last clear. The memory starts at zero (the tests clear it first).
    """
    rows, cols = p["rows"], p["cols"]
    gw, dw = p.get("grad_width", 16), p.get("delta_width", 8)
    ro = dict(grad_width=gw, shift=p.get("shift", 0), out_width=p.get("out_width"),
              rounding=p.get("rounding", "floor"))
    G = torch.zeros(rows, cols, dtype=torch.int64)
    ovf = torch.zeros(rows, cols, dtype=torch.bool)
    reads = []
    for op in ops:
        if op[0] == "u" and op[1] < rows:
            _, i, d, s = op
            g, o = wgu_accumulate(G[i:i + 1], torch.tensor([[[d]]]), torch.tensor([[s]]),
                                  grad_width=gw, delta_width=dw)
            G[i], ovf[i] = g[0], ovf[i] | o[0]
        elif op[0] == "c":
            _, read, clear = op
            if read:
                upd, _ = wgu_readout(G, clear=False, **ro)
                reads.append(list(zip(upd.tolist(), ovf.to(torch.int64).tolist())))
            if clear:
                G.zero_()
                ovf.zero_()
    return reads


def rtl_wgu(dut, ops, *, seed=0, gap=0.0, stall=0.0, max_cycles=200_000):
    """Drive ``dut`` with an op list (see :func:`reference`) in amaranth.sim.

    ``gap`` and ``stall`` (with ``seed``) insert random input bubbles and readout
    back-pressure. Before a reset every readout issued so far is drained. Returns one
    ``[(row, update_list, overflow_list, last)]`` list per read command.
    """
    harness = _Harness(dut)
    n_rows = sum(dut.rows for op in ops if op[0] == "c" and op[1])
    out = []

    async def producer(ctx):
        rng = random.Random(sub_seed(seed, 100))
        issued = 0
        for op in ops:
            if op[0] == "u":
                _, row, delta, spikes = op
                await stream_put(ctx, dut.i, {"row": row, "delta": delta, "spikes": spikes},
                                 rng=rng, gap=gap)
            elif op[0] == "c":
                await stream_put(ctx, dut.i_cmd, {"read": op[1], "clear": op[2]},
                                 rng=rng, gap=gap)
                issued += dut.rows if op[1] else 0
            else:
                while len(out) < issued:
                    await ctx.tick()
                ctx.set(harness.cd.rst, 1)
                for _ in range(2):              # tick().repeat() would raise DomainReset
                    await ctx.tick()
                ctx.set(harness.cd.rst, 0)

    async def consumer(ctx):
        rng = random.Random(sub_seed(seed, 101))
        for _ in range(n_rows):
            p = await stream_get(ctx, dut.o, rng=rng, stall=stall)
            out.append((p.row, list(p.update), list(p.overflow), p.last))

    run_testbenches(harness, producer, consumer, max_cycles=max_cycles)
    reads = [out[k:k + dut.rows] for k in range(0, len(out), dut.rows)]
    for beats in reads:                         # rows come out in order, `last` on the final one
        assert [b[0] for b in beats] == list(range(dut.rows))
        assert [b[3] for b in beats] == [0] * (dut.rows - 1) + [1]
    return [[(u, o) for _, u, o, _ in beats] for beats in reads]


def check(p, ops, *, seed=0, gap=0.0, stall=0.0):
    """Run an op list through a fresh DUT (cleared first) and compare every readout."""
    ops = [("c", 0, 1)] + list(ops)
    got = rtl_wgu(WGU(**p), ops, seed=seed, gap=gap, stall=stall)
    exp = reference(ops, p)
    assert len(got) == len(exp)
    for r, (g, e) in enumerate(zip(got, exp)):
        assert g == e, f"{p} read {r}: ops={ops}: rtl (update, overflow) {g} != {e}"
    return got


def vector_ops(vec):
    """Turn :class:`~cosim.vectors.WGUVectors` into an op list with a read after each window."""
    ops, start = [], 0
    for w, end in enumerate(vec.ends):
        ops += [("u", vec.row[k], vec.delta[k], vec.spikes[k]) for k in range(start, end)]
        ops.append(("c", 1, vec.clear[w]))
        start = end
    return ops


# -- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_params(name):
    p = PARAM_SETS[name]
    dut = WGU(**p)
    Fragment.get(dut, None)
    ow = p.get("out_width") or p["grad_width"]
    assert (dut.rows, dut.cols, dut.grad_width, dut.delta_width, dut.out_width) == \
        (p["rows"], p["cols"], p["grad_width"], p["delta_width"], ow)
    assert (dut.shift, dut.rounding) == (p.get("shift", 0), p.get("rounding", "floor"))
    assert dut.i.payload.shape() == WGUUpdateLayout(p["rows"], p["cols"], p["delta_width"])
    assert dut.i_cmd.payload.shape() == WGUCommandLayout()
    assert dut.o.payload.shape() == WGUReadoutLayout(p["rows"], p["cols"], ow)
    with pytest.raises(AttributeError):
        dut.rows = 4


@pytest.mark.parametrize("kw, exc, quoted", [
    (dict(rows=0), ValueError, "0"),
    (dict(cols=0), ValueError, "0"),
    (dict(rows=2.0), TypeError, "2.0"),
    (dict(cols=True), TypeError, "True"),
    (dict(grad_width=0), ValueError, "0"),
    (dict(grad_width=64), ValueError, "64"),
    (dict(delta_width=63), ValueError, "63"),
    (dict(delta_width="8"), TypeError, "'8'"),
    (dict(out_width=0), ValueError, "0"),
    (dict(shift=17), ValueError, "17"),
    (dict(shift=-1), ValueError, "-1"),
    (dict(grad_width=63, shift=63, rounding="half_up"), ValueError, "63"),
    (dict(rounding="nearest"), ValueError, "'nearest'"),
    (dict(rounding=None), TypeError, "None"),
])
def test_invalid_params(kw, exc, quoted):
    with pytest.raises(exc, match=quoted.replace(".", r"\.")):
        WGU(**(dict(rows=2, cols=3) | kw))


# -- random vectors -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_random(name, seed):
    p = PARAM_SETS[name]
    vec = wgu_vectors(pairs=max(40, 240 // p["rows"]), seed=seed, max_window=24, **p)
    ops = [("c", 0, 1)] + vector_ops(vec)
    got = rtl_wgu(WGU(**p), ops, seed=seed, gap=0.3, stall=0.3)
    assert len(got) == len(vec.ends)
    for w, read in enumerate(got):
        for row, (upd, ovf) in enumerate(read):
            exp = (vec.update[w][row], vec.overflow[w][row])
            assert (upd, ovf) == exp, f"{vec.replay(w, row)}: rtl {upd} {ovf}"
    # The mix must reach the clamp on some words and stay clear of it on others (16-bit words
    # need hundreds of same-sign 8-bit deltas; test_saturation_both_ends covers those).
    flags = [f for w in vec.overflow for r in w for f in r]
    assert not all(flags)
    if p["grad_width"] - p["delta_width"] <= 4:
        assert any(flags)


# -- directed corners ---------------------------------------------------------------------------

def test_order_dependence():
    # Saturating after every add makes the order matter (docs/golden-spec.md): from G = 120
    # in 8 bits, +10 +10 -10 -10 in t-major order gives 107 (and sets the flag), while
    # -10 -10 +10 +10 gives 120 and no flag.
    p = dict(rows=1, cols=2, grad_width=8, delta_width=8)
    ops = [("u", 0, 120, [1, 1])]
    ops += [("u", 0, d, [1, 0]) for d in (10, 10, -10, -10)]
    ops += [("u", 0, d, [0, 1]) for d in (-10, -10, 10, 10)]
    ops.append(("c", 1, 0))
    assert check(p, ops) == [[([107, 120], [1, 0])]]
    G, ovf = wgu_accumulate(torch.tensor([[120]]), torch.tensor([[[10]], [[10]], [[-10]],
                                                                 [[-10]]]),
                            torch.ones(4, 1, 1, dtype=torch.int64), grad_width=8)
    assert G.item() == 107 and ovf.item()


@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_saturation_both_ends(name):
    # Column 0 runs into +max, column 1 into -min; column 2 clamps and comes back (the flag
    # stays set); column 3 never clamps. A clear-on-read then drops values and flags.
    p = dict(PARAM_SETS[name], cols=4)
    dw, gw = p["delta_width"], p["grad_width"]
    lo, hi = -(1 << (dw - 1)), (1 << (dw - 1)) - 1
    n_pos = ((1 << (gw - 1)) // max(hi, 1)) + 2     # enough beats to reach either clamp
    n_neg = ((1 << (gw - 1)) // -lo) + 2
    ops = []
    for row in range(p["rows"]):
        ops += [("u", row, hi, [1, 0, 1, 0]) for _ in range(n_pos)]
        ops += [("u", row, lo, [0, 1, 0, 0]) for _ in range(n_neg)]
        ops += [("u", row, lo, [0, 0, 1, 1])]
    ops += [("c", 1, 1), ("c", 1, 0)]
    got = check(p, ops)
    for _, o in got[0]:                         # delta_width 1 has no positive code
        assert o == [int(hi > 0), 1, int(hi > 0), 0]
    assert all(u == [0] * 4 and o == [0] * 4 for u, o in got[1])


def test_sticky_overflow_and_clear():
    p = dict(rows=2, cols=2, grad_width=8, delta_width=8)
    ops = [("u", 0, 127, [1, 1]), ("u", 0, 1, [1, 0]), ("u", 0, -100, [1, 1]),
           ("u", 1, -128, [0, 1]), ("u", 1, -1, [0, 1]), ("u", 1, 100, [1, 1]),
           ("c", 1, 0),                          # read without clear: flags stay
           ("u", 0, 1, [1, 1]), ("c", 1, 1),     # clear-on-read
           ("u", 0, 5, [1, 0]), ("c", 1, 0),     # fresh window: no flags
           ("c", 0, 1), ("c", 0, 0), ("c", 1, 0)]   # plain clear, no-op, read zeros
    got = check(p, ops)
    assert got[0] == [([27, 27], [1, 0]), ([100, -28], [0, 1])]
    assert got[1] == [([28, 28], [1, 0]), ([100, -28], [0, 1])]
    assert got[2] == [([5, 0], [0, 0]), ([0, 0], [0, 0])]
    assert got[3] == [([0, 0], [0, 0])] * 2


def test_back_to_back_same_row():
    # Every beat hits the row that the previous beat is writing: the transparent read port
    # forwards it, so the unit takes one beat per cycle and still matches the golden sums.
    p = dict(rows=1, cols=3, grad_width=8, delta_width=8)
    dut = WGU(**p)
    harness = _Harness(dut)
    beats = [(0, (k * 37) % 256 - 128, [k & 1, (k >> 1) & 1, 1]) for k in range(40)]
    ready, got = [], []

    async def tb(ctx):
        await stream_put(ctx, dut.i_cmd, {"read": 0, "clear": 1})
        while not ctx.get(dut.i.ready):
            await ctx.tick()
        for row, delta, spikes in beats:
            ctx.set(dut.i.payload, {"row": row, "delta": delta, "spikes": spikes})
            ctx.set(dut.i.valid, 1)
            _, _, r = await ctx.tick().sample(dut.i.ready)
            ready.append(r)
        ctx.set(dut.i.valid, 0)
        await stream_put(ctx, dut.i_cmd, {"read": 1, "clear": 0})
        q = await stream_get(ctx, dut.o)
        got.append((list(q.update), list(q.overflow)))

    run_testbenches(harness, tb, max_cycles=500)
    assert all(ready)
    exp = reference([("u", *b) for b in beats] + [("c", 1, 0)], p)
    assert got == exp[0]


def test_rows_out_of_range_dropped():
    # rows = 3 has a 2-bit row index; row 3 is accepted and ignored.
    p = dict(rows=3, cols=2, grad_width=8, delta_width=8)
    got = check(p, [("u", 3, 50, [1, 1]), ("u", 2, 7, [0, 1]), ("c", 1, 0)])
    assert got == [[([0, 0], [0, 0]), ([0, 0], [0, 0]), ([0, 7], [0, 0])]]


@pytest.mark.parametrize("rounding", ["floor", "half_up"])
def test_readout_rounding(rounding):
    # Ties and negative values around the rounding point, then saturation to 4 bits.
    p = dict(rows=1, cols=8, grad_width=8, delta_width=8, shift=2, out_width=4,
             rounding=rounding)
    vals = [-6, -5, -2, -1, 2, 6, 29, -40]
    got = check(p, [("u", 0, v, [int(j == c) for j in range(8)]) for c, v in enumerate(vals)]
                + [("c", 1, 0)])
    exp = {"floor": [-2, -2, -1, -1, 0, 1, 7, -8], "half_up": [-1, -1, 0, 0, 1, 2, 7, -8]}
    assert got[0][0][0] == exp[rounding]


@pytest.mark.parametrize("name", ["default", "narrow", "min2"])
def test_reset_mid_stream(name):
    # rst between update beats and in the middle of a readout: the memory keeps its contents,
    # the aborted readout is simply repeated.
    p = PARAM_SETS[name]
    vec = wgu_vectors(pairs=30, seed=5, max_window=10, **p)
    ops = vector_ops(vec)
    ops = ops[:3] + [("r",)] + ops[3:7] + [("r",), ("r",)] + ops[7:]
    check(p, ops, gap=0.2, stall=0.2)


def test_reset_aborts_readout():
    p = dict(rows=6, cols=2, grad_width=8, delta_width=8)
    dut = WGU(**p)
    harness = _Harness(dut)
    got = []

    async def tb(ctx):
        await stream_put(ctx, dut.i_cmd, {"read": 0, "clear": 1})
        for row in range(6):
            await stream_put(ctx, dut.i, {"row": row, "delta": row - 3, "spikes": [1, 1]})
        await stream_put(ctx, dut.i_cmd, {"read": 1, "clear": 0})
        await stream_get(ctx, dut.o)            # take two rows, then reset
        await stream_get(ctx, dut.o)
        ctx.set(harness.cd.rst, 1)
        for _ in range(2):
            await ctx.tick()
        ctx.set(harness.cd.rst, 0)
        assert not ctx.get(dut.o.valid)
        await stream_put(ctx, dut.i_cmd, {"read": 1, "clear": 0})
        for _ in range(6):
            q = await stream_get(ctx, dut.o)
            got.append((q.row, list(q.update)))

    run_testbenches(harness, tb, max_cycles=500)
    assert got == [(r, [r - 3] * 2) for r in range(6)]


@pytest.mark.parametrize("stall, gap", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.8, 0.6)])
def test_back_pressure(stall, gap, seed):
    # Same stimulus under different handshake timing: the readouts must not change.
    p = PARAM_SETS["narrow"]
    vec = wgu_vectors(pairs=40, seed=seed, max_window=8, **p)
    check(p, vector_ops(vec), seed=seed, stall=stall, gap=gap)


def test_payload_layout():
    # The layouts used by the cocotb tier pack the row index and column 0 into the low bits.
    word = WGUUpdateLayout(3, 2, 4).const({"row": 2, "delta": -1, "spikes": [1, 0]}).as_bits()
    assert word == 0b01_1111_10
    assert WGUCommandLayout().const({"read": 1, "clear": 0}).as_bits() == 0b01
    out = WGUReadoutLayout(2, 2, 3).from_bits(0b1_10_001_111_1)
    assert (out.row, list(out.update), list(out.overflow), out.last) == (1, [-1, 1], [0, 1], 1)
