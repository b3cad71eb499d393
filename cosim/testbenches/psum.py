# SPDX-License-Identifier: MIT
"""cocotb testbench of the generated partial-sum accumulator Verilog against golden.psum.

The pytest entry (``test_psum_cocotb.py``) and ``dfasim rtl verify psum`` pass the HDL and run
parameters as JSON in ``PSUM_CONFIG``; the stimulus seed comes from ``DFASIM_SEED``. A mismatch
fails with the group's seed, beat indices, inputs and expected result, so it can be replayed in
either tier. Both tests sample the cover points of :data:`.coverage.COVER_POINTS` ``["psum"]``.
"""
from __future__ import annotations

import json
import os
import random

import cocotb

from dfasim.cosim.streams import random_chunks, start_and_reset, stream_checked
from dfasim.cosim.vectors import psum_vectors, sub_seed
from dfasim.golden.stimulus import default_seed
from dfasim.rtl.common.layouts import PsumInputLayout, PsumOutputLayout

from .coverage import count_extremes, cover_points, monitored, record, seed_offsets
from .phases import reset_mid_stream

__all__ = []

CONFIG = json.loads(os.environ.get("PSUM_CONFIG", "{}"))
#: Beats generated and checked per chunk, which bounds the memory of long runs.
CHUNK_BEATS = 4096
#: Longest group of the random stimulus (``psum_vectors``' default), the ``max`` length bin.
MAX_GROUP = 12


async def reset(dut) -> None:
    """Drive every input to a known value, start the clock and hold ``rst`` for 3 cycles."""
    await start_and_reset(dut, ("i__valid", "i__payload", "o__ready"))


async def run_chunk(dut, vec, *, gap, stall, rng) -> int:
    """Stream one :class:`~cosim.vectors.PsumVectors` chunk; return the cycles it took.

    Inputs are offered with random bubbles and outputs taken under random back-pressure;
    outputs are compared as packed words and only a mismatch is decoded.
    """
    return await stream_checked(
        dut, PsumInputLayout(vec.lanes, vec.in_width), PsumOutputLayout(vec.lanes, vec.acc_width),
        [{"code": c, "last": l} for c, l in zip(vec.codes, vec.last)],
        [{"sum": v, "overflow": o} for v, o in zip(vec.sums, vec.overflow)], vec.replay,
        rng=rng, gap=gap, stall=stall, seed=vec.seed)


def sample_chunk(cov, vec) -> None:
    """Sample the content cover points of a chunk whose results were all checked."""
    top, bottom = count_extremes(vec.sums, vec.acc_width)
    cov["sum_saturation"]("pos", top)
    cov["sum_saturation"]("neg", bottom)
    cov["overflow"]("set", sum(map(sum, vec.overflow)))
    lens = [e - s for s, e in zip([-1, *vec.ends[:-1]], vec.ends)]
    cov["group_length"]("1", lens.count(1))
    cov["group_length"]("max", lens.count(MAX_GROUP))


@cocotb.test()
@cocotb.parametrize(seed_offset=seed_offsets(CONFIG))
async def test_random_vectors(dut, seed_offset):
    """Stream seeded random groups through the accumulator under random back-pressure."""
    cfg = CONFIG
    cov = cover_points("psum")

    async def run(vec, rng):
        cycles = await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng)
        sample_chunk(cov, vec)
        return cycles
    def make(n, chunk_seed):
        vec = psum_vectors(lanes=cfg["lanes"], in_width=cfg["in_width"],
                           acc_width=cfg["acc_width"], beats=n, seed=chunk_seed)
        bad = cfg.get("inject_mismatch")
        if bad is not None and bad < len(vec.sums):
            # A wrong golden word on purpose: shows that the regression reports a mismatch.
            vec.sums[bad][0] ^= 1
        return vec
    with monitored(dut, ("i", "o"), cov["backpressure"]):
        seed, cycles = await random_chunks(dut, seed_offset, cfg["beats"], CHUNK_BEATS, reset,
                                           make, run)
        record("test_random_vectors", vectors=cfg["beats"], cycles=cycles)
    dut._log.info("seed %d: %d beats x %d lanes in %d cycles", seed, cfg["beats"], cfg["lanes"],
                  cycles)


@cocotb.test()
async def test_directed_corners(dut):
    """Reset in mid-stream, then groups of 1 and MAX_GROUP beats at both saturation ends."""
    cfg = CONFIG
    hdl = {k: cfg[k] for k in ("lanes", "in_width", "acc_width")}
    seed = default_seed()
    rng = random.Random(sub_seed(seed, 300))
    cov = cover_points("psum")
    with monitored(dut, ("i", "o"), cov["backpressure"]):
        await reset(dut)
        cut = psum_vectors(beats=64, seed=sub_seed(seed, 301), **hdl)
        if await reset_mid_stream(dut, run_chunk(dut, cut, gap=cfg["gap"], stall=cfg["stall"],
                                                 rng=rng),
                                  cycles=24, idle=("i__valid", "o__ready")):
            cov["reset_mid_stream"]("hit")
        # After the reset: a random chunk, then the corners (top and bottom codes in groups
        # of MAX_GROUP beats saturate any accumulator up to in_width + 3 bits).
        vectors = cycles = 0
        for vec in (psum_vectors(beats=64, seed=sub_seed(seed, 302), **hdl),
                    psum_vectors(beats=4 * MAX_GROUP + 2, seed=sub_seed(seed, 303),
                                 lengths=[1, MAX_GROUP, MAX_GROUP, 1, MAX_GROUP, MAX_GROUP],
                                 modes=[0, 6, 7, 4, 2, 3], **hdl)):
            cycles += await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng)
            sample_chunk(cov, vec)
            vectors += vec.beats
        record("test_directed_corners", vectors=vectors, cycles=cycles)
