# amaranth: UnusedElaboratable=no
# SPDX-License-Identifier: MIT
"""Tier 1: the partial-sum accumulator RTL in amaranth.sim against golden.psum, bit for bit."""
from __future__ import annotations

import random

import pytest
from amaranth.hdl import Fragment

from dfasim.cosim.sim import ResetHarness, run_testbenches, stream_get, stream_put
from dfasim.cosim.vectors import psum_vectors, reference_psum, sub_seed
from dfasim.rtl.accum import PsumAccumulator
from dfasim.rtl.common.layouts import PsumInputLayout, PsumOutputLayout

# Parameter sets of the random tests: the paper's 16-bit accumulator, an accumulator two bits
# wider than its input (saturation after a few beats), the narrowest words and the widest.
PARAM_SETS = {
    "default": dict(in_width=16, acc_width=16),
    "guard2":  dict(in_width=8, acc_width=10),
    "min":     dict(in_width=1, acc_width=1),
    "min_acc": dict(in_width=1, acc_width=2),
    "wide":    dict(in_width=63, acc_width=63),
    "mixed":   dict(in_width=40, acc_width=42),
}


_Harness = ResetHarness


def reference(beats, rst_before, p):
    """Golden results of ``(codes, last)`` beats when ``rst`` precedes the beats in ``rst_before``.

    A reset drops the group in progress, so the stream is split at each reset and every
    segment is run from a cleared accumulator.
    """
    sums, ovf = [], []
    cuts = [0] + sorted(rst_before) + [len(beats)]
    for start, end in zip(cuts, cuts[1:]):
        seg = beats[start:end]
        s, o = reference_psum([c for c, _ in seg], [l for _, l in seg], **p)
        sums += s
        ovf += o
    return sums, ovf


def rtl_psum(dut, beats, *, rst_before=(), seed=0, gap=0.0, stall=0.0, max_cycles=100_000):
    """Drive ``dut`` with ``(code_list, last)`` beats in amaranth.sim; return its output beats.

    Before beat ``j`` in ``rst_before`` every group closed so far is drained from ``o`` and
    ``rst`` is held for 2 cycles. ``gap`` and ``stall`` (with ``seed``) insert random input
    bubbles and output back-pressure. Returns ``[(sum_list, overflow_list)]``.
    """
    harness = _Harness(dut)
    n_out = len(reference(beats, rst_before, dict(in_width=dut.in_width,
                                                  acc_width=dut.acc_width))[0])
    out = []

    async def producer(ctx):
        rng = random.Random(sub_seed(seed, 100))
        closed = 0
        for j, (code, last) in enumerate(beats):
            if j in rst_before:
                while len(out) < closed:
                    await ctx.tick()
                ctx.set(harness.cd.rst, 1)
                for _ in range(2):              # tick().repeat() would raise DomainReset
                    await ctx.tick()
                ctx.set(harness.cd.rst, 0)
            await stream_put(ctx, dut.i, {"code": code, "last": last}, rng=rng, gap=gap)
            closed += last

    async def consumer(ctx):
        rng = random.Random(sub_seed(seed, 101))
        for _ in range(n_out):
            p = await stream_get(ctx, dut.o, rng=rng, stall=stall)
            out.append((list(p.sum), list(p.overflow)))

    run_testbenches(harness, producer, consumer, max_cycles=max_cycles)
    return out


def check(p, beats, *, lanes, rst_before=(), seed=0, gap=0.0, stall=0.0):
    """Run directed beats through a fresh DUT and compare every output with the golden model."""
    dut = PsumAccumulator(lanes=lanes, **p)
    out = rtl_psum(dut, beats, rst_before=rst_before, seed=seed, gap=gap, stall=stall)
    sums, ovf = reference(beats, rst_before, p)
    assert len(out) == len(sums)
    for g, (got, exp) in enumerate(zip(out, zip(sums, ovf))):
        assert got == exp, f"{p} group {g}: beats={beats}: rtl (sum, overflow) {got} != {exp}"
    return out


# -- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_params(name):
    dut = PsumAccumulator(lanes=3, **PARAM_SETS[name])
    Fragment.get(dut, None)
    assert (dut.lanes, dut.in_width, dut.acc_width) == (3, *PARAM_SETS[name].values())
    assert dut.i.payload.shape() == PsumInputLayout(3, dut.in_width)
    assert dut.o.payload.shape() == PsumOutputLayout(3, dut.acc_width)
    with pytest.raises(AttributeError):
        dut.lanes = 4


@pytest.mark.parametrize("kw, exc, quoted", [
    (dict(lanes=0), ValueError, "0"),
    (dict(lanes=2.0), TypeError, "2.0"),
    (dict(lanes=True), TypeError, "True"),
    (dict(in_width=0), ValueError, "0"),
    (dict(in_width="8"), TypeError, "'8'"),
    (dict(acc_width=64, in_width=8), ValueError, "64"),
    (dict(acc_width=7, in_width=8), ValueError, "7"),     # acc narrower than the input
    (dict(acc_width=None), TypeError, "None"),
])
def test_invalid_params(kw, exc, quoted):
    with pytest.raises(exc, match=quoted.replace(".", r"\.")):
        PsumAccumulator(**(dict(lanes=2) | kw))


# -- random vectors -----------------------------------------------------------------------------

