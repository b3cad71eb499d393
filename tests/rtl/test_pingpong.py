# amaranth: UnusedElaboratable=no
# SPDX-License-Identifier: MIT
"""Tier 1: the ping-pong buffer RTL in amaranth.sim against golden.buffer, bit for bit."""
from __future__ import annotations

import random

import pytest
import torch
from amaranth.hdl import Fragment

from dfasim.cosim.sim import ResetHarness, run_testbenches, stream_put
from dfasim.cosim.vectors import pingpong_vectors, sub_seed
from dfasim.rtl.buffer import PingPongBuffer, buffer_depth
from dfasim.rtl.common.layouts import PingPongWordLayout
from dfasim.golden.buffer import (GLOBAL_BUFFER_BYTES, PE_BUFFER_BYTES, TILE_BUFFER_BYTES,
                           buffer_addresses, pingpong_transfer)
from dfasim.golden.buffer import buffer_depth as golden_buffer_depth

# Parameter sets of the random tests: the minimum depth (one-word banks, every frame is one
# word), a small 16-bit buffer, signed 8-bit words, 1-bit words and a wide 63-bit word.
PARAM_SETS = {
    "min":    dict(depth=2, width=4),
    "small":  dict(depth=16, width=16),
    "signed": dict(depth=32, width=8, signed=True),
    "bit":    dict(depth=8, width=1),
    "wide":   dict(depth=64, width=63, signed=True),
}


_Harness = ResetHarness


def rtl_pingpong(dut, data, last, *, seed=0, gap=0.0, stall=0.0, n_out=None,
                 max_cycles=200_000):
    """Write the beats ``(data, last)`` into ``dut`` and read ``n_out`` words (default: all).

    ``gap`` and ``stall`` (with ``seed``) insert random write bubbles and read back-pressure.
    Returns ``(out, waddr)``: the read beats as ``(data, last, raddr)`` and the write address
    of every accepted beat.
    """
    n_out = len(data) if n_out is None else n_out
    out, waddr = [], []

    async def writer(ctx):
        rng = random.Random(sub_seed(seed, 100))
        for d, l in zip(data, last):
            while rng.random() < gap:
                await ctx.tick()
            ctx.set(dut.i.payload, {"data": d, "last": l})
            ctx.set(dut.i.valid, 1)
            while True:
                _, _, ready, addr = await ctx.tick().sample(dut.i.ready, dut.o_waddr)
                if ready:
                    break
            waddr.append(addr)
            ctx.set(dut.i.valid, 0)

    async def reader(ctx):
        rng = random.Random(sub_seed(seed, 101))
        while len(out) < n_out:
            ready = rng.random() >= stall
            ctx.set(dut.o.ready, ready)
            _, _, p, valid, raddr = await ctx.tick().sample(dut.o.payload, dut.o.valid,
                                                           dut.o_raddr)
            if ready and valid:
                out.append((p.data, p.last, raddr))
        ctx.set(dut.o.ready, 0)

    run_testbenches(dut, writer, reader, max_cycles=max_cycles)
    return out, waddr


def check_vectors(p, vec, *, seed=0, gap=0.0, stall=0.0):
    """Run :class:`~cosim.vectors.PingPongVectors` through a fresh DUT and compare all of it."""
    out, waddr = rtl_pingpong(PingPongBuffer(**p), vec.data, vec.last, seed=seed, gap=gap,
                              stall=stall)
    assert len(out) == len(vec.out_data)
    for k, (d, l, ra) in enumerate(out):
        assert (d, l, ra) == (vec.out_data[k], vec.out_last[k], vec.raddr[k]), \
            f"{vec.replay(k)} gap={gap} stall={stall}: rtl data={d} last={l} raddr={ra}"
    for k, wa in enumerate(waddr):
        assert wa == vec.waddr[k], f"{vec.replay(k)}: rtl waddr={wa}"


def golden_of(lens, data, *, depth, width=16, signed=False):
    """Return golden ``(data, last, raddr)`` beats and write addresses of frames ``lens``."""
    frames = list(torch.split(torch.tensor(data, dtype=torch.int64), lens))
    res = pingpong_transfer(frames, depth=depth, width=width, signed=signed)
    last = [x for fr in res.frames for x in [0] * (fr.numel() - 1) + [1]]
    return (list(zip(res.words.tolist(), last, res.read_addresses.tolist())),
            res.write_addresses.tolist())


