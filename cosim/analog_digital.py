# SPDX-License-Identifier: MIT
"""Analog/digital co-simulation of one SNN layer: AnalogMatrix ADC codes into the RTL blocks."""
from __future__ import annotations

import torch

from .sim import run_testbenches, stream_get, stream_put
from dfasim.rtl.accum import PsumAccumulator
from dfasim.rtl.neuron import GradLIF
from dfasim.rtl.wgu import WGU
from ..golden.fixed import saturate
from ..golden.grad_lif import GradLIFParams
from ..golden.psum import differential_codes

__all__ = ["layer_codes", "project_errors", "rtl_psum_layer", "rtl_grad_lif_layer",
           "rtl_wgu_layer"]


def layer_codes(matrix, spikes: torch.Tensor, *, adc_bits: int) -> torch.Tensor:
    """Signed differential slice codes ``pos - neg`` of every timestep: shape ``(T, R, out)``.

    ``spikes`` is ``(T, in)`` binary; ``R`` is the number of row tiles of ``matrix``. The float
    forward current of the layer is ``matrix.adc_codes(spikes).scale`` times the psum of these
    codes, so the digital side works in psum LSBs.
    """
    codes = matrix.adc_codes(spikes)
    return differential_codes(codes.pos, codes.neg, adc_bits=adc_bits).transpose(0, 1)


def project_errors(e: torch.Tensor, B: torch.Tensor, *, err_width: int) -> torch.Tensor:
    """DFA projection ``sat(B @ e)`` per output in exact integers: ``(out, C) x (C,) -> (out,)``."""
    proj = [sum(int(b) * int(x) for b, x in zip(row, e.tolist())) for row in B.tolist()]
    return saturate(torch.tensor(proj, dtype=torch.int64), err_width)