@pytest.mark.parametrize("lanes", [1, 4])
@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_random(name, lanes, seed):
    p = PARAM_SETS[name]
    vec = psum_vectors(lanes=lanes, beats=300, seed=seed, **p)
    dut = PsumAccumulator(lanes=lanes, **p)
    out = rtl_psum(dut, list(zip(vec.codes, vec.last)), seed=seed, gap=0.3, stall=0.3)
    assert len(out) == len(vec.sums)
    for g, got in enumerate(out):
        assert got == (vec.sums[g], vec.overflow[g]), f"{vec.replay(g)}: rtl {got}"
    # The mix must actually reach the clamp on some lane (and stay clear of it on others).
    flags = [f for o in vec.overflow for f in o]
    assert any(flags) and not all(flags)


# -- directed corners ---------------------------------------------------------------------------

def test_order_dependence():
    # Saturating after every add makes the order matter (docs/golden-spec.md).
    p = dict(in_width=8, acc_width=8)
    out = check(p, [([100], 0), ([100], 0), ([-100], 1), ([100], 0), ([-100], 0), ([100], 1)],
                lanes=1)
    assert out == [([27], [1]), ([100], [0])]


@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_overflow_both_ends(name):
    # Lane 0 runs into +max, lane 1 into -min; lane 2 hits the clamp and comes back (sticky
    # flag), lane 3 never clamps. `last` then clears both the sums and the flags.
    p = PARAM_SETS[name]
    lo, hi = -(1 << (p["in_width"] - 1)), (1 << (p["in_width"] - 1)) - 1
    amax = (1 << (p["acc_width"] - 1)) - 1
    n = (amax // max(hi, 1)) + 2 if hi else 2   # enough beats of +max to clamp
    beats = [([hi, lo, hi, 0], 0)] * n + [([hi, lo, lo, 0], 0)] + [([0, 0, 0, lo], 1)]
    beats += [([0, 0, 0, 0], 1), ([lo, hi, 0, hi], 1)]
    out = check(p, beats, lanes=4)
    amin = -(1 << (p["acc_width"] - 1))
    if hi:                                      # in_width 1 has no positive code
        assert out[0][0][0] == amax and out[0][1][0] == 1
    assert out[0][0][1] == amin and out[0][1][1] == 1
    assert out[1] == ([0] * 4, [0] * 4)         # cleared by the previous `last`


def test_sticky_flag_and_clear():
    p = dict(in_width=8, acc_width=8)
    beats = [([127, -128], 0), ([1, -1], 0), ([-100, 100], 0), ([0, 0], 1),
             ([5, -5], 1), ([127, -128], 0), ([-1, 0], 1)]
    out = check(p, beats, lanes=2)
    assert out == [([27, -28], [1, 1]), ([5, -5], [0, 0]), ([126, -128], [0, 0])]


def test_single_beat_groups():
    p = dict(in_width=16, acc_width=16)
    beats = [([x, -x - 1], 1) for x in (0, 1, -1, 32767, -32768)]
    out = check(p, beats, lanes=2)
    assert out[3] == ([32767, -32768], [0, 0])   # full scale in a fresh group: no clamp
    assert out[4] == ([-32768, 32767], [0, 0])


@pytest.mark.parametrize("name", ["default", "guard2", "min_acc"])
def test_reset_mid_stream(name):
    # rst mid-group drops the partial sum and the flag; rst right after `last` changes nothing.
    p = PARAM_SETS[name]
    vec = psum_vectors(lanes=3, beats=60, seed=11, max_group=6, **p)
    beats = list(zip(vec.codes, vec.last))
    first_end = vec.ends[0]
    check(p, beats, lanes=3, rst_before=(2, first_end + 1, 30, 31, 45), gap=0.2, stall=0.2)


@pytest.mark.parametrize("stall, gap", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.8, 0.6)])
def test_back_pressure(stall, gap, seed):
    # Same stimulus under different handshake timing: the groups must not change.
    p = PARAM_SETS["guard2"]
    vec = psum_vectors(lanes=4, beats=120, seed=seed, max_group=4, **p)
    check(p, list(zip(vec.codes, vec.last)), lanes=4, seed=seed, stall=stall, gap=gap)


def test_full_throughput():
    # With ready held high and valid every cycle, one beat is accepted per clock.
    dut = PsumAccumulator(lanes=2, in_width=4, acc_width=6)
    harness = _Harness(dut)
    beats = [([k % 8, -(k % 8)], k % 3 == 2) for k in range(30)]
    ready_cycles, outs = [], []

    async def tb(ctx):
        ctx.set(dut.o.ready, 1)
        cycle = 0
        for code, last in beats:
            ctx.set(dut.i.payload, {"code": code, "last": last})
            ctx.set(dut.i.valid, 1)
            _, _, ready, valid, payload = await ctx.tick().sample(dut.i.ready, dut.o.valid,
                                                                  dut.o.payload)
            ready_cycles.append(ready)
            if valid:
                outs.append((list(payload.sum), list(payload.overflow)))
            cycle += 1
        ctx.set(dut.i.valid, 0)
        _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
        if valid:
            outs.append((list(payload.sum), list(payload.overflow)))

    run_testbenches(harness, tb, max_cycles=100)
    assert all(ready_cycles)
    exp = reference_psum([c for c, _ in beats], [int(l) for _, l in beats], in_width=4,
                         acc_width=6)
    assert outs == list(zip(*exp))


def test_payload_layout():
    # The layouts used by the cocotb tier pack lane 0 into the low bits.
    word = PsumInputLayout(2, 4).const({"code": [-1, 2], "last": 1}).as_bits()
    assert word == 0b1_0010_1111
    out = PsumOutputLayout(2, 3).from_bits(0b10_001_111)
    assert list(out.sum) == [-1, 1] and list(out.overflow) == [0, 1]
