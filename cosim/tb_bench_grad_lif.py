# SPDX-License-Identifier: MIT
"""Streaming speed bench of GradLIF: the same checked loop under cocotb and amaranth.sim.

Forward beats (random currents, golden outputs from :func:`cosim.vectors.grad_lif_vectors`)
are offered back to back with ``valid`` and both ``ready`` inputs held high, and every output
beat is compared with the golden one as a packed word; the backward stream stays idle. Each
simulator does the same work per cycle: set the input payload, read ``i.ready``, ``o.valid``
and, when valid, ``o.payload``. Only the stream loop is timed, not reset or vector generation.

Under cocotb the run is configured by JSON in ``DFASIM_BENCH_CONFIG`` (``lanes``,
``max_timesteps``, ``beats``, ``seed``) and the result is written as JSON to the path in
``DFASIM_BENCH_OUT``; :func:`run_amaranth` takes the same configuration as a dict.
"""
from __future__ import annotations

import json
import math
import os
import time

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly

from ..golden.grad_lif import GradLIFParams
from ..rtl.common.layouts import GradLIFInputLayout, GradLIFOutputLayout
from .streams import start_and_reset
from .vectors import fast_packer, grad_lif_vectors, sub_seed

__all__ = ["CONFIG_ENV", "OUT_ENV", "forward_beats", "run_amaranth"]

CONFIG_ENV = "DFASIM_BENCH_CONFIG"
OUT_ENV = "DFASIM_BENCH_OUT"
#: Samples generated per call of the golden model, which bounds the memory of long runs.
CHUNK_SAMPLES = 256


def forward_beats(*, lanes: int, max_timesteps: int, beats: int,
                  seed: int) -> tuple[list[int], list[int]]:
    """Return ``beats`` packed forward input words and the packed golden output words.

    Samples of ``max_timesteps`` steps (default :class:`~golden.grad_lif.GradLIFParams`, the
    defaults of :class:`~rtl.neuron.GradLIF`) follow each other, each starting with
    ``first = 1``; the last one may be cut short.
    """
    p = GradLIFParams()
    in_l = GradLIFInputLayout(lanes, p.current_width)
    out_l = GradLIFOutputLayout(lanes, p.mem_width, max_timesteps)
    pack_in, pack_out = fast_packer(in_l), fast_packer(out_l)
    words, expected = [], []
    samples = math.ceil(beats / max_timesteps)
    for chunk, first in enumerate(range(0, samples, CHUNK_SAMPLES)):
        vec = grad_lif_vectors(p, lanes=lanes, samples=min(CHUNK_SAMPLES, samples - first),
                               steps=max_timesteps, seed=sub_seed(seed, 2000 + chunk))
        for n in range(vec.samples):
            for t in range(max_timesteps):
                words.append(pack_in({"current": vec.currents[n][t], "first": int(t == 0)}))
                expected.append(pack_out({"spike": vec.spikes[n][t], "u": vec.u[n][t],
                                          "step": t}))
        if chunk == 0:
            # Cross-check the fast packer against Amaranth's own packing once.
            c0, s0, u0 = vec.currents[0][0], vec.spikes[0][0], vec.u[0][0]
            assert words[0] == in_l.const({"current": c0, "first": 1}).as_bits()
            assert expected[0] == out_l.const({"spike": s0, "u": u0, "step": 0}).as_bits()
    return words[:beats], expected[:beats]


def _result(cycles: int, seconds: float, got: int, beats: int, bad: list[int],
            setup_s: float) -> dict:
    return {"cycles": cycles, "seconds": seconds, "beats": beats, "received": got,
            "mismatches": len(bad) + (beats - got), "first_mismatches": bad[:5],
            "vectors_s": setup_s}


def run_amaranth(config: dict) -> dict:
    """Run the bench in amaranth.sim; return the result dict (plus ``build_s``).

    ``build_s`` is the time to elaborate the design and compile it into the simulator.
    """
    from amaranth.sim import Simulator

    from ..rtl.neuron import GradLIF

    t0 = time.perf_counter()
    words, expected = forward_beats(lanes=config["lanes"], max_timesteps=config["max_timesteps"],
                                    beats=config["beats"], seed=config["seed"])
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    dut = GradLIF(lanes=config["lanes"], max_timesteps=config["max_timesteps"])
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    build_s = time.perf_counter() - t0
    out = {}

    async def bench(ctx):
        i_payload, o_payload = dut.i.payload.as_value(), dut.o.payload.as_value()
        i_valid, i_ready, o_valid = dut.i.valid, dut.i.ready, dut.o.valid
        n = len(words)
        limit = 2 * n + 100
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.o_delta.ready, 1)
        ctx.set(i_valid, 1)
        sent = got = cycles = 0
        bad = []
        start = time.perf_counter()
        # Inputs are set before the edge and outputs read before it, as cocotb's ReadOnly does.
        while got < n and cycles < limit:
            if sent < n:
                ctx.set(i_payload, words[sent])
            else:
                ctx.set(i_valid, 0)
            if sent < n and ctx.get(i_ready):
                sent += 1
            if ctx.get(o_valid):
                if ctx.get(o_payload) != expected[got]:
                    bad.append(got)
                got += 1
            cycles += 1
            await ctx.tick()
        out.update(_result(cycles, time.perf_counter() - start, got, n, bad, setup_s))

    sim.add_testbench(bench)
    sim.run()
    return dict(out, build_s=build_s)


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
    result = _result(cycles, time.perf_counter() - start, got, n, bad, setup_s)
    with open(os.environ[OUT_ENV], "w") as f:
        json.dump(result, f)
    assert result["mismatches"] == 0, (f"seed={cfg['seed']}: {result['mismatches']} of {n} "
                                       f"output beats wrong or missing, first at beats {bad[:5]}")
