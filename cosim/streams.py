# SPDX-License-Identifier: MIT
"""cocotb helpers shared by the testbenches: reset, and one input stream in, one output out."""
from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

__all__ = ["start_and_reset", "stream_through", "stream_checked", "random_chunks"]


async def start_and_reset(dut, inputs: tuple[str, ...], cycles: int = 3) -> None:
    """Drive ``inputs`` to 0, start a 10 ns clock and hold ``rst`` for ``cycles`` cycles.

    Icarus is 4-state: an input left undriven at time 0 would latch X into the registers.
    """
    for name in inputs:
        getattr(dut, name).value = 0
    dut.rst.value = 1
    Clock(dut.clk, 10, unit="ns").start(start_high=False)
    for _ in range(cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


async def stream_through(dut, beats: list[int], n_out: int, *,
                         check_out: Callable[[int, int], None], rng: random.Random,
                         gap: float, stall: float, seed: int,
                         on_accept: Callable[[int], None] | None = None,
                         inp: str = "i", out: str = "o") -> int:
    """Offer packed ``beats`` on ``inp`` with random bubbles, take ``n_out`` words from ``out``
    under random back-pressure, and return the cycles it took.

    ``check_out(k, word)`` checks the ``k``-th output word (packed, unsigned) and
    ``on_accept(k)`` runs when input beat ``k`` is accepted; both run in the read-only phase
    before the rising edge, so they see the values that edge will sample.
    """
    clk = dut.clk
    i_valid, i_payload, i_ready = (getattr(dut, f"{inp}__{s}") for s in ("valid", "payload",
                                                                         "ready"))
    o_valid, o_payload, o_ready = (getattr(dut, f"{out}__{s}") for s in ("valid", "payload",
                                                                         "ready"))
    n_in = len(beats)
    sent = got = cycles = 0
    offering = False
    limit = 20 * max(n_in, n_out) + 100
    while got < n_out:
        await FallingEdge(clk)
        if not offering and sent < n_in and rng.random() >= gap:
            offering = True
            i_payload.value = beats[sent]
        i_valid.value = offering
        take = rng.random() >= stall
        o_ready.value = take
        await ReadOnly()                       # the values the next rising edge will see
        if offering and i_ready.value:
            if on_accept is not None:
                on_accept(sent)
            offering, sent = False, sent + 1
        if take and o_valid.value:
            check_out(got, o_payload.value.to_unsigned())
            got += 1
        cycles += 1
        assert cycles < limit, (f"seed={seed}: stalled after {cycles} cycles "
                                f"({sent}/{n_in} beats in, {got}/{n_out} out)")
    return cycles


def _describe(view, layout) -> str:
    """``name=value`` of every field of a decoded output word (arrays as lists)."""
    parts = []
    for name, _ in layout:
        value = getattr(view, name)
        try:
            value = list(value)
        except TypeError:
            pass
        parts.append(f"{name}={value}")
    return " ".join(parts)


async def stream_checked(dut, in_layout, out_layout, inputs: list, outputs: list,
                         replay: Callable[[int], str], *, rng: random.Random, gap: float,
                         stall: float, seed: int) -> int:
    """Stream ``inputs`` through a one-in, one-out block and check it returns ``outputs``.

    Values are packed with :func:`cosim.vectors.packing.fast_packer` (cross-checked against
    Amaranth's own ``layout.const`` on the first beat) and compared as packed words; a
    mismatch is decoded field by field and reported with ``replay(k)``. Returns the cycles it
    took.
    """
    from .vectors.packing import fast_packer

    pack_in, pack_out = fast_packer(in_layout), fast_packer(out_layout)
    beats = [pack_in(v) for v in inputs]
    expect = [pack_out(v) for v in outputs]
    assert beats[0] == in_layout.const(inputs[0]).as_bits()
    assert expect[0] == out_layout.const(outputs[0]).as_bits()

    def check(k: int, word: int) -> None:
        if word != expect[k]:
            got = _describe(out_layout.from_bits(word), out_layout)
            assert False, f"mismatch: {replay(k)}; rtl {got}"

    return await stream_through(dut, beats, len(expect), check_out=check, rng=rng, gap=gap,
                                stall=stall, seed=seed)


async def random_chunks(dut, seed_offset: int, total: int, size: int,
                        reset: Callable[[object], Awaitable[None]],
                        make: Callable[[int, int], object],
                        run: Callable[[object, random.Random], Awaitable[int]]
                        ) -> tuple[int, int]:
    """Reset, then stream ``total`` seeded random vectors in chunks of at most ``size``.

    The test seed is ``$DFASIM_SEED + seed_offset``; ``make(n, chunk_seed)`` generates a chunk
    (:func:`cosim.vectors.seeds.chunks`: chunk 0 uses the test seed, so short runs replay with it)
    and ``run(vec, rng)`` streams it, returning its cycles; ``rng`` draws the bubbles and the
    back-pressure. Returns ``(seed, cycles)``.
    """
    from ..golden.stimulus import default_seed
    from .vectors.seeds import chunks, sub_seed

    seed = default_seed() + seed_offset
    rng = random.Random(sub_seed(seed, 200))
    await reset(dut)
    cycles = 0
    for chunk_seed, n in chunks(seed, total, size):
        cycles += await run(make(n, chunk_seed), rng)
    return seed, cycles
