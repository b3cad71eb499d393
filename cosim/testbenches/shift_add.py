# SPDX-License-Identifier: MIT
"""cocotb testbench of the generated shift-adder Verilog against golden.psum.shift_add.

The pytest entry (``test_shift_add_cocotb.py``) passes the HDL and run parameters as JSON in
``SHIFT_ADD_CONFIG``; the stimulus seed comes from ``DFASIM_SEED``. A mismatch fails with the
beat's seed, index, inputs and expected result, so it can be replayed in either tier.
"""
from __future__ import annotations

import json
import os

import cocotb

from dfasim.cosim.streams import random_chunks, start_and_reset, stream_checked
from dfasim.cosim.vectors import shift_add_vectors
from dfasim.rtl.common.layouts import (ShiftAddDiffInputLayout, ShiftAddInputLayout,
                                       ShiftAddOutputLayout)

__all__ = []

CONFIG = json.loads(os.environ.get("SHIFT_ADD_CONFIG", "{}"))
#: Beats generated and checked per chunk, which bounds the memory of long runs.
CHUNK_BEATS = 4096


async def reset(dut) -> None:
    """Drive every input to a known value, start the clock and hold ``rst`` for 3 cycles."""
    await start_and_reset(dut, ("i__valid", "i__payload", "o__ready"))


async def run_chunk(dut, vec, *, gap, stall, rng) -> int:
    """Stream one :class:`~cosim.vectors.ShiftAddVectors` chunk; return the cycles it took."""
    if vec.adc_bits is None:
        in_l = ShiftAddInputLayout(vec.lanes, vec.slices, vec.code_width)
        values = [{"code": c} for c in vec.codes]
    else:
        in_l = ShiftAddDiffInputLayout(vec.lanes, vec.slices, vec.adc_bits)
        values = [{"pos": p, "neg": n} for p, n in zip(vec.pos, vec.neg)]
    return await stream_checked(
        dut, in_l, ShiftAddOutputLayout(vec.lanes, vec.acc_width), values,
        [{"psum": v, "overflow": o} for v, o in zip(vec.psum, vec.overflow)], vec.replay,
        rng=rng, gap=gap, stall=stall, seed=vec.seed)


@cocotb.test()
@cocotb.parametrize(seed_offset=[0, 1])
async def test_random_vectors(dut, seed_offset):
    """Stream seeded random slice codes through the shift-adder under random back-pressure."""
    cfg = CONFIG
    hdl = {k: cfg[k] for k in ("lanes", "slices", "slice_bits", "code_width", "acc_width",
                               "adc_bits")}
    seed, cycles = await random_chunks(
        dut, seed_offset, cfg["beats"], CHUNK_BEATS, reset,
        lambda n, s: shift_add_vectors(beats=n, seed=s, **hdl),
        lambda vec, rng: run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng))
    dut._log.info("seed %d: %d beats x %d lanes in %d cycles", seed, cfg["beats"], cfg["lanes"],
                  cycles)
