# SPDX-License-Identifier: MIT
"""cocotb testbench of the training tile for ``dfasim rtl verify tile``, with FSM coverage.

``$TILE_VERIFY_CONFIG`` (JSON) carries the tile parameters, the sample-timesteps to run and
the stall probability; the stimulus seed comes from ``$DFASIM_SEED``. Everything else is made
here from that seed, so a run replays bit for bit: random input spikes (a spike rate drawn per
step) and random errors (spanning the whole ``err_width`` range), steps alternating DFA (no
propagation) and BP (transposed reads and ``o_err``). Each step runs on the RTL against a
crossbar model (``cosim.tile_xbar.layer_oracle``) and on :func:`golden.tile.tile_step` against
an identical second model; spikes, membranes, deltas, output words, propagated errors and level
changes must be equal. A second test resets the tile in the middle of a step — once in the
forward and once in the backward pass — and then checks a clean step.

Cover points (``COVER_POINTS["tile"]``): every controller state, every transition of the
FSM (:data:`TRANSITIONS`, the ``m.next`` assignments of ``rtl/tile/tile.py``), a reset in each
pass, both rules, and ``valid & ~ready`` on every stream. A state change that is not one of
:data:`TRANSITIONS` and not a reset fails the test.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import torch

from ..tile_cocotb import INPUTS, drive_tile
from .coverage import TILE_TRANSITIONS, cover_points, monitored, record

__all__: list[str] = []

CONFIG = json.loads(os.environ.get("TILE_VERIFY_CONFIG", "{}"))
#: Streams of the tile (valid/ready pairs) for the back-pressure cover point.
STREAMS = ("i_cmd", "i_spk", "i_err", "i_resp", "o_req", "o_spk", "o_err")
#: Cycles of a reset pulse in the middle of a step.
RESET_CYCLES = 3


def _params():
    from ...golden.tile import TileParams

    return TileParams(**CONFIG["params"])


def _seed() -> int:
    from ...golden.stimulus import default_seed

    return default_seed()


def _stimulus(p, gen: torch.Generator, batch: int):
    """Spikes at a rate drawn for the step, errors over the whole signed ``err_width``."""
    rate = float(torch.empty(1).uniform_(0.1, 0.9, generator=gen))
    spikes = (torch.rand(batch, p.timesteps, p.n_in, generator=gen) < rate).to(torch.int64)
    top = (1 << (p.err_width - 1)) - 1
    errors = torch.randint(-top - 1, top + 1, (batch, p.timesteps, p.n_out), generator=gen)
    return spikes, errors


class StateMonitor:
    """Samples the controller state every cycle: state and transition cover points; fails on
    a transition the FSM does not have unless a reset caused it."""

    def __init__(self, dut, cov):
        from ...rtl.tile import STATES

        self.dut, self.cov, self.names = dut, cov, STATES
        self.resetting = False
        self.previous = None
        self.task = None

    async def run(self):
        from cocotb.triggers import FallingEdge, ReadOnly

        while True:
            await FallingEdge(self.dut.clk)
            await ReadOnly()
            state = self.names[int(self.dut.o_state.value)]
            self.cov["state"](state)
            if self.previous is not None and state != self.previous:
                pair = f"{self.previous}->{state}"
                if pair in TILE_TRANSITIONS:
                    self.cov["transition"](pair)
                else:
                    assert self.resetting and state == "IDLE", (
                        f"seed {_seed()}: the controller went {pair}, not a transition of "
                        f"the FSM")
            self.previous = state

    def __enter__(self) -> "StateMonitor":
        self.task = cocotb.start_soon(self.run())
        return self

    def __exit__(self, *exc) -> None:
        self.task.cancel()


async def _start(dut) -> None:
    from ..streams import start_and_reset

    await start_and_reset(dut, INPUTS, cycles=3)


async def _pulse_reset(dut) -> None:
    """Drop every input, hold ``rst`` for :data:`RESET_CYCLES` cycles (the clock runs on)."""
    from cocotb.triggers import RisingEdge

    for name in INPUTS:
        getattr(dut, name).value = 0
    dut.rst.value = 1
    for _ in range(RESET_CYCLES):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


def _check(got, gold, propagate: bool, where: str) -> None:
    for key in ("spikes", "u", "delta"):
        assert torch.equal(got[key], getattr(gold, key)), f"{where}: {key} differ"
    assert torch.equal(got["out_spikes"], gold.spikes), f"{where}: o_spk words differ"
    assert torch.equal(got["levels"], gold.levels), f"{where}: level changes differ"
    if propagate:
        assert torch.equal(got["err_out"], gold.err_out), f"{where}: o_err differs"


def _oracles(p, seed: int):
    from ..tile_xbar import layer_oracle

    # Two identical crossbars from one seed: one answers the RTL, one the golden.
    return layer_oracle(p, seed=seed), layer_oracle(p, seed=seed)


@cocotb.test()
async def test_random_steps(dut):
    """Random DFA and BP steps under random stalls, each equal to the golden."""
    from ...golden.tile import tile_step

    p, seed, cfg = _params(), _seed(), CONFIG
    cov = cover_points("tile")
    batch = cfg["batch"]
    steps = max(2, -(-cfg["timesteps_total"] // (batch * p.timesteps)))
    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(seed + 101)
    rtl_xbar, gold_xbar = _oracles(p, seed)
    await _start(dut)
    cycles = 0
    with monitored(dut, STREAMS, cov["backpressure"]), StateMonitor(dut, cov):
        for step in range(steps):
            propagate = step % 2 == 1
            spikes, errors = _stimulus(p, gen, batch)
            gold = tile_step(p, spikes, errors, gold_xbar, propagate=propagate)
            # Every third step also offers a command while busy (which must wait).
            got = await drive_tile(dut, p, rtl_xbar, spikes, errors, propagate=propagate,
                                   rng=rng, stall=cfg["stall"],
                                   busy_cmd_cycles=4 if step % 3 == 0 else 0)
            _check(got, gold, propagate, f"seed={seed} step {step}")
            cov["rule"]("bp" if propagate else "dfa")
            cycles += got["cycles"]
        record("test_random_steps", vectors=steps * batch * p.timesteps, cycles=cycles)


@cocotb.test()
async def test_reset_mid_step(dut):
    """A reset in the forward and one in the backward pass; each followed by a clean step."""
    from cocotb.triggers import RisingEdge

    from ...golden.tile import tile_step

    p, seed, cfg = _params(), _seed(), CONFIG
    cov = cover_points("tile")
    batch = cfg["batch"]
    gen = torch.Generator().manual_seed(seed + 7)
    rng = random.Random(seed + 202)
    await _start(dut)
    cycles = vectors = 0
    # No back-pressure sampling here (the random test does it); coverage exported at the end.
    with monitored(dut, (), cov["backpressure"]), StateMonitor(dut, cov) as monitor:
        for n, (phase, state) in enumerate((("forward", "FWD_REQ"), ("backward", "BWD_WGU"))):
            propagate = phase == "backward"
            spikes, errors = _stimulus(p, gen, batch)
            rtl_xbar, _ = _oracles(p, seed + n)
            step = cocotb.start_soon(drive_tile(dut, p, rtl_xbar, spikes, errors,
                                                propagate=propagate, rng=rng,
                                                stall=cfg["stall"]))
            # Let the step run two cycles into the pass (requests or WGU beats in flight) and a
            # few more at random, then reset it.
            seen = 0
            while seen < 2:
                await RisingEdge(dut.clk)
                seen += monitor.previous == state
            for _ in range(rng.randrange(1, 6)):
                await RisingEdge(dut.clk)
            step.cancel()
            monitor.resetting = True
            cov["reset_mid_stream"](phase)
            await _pulse_reset(dut)
            monitor.resetting = False
            assert monitor.previous == "IDLE", f"seed={seed}: not IDLE after reset"
            # A clean step on fresh crossbars (the aborted step's reads drew read noise).
            rtl_xbar, gold_xbar = _oracles(p, seed + 100 + n)
            gold = tile_step(p, spikes, errors, gold_xbar, propagate=propagate)
            got = await drive_tile(dut, p, rtl_xbar, spikes, errors, propagate=propagate,
                                   rng=rng, stall=cfg["stall"])
            _check(got, gold, propagate, f"seed={seed} after a reset in the {phase} pass")
            cycles += got["cycles"]
            vectors += batch * p.timesteps
        record("test_reset_mid_step", vectors=vectors, cycles=cycles)
