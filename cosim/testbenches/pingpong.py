# SPDX-License-Identifier: MIT
"""cocotb testbench of the generated ping-pong buffer Verilog against golden.buffer.

The pytest entry (``test_pingpong_cocotb.py``) passes the HDL and run parameters as JSON in
``PINGPONG_CONFIG``; the stimulus seed comes from ``DFASIM_SEED``. A mismatch fails with the
chunk seed, word, frame, offset and the expected data and addresses, so it can be replayed in
either tier (``cosim.vectors.pingpong_vectors``).
"""
from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import FallingEdge

from dfasim.cosim.streams import start_and_reset, stream_through
from dfasim.cosim.vectors import chunks, fast_packer, pingpong_vectors, sub_seed
from dfasim.rtl.common.layouts import PingPongWordLayout
from dfasim.golden.stimulus import default_seed

__all__ = []

CONFIG = json.loads(os.environ.get("PINGPONG_CONFIG", "{}"))
#: Words generated and checked per chunk, which bounds the memory of long runs.
CHUNK_WORDS = 8192


async def reset(dut) -> None:
    """Drive every input to a known value, start the clock and hold ``rst`` for 3 cycles."""
    await start_and_reset(dut, ("i__valid", "i__payload", "o__ready"))


async def pulse_reset(dut) -> None:
    """Clear the bank state between chunks (every chunk starts from bank 0)."""
    await FallingEdge(dut.clk)          # the previous chunk ends in the read-only phase
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    dut.rst.value = 1
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


async def run_chunk(dut, vec, *, gap, stall, rng) -> int:
    """Stream one :class:`~cosim.vectors.PingPongVectors` chunk through; return the cycles.

    Words are offered with random bubbles and read under random back-pressure; read beats are
    compared as packed words and addresses as integers, and only a mismatch is decoded.
    """
    layout = PingPongWordLayout(vec.width, vec.signed)
    pack = fast_packer(layout)
    script = [pack({"data": d, "last": l}) for d, l in zip(vec.data, vec.last)]
    expect = [pack({"data": d, "last": l}) for d, l in zip(vec.out_data, vec.out_last)]
    # Cross-check the fast packer against Amaranth's own packing on the first beat.
    assert script[0] == layout.const({"data": vec.data[0], "last": vec.last[0]}).as_bits()

    waddr, raddr = dut.o_waddr, dut.o_raddr

    def accepted(k: int) -> None:
        wa = int(waddr.value)
        assert wa == vec.waddr[k], f"write mismatch: {vec.replay(k)}; rtl waddr={wa}"

    def check(k: int, word: int) -> None:
        ra = int(raddr.value)
        if word != expect[k] or ra != vec.raddr[k]:
            r = layout.from_bits(word)
            assert False, (f"read mismatch: {vec.replay(k)}; rtl data={r.data} "
                           f"last={r.last} raddr={ra}")

    return await stream_through(dut, script, len(expect), check_out=check, rng=rng, gap=gap,
                                stall=stall, seed=vec.seed, on_accept=accepted)


@cocotb.test()
@cocotb.parametrize(seed_offset=[0, 1])
async def test_random_frames(dut, seed_offset):
    """Stream seeded frames of random lengths through the buffer under back-pressure."""
    cfg = CONFIG
    seed = default_seed() + seed_offset
    rng = random.Random(sub_seed(seed, 200))
    await reset(dut)
    words, cycles, done = cfg["words"], 0, 0
    hdl = {k: cfg[k] for k in ("depth", "width", "signed")}
    for chunk, (chunk_seed, n) in enumerate(chunks(seed, words, CHUNK_WORDS)):
        if chunk:
            await pulse_reset(dut)
        vec = pingpong_vectors(words=n, seed=chunk_seed, **hdl)
        cycles += await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng)
        done += len(vec.data)
    dut._log.info("seed %d: %d words in %d cycles", seed, done, cycles)
