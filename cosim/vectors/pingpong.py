# SPDX-License-Identifier: MIT
"""Seeded ping-pong buffer frames and what the golden buffer reads out."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ...golden.buffer import pingpong_transfer
from ...golden.stimulus import uniform_ints
from .seeds import sub_seed

__all__ = ["PingPongVectors", "pingpong_vectors"]


@dataclass(frozen=True)
class PingPongVectors:
    """Frames for the ping-pong buffer and what ``golden.buffer.pingpong_transfer`` reads out.

    Members
    -------
    seed, depth, width : int
        Generation arguments; ``(seed, word)`` or ``(seed, frame)`` identifies a vector.
    signed : bool
    lens : list, ``[frame]``
        Frame lengths, ``1 .. depth/2``.
    data, last : list, ``[word]``
        Write beats in order (``last`` on each frame's final word).
    out_data, out_last : list, ``[word]``
        Golden read beats in order (the same words: the buffer is a FIFO of frames).
    waddr, raddr : list, ``[word]``
        Golden physical write and read addresses, in port order.
    frame_of, offset_of : list, ``[word]``
        Frame index and offset within its frame of every word.
    """

    seed: int
    depth: int
    width: int
    signed: bool
    lens: list
    data: list
    last: list
    out_data: list
    out_last: list
    waddr: list
    raddr: list
    frame_of: list
    offset_of: list

    def replay(self, word: int) -> str:
        """Describe word ``word`` (read or write order, they agree) for a rerun."""
        f = self.frame_of[word]
        return (f"seed={self.seed} depth={self.depth} width={self.width} signed={self.signed} "
                f"word={word} frame={f} offset={self.offset_of[word]} len={self.lens[f]} "
                f"bank={f % 2} lens of frames {max(0, f - 3)}..{f}="
                f"{self.lens[max(0, f - 3):f + 1]} expected: data={self.out_data[word]} "
                f"last={self.out_last[word]} waddr={self.waddr[word]} raddr={self.raddr[word]}")


def pingpong_vectors(*, depth: int, width: int, words: int, seed: int, signed: bool = False,
                     lengths: Sequence[int] | None = None,
                     extremes: bool = False) -> PingPongVectors:
    """Generate seeded frames of at least ``words`` words in all and the golden read-out.

    Frame lengths are 1 (one frame in six), ``depth/2`` (one in six) or uniform in
    ``1 .. depth/2``; data words span the full ``width``-bit range. A directed phase passes
    ``lengths`` (frame lengths, repeated cyclically) instead, and ``extremes`` to replace
    every data word by the bottom or the top of the range (alternating).
    """
    bank = depth // 2
    n = max(1, words)                               # enough frames: each has >= 1 word
    if lengths is None:
        kind = uniform_ints((n,), 0, 5, seed=sub_seed(seed, 0))
        lens = uniform_ints((n,), 1, bank, seed=sub_seed(seed, 1))
        lens = torch.where(kind == 0, 1, torch.where(kind == 1, bank, lens))
    else:
        lens = torch.tensor([lengths[k % len(lengths)] for k in range(n)])
    n_frames = int(torch.searchsorted(torch.cumsum(lens, 0), n).item()) + 1
    lens = lens[:n_frames].tolist()
    total = sum(lens)
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    flat = uniform_ints((total,), lo, hi, seed=sub_seed(seed, 2))
    if extremes:
        flat = torch.where(torch.arange(total) % 2 == 0, lo, hi)
    frames = list(torch.split(flat, lens))
    res = pingpong_transfer(frames, depth=depth, width=width, signed=signed)
    last = []
    frame_of, offset_of = [], []
    for f, length in enumerate(lens):
        last += [0] * (length - 1) + [1]
        frame_of += [f] * length
        offset_of += list(range(length))
    return PingPongVectors(seed=seed, depth=depth, width=width, signed=signed, lens=lens,
                           data=flat.tolist(), last=last, out_data=res.words.tolist(),
                           out_last=[x for fr in res.frames
                                     for x in [0] * (fr.numel() - 1) + [1]],
                           waddr=res.write_addresses.tolist(),
                           raddr=res.read_addresses.tolist(), frame_of=frame_of,
                           offset_of=offset_of)
