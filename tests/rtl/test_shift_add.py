# amaranth: UnusedElaboratable=no
# SPDX-License-Identifier: MIT
"""Tier 1: the shift-adder RTL in amaranth.sim against golden.psum.shift_add, bit for bit."""
from __future__ import annotations

import random

import pytest
import torch
from amaranth.hdl import Fragment

from dfasim.cosim.sim import ResetHarness, run_testbenches, stream_get, stream_put
from dfasim.cosim.vectors import reference_shift_add, shift_add_vectors, sub_seed
from dfasim.rtl.accum import ShiftAdder
from dfasim.rtl.common.layouts import (ShiftAddDiffInputLayout, ShiftAddInputLayout,
                                       ShiftAddOutputLayout)
from dfasim.golden.psum import differential_codes

# Parameter sets: the paper's 4 slices of 4-bit cells read by 4-bit ADCs (code and
# differential mode), a 2-slice 8-bit-output variant that saturates often, a single slice,
# the narrowest words, and the widest exact sum the golden model allows (63 bits).
PARAM_SETS = {
    "default":  dict(slices=4, slice_bits=4, code_width=5, acc_width=16),
    "diff":     dict(slices=4, slice_bits=4, adc_bits=4, acc_width=16),
    "diff3":    dict(slices=3, slice_bits=2, adc_bits=3, acc_width=6),
    "narrow":   dict(slices=2, slice_bits=3, code_width=5, acc_width=8),
    "single":   dict(slices=1, slice_bits=4, code_width=5, acc_width=5),
    "min":      dict(slices=1, slice_bits=1, code_width=1, acc_width=1),
    "min2":     dict(slices=2, slice_bits=1, code_width=1, acc_width=1),
    "wide":     dict(slices=3, slice_bits=20, code_width=22, acc_width=63),
    "wide_sat": dict(slices=3, slice_bits=20, code_width=22, acc_width=50),
}


_Harness = ResetHarness


def rtl_shift_add(dut, payloads, *, rst_before=(), seed=0, gap=0.0, stall=0.0,
                  max_cycles=100_000):
    """Drive ``dut`` with input payload dicts in amaranth.sim; return ``[(psum, overflow)]``.

    Before beat ``j`` in ``rst_before`` every earlier beat is drained from ``o`` and ``rst`` is
    held for 2 cycles. ``gap`` and ``stall`` (with ``seed``) insert bubbles and back-pressure.
    """
    harness = _Harness(dut)
    out = []

    async def producer(ctx):
        rng = random.Random(sub_seed(seed, 100))
        for j, payload in enumerate(payloads):
            if j in rst_before:
                while len(out) < j:
                    await ctx.tick()
                ctx.set(harness.cd.rst, 1)
                for _ in range(2):
                    await ctx.tick()
                ctx.set(harness.cd.rst, 0)
            await stream_put(ctx, dut.i, payload, rng=rng, gap=gap)

    async def consumer(ctx):
        rng = random.Random(sub_seed(seed, 101))
        for _ in payloads:
            p = await stream_get(ctx, dut.o, rng=rng, stall=stall)
            out.append((list(p.psum), list(p.overflow)))

    run_testbenches(harness, producer, consumer, max_cycles=max_cycles)
    return out


def make(name, lanes):
    return ShiftAdder(lanes=lanes, **PARAM_SETS[name])


def check_codes(p, codes, *, lanes, **kw):
    """Run ``codes[beat][slice][lane]`` through a code-mode DUT and compare with the golden."""
    dut = ShiftAdder(lanes=lanes, **p)
    out = rtl_shift_add(dut, [{"code": c} for c in codes], **kw)
    psum, ovf = reference_shift_add(codes, slice_bits=dut.slice_bits,
                                    code_width=dut.code_width, acc_width=dut.acc_width)
    for j, (got, exp) in enumerate(zip(out, zip(psum, ovf))):
        assert got == exp, f"{p} beat {j}: codes={codes[j]}: rtl (psum, overflow) {got} != {exp}"
    assert len(out) == len(codes)
    return out