def rtl_psum_layer(codes: torch.Tensor, *, in_width: int, acc_width: int,
                   max_cycles: int = 100_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Accumulate ``codes (T, R, out)`` in the RTL PsumAccumulator, one group per timestep.

    Row tile ``r`` of timestep ``t`` is one beat (all outputs as lanes), ``last`` on ``r = R-1``.
    Returns the RTL ``(sums, overflow)``, each ``(T, out)``.
    """
    n_t, n_r, n_out = codes.shape
    dut = PsumAccumulator(lanes=n_out, in_width=in_width, acc_width=acc_width)
    sums, flags = [], []

    async def producer(ctx):
        for t in range(n_t):
            for r in range(n_r):
                await stream_put(ctx, dut.i, {"code": codes[t, r].tolist(), "last": r == n_r - 1})

    async def consumer(ctx):
        for _ in range(n_t):
            p = await stream_get(ctx, dut.o)
            sums.append(list(p.sum))
            flags.append([bool(f) for f in p.overflow])

    run_testbenches(dut, producer, consumer, max_cycles=max_cycles)
    return torch.tensor(sums, dtype=torch.int64), torch.tensor(flags, dtype=torch.bool)


def rtl_grad_lif_layer(currents: torch.Tensor, err: torch.Tensor, params: GradLIFParams, *,
                       max_cycles: int = 100_000
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``currents (T, out)`` forward through the RTL GradLIF, then ``err (out,)`` backward.

    The forward pass is one sample (``first`` on timestep 0, ``max_timesteps = T``); the
    backward pass sends the same per-output error for every stored timestep. Returns
    ``(spikes, u, delta)``, each ``(T, out)``.
    """
    n_t, n_out = currents.shape
    kw = {name: getattr(params, name) for name in params.__dataclass_fields__}
    dut = GradLIF(lanes=n_out, max_timesteps=n_t, **kw)
    fwd, deltas = [], []

    async def fwd_producer(ctx):
        for t in range(n_t):
            await stream_put(ctx, dut.i, {"current": currents[t].tolist(), "first": t == 0})

    async def fwd_consumer(ctx):
        for _ in range(n_t):
            p = await stream_get(ctx, dut.o)
            fwd.append((list(p.spike), list(p.u), p.step))

    async def bwd_producer(ctx):
        while len(fwd) < n_t:                   # every membrane is stored before it is read
            await ctx.tick()
        for t in range(n_t):
            await stream_put(ctx, dut.i_err, {"err": err.tolist(), "step": t})

    async def bwd_consumer(ctx):
        for _ in range(n_t):
            p = await stream_get(ctx, dut.o_delta)
            deltas.append(list(p.delta))

    run_testbenches(dut, fwd_producer, fwd_consumer, bwd_producer, bwd_consumer,
                    max_cycles=max_cycles)
    if [step for _, _, step in fwd] != list(range(n_t)):
        raise AssertionError(f"GradLIF steps {[s for _, _, s in fwd]} != 0 .. {n_t - 1}")
    return (torch.tensor([s for s, _, _ in fwd], dtype=torch.int64),
            torch.tensor([u for _, u, _ in fwd], dtype=torch.int64),
            torch.tensor(deltas, dtype=torch.int64))


def rtl_wgu_layer(delta: torch.Tensor, spikes: torch.Tensor, *, grad_width: int,
                  delta_width: int, shift: int = 0, out_width: int | None = None,
                  rounding: str = "floor", bank_cols: int = 64, max_cycles: int = 100_000
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Clear the RTL WGU, accumulate ``delta (T, out)`` x ``spikes (T, in)``, and read it out.

    Rows are outputs and columns inputs; timestep ``t`` sends one beat per row. The columns
    are split into banks of at most ``bank_cols`` (one WGU each, same beats): amaranth's
    Python simulator cannot compile the row word of a much wider WGU (recursion limit); the
    cocotb tier runs a 256-column WGU as one block. Returns the readout ``(update,
    overflow)``, each ``(out, in)``: the words shifted by ``shift`` with ``rounding`` and
    saturated to ``out_width`` bits (``golden.wgu.wgu_readout``), i.e. the integer ``ΔW``.
    """
    kw = dict(grad_width=grad_width, delta_width=delta_width, shift=shift, out_width=out_width,
              rounding=rounding)
    banks = [_rtl_wgu_bank(delta, spikes[:, c:c + bank_cols], kw, max_cycles=max_cycles)
             for c in range(0, spikes.shape[1], bank_cols)]
    return torch.cat([g for g, _ in banks], 1), torch.cat([o for _, o in banks], 1)


def _rtl_wgu_bank(delta: torch.Tensor, spikes: torch.Tensor, wgu_kw: dict, *,
                  max_cycles: int) -> tuple[torch.Tensor, torch.Tensor]:
    n_t, n_out = delta.shape
    n_in = spikes.shape[1]
    dut = WGU(rows=n_out, cols=n_in, **wgu_kw)
    rows = []

    async def producer(ctx):
        await stream_put(ctx, dut.i_cmd, {"read": 0, "clear": 1})
        for t in range(n_t):
            s = [int(v) for v in spikes[t].tolist()]
            for i in range(n_out):
                await stream_put(ctx, dut.i, {"row": i, "delta": int(delta[t, i]), "spikes": s})
        await stream_put(ctx, dut.i_cmd, {"read": 1, "clear": 0})

    async def consumer(ctx):
        for _ in range(n_out):
            p = await stream_get(ctx, dut.o)
            rows.append((p.row, list(p.update), [bool(f) for f in p.overflow], p.last))

    run_testbenches(dut, producer, consumer, max_cycles=max_cycles)
    if [r[0] for r in rows] != list(range(n_out)) or not rows[-1][3]:
        raise AssertionError(f"WGU readout rows {[r[0] for r in rows]} out of order")
    return (torch.tensor([r[1] for r in rows], dtype=torch.int64),
            torch.tensor([r[2] for r in rows], dtype=torch.bool))