def beats_of(lens, data):
    """Return the ``last`` flags of frames ``lens`` over ``data``."""
    return [int(k == n - 1) for n in lens for k in range(n)]


# -- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_params(name):
    p = PARAM_SETS[name]
    dut = PingPongBuffer(**p)
    Fragment.get(dut, None)
    assert (dut.depth, dut.width, dut.signed) == (p["depth"], p["width"], p.get("signed", False))
    assert dut.bank_depth == p["depth"] // 2
    layout = PingPongWordLayout(p["width"], p.get("signed", False))
    assert dut.i.payload.shape() == layout and dut.o.payload.shape() == layout
    assert len(dut.o_waddr) == len(dut.o_raddr) == p["depth"].bit_length() - 1
    with pytest.raises(AttributeError):
        dut.depth = 4


@pytest.mark.parametrize("kw, exc, quoted", [
    (dict(depth=0), ValueError, "0"),
    (dict(depth=1), ValueError, "1"),
    (dict(depth=12), ValueError, "12"),
    (dict(depth=-4), ValueError, "-4"),
    (dict(depth=8.0), TypeError, "8.0"),
    (dict(depth=True), TypeError, "True"),
    (dict(width=0), ValueError, "0"),
    (dict(width=64), ValueError, "64"),
    (dict(width="16"), TypeError, "'16'"),
    (dict(signed=1), TypeError, "1"),
])
def test_invalid_params(kw, exc, quoted):
    with pytest.raises(exc, match=quoted.replace(".", r"\.")):
        PingPongBuffer(**(dict(depth=8) | kw))


@pytest.mark.parametrize("size", [GLOBAL_BUFFER_BYTES, TILE_BUFFER_BYTES, PE_BUFFER_BYTES,
                                  1, 3, 100, 1000])
@pytest.mark.parametrize("bits", [1, 8, 16, 24, 63])
def test_buffer_depth_matches_golden(size, bits):
    if bits > size * 8:
        with pytest.raises(ValueError, match=str(bits)):
            buffer_depth(size, bits)
        return
    assert buffer_depth(size, bits) == golden_buffer_depth(size, bits)


def test_table2_sizes():
    # DFA_Sim Table II with 16-bit words: 16 KB global, 4 KB tile, 1 KB PE buffer.
    duts = [PingPongBuffer.from_bytes(b) for b in (GLOBAL_BUFFER_BYTES, TILE_BUFFER_BYTES,
                                                  PE_BUFFER_BYTES)]
    duts.append(PingPongBuffer.from_bytes(PE_BUFFER_BYTES, width=24, signed=True))
    for dut in duts:
        Fragment.get(dut, None)
    assert [d.depth for d in duts] == [8192, 2048, 512, 256]
    assert duts[-1].width == 24 and duts[-1].signed
    with pytest.raises(ValueError, match="64"):
        PingPongBuffer.from_bytes(4, width=64)          # a word does not fit
    with pytest.raises(ValueError, match="not 1"):
        PingPongBuffer.from_bytes(8, width=64)          # one word: no two banks


# -- random vectors -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_random(name, seed):
    p = PARAM_SETS[name]
    vec = pingpong_vectors(words=600, seed=seed, **p)
    bank = p["depth"] // 2
    assert 1 in vec.lens and bank in vec.lens
    check_vectors(p, vec, seed=seed, gap=0.3, stall=0.3)


@pytest.mark.parametrize("stall, gap", [(0.0, 0.0), (0.6, 0.0), (0.0, 0.6), (0.8, 0.7)])
def test_back_pressure(stall, gap, seed):
    # Same stimulus under different handshake timing: data and addresses must not change.
    p = PARAM_SETS["small"]
    check_vectors(p, pingpong_vectors(words=400, seed=seed, **p), seed=seed, stall=stall,
                  gap=gap)


# -- directed corners ---------------------------------------------------------------------------