# -- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_params(name):
    dut = make(name, 3)
    Fragment.get(dut, None)
    p = PARAM_SETS[name]
    assert dut.slices == p["slices"] and dut.acc_width == p["acc_width"]
    assert dut.differential == ("adc_bits" in p)
    assert dut.code_width == p.get("code_width", p.get("adc_bits", 0) + 1)
    assert dut.sum_width == dut.code_width + dut.slice_bits * (dut.slices - 1) + 1 <= 63
    if dut.differential:
        assert dut.i.payload.shape() == ShiftAddDiffInputLayout(3, dut.slices, dut.adc_bits)
    else:
        assert dut.i.payload.shape() == ShiftAddInputLayout(3, dut.slices, dut.code_width)
    assert dut.o.payload.shape() == ShiftAddOutputLayout(3, dut.acc_width)
    with pytest.raises(AttributeError):
        dut.slices = 2


def test_defaults():
    dut = ShiftAdder(lanes=2, slices=4)
    diff = ShiftAdder(lanes=2, slices=4, adc_bits=4)
    for d in (dut, diff):
        Fragment.get(d, None)
    assert (dut.slice_bits, dut.code_width, dut.acc_width, dut.adc_bits) == (4, 5, 16, None)
    assert (diff.code_width, diff.differential) == (5, True)


@pytest.mark.parametrize("kw, exc, quoted", [
    (dict(lanes=0), ValueError, "0"),
    (dict(lanes=1.5), TypeError, "1.5"),
    (dict(slices=0), ValueError, "0"),
    (dict(slices=True), TypeError, "True"),
    (dict(slice_bits=0), ValueError, "0"),
    (dict(slice_bits=33), ValueError, "33"),
    (dict(code_width=0), ValueError, "0"),
    (dict(code_width=9, acc_width=8), ValueError, "8"),       # acc narrower than a code
    (dict(acc_width=64), ValueError, "64"),
    (dict(acc_width="16"), TypeError, "'16'"),
    (dict(adc_bits=0), ValueError, "0"),
    (dict(adc_bits=4.0), TypeError, "4.0"),
    (dict(adc_bits=4, code_width=6), ValueError, "6"),        # must be adc_bits + 1
    (dict(slices=16, slice_bits=4, code_width=5), ValueError, "16"),   # 66-bit sum
])
def test_invalid_params(kw, exc, quoted):
    with pytest.raises(exc, match=quoted.replace(".", r"\.")):
        ShiftAdder(**(dict(lanes=2, slices=4) | kw))


# -- random vectors -----------------------------------------------------------------------------

@pytest.mark.parametrize("lanes", [1, 3])
@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_random(name, lanes, seed):
    dut = make(name, lanes)
    vec = shift_add_vectors(lanes=lanes, slices=dut.slices, slice_bits=dut.slice_bits,
                            code_width=dut.code_width, acc_width=dut.acc_width,
                            adc_bits=dut.adc_bits, beats=200, seed=seed)
    if dut.differential:
        payloads = [{"pos": p, "neg": n} for p, n in zip(vec.pos, vec.neg)]
    else:
        payloads = [{"code": c} for c in vec.codes]
    out = rtl_shift_add(dut, payloads, seed=seed, gap=0.3, stall=0.3)
    assert len(out) == len(payloads)
    for j, got in enumerate(out):
        assert got == (vec.psum[j], vec.overflow[j]), f"{vec.replay(j)}: rtl {got}"


# -- directed corners ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "narrow", "single", "min", "min2", "wide",
                                  "wide_sat"])
