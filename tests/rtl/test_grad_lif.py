# amaranth: UnusedElaboratable=no
# SPDX-License-Identifier: MIT
"""Tier 1: the GradLIF RTL in amaranth.sim against golden.grad_lif, bit for bit."""
from __future__ import annotations

import dataclasses
import random

import pytest
from amaranth.hdl import Fragment

from dfasim.cosim.sim import ResetHarness, run_testbenches, stream_get, stream_put
from dfasim.cosim.vectors import (grad_lif_vectors, reference_backward, reference_forward,
                           sub_seed)
from dfasim.rtl.common.layouts import GradLIFInputLayout
from dfasim.rtl.neuron import GradLIF
from dfasim.golden.grad_lif import GradLIFParams

# Parameter sets shared by the random tests: defaults, every reset mode, IF (leak_shift 0),
# narrow and wide words, a surrogate wider than the threshold window, and an explicit shift.
PARAM_SETS = {
    "default":  dict(),
    "soft_if":  dict(reset="soft", leak_shift=0),
    "none_k1":  dict(reset="none", leak_shift=1, threshold=300),
    "narrow":   dict(mem_width=6, frac_bits=2, current_width=4, err_width=3, delta_width=3,
                     threshold=5, sg_width=4, leak_shift=1),
    "min":      dict(mem_width=2, frac_bits=1, current_width=1, err_width=1, delta_width=1,
                     threshold=1, sg_width=1, grad_shift=0, leak_shift=1),
    "wide":     dict(mem_width=62, current_width=60, err_width=37, delta_width=62,
                     frac_bits=20, threshold=1 << 21, sg_width=1 << 24, leak_shift=61),
    "shift":    dict(mem_width=12, current_width=14, sg_width=100, grad_shift=3,
                     threshold=90, err_width=10, delta_width=6, leak_shift=3, reset="soft"),
}


_Harness = ResetHarness


def rtl_grad_lif(dut, fwd, bwd, *, fwd_wait=None, bwd_wait=None, rst_before=(), seed=0,
                 gap=0.0, stall=0.0, max_cycles=200_000):
    """Drive ``dut`` through amaranth.sim and return ``(forward_out, delta_out)``.

    ``fwd`` is a list of ``(current_list, first)`` beats and ``bwd`` of ``(step, err_list)``
    beats. Forward beat ``j`` is sent once ``fwd_wait[j]`` backward beats were accepted and
    backward beat ``k`` once ``bwd_wait[k]`` forward beats were accepted (default: all of
    them), which fixes which store write each read sees. Before forward beat ``j`` in
    ``rst_before``, all outputs are drained and ``rst`` is held for 2 cycles. ``gap`` and
    ``stall`` (with ``seed``) insert random input bubbles and output back-pressure.
    Returns ``[(spike_list, u_list, step)]`` and ``[delta_list]``.
    """
    fwd_wait = fwd_wait or [0] * len(fwd)
    bwd_wait = bwd_wait or [len(fwd)] * len(bwd)
    harness = _Harness(dut)
    out, deltas = [], []
    sent = {"fwd": 0, "bwd": 0}

    async def fwd_producer(ctx):
        rng = random.Random(sub_seed(seed, 100))
        for j, (current, first) in enumerate(fwd):
            if j in rst_before:
                while len(out) < j:
                    await ctx.tick()
                ctx.set(harness.cd.rst, 1)
                for _ in range(2):              # tick().repeat() would raise DomainReset
                    await ctx.tick()
                ctx.set(harness.cd.rst, 0)
            while sent["bwd"] < fwd_wait[j]:
                await ctx.tick()
            await stream_put(ctx, dut.i, {"current": current, "first": first}, rng=rng, gap=gap)
            sent["fwd"] += 1

    async def bwd_producer(ctx):
        rng = random.Random(sub_seed(seed, 101))
        for k, (step, err) in enumerate(bwd):
            while sent["fwd"] < bwd_wait[k]:
                await ctx.tick()
            await stream_put(ctx, dut.i_err, {"err": err, "step": step}, rng=rng, gap=gap)
            sent["bwd"] += 1

    async def fwd_consumer(ctx):
        rng = random.Random(sub_seed(seed, 102))
        for _ in fwd:
            p = await stream_get(ctx, dut.o, rng=rng, stall=stall)
            out.append((list(p.spike), list(p.u), p.step))

    async def bwd_consumer(ctx):
        rng = random.Random(sub_seed(seed, 103))
        for _ in bwd:
            p = await stream_get(ctx, dut.o_delta, rng=rng, stall=stall)
            deltas.append(list(p.delta))

    run_testbenches(harness, fwd_producer, bwd_producer, fwd_consumer, bwd_consumer,
                    max_cycles=max_cycles)
    return out, deltas


