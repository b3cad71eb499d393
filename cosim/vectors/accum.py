# SPDX-License-Identifier: MIT
"""Seeded test vectors of the partial-sum accumulator and the shift-adder, with golden results."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ...golden.psum import differential_codes, psum_stream, shift_add
from ...golden.stimulus import uniform_ints
from .mixes import code_mix
from .seeds import sub_seed

__all__ = ["PsumVectors", "psum_vectors", "reference_psum", "ShiftAddVectors",
           "shift_add_vectors", "reference_shift_add"]


@dataclass(frozen=True)
class PsumVectors:
    """``beats`` input beats of ``lanes`` lanes for the partial-sum accumulator, with results.

    Members
    -------
    seed, lanes, in_width, acc_width, beats : int
        Generation arguments; ``(seed, index)`` identifies an input beat for replay.
    codes : list, ``[beat][lane]``
        Signed input codes of ``in_width`` bits.
    last : list, ``[beat]``
        End-of-group flags (0/1); the final beat always closes a group.
    sums, overflow : list, ``[group][lane]``
        Golden ``psum_stream`` results (overflow as 0/1), one per beat with ``last``.
    ends : list, ``[group]``
        Index of the beat that closed each group.
    """

    seed: int
    lanes: int
    in_width: int
    acc_width: int
    beats: int
    codes: list
    last: list
    sums: list
    overflow: list
    ends: list

    def replay(self, group: int) -> str:
        """Describe group ``group`` (its beats and golden result) so that it can be rerun."""
        end = self.ends[group]
        start = self.ends[group - 1] + 1 if group else 0
        return (f"seed={self.seed} group={group} beats {start}..{end} (index {end} closes it) "
                f"lanes={self.lanes} in_width={self.in_width} acc_width={self.acc_width} "
                f"total_beats={self.beats} codes={self.codes[start:end + 1]} expected: "
                f"sum={self.sums[group]} overflow={self.overflow[group]}")


def reference_psum(codes: list, last: list, *, in_width: int,
                   acc_width: int) -> tuple[list, list]:
    """Return golden ``(sums, overflow)`` (``[group][lane]``, overflow 0/1) of a beat list."""
    if not codes:
        return [], []
    x = torch.tensor(codes, dtype=torch.int64)
    sums, ovf = psum_stream(x, torch.tensor(last, dtype=torch.bool), acc_width=acc_width,
                            in_width=in_width)
    return sums.tolist(), ovf.to(torch.int64).tolist()


def psum_vectors(*, lanes: int, in_width: int, acc_width: int, beats: int, seed: int,
                 max_group: int = 12, lengths: Sequence[int] | None = None,
                 modes: Sequence[int] | None = None) -> PsumVectors:
    """Generate seeded accumulator beats and their golden ``psum_stream`` results.

    Groups are ``1 .. max_group`` beats long; each group draws its codes from one mix of
    :func:`code_mix` (full range, small, large of one sign, extremes only, tiny), so that
    saturation at both ends, the sticky flag and in-range sums all occur. A directed phase
    passes ``lengths`` (group lengths) and ``modes`` (:func:`code_mix` modes per group), each
    repeated cyclically, instead of the random draws.
    """
    if lengths is None:
        lens = uniform_ints((beats,), 1, max_group, seed=sub_seed(seed, 0))
    else:
        lens = torch.tensor([lengths[k % len(lengths)] for k in range(beats)])
    ends = torch.cumsum(lens, 0) - 1
    ends = ends[ends < beats - 1].tolist() + [beats - 1]
    last = torch.zeros(beats, dtype=torch.int64)
    last[ends] = 1
    group = torch.cumsum(last, 0) - last                     # group index of each beat
    if modes is None:
        mode = uniform_ints((len(ends),), 0, 5, seed=sub_seed(seed, 1))
    else:
        mode = torch.tensor([modes[k % len(modes)] for k in range(len(ends))])
    mode = mode[group].unsqueeze(1)
    codes = code_mix((beats, lanes), in_width, mode, sub_seed(seed, 2))
    sums, ovf = psum_stream(codes, last, acc_width=acc_width, in_width=in_width)
    return PsumVectors(seed=seed, lanes=lanes, in_width=in_width, acc_width=acc_width,
                       beats=beats, codes=codes.tolist(), last=last.tolist(),
                       sums=sums.tolist(), overflow=ovf.to(torch.int64).tolist(), ends=ends)


@dataclass(frozen=True)
class ShiftAddVectors:
    """``beats`` shift-adder input beats of ``lanes`` lanes and ``slices`` slices, with results.

    Members
    -------
    seed, lanes, slices, slice_bits, code_width, acc_width, beats : int
        Generation arguments; ``(seed, index)`` identifies a beat for replay.
    adc_bits : int or None
        ADC width in differential mode, else ``None``.
    codes : list, ``[beat][slice][lane]``
        Signed slice codes (in differential mode ``pos - neg``).
    pos, neg : list or None, ``[beat][slice][lane]``
        Unsigned ADC codes in differential mode, else ``None``.
    psum, overflow : list, ``[beat][lane]``
        Golden ``shift_add`` results (overflow as 0/1).
    """

    seed: int
    lanes: int
    slices: int
    slice_bits: int
    code_width: int
    acc_width: int
    adc_bits: int | None
    beats: int
    codes: list
    pos: list | None
    neg: list | None
    psum: list
    overflow: list

    def replay(self, index: int) -> str:
        """Describe beat ``index`` (inputs and golden result) so that it can be rerun."""
        inputs = (f"codes={self.codes[index]}" if self.pos is None else
                  f"pos={self.pos[index]} neg={self.neg[index]}")
        return (f"seed={self.seed} index={index} lanes={self.lanes} slices={self.slices} "
                f"slice_bits={self.slice_bits} code_width={self.code_width} "
                f"acc_width={self.acc_width} adc_bits={self.adc_bits} beats={self.beats} "
                f"{inputs} expected: psum={self.psum[index]} "
                f"overflow={self.overflow[index]}")


def reference_shift_add(codes: list, *, slice_bits: int, code_width: int,
                        acc_width: int) -> tuple[list, list]:
    """Return golden ``(psum, overflow)`` (``[beat][lane]``) for ``codes[beat][slice][lane]``."""
    x = torch.tensor(codes, dtype=torch.int64).transpose(0, 1)   # (S, beats, lanes)
    psum, ovf = shift_add(x, slice_bits=slice_bits, code_width=code_width, acc_width=acc_width)
    return psum.tolist(), ovf.to(torch.int64).tolist()


def shift_add_vectors(*, lanes: int, slices: int, slice_bits: int, code_width: int,
                      acc_width: int, beats: int, seed: int, adc_bits: int | None = None,
                      modes: Sequence[int] | None = None) -> ShiftAddVectors:
    """Generate seeded shift-adder beats and their golden ``shift_add`` results.

    Each beat draws all of its slice codes from one mix of :func:`code_mix`, so that both
    saturation ends and in-range sums occur. In differential mode (``adc_bits``) the ADC
    pairs are uniform, or one side is full scale and the other zero (mode 2/3: extreme codes
    ``+-(2**adc_bits - 1)``), and the codes come from ``golden.psum.differential_codes``.
    A directed phase passes ``modes`` (one per beat, repeated cyclically) instead of the
    random draw; in differential mode 4 and 5 put every pair at the largest positive and
    negative code.
    """
    shape = (beats, slices, lanes)
    if modes is None:
        mode = uniform_ints((beats, 1, 1), 0, 5, seed=sub_seed(seed, 0))
    else:
        mode = torch.tensor([modes[k % len(modes)] for k in range(beats)]).view(beats, 1, 1)
    pos = neg = None
    if adc_bits is None:
        codes = code_mix(shape, code_width, mode, sub_seed(seed, 1))
    else:
        top = (1 << adc_bits) - 1
        p = uniform_ints(shape, 0, top, seed=sub_seed(seed, 2))
        n = uniform_ints(shape, 0, top, seed=sub_seed(seed, 3))
        big = uniform_ints(shape, (top + 1) // 2, top, seed=sub_seed(seed, 4))
        small = uniform_ints(shape, 0, top // 4, seed=sub_seed(seed, 5))
        p = torch.where(mode == 2, big, torch.where(mode == 3, small, p))
        n = torch.where(mode == 3, big, torch.where(mode == 2, small, n))
        p = torch.where(mode == 4, top, p)
        n = torch.where(mode == 4, 0, torch.where(mode == 5, top, n))
        p = torch.where(mode == 5, 0, p)
        codes = differential_codes(p, n, adc_bits=adc_bits)
        pos, neg = p.tolist(), n.tolist()
    psum, ovf = shift_add(codes.transpose(0, 1), slice_bits=slice_bits, code_width=code_width,
                          acc_width=acc_width)
    return ShiftAddVectors(seed=seed, lanes=lanes, slices=slices, slice_bits=slice_bits,
                           code_width=code_width, acc_width=acc_width, adc_bits=adc_bits,
                           beats=beats, codes=codes.tolist(), pos=pos, neg=neg,
                           psum=psum.tolist(), overflow=ovf.to(torch.int64).tolist())

