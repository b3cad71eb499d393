# SPDX-License-Identifier: MIT
"""cocotb testbench of the generated GradLIF Verilog: random vectors against the golden model.

The pytest entry (``test_grad_lif_cocotb.py``) and ``dfasim rtl verify grad_lif`` pass the HDL
and run parameters as JSON in ``GRADLIF_CONFIG``; the stimulus seed comes from ``DFASIM_SEED``.
A mismatch fails with the vector's seed, sample, step and inputs, so it can be replayed in either
test tier. Both tests sample the cover points of :data:`.coverage.COVER_POINTS` ``["grad_lif"]``.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
from amaranth.hdl import Shape
from amaranth.lib import data
from cocotb.triggers import FallingEdge, ReadOnly

from dfasim.cosim.streams import random_chunks, start_and_reset
from dfasim.cosim.vectors import grad_lif_corner_vectors, grad_lif_vectors, sub_seed
from dfasim.golden.grad_lif import GradLIFParams
from dfasim.golden.stimulus import default_seed
from dfasim.rtl.common.layouts import (GradLIFDeltaLayout, GradLIFErrLayout, GradLIFInputLayout,
                                       GradLIFOutputLayout)

from .coverage import (count_extremes, count_values, cover_points, monitored, record,
                       seed_offsets)
from .phases import reset_mid_stream

__all__ = []

CONFIG = json.loads(os.environ.get("GRADLIF_CONFIG", "{}"))
#: Samples generated and checked per chunk, which bounds the memory of long runs.
CHUNK_SAMPLES = 256
#: The streams whose back-pressure is covered.
STREAMS = ("i", "i_err", "o", "o_delta")


def packer(layout):
    """Return ``pack(value) -> int`` equal to ``layout.const(value).as_bits()``, only faster.

    Offsets and widths are read from the layout itself, so the packing cannot drift from the
    RTL; ``layout.const`` costs ~40 us per 16-lane beat, which would dominate a long run.
    """
    fields = []
    for name, field in layout:
        shape = field.shape
        if isinstance(shape, data.ArrayLayout):
            width = Shape.cast(shape.elem_shape).width
            fields.append((name, field.offset, width, shape.length))
        else:
            fields.append((name, field.offset, shape.width, None))

    def pack(value):
        word = 0
        for name, offset, width, length in fields:
            mask = (1 << width) - 1
            if length is None:
                word |= (value[name] & mask) << offset
            else:
                for k, x in enumerate(value[name]):
                    word |= (x & mask) << (offset + k * width)
        return word
    return pack


async def reset(dut) -> None:
    """Drive every input to a known value, start the clock and hold ``rst`` for 3 cycles."""
    await start_and_reset(dut, ("i__valid", "i__payload", "i_err__valid", "i_err__payload",
                                "o__ready", "o_delta__ready"))


async def run_chunk(dut, vec, *, lanes, max_timesteps, gap, stall, rng) -> int:
    """Stream one :class:`~cosim.vectors.GradLIFVectors` chunk; return the cycles it took.

    Forward beats of sample ``n`` are followed by its backward beats (in ``vec.order``);
    the forward beat ``(n + 1, t)`` waits until the backward beat ``(n, t)`` was accepted, so
    the two directions overlap while every read sees a defined store word. Outputs are
    compared as packed words; only a mismatch is decoded.
    """
    p, steps, samples = vec.params, vec.steps, vec.samples
    in_l = GradLIFInputLayout(lanes, p.current_width)
    out_l = GradLIFOutputLayout(lanes, p.mem_width, max_timesteps)
    err_l = GradLIFErrLayout(lanes, p.err_width, max_timesteps)
    delta_l = GradLIFDeltaLayout(lanes, p.delta_width)

    pack_in, pack_out, pack_err, pack_delta = map(packer, (in_l, out_l, err_l, delta_l))
    fwd, fwd_exp, fwd_id, bwd, bwd_exp, bwd_id = [], [], [], [], [], []
    bwd_pos = {}
    for n in range(samples):
        for t in range(steps):
            fwd.append(pack_in({"current": vec.currents[n][t], "first": int(t == 0)}))
            fwd_exp.append(pack_out({"spike": vec.spikes[n][t], "u": vec.u[n][t], "step": t}))
            fwd_id.append((n, t))
        for t in vec.order[n]:
            bwd_pos[n, t] = len(bwd)
            bwd.append(pack_err({"err": vec.errs[n][t], "step": t}))
            bwd_exp.append(pack_delta({"delta": vec.delta[n][t]}))
            bwd_id.append((n, t))
    # Cross-check the fast packer against Amaranth's own packing on the first beats.
    n0 = vec.order[0][0]
    assert fwd[0] == in_l.const({"current": vec.currents[0][0], "first": 1}).as_bits()
    assert fwd_exp[0] == out_l.const({"spike": vec.spikes[0][0], "u": vec.u[0][0],
                                      "step": 0}).as_bits()
    assert bwd[0] == err_l.const({"err": vec.errs[0][n0], "step": n0}).as_bits()
    assert bwd_exp[0] == delta_l.const({"delta": vec.delta[0][n0]}).as_bits()
    fwd_wait = [0 if n == 0 else bwd_pos[n - 1, t] + 1 for n, t in fwd_id]
    bwd_wait = [(n + 1) * steps for n, _ in bwd_id]

    clk = dut.clk
    i_valid, i_payload, i_ready = dut.i__valid, dut.i__payload, dut.i__ready
    e_valid, e_payload, e_ready = dut.i_err__valid, dut.i_err__payload, dut.i_err__ready
    o_valid, o_payload, o_ready = dut.o__valid, dut.o__payload, dut.o__ready
    d_valid, d_payload, d_ready = dut.o_delta__valid, dut.o_delta__payload, dut.o_delta__ready
    n_fwd, n_bwd = len(fwd), len(bwd)
    fi = bi = fo = bo = 0                      # beats sent / received per direction
    f_on = b_on = False                        # a beat is being offered (held until taken)
    cycles, limit = 0, 20 * (n_fwd + n_bwd) + 100
    while fo < n_fwd or bo < n_bwd:
        await FallingEdge(clk)
        if not f_on and fi < n_fwd and bi >= fwd_wait[fi] and rng.random() >= gap:
            f_on = True
            i_payload.value = fwd[fi]
        if not b_on and bi < n_bwd and fi >= bwd_wait[bi] and rng.random() >= gap:
            b_on = True
            e_payload.value = bwd[bi]
        i_valid.value = f_on
        e_valid.value = b_on
        take_o = rng.random() >= stall
        take_d = rng.random() >= stall
        o_ready.value = take_o
        d_ready.value = take_d
        await ReadOnly()                       # the values the next rising edge will see
        if f_on and i_ready.value:
            f_on, fi = False, fi + 1
        if b_on and e_ready.value:
            b_on, bi = False, bi + 1
        if take_o and o_valid.value:
            got = o_payload.value.to_unsigned()
            if got != fwd_exp[fo]:
                n, t = fwd_id[fo]
                g = out_l.from_bits(got)
                assert False, (f"forward mismatch: {vec.replay(n, t)}; rtl spike={list(g.spike)}"
                               f" u={list(g.u)} step={g.step}")
            fo += 1
        if take_d and d_valid.value:
            got = d_payload.value.to_unsigned()
            if got != bwd_exp[bo]:
                n, t = bwd_id[bo]
                g = delta_l.from_bits(got)
                assert False, f"backward mismatch: {vec.replay(n, t)}; rtl delta={list(g.delta)}"
            bo += 1
        cycles += 1
        assert cycles < limit, (f"seed={vec.seed}: stalled after {cycles} cycles "
                                f"(forward {fo}/{n_fwd}, backward {bo}/{n_bwd} beats out)")
    return cycles


def sample_chunk(cov, vec) -> None:
    """Sample the content cover points of a chunk whose outputs were all checked."""
    p = vec.params
    top, bottom = count_extremes(vec.u, p.mem_width)
    cov["u_saturation"]("pos", top)
    cov["u_saturation"]("neg", bottom)
    top, bottom = count_extremes(vec.delta, p.delta_width)
    cov["delta_saturation"]("pos", top)
    cov["delta_saturation"]("neg", bottom)
    cov["threshold_equal"]("hit", count_values(vec.u, p.threshold)[0])
    fired = count_values(vec.spikes, 1)[0]
    cov["spike"]("fire", fired)
    cov["spike"]("silent", vec.samples * vec.steps * vec.lanes - fired)


@cocotb.test()
@cocotb.parametrize(seed_offset=seed_offsets(CONFIG))
async def test_random_vectors(dut, seed_offset):
    """Stream seeded random samples through both directions under random back-pressure."""
    cfg = CONFIG
    p = GradLIFParams(**cfg["params"])
    lanes, max_timesteps, steps, samples = (cfg[k] for k in ("lanes", "max_timesteps", "steps",
                                                             "samples"))
    cov = cover_points("grad_lif")

    async def run(vec, rng):
        cycles = await run_chunk(dut, vec, lanes=lanes, max_timesteps=max_timesteps,
                                 gap=cfg["gap"], stall=cfg["stall"], rng=rng)
        sample_chunk(cov, vec)
        return cycles
    with monitored(dut, STREAMS, cov["backpressure"]):
        seed, cycles = await random_chunks(
            dut, seed_offset, samples, CHUNK_SAMPLES, reset,
            lambda n, s: grad_lif_vectors(p, lanes=lanes, samples=n, steps=steps, seed=s), run)
        record("test_random_vectors", vectors=samples * steps, cycles=cycles)
    dut._log.info("seed %d: %d samples x %d steps x %d lanes (%d forward + %d backward beats) "
                  "in %d cycles", seed, samples, steps, lanes, samples * steps, samples * steps,
                  cycles)


@cocotb.test()
async def test_directed_corners(dut):
    """Reset in mid-stream, then u == threshold, u and delta saturated at both ends."""
    cfg = CONFIG
    p = GradLIFParams(**cfg["params"])
    lanes, max_timesteps, steps = (cfg[k] for k in ("lanes", "max_timesteps", "steps"))
    seed = default_seed()
    rng = random.Random(sub_seed(seed, 300))
    cov = cover_points("grad_lif")

    def run(vec):
        return run_chunk(dut, vec, lanes=lanes, max_timesteps=max_timesteps, gap=cfg["gap"],
                         stall=cfg["stall"], rng=rng)
    with monitored(dut, STREAMS, cov["backpressure"]):
        await reset(dut)
        cut = grad_lif_vectors(p, lanes=lanes, samples=4, steps=steps, seed=sub_seed(seed, 301))
        if await reset_mid_stream(dut, run(cut), cycles=24,
                                  idle=("i__valid", "i_err__valid", "o__ready",
                                        "o_delta__ready")):
            cov["reset_mid_stream"]("hit")
        vectors = cycles = 0
        for vec in (grad_lif_vectors(p, lanes=lanes, samples=4, steps=steps,
                                     seed=sub_seed(seed, 302)),
                    grad_lif_corner_vectors(p, lanes=lanes, steps=steps,
                                            seed=sub_seed(seed, 303))):
            cycles += await run(vec)
            sample_chunk(cov, vec)
            vectors += vec.samples * vec.steps
        record("test_directed_corners", vectors=vectors, cycles=cycles)
