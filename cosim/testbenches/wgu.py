# SPDX-License-Identifier: MIT
"""cocotb testbench of the generated weight-gradient unit Verilog against golden.wgu.

The pytest entry (``test_wgu_cocotb.py``) and ``dfasim rtl verify wgu`` pass the HDL and run
parameters as JSON in ``WGU_CONFIG``; the stimulus seed comes from ``DFASIM_SEED``. A mismatch
fails with the window's seed, beat range, the row's first update beats and the expected readout,
so it can be replayed in either tier (``cosim.vectors.wgu_vectors``). Both tests sample the
cover points of :data:`.coverage.COVER_POINTS` ``["wgu"]``.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly

from dfasim.cosim.streams import random_chunks, start_and_reset
from dfasim.cosim.vectors import fast_packer, sub_seed, wgu_vectors
from dfasim.golden.stimulus import default_seed
from dfasim.rtl.common.layouts import WGUCommandLayout, WGUReadoutLayout, WGUUpdateLayout

from .coverage import (count_extremes, count_values, cover_points, monitored, record,
                       seed_offsets)
from .phases import reset_mid_stream

__all__ = []

CONFIG = json.loads(os.environ.get("WGU_CONFIG", "{}"))
#: ``(t, b)`` pairs generated and checked per chunk, which bounds the memory of long runs.
CHUNK_PAIRS = 1024
#: Longest window of the random stimulus (``wgu_vectors``' default), the ``max`` length bin.
MAX_WINDOW = 48
#: The streams whose back-pressure is covered.
STREAMS = ("i", "i_cmd", "o")


async def reset(dut) -> None:
    """Drive every input to a known value, start the clock and hold ``rst`` for 3 cycles."""
    await start_and_reset(dut, ("i__valid", "i__payload", "i_cmd__valid", "i_cmd__payload",
                                "o__ready"))


async def run_chunk(dut, vec, *, gap, stall, rng) -> int:
    """Clear the memory, stream one :class:`~cosim.vectors.WGUVectors` chunk; return cycles.

    Update beats and commands are offered with random bubbles and readout rows taken under
    random back-pressure; rows are compared as packed words and only a mismatch is decoded.
    """
    upd_l = WGUUpdateLayout(vec.rows, vec.cols, vec.delta_width)
    cmd_l = WGUCommandLayout()
    out_l = WGUReadoutLayout(vec.rows, vec.cols, vec.out_width)
    pack_upd, pack_out = fast_packer(upd_l), fast_packer(out_l)
    # The script: (is_command, word); a plain clear first, then each window and its read.
    script = [(True, cmd_l.const({"read": 0, "clear": 1}).as_bits())]
    expect, where = [], []
    start = 0
    for w, end in enumerate(vec.ends):
        script += [(False, pack_upd({"row": vec.row[k], "delta": vec.delta[k],
                                     "spikes": vec.spikes[k]})) for k in range(start, end)]
        script.append((True, cmd_l.const({"read": 1, "clear": vec.clear[w]}).as_bits()))
        for row in range(vec.rows):
            expect.append(pack_out({"row": row, "update": vec.update[w][row],
                                    "overflow": vec.overflow[w][row],
                                    "last": int(row == vec.rows - 1)}))
            where.append((w, row))
        start = end
    # Cross-check the fast packer against Amaranth's own packing on the first beat.
    assert script[1][1] == upd_l.const({"row": vec.row[0], "delta": vec.delta[0],
                                        "spikes": vec.spikes[0]}).as_bits()

    clk = dut.clk
    i_valid, i_payload, i_ready = dut.i__valid, dut.i__payload, dut.i__ready
    c_valid, c_payload, c_ready = dut.i_cmd__valid, dut.i_cmd__payload, dut.i_cmd__ready
    o_valid, o_payload, o_ready = dut.o__valid, dut.o__payload, dut.o__ready
    n_in, n_out = len(script), len(expect)
    sent = got = 0
    offering = False
    cycles, limit = 0, 20 * (n_in + n_out) + 100
    while got < n_out or sent < n_in:
        await FallingEdge(clk)
        if not offering and sent < n_in and rng.random() >= gap:
            offering = True
            is_cmd, word = script[sent]
            (c_payload if is_cmd else i_payload).value = word
        i_valid.value = offering and not is_cmd
        c_valid.value = offering and is_cmd
        take = rng.random() >= stall
        o_ready.value = take
        await ReadOnly()                       # the values the next rising edge will see
        if offering and (c_ready.value if is_cmd else i_ready.value):
            offering, sent = False, sent + 1
        if take and o_valid.value:
            word = o_payload.value.to_unsigned()
            if word != expect[got]:
                r = out_l.from_bits(word)
                assert False, (f"mismatch: {vec.replay(*where[got])}; rtl row={r.row} "
                               f"update={list(r.update)} overflow={list(r.overflow)} "
                               f"last={r.last}")
            got += 1
        cycles += 1
        assert cycles < limit, (f"seed={vec.seed}: stalled after {cycles} cycles "
                                f"({sent}/{n_in} beats in, {got}/{n_out} rows out)")
    return cycles


def sample_chunk(cov, vec) -> None:
    """Sample the content cover points of a chunk whose readouts were all checked."""
    top, bottom = count_extremes(vec.update, vec.out_width)
    cov["update_saturation"]("pos", top)
    cov["update_saturation"]("neg", bottom)
    cov["overflow"]("set", count_values(vec.overflow, 1)[0])
    cov["readout"]("clear", sum(vec.clear))
    cov["readout"]("keep", len(vec.clear) - sum(vec.clear))
    pairs = [(e - s) // vec.rows for s, e in zip([0, *vec.ends[:-1]], vec.ends)]
    cov["window_length"]("1", pairs.count(1))
    cov["window_length"]("max", pairs.count(MAX_WINDOW))


@cocotb.test()
@cocotb.parametrize(seed_offset=seed_offsets(CONFIG))
async def test_random_vectors(dut, seed_offset):
    """Stream seeded update windows and readouts through the unit under back-pressure."""
    cfg = CONFIG
    hdl = {k: cfg[k] for k in ("rows", "cols", "grad_width", "delta_width", "shift",
                               "out_width", "rounding")}
    cov = cover_points("wgu")

    async def run(vec, rng):
        cycles = await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng)
        sample_chunk(cov, vec)
        return cycles
    with monitored(dut, STREAMS, cov["backpressure"]):
        seed, cycles = await random_chunks(
            dut, seed_offset, cfg["pairs"], CHUNK_PAIRS, reset,
            lambda n, s: wgu_vectors(pairs=n, seed=s, **hdl), run)
        record("test_random_vectors", vectors=cfg["pairs"] * cfg["rows"], cycles=cycles)
    dut._log.info("seed %d: %d pairs x %d rows in %d cycles", seed, cfg["pairs"], cfg["rows"],
                  cycles)


@cocotb.test()
async def test_directed_corners(dut):
    """Reset in mid-stream, then windows of 1 and MAX_WINDOW pairs and two saturating ones."""
    cfg = CONFIG
    hdl = {k: cfg[k] for k in ("rows", "cols", "grad_width", "delta_width", "shift",
                               "out_width", "rounding")}
    seed = default_seed()
    rng = random.Random(sub_seed(seed, 300))
    cov = cover_points("wgu")
    with monitored(dut, STREAMS, cov["backpressure"]):
        await reset(dut)
        cut = wgu_vectors(pairs=16, seed=sub_seed(seed, 301), **hdl)
        if await reset_mid_stream(dut, run_chunk(dut, cut, gap=cfg["gap"], stall=cfg["stall"],
                                                 rng=rng),
                                  cycles=24, idle=("i__valid", "i_cmd__valid", "o__ready")):
            cov["reset_mid_stream"]("hit")
        # Windows of 1 pair, of none (two read commands back to back: the second waits on
        # i_cmd; it keeps the memory) and of MAX_WINDOW pairs; then windows of the largest
        # delta (then the smallest) at every spike, long enough to take a cleared gradient word
        # past its top (bottom).
        sat = (1 << (hdl["grad_width"] - 1)) // ((1 << (hdl["delta_width"] - 1)) - 1) + 2
        lengths = [1, 0, MAX_WINDOW, sat, sat]
        vectors = cycles = 0
        for vec in (wgu_vectors(pairs=16, seed=sub_seed(seed, 302), **hdl),
                    wgu_vectors(pairs=sum(lengths), seed=sub_seed(seed, 303), lengths=lengths,
                                modes=[0, 0, 0, 6, 7], clears=[1, 0, 1, 1, 1], density=100,
                                **hdl)):
            cycles += await run_chunk(dut, vec, gap=cfg["gap"], stall=cfg["stall"], rng=rng)
            sample_chunk(cov, vec)
            vectors += len(vec.row)
        record("test_directed_corners", vectors=vectors, cycles=cycles)
