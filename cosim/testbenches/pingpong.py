# SPDX-License-Identifier: MIT
"""cocotb testbench of the generated ping-pong buffer Verilog against golden.buffer.

The pytest entry (``test_pingpong_cocotb.py``) and ``dfasim rtl verify pingpong`` pass the HDL
and run parameters as JSON in ``PINGPONG_CONFIG``; the stimulus seed comes from ``DFASIM_SEED``.
A mismatch fails with the chunk seed, word, frame, offset and the expected data and addresses,
so it can be replayed in either tier (``cosim.vectors.pingpong_vectors``). Both tests sample the
cover points of :data:`.coverage.COVER_POINTS` ``["pingpong"]``.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import FallingEdge

from dfasim.cosim.streams import start_and_reset, stream_through
from dfasim.cosim.vectors import chunks, fast_packer, pingpong_vectors, sub_seed
from dfasim.golden.stimulus import default_seed
from dfasim.rtl.common.layouts import PingPongWordLayout

from .coverage import count_values, cover_points, monitored, record, seed_offsets
from .phases import reset_mid_stream

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


class _Swaps:
    """Tells frame starts after a wait with both banks full from the others.

    ``i.ready`` is low only from the cycle after a frame's final word until the bank swap,
    i.e. while both banks hold a frame; :meth:`stalled` (the back-pressure monitor of ``i``)
    notes that, and :meth:`start` samples the ``bank_swap`` point at the first word of a frame.
    """

    def __init__(self, cov) -> None:
        self.cov, self.waited = cov, False

    def stalled(self, stream: str, n: int = 1) -> None:
        self.cov["backpressure"](stream, n)
        if stream == "i":
            self.waited = True

    def start(self, accepted_offset: int, frame: int) -> None:
        if accepted_offset == 0 and frame > 0:
            self.cov["bank_swap"]("both_full" if self.waited else "no_wait")
        self.waited = False


async def run_chunk(dut, vec, *, gap, stall, rng, swaps: _Swaps | None = None) -> int:
    """Stream one :class:`~cosim.vectors.PingPongVectors` chunk through; return the cycles.

    Words are offered with random bubbles and read under random back-pressure; read beats are
    compared as packed words and addresses as integers, and only a mismatch is decoded.
    ``swaps`` samples the bank-swap cover point at every accepted first word of a frame.
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
        if swaps is not None:
            swaps.start(vec.offset_of[k], vec.frame_of[k])

    def check(k: int, word: int) -> None:
        ra = int(raddr.value)
        if word != expect[k] or ra != vec.raddr[k]:
            r = layout.from_bits(word)
            assert False, (f"read mismatch: {vec.replay(k)}; rtl data={r.data} "
                           f"last={r.last} raddr={ra}")

    return await stream_through(dut, script, len(expect), check_out=check, rng=rng, gap=gap,
                                stall=stall, seed=vec.seed, on_accept=accepted)


def sample_chunk(cov, vec) -> None:
    """Sample the content cover points of a chunk whose words were all checked."""
    cov["frame_length"]("1", vec.lens.count(1))
    cov["frame_length"]("bank", vec.lens.count(vec.depth // 2))
    lo, hi = ((-(1 << (vec.width - 1)), (1 << (vec.width - 1)) - 1) if vec.signed
              else (0, (1 << vec.width) - 1))
    n_lo, n_hi = count_values(vec.out_data, lo, hi)
    cov["data_extremes"]("min", n_lo)
    cov["data_extremes"]("max", n_hi)


@cocotb.test()
@cocotb.parametrize(seed_offset=seed_offsets(CONFIG))
async def test_random_frames(dut, seed_offset):
    """Stream seeded frames of random lengths through the buffer under back-pressure."""
    cfg = CONFIG
    seed = default_seed() + seed_offset
    rng = random.Random(sub_seed(seed, 200))
    cov = cover_points("pingpong")
    swaps = _Swaps(cov)
    with monitored(dut, ("i", "o"), swaps.stalled):
        await reset(dut)
        words, cycles, done = cfg["words"], 0, 0
        hdl = {k: cfg[k] for k in ("depth", "width", "signed")}
        for chunk, (chunk_seed, n) in enumerate(chunks(seed, words, CHUNK_WORDS)):
            if chunk:
                await pulse_reset(dut)
            vec = pingpong_vectors(words=n, seed=chunk_seed, **hdl)
            cycles += await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng,
                                      swaps=swaps)
            sample_chunk(cov, vec)
            done += len(vec.data)
        record("test_random_frames", vectors=done, cycles=cycles)
    dut._log.info("seed %d: %d words in %d cycles", seed, done, cycles)


@cocotb.test()
async def test_directed_corners(dut):
    """Reset in mid-stream, then frames of 1 and depth/2 words at the data range's ends."""
    cfg = CONFIG
    hdl = {k: cfg[k] for k in ("depth", "width", "signed")}
    seed = default_seed()
    rng = random.Random(sub_seed(seed, 300))
    cov = cover_points("pingpong")
    swaps = _Swaps(cov)
    with monitored(dut, ("i", "o"), swaps.stalled):
        await reset(dut)
        cut = pingpong_vectors(words=64, seed=sub_seed(seed, 301), **hdl)
        if await reset_mid_stream(dut, run_chunk(dut, cut, gap=cfg["gap"], stall=cfg["stall"],
                                                 rng=rng),
                                  cycles=24, idle=("i__valid", "o__ready")):
            cov["reset_mid_stream"]("hit")
        # Full-bank frames written back to back while the reader is held back fill both
        # banks; single-word frames swap on every word.
        bank = hdl["depth"] // 2
        vectors = cycles = 0
        for k, vec in enumerate((
                pingpong_vectors(words=64, seed=sub_seed(seed, 302), **hdl),
                pingpong_vectors(words=4 * bank + 4, seed=sub_seed(seed, 303),
                                 lengths=[1, bank, bank, 1, 1, bank], extremes=True, **hdl))):
            if k:
                await pulse_reset(dut)      # the golden read-out of a chunk starts at bank 0
            cycles += await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng,
                                      swaps=swaps)
            sample_chunk(cov, vec)
            vectors += len(vec.data)
        record("test_directed_corners", vectors=vectors, cycles=cycles)
