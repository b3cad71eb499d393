# SPDX-License-Identifier: MIT
"""Reference semantics of the buffer controllers: sizing, address generation and ping-pong order.

Only data order and addresses are specified here; cycle timing and back-pressure belong to the
RTL's stream handshakes. Buffer sizes default to DFA_Sim Table II: global 16 KB, tile 4 KB,
PE 1 KB.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .fixed import check_int, check_range
from .params import (GLOBAL_BUFFER_BYTES, PE_BUFFER_BYTES, TILE_BUFFER_BYTES, PingPongParams,
                     buffer_depth, check_depth)

__all__ = [
    "GLOBAL_BUFFER_BYTES", "TILE_BUFFER_BYTES", "PE_BUFFER_BYTES", "buffer_depth",
    "buffer_addresses", "PingPongParams", "PingPongResult", "pingpong_transfer",
]


def buffer_addresses(base: int, count: int, *, stride: int = 1, depth: int) -> torch.Tensor:
    """Return the address sequence ``(base + i * stride) mod depth`` for ``i = 0 .. count-1``.

    This is a ``log2(depth)``-bit address counter loaded with ``base`` and incremented by
    ``stride`` (two's complement, so a negative stride counts down) after each word; it wraps
    around modulo ``depth``.

    Parameters
    ----------
    base : int
        First address, ``0 <= base < depth``.
    count : int
        Number of addresses, ``>= 0``.
    stride : int
        Address increment (any integer; only ``stride mod depth`` matters). Default 1.
    depth : int
        Memory depth, a power of two in ``1 .. 2**20``.

    Returns
    -------
    Tensor, int64, shape ``(count,)``
    """
    depth = check_depth(depth, power_of_two=True)
    base = check_int(base, name="base", minimum=0, maximum=depth - 1)
    count = check_int(count, name="count", minimum=0)
    stride = check_int(stride, name="stride") % depth
    i = torch.arange(count, dtype=torch.int64)
    return (base + i * stride) & (depth - 1)


@dataclass(frozen=True)
class PingPongResult:
    """What a ping-pong buffer did with a sequence of frames.

    Members
    -------
    words : Tensor, int64, shape ``(sum of frame lengths,)``
        Every word read out, in read order.
    frames : tuple of Tensor
        The same words split per read frame.
    write_addresses, read_addresses : Tensor, int64
        Physical SRAM addresses in the order the write and read ports used them.
    phases : tuple of (write_frame, write_bank, read_frame, read_bank)
        One entry per phase between bank swaps; ``None`` where that side is idle.
    """

    words: torch.Tensor
    frames: tuple
    write_addresses: torch.Tensor
    read_addresses: torch.Tensor
    phases: tuple


def pingpong_transfer(frames, *, depth: int, width: int = 16,
                      signed: bool = False) -> PingPongResult:
    """Pass frames through a double-buffered (ping-pong) SRAM and return what is read out.

    The SRAM has ``depth`` words of ``width`` bits, split into two banks of ``depth / 2`` words;
    the bank is the address MSB (bank ``b`` holds physical addresses
    ``b * depth/2 .. (b+1) * depth/2 - 1``). Semantics:

    * After reset the write side points at bank 0 and both banks are empty.
    * The write side fills its bank with frame ``f`` at linear offsets ``0 .. len_f - 1``
      (:func:`buffer_addresses` with ``base=0``, ``stride=1``) and records ``len_f``.
    * The read side drains the other bank from offset 0 for exactly the recorded length.
    * The banks swap when the write side has finished its frame *and* the read side has
      drained its bank (or was idle). Frame ``f`` is thus written to bank ``f % 2`` in phase
      ``f`` and read in phase ``f + 1`` while frame ``f + 1`` is written; the last frame is
      read alone in a final phase.

    The output is every frame in FIFO order, unchanged: the memory is modelled, so a wrong bank
    or address would show up as wrong data.

    Parameters
    ----------
    frames : sequence of Tensor, int64, 1-D
        Frames in write order, each of ``1 .. depth/2`` words; values fit ``width`` bits
        (unsigned, or two's complement if ``signed``).
    depth, width, signed
        As in :class:`golden.params.PingPongParams` (checked the same way): total SRAM depth
        in words, a power of two ``2 .. 2**20`` (see :func:`buffer_depth`); word width in bits
        (default 16); whether words are read as two's complement (default False).

    Returns
    -------
    PingPongResult
    """
    p = PingPongParams(depth=depth, width=width, signed=signed)
    depth, width, bank_depth = p.depth, p.width, p.bank_depth
    frames = list(frames)
    for f, frame in enumerate(frames):
        check_range(frame, width, signed=signed, name=f"frames[{f}]")
        if frame.dim() != 1 or not 1 <= frame.numel() <= bank_depth:
            raise ValueError(f"frames[{f}] must be 1-D with 1 .. {bank_depth} words, got shape "
                             f"{tuple(frame.shape)}")
    mem = torch.zeros(depth, dtype=torch.int64)
    fill = [0, 0]
    waddr, raddr, out, phases = [], [], [], []
    for phase in range(len(frames) + 1 if frames else 0):
        wf = phase if phase < len(frames) else None
        rf = phase - 1 if phase >= 1 else None
        wbank = None if wf is None else wf % 2
        rbank = None if rf is None else rf % 2
        # Both sides work on different banks in the same phase, so the order within the
        # phase does not change the data; the read side goes first for clarity.
        if rf is not None:
            addr = rbank * bank_depth + buffer_addresses(0, fill[rbank], depth=bank_depth)
            raddr.append(addr)
            out.append(mem[addr].clone())
            fill[rbank] = 0
        if wf is not None:
            addr = wbank * bank_depth + buffer_addresses(0, frames[wf].numel(), depth=bank_depth)
            waddr.append(addr)
            mem[addr] = frames[wf]
            fill[wbank] = frames[wf].numel()
        phases.append((wf, wbank, rf, rbank))
    empty = torch.zeros(0, dtype=torch.int64)
    return PingPongResult(
        words=torch.cat(out) if out else empty,
        frames=tuple(out),
        write_addresses=torch.cat(waddr) if waddr else empty,
        read_addresses=torch.cat(raddr) if raddr else empty,
        phases=tuple(phases),
    )