def test_full_throughput():
    # Equal-length frames with no bubbles and no back-pressure: after the first frame both
    # sides move one word per cycle, so `i.ready` never drops and `o.valid` never gaps.
    dut = PingPongBuffer(depth=16)
    n_frames, length = 6, 8
    ready, valid = [], []
    data = list(range(n_frames * length))

    async def tb(ctx):
        ctx.set(dut.o.ready, 1)
        for k, d in enumerate(data + [None] * (length + 3)):
            if d is not None:
                ctx.set(dut.i.payload, {"data": d, "last": int(k % length == length - 1)})
            ctx.set(dut.i.valid, d is not None)
            _, _, r, v = await ctx.tick().sample(dut.i.ready, dut.o.valid)
            ready.append(r)
            valid.append(v)

    run_testbenches(dut, tb, max_cycles=500)
    assert all(ready[:len(data)])
    # Frame 0's final word is written in cycle length - 1; the frame closes, the banks swap
    # and its first word is read, so it is on `o` 3 cycles later. Then one word per cycle.
    first = valid.index(1)
    assert first == length + 2
    assert valid[first:first + len(data)] == [1] * len(data)


def test_reader_stall_writer_fills_other_bank():
    # The reader holds off while it owns frame 0; the writer still fills the other bank with
    # all of frame 1 (one word per cycle), then waits with `i.ready` low until the reader has
    # drained frame 0. Nothing is lost or reordered.
    depth, bank = 16, 8
    dut = PingPongBuffer(depth=depth)
    lens = [bank, bank, 3]
    data = [(k * 11) % 65536 for k in range(sum(lens))]
    last = beats_of(lens, data)
    out, ready_log, released = [], [], []

    async def tb(ctx):
        ctx.set(dut.o.ready, 0)
        for k in range(2 * bank + 4):           # frames 0 and 1, then 4 blocked cycles
            if k < 2 * bank:
                ctx.set(dut.i.payload, {"data": data[k], "last": last[k]})
            ctx.set(dut.i.valid, 1)
            _, _, r = await ctx.tick().sample(dut.i.ready)
            ready_log.append(r)
        ctx.set(dut.i.valid, 0)
        # Frame 0 closes and is swapped to the reader at once; frame 1 is written during the
        # stall (one cycle per word after the swap) and then the writer waits.
        assert ready_log[:2 * bank] == [1] * bank + [1] * bank
        assert ready_log[2 * bank:] == [0] * 4
        assert ctx.get(dut.o.valid)
        released.append(True)
        for k, d in enumerate(data[2 * bank:]):
            await stream_put(ctx, dut.i, {"data": d, "last": last[2 * bank + k]})

    async def collector(ctx):
        while not released:
            await ctx.tick()
        ctx.set(dut.o.ready, 1)
        while len(out) < len(data):
            _, _, p, v, ra = await ctx.tick().sample(dut.o.payload, dut.o.valid, dut.o_raddr)
            if v:
                out.append((p.data, p.last, ra))

    run_testbenches(dut, tb, collector, max_cycles=1000)
    exp, _ = golden_of(lens, data, depth=depth)
    assert out == exp


def test_writer_gaps():
    # Long write bubbles inside frames: the reader idles and resumes; frames stay intact.
    p = dict(depth=8, width=8)
    vec = pingpong_vectors(words=120, seed=3, **p)
    check_vectors(p, vec, seed=3, gap=0.9, stall=0.0)


def test_overlong_frame_is_split():
    # A 7-word frame into 4-word banks: it is closed after 4 words, `o_overflow` rises and the
    # remaining 3 words form the next frame, as golden splits of [4, 3] would give.
    depth, bank = 8, 4
    dut = PingPongBuffer(depth=depth, width=8)
    data = list(range(10, 17)) + [20, 21]
    last = [0] * 6 + [1] + [0, 1]
    flags = []

    async def tb(ctx):
        for d, l in zip(data, last):
            await stream_put(ctx, dut.i, {"data": d, "last": l})
            flags.append(ctx.get(dut.o_overflow))

    out, _ = [], None

    async def reader(ctx):
        ctx.set(dut.o.ready, 1)
        while len(out) < len(data):
            _, _, p, v, ra = await ctx.tick().sample(dut.o.payload, dut.o.valid, dut.o_raddr)
            if v:
                out.append((p.data, p.last, ra))

    run_testbenches(dut, tb, reader, max_cycles=500)
    assert flags == [0] * 3 + [1] * 6
    exp, _ = golden_of([bank, 3, 2], data, depth=depth, width=8)
    assert out == exp