def make(kw, *, lanes=4, max_timesteps=8):
    """Return the DUT and the golden parameters for one keyword set."""
    return GradLIF(lanes=lanes, max_timesteps=max_timesteps, **kw), GradLIFParams(**kw)


def check_directed(kw, currents, first, *, lanes, max_timesteps=8, rst_before=(), seed=0,
                   gap=0.0, stall=0.0):
    """Run a directed forward sequence, then read back every store word with random errors."""
    dut, p = make(kw, lanes=lanes, max_timesteps=max_timesteps)
    ref_first = [f or j in rst_before for j, f in enumerate(first)]
    spikes, us, steps = reference_forward(currents, ref_first, p, max_timesteps=max_timesteps)
    store = {}
    for u, step in zip(us, steps):
        store[step] = u                      # a step keeps the latest write
    rng = random.Random(seed)
    lo, hi = -(1 << (p.err_width - 1)), (1 << (p.err_width - 1)) - 1
    bwd = [(step, [rng.randint(lo, hi) for _ in range(lanes)]) for step in sorted(store)]
    bwd += [(step, [lo] * lanes) for step in sorted(store)] + [(s, [hi] * lanes) for s in store]
    out, deltas = rtl_grad_lif(dut, list(zip(currents, first)), bwd, rst_before=rst_before,
                               seed=seed, gap=gap, stall=stall)
    for j, ((s, u, st), exp) in enumerate(zip(out, zip(spikes, us, steps))):
        assert (s, u, st) == exp, (f"{kw} beat {j}: current={currents[j]} first={first[j]}: "
                                   f"rtl (spike, u, step) {(s, u, st)} != golden {exp}")
    assert len(out) == len(currents)
    exp_delta = reference_backward([store[s] for s, _ in bwd], [e for _, e in bwd], p)
    for k, (got, exp) in enumerate(zip(deltas, exp_delta)):
        assert got == exp, (f"{kw} backward {k}: step={bwd[k][0]} u={store[bwd[k][0]]} "
                            f"err={bwd[k][1]}: rtl delta {got} != golden {exp}")
    assert len(deltas) == len(bwd)
    return out


# -- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_params_mirror_golden(name):
    # The RTL resolves defaults exactly like GradLIFParams, so one keyword set drives both.
    kw = PARAM_SETS[name]
    dut, p = make(kw)
    Fragment.get(dut, None)                 # elaborates for every parameter set
    for field in dataclasses.fields(p):
        assert getattr(dut, field.name) == getattr(p, field.name), field.name
    assert dut.h_width == p.h_width


@pytest.mark.parametrize("kw, exc", [
    (dict(lanes=0), ValueError),
    (dict(lanes=2.0), TypeError),
    (dict(lanes=True), TypeError),
    (dict(max_timesteps=0), ValueError),
    (dict(mem_width=8, threshold=128), ValueError),     # theta must fit mem_width signed bits
    (dict(mem_width=1), ValueError),
    (dict(threshold=0), ValueError),
    (dict(reset="soft-ish"), ValueError),
    (dict(reset=1), TypeError),
    (dict(leak_shift=16), ValueError),
    (dict(sg_width=3), ValueError),                     # no default grad_shift for g = 3
    (dict(err_width=60), ValueError),                   # h_width + err_width > 62
    (dict(frac_bits=0), ValueError),                    # default threshold rounds to 0
    (dict(current_width="16"), TypeError),
])
def test_invalid_params(kw, exc):
    kw = dict(lanes=2) | kw
    bad = next(k for k in kw if k != "lanes") if len(kw) > 1 else "lanes"
    with pytest.raises(exc, match=repr(kw[bad]).replace(".", r"\.")):
        GradLIF(**kw)
    golden_kw = {k: v for k, v in kw.items() if k not in ("lanes", "max_timesteps")}
    if golden_kw:                           # the golden model rejects the same values
        with pytest.raises(exc):
            GradLIFParams(**golden_kw)


# -- random vectors -----------------------------------------------------------------------------

@pytest.mark.parametrize("lanes", [1, 4])
@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_random(name, lanes, seed):
    kw = PARAM_SETS[name]
    steps, samples = 6, 8
    dut, p = make(kw, lanes=lanes, max_timesteps=8)
    vec = grad_lif_vectors(p, lanes=lanes, samples=samples, steps=steps, seed=seed)
    fwd = [(vec.currents[n][t], int(t == 0)) for n in range(samples) for t in range(steps)]
    bwd, bwd_pos = [], {}
    for n in range(samples):
        for t in vec.order[n]:
            bwd_pos[n, t] = len(bwd)
            bwd.append((t, vec.errs[n][t]))
    # Sample n+1 may overwrite step t as soon as the read of (n, t) was accepted: forward and
    # backward beats overlap in time while every read still sees a defined store word.
    fwd_wait = [0 if n == 0 else bwd_pos[n - 1, t] + 1
                for n in range(samples) for t in range(steps)]
    bwd_wait = [(n + 1) * steps for n in range(samples) for _ in range(steps)]
    out, deltas = rtl_grad_lif(dut, fwd, bwd, fwd_wait=fwd_wait, bwd_wait=bwd_wait, seed=seed,
                               gap=0.3, stall=0.3)
    assert len(out) == len(fwd) and len(deltas) == len(bwd)
    for j, (s, u, st) in enumerate(out):
        n, t = divmod(j, steps)
        exp = (vec.spikes[n][t], vec.u[n][t], t)
        assert (s, u, st) == exp, f"{vec.replay(n, t)}: rtl (spike, u, step) {(s, u, st)}"
    for k, got in enumerate(deltas):
        n, t = divmod(k, steps)
        t = vec.order[n][t]
        assert got == vec.delta[n][t], f"{vec.replay(n, t)}: rtl delta {got}"


