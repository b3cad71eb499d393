# SPDX-License-Identifier: MIT
"""Run phases shared by the block testbenches: a reset in the middle of a stream.

Simulator-side only (imports cocotb); the directed stimulus itself comes from
:mod:`cosim.vectors` like the random one.
"""
from __future__ import annotations

from collections.abc import Coroutine

import cocotb
from cocotb.triggers import FallingEdge

__all__ = ["reset_mid_stream"]


async def reset_mid_stream(dut, run: Coroutine, *, cycles: int, idle: tuple[str, ...],
                           hold: int = 2) -> bool:
    """Stream ``run`` for ``cycles`` clock cycles, then hold ``rst`` while it is in flight.

    ``run`` (a chunk driver of the block's testbench) is cancelled after ``cycles`` falling
    edges; ``rst`` then goes high for ``hold`` cycles with the inputs as the driver left them
    (beats still offered, outputs still pending), after which ``idle`` (the valid inputs and
    the ready inputs) are driven to 0 and ``rst`` released. The caller then streams a fresh
    checked chunk, which passes only if the reset left the block in its reset state.

    Returns
    -------
    bool
        Whether the driver was still running when the reset came (a real mid-stream reset).
    """
    task = cocotb.start_soon(run)
    for _ in range(cycles):
        await FallingEdge(dut.clk)
        if task.done():
            break
    in_flight = not task.done()
    if in_flight:
        task.cancel()
    else:
        task.result()                   # a driver that finished early must still have passed
    dut.rst.value = 1
    for _ in range(hold):
        await FallingEdge(dut.clk)
    for name in idle:
        getattr(dut, name).value = 0
    dut.rst.value = 0
    return in_flight