def test_extremes(name):
    # All-max and all-min codes give the largest sums of either sign; one-hot slices check
    # each slice's significance; the rest mixes signs so that slices cancel.
    p = PARAM_SETS[name]
    s, cw = p["slices"], p["code_width"]
    lo, hi = -(1 << (cw - 1)), (1 << (cw - 1)) - 1
    codes = [[[hi] * s, [lo] * s], [[lo] * s, [hi] * s], [[0] * s, [-1] * s]]
    for k in range(s):
        codes.append([[hi if j == k else 0 for j in range(s)],
                      [lo if j == k else 0 for j in range(s)]])
    codes.append([[hi if j % 2 else lo for j in range(s)], [lo if j % 2 else hi for j in range(s)]])
    # codes is [beat][lane][slice] above; the DUT takes [beat][slice][lane]
    codes = [[list(col) for col in zip(*beat)] for beat in codes]
    out = check_codes(p, codes, lanes=2)
    a_hi, a_lo = (1 << (p["acc_width"] - 1)) - 1, -(1 << (p["acc_width"] - 1))
    exact_hi = sum(hi << (p["slice_bits"] * k) for k in range(s))
    exact_lo = sum(lo << (p["slice_bits"] * k) for k in range(s))
    assert out[0] == ([min(exact_hi, a_hi), max(exact_lo, a_lo)],
                      [int(exact_hi > a_hi), int(exact_lo < a_lo)])


def test_paper_weight_round_trip():
    # A signed 16-bit weight stored as 4 differential pairs of 4-bit cells comes back exactly
    # when every cell is read alone (one active input row): the ADC codes are the cells.
    dut_kw = PARAM_SETS["diff"]
    weights = [0, 1, -1, 255, -256, 32767, -32767, 4660, -22136]
    pos, neg = [], []
    for w in weights:
        wp, wn = max(w, 0), max(-w, 0)
        pos.append([(wp >> (4 * k)) & 15 for k in range(4)])
        neg.append([(wn >> (4 * k)) & 15 for k in range(4)])
    payloads = [{"pos": [[pos[b][k]] for k in range(4)], "neg": [[neg[b][k]] for k in range(4)]}
                for b in range(len(weights))]
    out = rtl_shift_add(ShiftAdder(lanes=1, **dut_kw), payloads)
    assert out == [([w], [0]) for w in weights]
    # ...and the golden differential step agrees on the signed slice codes used above.
    d = differential_codes(torch.tensor(pos), torch.tensor(neg), adc_bits=4)
    assert all(sum(c << (4 * k) for k, c in enumerate(row)) == w
               for row, w in zip(d.tolist(), weights))


def test_differential_extremes():
    # pos/neg at full scale and zero give codes +-15 in every slice, the saturating corners.
    p = PARAM_SETS["diff3"]
    top = 7
    cases = [(top, 0), (0, top), (top, top), (0, 0), (3, 4)]
    payloads = [{"pos": [[a] * 2] * 3, "neg": [[b] * 2] * 3} for a, b in cases]
    out = rtl_shift_add(ShiftAdder(lanes=2, **p), payloads)
    codes = [[[a - b] * 2] * 3 for a, b in cases]
    psum, ovf = reference_shift_add(codes, slice_bits=2, code_width=4, acc_width=6)
    assert out == list(zip(psum, ovf))
    assert out[0] == ([31, 31], [1, 1]) and out[1] == ([-32, -32], [1, 1])


def test_reset_mid_stream(seed):
    # rst empties the output register; beats after it are unaffected (no state is kept).
    p = PARAM_SETS["narrow"]
    rng = random.Random(seed)
    codes = [[[rng.randint(-16, 15) for _ in range(2)] for _ in range(2)] for _ in range(30)]
    check_codes(p, codes, lanes=2, rst_before=(1, 7, 8, 20), seed=seed, gap=0.2, stall=0.2)


@pytest.mark.parametrize("stall, gap", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.8, 0.6)])
def test_back_pressure(stall, gap, seed):
    p = PARAM_SETS["default"]
    rng = random.Random(seed)
    codes = [[[rng.randint(-16, 15) for _ in range(4)] for _ in range(4)] for _ in range(60)]
    check_codes(p, codes, lanes=4, seed=seed, stall=stall, gap=gap)


def test_payload_layout():
    # code[k][lane] packs slice-major, lane 0 of slice 0 in the low bits.
    word = ShiftAddInputLayout(2, 2, 3).const({"code": [[-1, 1], [2, -4]]}).as_bits()
    assert word == 0b100_010_001_111
    word = ShiftAddDiffInputLayout(1, 2, 2).const({"pos": [[3], [1]], "neg": [[2], [0]]})
    assert word.as_bits() == 0b00_10_01_11