# -- directed corners ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "narrow", "min", "wide"])
def test_saturation_both_ends(name):
    # Full-scale currents of one sign drive u into the clamp; IF (no leak) keeps it there.
    kw = PARAM_SETS[name] | dict(leak_shift=0, reset="none")
    p = GradLIFParams(**kw)
    hi, lo = (1 << (p.current_width - 1)) - 1, -(1 << (p.current_width - 1))
    currents = [[hi, lo]] * 6 + [[lo, hi]] * 6 + [[hi, hi]] + [[lo, lo]]
    out = check_directed(kw, currents, [1] + [0] * 5 + [1] + [0] * 7, lanes=2,
                         max_timesteps=16)
    mhi, mlo = (1 << (p.mem_width - 1)) - 1, -(1 << (p.mem_width - 1))
    seen = {x for _, u, _ in out for x in u}
    assert mlo in seen                           # the negative end is always reachable
    assert mhi in seen or 6 * hi < mhi           # 6 beats of +max reach the positive end


@pytest.mark.parametrize("reset", ["hard", "soft", "none"])
@pytest.mark.parametrize("leak_shift", [0, 2])
def test_threshold_and_reset(reset, leak_shift):
    # u == theta must not fire, theta + 1 must; then the membrane follows the reset mode.
    kw = dict(reset=reset, leak_shift=leak_shift, threshold=100)
    currents = [[100, 101, 99, 0], [0, 0, 1, 200], [0, 5, 0, -300], [40, -3, 2, 1],
                [100, 101, 99, 0], [1, 1, 1, 1]]
    first = [1, 0, 0, 0, 1, 0]
    out = check_directed(kw, currents, first, lanes=4)
    assert out[0][0] == [0, 1, 0, 0]


@pytest.mark.parametrize("name", ["default", "soft_if", "narrow"])
def test_reset_mid_stream(name):
    # rst between beats clears membranes and the step counter; so does `first` mid-sample.
    kw = PARAM_SETS[name]
    p = GradLIFParams(**kw)
    rng = random.Random(7)
    hi = (1 << (p.current_width - 1)) - 1
    currents = [[rng.randint(-hi, hi) for _ in range(3)] for _ in range(20)]
    first = [int(j in (0, 9)) for j in range(20)]
    check_directed(kw, currents, first, lanes=3, max_timesteps=16, rst_before=(4, 13, 14),
                   gap=0.2, stall=0.2)


def test_store_wraps():
    # A sample longer than the store wraps the step index; a step keeps its latest u.
    currents = [[t * 7 - 20, 50 - t] for t in range(11)]
    out = check_directed({}, currents, [1] + [0] * 10, lanes=2, max_timesteps=4)
    assert [st for _, _, st in out] == [t % 4 for t in range(11)]


def test_store_single_word():
    check_directed({}, [[30, -30], [200, 100], [0, 0]], [1, 0, 1], lanes=2, max_timesteps=1)


@pytest.mark.parametrize("stall, gap", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.8, 0.6)])
def test_back_pressure(stall, gap, seed):
    # Same stimulus under different handshake timing: the beats must not change.
    rng = random.Random(seed)
    currents = [[rng.randint(-400, 400) for _ in range(4)] for _ in range(24)]
    first = [int(j % 8 == 0) for j in range(24)]
    check_directed({}, currents, first, lanes=4, max_timesteps=8, seed=seed, stall=stall,
                   gap=gap)


def test_sixteen_lanes(seed):
    p = GradLIFParams()
    vec = grad_lif_vectors(p, lanes=16, samples=2, steps=8, seed=seed)
    currents = [c for n in range(2) for c in vec.currents[n]]
    check_directed({}, currents, [int(j % 8 == 0) for j in range(16)], lanes=16, seed=seed,
                   stall=0.25, gap=0.25)


def test_payload_layout():
    # The layout used by the cocotb tier packs lane 0 into the low bits.
    word = GradLIFInputLayout(2, 4).const({"current": [-1, 2], "first": 1}).as_bits()
    assert word == 0b1_0010_1111
