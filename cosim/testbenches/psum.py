# SPDX-License-Identifier: MIT
"""cocotb testbench of the generated partial-sum accumulator Verilog against golden.psum.

The pytest entry (``test_psum_cocotb.py``) passes the HDL and run parameters as JSON in
``PSUM_CONFIG``; the stimulus seed comes from ``DFASIM_SEED``. A mismatch fails with the
group's seed, beat indices, inputs and expected result, so it can be replayed in either tier.
"""
from __future__ import annotations

import json
import os

import cocotb

from dfasim.cosim.streams import random_chunks, start_and_reset, stream_checked
from dfasim.cosim.vectors import psum_vectors
from dfasim.rtl.common.layouts import PsumInputLayout, PsumOutputLayout

__all__ = []

CONFIG = json.loads(os.environ.get("PSUM_CONFIG", "{}"))
#: Beats generated and checked per chunk, which bounds the memory of long runs.
CHUNK_BEATS = 4096


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


@cocotb.test()
@cocotb.parametrize(seed_offset=[0, 1])
async def test_random_vectors(dut, seed_offset):
    """Stream seeded random groups through the accumulator under random back-pressure."""
    cfg = CONFIG
    seed, cycles = await random_chunks(
        dut, seed_offset, cfg["beats"], CHUNK_BEATS, reset,
        lambda n, s: psum_vectors(lanes=cfg["lanes"], in_width=cfg["in_width"],
                                  acc_width=cfg["acc_width"], beats=n, seed=s),
        lambda vec, rng: run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng))
    dut._log.info("seed %d: %d beats x %d lanes in %d cycles", seed, cfg["beats"], cfg["lanes"],
                  cycles)
