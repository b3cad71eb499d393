# SPDX-License-Identifier: MIT
"""amaranth.sim helpers: stream put/get with optional random stalls, and a bounded run."""
from __future__ import annotations

import random
from pathlib import Path

from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth.sim import Simulator

__all__ = ["stream_put", "stream_get", "run_testbenches", "run_simulation", "SimTimeout", "ResetHarness"]


class ResetHarness(Elaboratable):
    """Wrap a DUT in an explicit ``sync`` domain so that a testbench can pulse its reset
    (``harness.cd.rst``)."""

    def __init__(self, dut):
        self.dut = dut
        self.cd = ClockDomain("sync")

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = self.cd
        m.submodules.dut = self.dut
        return m

#: Clock period of the ``sync`` domain in the helpers, in seconds.
PERIOD = 1e-8


class SimTimeout(AssertionError):
    """A testbench did not finish within its cycle budget (a hang or a lost beat)."""


async def stream_put(ctx, stream, payload, *, rng: random.Random | None = None,
                     gap: float = 0.0) -> None:
    """Send one beat on ``stream`` (a flipped ``stream.Interface``) and wait for its handshake.

    With ``rng`` and ``gap > 0``, ``valid`` first stays low for a random number of cycles
    (geometric, mean ``gap / (1 - gap)``) to exercise input bubbles.
    """
    if rng is not None:
        while rng.random() < gap:
            await ctx.tick()
    ctx.set(stream.payload, payload)
    ctx.set(stream.valid, 1)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream, *, rng: random.Random | None = None, stall: float = 0.0):
    """Receive one beat from ``stream`` and return its payload (a ``data.Const``).

    With ``rng`` and ``stall > 0``, ``ready`` is driven low with probability ``stall`` in each
    cycle, so the producer sees random back-pressure, also while it holds a valid beat.
    """
    while True:
        ready = rng is None or rng.random() >= stall
        ctx.set(stream.ready, ready)
        _, _, payload, valid = await ctx.tick().sample(stream.payload, stream.valid)
        if ready and valid:
            ctx.set(stream.ready, 0)
            return payload


def run_simulation(sim: Simulator, vcd: str | Path | None = None) -> None:
    """Run ``sim`` to its end, dumping every signal into ``vcd`` (its folder made) if given."""
    if vcd is None:
        sim.run()
        return
    Path(vcd).parent.mkdir(parents=True, exist_ok=True)
    with sim.write_vcd(str(vcd)):
        sim.run()


def run_testbenches(dut, *testbenches, max_cycles: int, vcd: str | Path | None = None) -> None:
    """Simulate ``dut`` with a ``sync`` clock until every testbench returns.

    Each testbench is an ``async def tb(ctx)``. The run stops after ``max_cycles`` clock
    cycles at most and raises :class:`SimTimeout` naming the testbenches still running.
    ``vcd`` writes a waveform dump.
    """
    sim = Simulator(dut)
    sim.add_clock(PERIOD)
    done = set()
    for tb in testbenches:
        async def wrapped(ctx, tb=tb):
            await tb(ctx)
            done.add(tb)
        sim.add_testbench(wrapped)

    async def watchdog(ctx):
        # A background testbench does not keep the simulation alive; a single delay is cheap.
        await ctx.delay(max_cycles * PERIOD)
        pending = [getattr(tb, "__name__", repr(tb)) for tb in testbenches if tb not in done]
        raise SimTimeout(f"testbenches {pending} did not finish within {max_cycles} cycles")
    sim.add_testbench(watchdog, background=True)

    run_simulation(sim, vcd)
