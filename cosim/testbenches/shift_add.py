# SPDX-License-Identifier: MIT
"""cocotb testbench of the generated shift-adder Verilog against golden.psum.shift_add.

The pytest entry (``test_shift_add_cocotb.py``) and ``dfasim rtl verify shift_add`` pass the HDL
and run parameters as JSON in ``SHIFT_ADD_CONFIG``; the stimulus seed comes from ``DFASIM_SEED``.
A mismatch fails with the beat's seed, index, inputs and expected result, so it can be replayed
in either tier. Both tests sample the cover points of :data:`.coverage.COVER_POINTS`
``["shift_add"]``.
"""
from __future__ import annotations

import json
import os
import random

import cocotb

from dfasim.cosim.streams import random_chunks, start_and_reset, stream_checked
from dfasim.cosim.vectors import shift_add_vectors, sub_seed
from dfasim.golden.stimulus import default_seed
from dfasim.rtl.common.layouts import (ShiftAddDiffInputLayout, ShiftAddInputLayout,
                                       ShiftAddOutputLayout)

from .coverage import (count_extremes, count_values, cover_points, monitored, record,
                       seed_offsets)
from .phases import reset_mid_stream

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


def sample_chunk(cov, vec) -> None:
    """Sample the content cover points of a chunk whose results were all checked."""
    top, bottom = count_extremes(vec.psum, vec.acc_width)
    cov["psum_saturation"]("pos", top)
    cov["psum_saturation"]("neg", bottom)
    cov["overflow"]("set", sum(map(sum, vec.overflow)))
    if vec.adc_bits is None:
        c_top, c_bottom = count_extremes(vec.codes, vec.code_width)
    else:
        full = (1 << vec.adc_bits) - 1
        c_top, c_bottom = count_values(vec.codes, full, -full)
    cov["slice_code_extremes"]("max", c_top)
    cov["slice_code_extremes"]("min", c_bottom)


@cocotb.test()
@cocotb.parametrize(seed_offset=seed_offsets(CONFIG))
async def test_random_vectors(dut, seed_offset):
    """Stream seeded random slice codes through the shift-adder under random back-pressure."""
    cfg = CONFIG
    hdl = {k: cfg[k] for k in ("lanes", "slices", "slice_bits", "code_width", "acc_width",
                               "adc_bits")}
    cov = cover_points("shift_add")

    async def run(vec, rng):
        cycles = await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng)
        sample_chunk(cov, vec)
        return cycles
    with monitored(dut, ("i", "o"), cov["backpressure"]):
        seed, cycles = await random_chunks(
            dut, seed_offset, cfg["beats"], CHUNK_BEATS, reset,
            lambda n, s: shift_add_vectors(beats=n, seed=s, **hdl), run)
        record("test_random_vectors", vectors=cfg["beats"], cycles=cycles)
    dut._log.info("seed %d: %d beats x %d lanes in %d cycles", seed, cfg["beats"], cfg["lanes"],
                  cycles)


@cocotb.test()
async def test_directed_corners(dut):
    """Reset in mid-stream, then every slice at its top and at its bottom code."""
    cfg = CONFIG
    hdl = {k: cfg[k] for k in ("lanes", "slices", "slice_bits", "code_width", "acc_width",
                               "adc_bits")}
    seed = default_seed()
    rng = random.Random(sub_seed(seed, 300))
    cov = cover_points("shift_add")
    with monitored(dut, ("i", "o"), cov["backpressure"]):
        await reset(dut)
        cut = shift_add_vectors(beats=64, seed=sub_seed(seed, 301), **hdl)
        if await reset_mid_stream(dut, run_chunk(dut, cut, gap=cfg["gap"], stall=cfg["stall"],
                                                 rng=rng),
                                  cycles=24, idle=("i__valid", "o__ready")):
            cov["reset_mid_stream"]("hit")
        # After the reset: a random chunk, then beats whose slices all sit at the top or at
        # the bottom code (differential mode: mixes 4 and 5, code mode: 6 and 7).
        corner = [4, 5] if hdl["adc_bits"] is not None else [6, 7]
        vectors = cycles = 0
        for vec in (shift_add_vectors(beats=64, seed=sub_seed(seed, 302), **hdl),
                    shift_add_vectors(beats=8, seed=sub_seed(seed, 303), modes=corner, **hdl)):
            cycles += await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng)
            sample_chunk(cov, vec)
            vectors += vec.beats
        record("test_directed_corners", vectors=vectors, cycles=cycles)
