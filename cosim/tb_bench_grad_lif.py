# SPDX-License-Identifier: MIT
"""cocotb side of the GradLIF speed bench: the checked stream loop run inside the simulator.

A simulator process loads this module by name (:data:`cosim.bench_grad_lif.TB_MODULE`); it is
never imported to configure or run a bench. Stimulus, golden words, configuration and result
format come from :mod:`cosim.bench_grad_lif`, which also holds the amaranth.sim twin of this
loop.
"""
from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly

from .bench_grad_lif import CONFIG_ENV, OUT_ENV, bench_result, forward_beats
from .streams import start_and_reset

__all__ = ["bench_stream"]


@cocotb.test()
async def bench_stream(dut):
    """Stream the configured forward beats with no gaps or stalls; count cycles and time."""
    cfg = json.loads(os.environ[CONFIG_ENV])
    t0 = time.perf_counter()
    words, expected = forward_beats(lanes=cfg["lanes"], max_timesteps=cfg["max_timesteps"],
                                    beats=cfg["beats"], seed=cfg["seed"])
    setup_s = time.perf_counter() - t0
    await start_and_reset(dut, ("i__valid", "i__payload", "i_err__valid", "i_err__payload",
                                "o__ready", "o_delta__ready"))
    clk = dut.clk
    i_valid, i_payload, i_ready = dut.i__valid, dut.i__payload, dut.i__ready
    o_valid, o_payload = dut.o__valid, dut.o__payload
    n = len(words)
    limit = 2 * n + 100
    dut.o__ready.value = 1
    dut.o_delta__ready.value = 1
    i_valid.value = 1
    sent = got = cycles = 0
    bad = []
    start = time.perf_counter()
    # The reset returned at a falling edge: the first beat and ``valid`` go out together.
    while got < n and cycles < limit:
        if sent < n:
            i_payload.value = words[sent]
        else:
            i_valid.value = 0
        await ReadOnly()                       # the values the next rising edge will see
        if sent < n and i_ready.value:
            sent += 1
        if o_valid.value:
            if o_payload.value.to_unsigned() != expected[got]:
                bad.append(got)
            got += 1
        cycles += 1
        await FallingEdge(clk)
    result = bench_result(cycles, time.perf_counter() - start, got, n, bad, setup_s)
    with open(os.environ[OUT_ENV], "w") as f:
        json.dump(result, f)
    assert result["mismatches"] == 0, (f"seed={cfg['seed']}: {result['mismatches']} of {n} "
                                       f"output beats wrong or missing, first at beats {bad[:5]}")