def test_exact_bank_frame_no_overflow():
    # A frame of exactly depth/2 words with `last` on its final word is legal: no flag.
    dut = PingPongBuffer(depth=8)
    data, last = [1, 2, 3, 4, 5], [0, 0, 0, 1, 1]
    out, waddr = rtl_pingpong(dut, data, last)
    exp, ew = golden_of([4, 1], data, depth=8)
    assert (out, waddr) == (exp, ew)


def test_reset_mid_frame():
    # rst in the middle of frame 1 (frame 0 partly read): the bank state is cleared, so
    # the next frames start again in bank 0 and only they come out.
    depth = 16
    dut = PingPongBuffer(depth=depth)
    harness = _Harness(dut)
    pre = [(100, 0), (101, 1), (102, 0), (103, 0)]
    lens = [3, 8, 1, 5]
    post = list(range(500, 500 + sum(lens)))
    post_last = beats_of(lens, post)
    out, waddr = [], []

    async def tb(ctx):
        for d, l in pre:
            await stream_put(ctx, dut.i, {"data": d, "last": l})
        ctx.set(dut.o.ready, 1)
        await ctx.tick()                        # frame 0's first word is taken
        ctx.set(dut.o.ready, 0)
        ctx.set(harness.cd.rst, 1)
        for _ in range(2):
            await ctx.tick()
        ctx.set(harness.cd.rst, 0)
        assert not ctx.get(dut.o.valid) and ctx.get(dut.i.ready)

    async def after(ctx):
        while not ctx.get(harness.cd.rst):
            await ctx.tick()
        while ctx.get(harness.cd.rst):
            await ctx.tick()
        rng = random.Random(7)
        k = 0
        while len(out) < len(post):
            ready = rng.random() < 0.6
            ctx.set(dut.o.ready, ready)
            if k < len(post):
                ctx.set(dut.i.payload, {"data": post[k], "last": post_last[k]})
            ctx.set(dut.i.valid, k < len(post))
            _, _, ir, wa, ov, p, ra = await ctx.tick().sample(
                dut.i.ready, dut.o_waddr, dut.o.valid, dut.o.payload, dut.o_raddr)
            if k < len(post) and ir:
                waddr.append(wa)
                k += 1
            if ready and ov:
                out.append((p.data, p.last, ra))

    run_testbenches(harness, tb, after, max_cycles=2000)
    exp, ew = golden_of(lens, post, depth=depth)
    assert out == exp and waddr == ew


def test_min_depth():
    # depth 2: one-word banks, so every frame is one word and the banks alternate 0, 1, 0, ...
    dut = PingPongBuffer(depth=2, width=3)
    data = [5, 2, 7, 0, 1, 6, 3]
    out, waddr = rtl_pingpong(dut, data, [1] * len(data), seed=1, gap=0.3, stall=0.5)
    assert waddr == [k % 2 for k in range(len(data))]
    assert out == [(d, 1, k % 2) for k, d in enumerate(data)]
    exp, ew = golden_of([1] * len(data), data, depth=2, width=3)
    assert (out, waddr) == (exp, ew)


@pytest.mark.parametrize("size", [GLOBAL_BUFFER_BYTES, TILE_BUFFER_BYTES, PE_BUFFER_BYTES])
def test_table2_depths(size):
    # Full banks at the Table II depths: the top address of each bank is reached.
    dut = PingPongBuffer.from_bytes(size)
    bank = dut.bank_depth
    lens = [1, bank, bank, 2]
    data = [(k * 2654435761) % 65536 for k in range(sum(lens))]
    out, waddr = rtl_pingpong(dut, data, beats_of(lens, data), seed=2, stall=0.1,
                              max_cycles=4 * sum(lens) + 100)
    exp, ew = golden_of(lens, data, depth=dut.depth)
    assert out == exp and waddr == ew
    assert max(waddr) == dut.depth - 1
    assert waddr[1:1 + bank] == (bank + buffer_addresses(0, bank, depth=bank)).tolist()


def test_payload_layout():
    # The layout used by the cocotb tier packs `data` into the low bits, `last` above it.
    assert PingPongWordLayout(8).const({"data": 0xA5, "last": 1}).as_bits() == 0x1A5
    w = PingPongWordLayout(4, True).from_bits(0b1_1110)
    assert (w.data, w.last) == (-2, 1)
