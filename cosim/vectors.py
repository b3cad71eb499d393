# SPDX-License-Identifier: MIT
"""Seeded block test vectors and their golden results, shared by both RTL test tiers.

The stimuli come from :mod:`golden.stimulus` with explicit seeds and the expected values from
:mod:`golden.grad_lif`; everything is returned as plain Python lists so that testbenches (in
amaranth.sim or inside a cocotb simulator) compare integers without touching torch per cycle.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from amaranth.hdl import Shape
from amaranth.lib import data

from ..golden.grad_lif import GradLIFParams, grad_lif_backward_int, lif_forward_int_seq
from ..golden.psum import differential_codes, psum_stream, shift_add
from ..golden.stimulus import make_rng, random_currents, random_errors, random_ints

__all__ = ["GradLIFVectors", "grad_lif_vectors", "sub_seed", "chunks", "reference_forward",
           "reference_backward", "PsumVectors", "psum_vectors", "reference_psum",
           "ShiftAddVectors", "shift_add_vectors", "reference_shift_add", "fast_packer",
           "WGUVectors", "wgu_vectors", "wgu_layer_vectors", "PingPongVectors",
           "pingpong_vectors"]

_SEED_MASK = (1 << 63) - 1


def sub_seed(seed: int, k: int) -> int:
    """Return the ``k``-th derived seed of ``seed`` (independent streams for one test seed)."""
    return (seed * 0x9E3779B97F4A7C15 + k * 0xBF58476D1CE4E5B9 + k) & _SEED_MASK


def chunks(seed: int, total: int, size: int):
    """Yield ``(chunk_seed, n)`` that split ``total`` vectors into chunks of at most ``size``.

    Chunk 0 uses ``seed`` itself, so a short run replays with the test seed directly; later
    chunks derive theirs with :func:`sub_seed`. Chunking bounds the memory of long runs.
    """
    for k, first in enumerate(range(0, total, size)):
        yield (seed if k == 0 else sub_seed(seed, 1000 + k)), min(size, total - first)


@dataclass(frozen=True)
class GradLIFVectors:
    """``samples`` x ``steps`` forward beats of ``lanes`` lanes plus one backward beat per step.

    Members
    -------
    seed, lanes, samples, steps : int
        Generation arguments; ``(seed, sample, step)`` identifies a vector for replay.
    params : GradLIFParams
    currents, errs : list, ``[sample][step][lane]``
        Forward currents (a sample starts with ``first = 1``) and backward errors.
    order : list, ``[sample][j]``
        The order in which the backward beats of a sample are sent (a permutation of steps).
    spikes, u, delta : list, ``[sample][step][lane]``
        Golden spike, pre-reset membrane and ``delta`` for ``errs[sample][step]``.
    """

    seed: int
    lanes: int
    samples: int
    steps: int
    params: GradLIFParams
    currents: list
    errs: list
    order: list
    spikes: list
    u: list
    delta: list

    def replay(self, sample: int, step: int) -> str:
        """Describe vector ``(sample, step)`` so that it can be regenerated and rerun."""
        return (f"seed={self.seed} sample={sample} step={step} "
                f"index={sample * self.steps + step} lanes={self.lanes} "
                f"samples={self.samples} steps={self.steps} params={self.params} "
                f"first={int(step == 0)} current={self.currents[sample][step]} "
                f"err={self.errs[sample][step]} expected: spike={self.spikes[sample][step]} "
                f"u={self.u[sample][step]} delta={self.delta[sample][step]}")


def grad_lif_vectors(params: GradLIFParams, *, lanes: int, samples: int, steps: int,
                     seed: int) -> GradLIFVectors:
    """Generate seeded GradLIF vectors and their golden results.

    Each sample draws its currents from one of three mixes, so that both the spiking regime
    and saturation get exercised: currents within ``+-2*threshold`` (two samples in four),
    the full ``current_width`` range (saturation at both ends) and small positive currents
    (slow integration up to the threshold). Errors span the full ``err_width`` range.
    """
    p = params
    shape = (samples, steps, lanes)
    hi = (1 << (p.current_width - 1)) - 1
    small = random_currents(shape, width=p.current_width, max_abs=min(hi, max(4, 2 * p.threshold)),
                            seed=sub_seed(seed, 0))
    full = random_currents(shape, width=p.current_width, seed=sub_seed(seed, 1))
    creep = random_ints(shape, p.current_width, low=0, high=min(hi, max(1, p.threshold // 4)),
                        seed=sub_seed(seed, 2))
    mix = random_ints((samples, 1, 1), 2, signed=False, seed=sub_seed(seed, 3))
    currents = torch.where(mix <= 1, small, torch.where(mix == 2, full, creep))
    errs = random_errors(shape, width=p.err_width, seed=sub_seed(seed, 4))
    keys = random_ints((samples, steps), 31, signed=False, seed=sub_seed(seed, 5))
    order = torch.argsort(keys, dim=1, stable=True)
    spikes, u = lif_forward_int_seq(currents.transpose(0, 1), p)
    spikes, u = spikes.transpose(0, 1), u.transpose(0, 1)
    delta = grad_lif_backward_int(u, errs, p)
    return GradLIFVectors(seed=seed, lanes=lanes, samples=samples, steps=steps, params=p,
                          currents=currents.tolist(), errs=errs.tolist(),
                          order=order.tolist(), spikes=spikes.tolist(), u=u.tolist(),
                          delta=delta.tolist())


def reference_forward(currents: list, first: list, params: GradLIFParams, *,
                      max_timesteps: int) -> tuple[list, list, list]:
    """Return golden ``(spikes, u, steps)`` for a beat sequence with arbitrary ``first`` flags.

    ``currents`` is ``[beat][lane]``; the membranes start from 0 at beat 0 (after ``rst``) and
    at every beat with ``first`` set. ``steps`` is the store address of each beat: 0 at those
    beats, then counting up modulo ``max_timesteps``.
    """
    spikes, us, steps = [], [], []
    start = 0
    bounds = [b for b in range(1, len(currents)) if first[b]] + [len(currents)]
    for end in bounds:
        if end > start:
            s, u = lif_forward_int_seq(torch.tensor(currents[start:end], dtype=torch.int64),
                                       params)
            spikes += s.tolist()
            us += u.tolist()
            steps += [t % max_timesteps for t in range(end - start)]
        start = end
    return spikes, us, steps


def reference_backward(u: list, errs: list, params: GradLIFParams) -> list:
    """Return golden ``delta`` (``[beat][lane]``) for stored membranes and errors."""
    return grad_lif_backward_int(torch.tensor(u, dtype=torch.int64),
                                 torch.tensor(errs, dtype=torch.int64), params).tolist()


# -- partial-sum accumulator and shift-adder ------------------------------------------------------

def _uniform(shape, low: int, high: int, seed: int) -> torch.Tensor:
    """Return seeded integers uniform in ``[low, high]``; unlike ``random_ints`` up to 63 bits."""
    return torch.randint(low, high + 1, shape, generator=make_rng(seed), dtype=torch.int64)


def _signed_range(width: int) -> tuple[int, int]:
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def _code_mix(shape, width: int, mode: torch.Tensor, seed: int) -> torch.Tensor:
    """Draw signed ``width``-bit codes whose distribution depends on ``mode`` (0 .. 5).

    0: uniform over the full range; 1: small magnitudes (sums stay in range); 2 and 3: large
    positive and large negative codes (drive the sum into saturation at either end); 4: only
    the two extreme codes; 5: tiny codes in ``[-1, 1]`` (cancellation near zero).
    """
    lo, hi = _signed_range(width)
    small = max(1, hi // 8)
    full = _uniform(shape, lo, hi, sub_seed(seed, 10))
    little = _uniform(shape, max(lo, -small), min(hi, small), sub_seed(seed, 11))
    pos = _uniform(shape, (hi + 1) // 2, hi, sub_seed(seed, 12))
    neg = _uniform(shape, lo, lo // 2, sub_seed(seed, 13))
    ends = torch.where(_uniform(shape, 0, 1, sub_seed(seed, 14)) == 1, hi, lo)
    tiny = _uniform(shape, max(lo, -1), min(hi, 1), sub_seed(seed, 15))
    choices = (full, little, pos, neg, ends, tiny)
    out = full.clone()
    for k, choice in enumerate(choices):
        out = torch.where(mode == k, choice, out)
    return out


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
                 max_group: int = 12) -> PsumVectors:
    """Generate seeded accumulator beats and their golden ``psum_stream`` results.

    Groups are ``1 .. max_group`` beats long; each group draws its codes from one mix of
    :func:`_code_mix` (full range, small, large of one sign, extremes only, tiny), so that
    saturation at both ends, the sticky flag and in-range sums all occur.
    """
    lens = _uniform((beats,), 1, max_group, sub_seed(seed, 0))
    ends = torch.cumsum(lens, 0) - 1
    ends = ends[ends < beats - 1].tolist() + [beats - 1]
    last = torch.zeros(beats, dtype=torch.int64)
    last[ends] = 1
    group = torch.cumsum(last, 0) - last                     # group index of each beat
    mode = _uniform((len(ends),), 0, 5, sub_seed(seed, 1))[group].unsqueeze(1)
    codes = _code_mix((beats, lanes), in_width, mode, sub_seed(seed, 2))
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
                      acc_width: int, beats: int, seed: int,
                      adc_bits: int | None = None) -> ShiftAddVectors:
    """Generate seeded shift-adder beats and their golden ``shift_add`` results.

    Each beat draws all of its slice codes from one mix of :func:`_code_mix`, so that both
    saturation ends and in-range sums occur. In differential mode (``adc_bits``) the ADC
    pairs are uniform, or one side is full scale and the other zero (mode 2/3: extreme codes
    ``+-(2**adc_bits - 1)``), and the codes come from ``golden.psum.differential_codes``.
    """
    shape = (beats, slices, lanes)
    mode = _uniform((beats, 1, 1), 0, 5, sub_seed(seed, 0))
    pos = neg = None
    if adc_bits is None:
        codes = _code_mix(shape, code_width, mode, sub_seed(seed, 1))
    else:
        top = (1 << adc_bits) - 1
        p = _uniform(shape, 0, top, sub_seed(seed, 2))
        n = _uniform(shape, 0, top, sub_seed(seed, 3))
        big = _uniform(shape, (top + 1) // 2, top, sub_seed(seed, 4))
        small = _uniform(shape, 0, top // 4, sub_seed(seed, 5))
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


def fast_packer(layout: data.Layout):
    """Return ``pack(value) -> int`` equal to ``layout.const(value).as_bits()``, only faster.

    ``value`` is a dict for a struct, a list for an array (nested arrays as nested lists) and
    an int for a scalar field. Offsets and widths are read from the layout itself, so the
    packing cannot drift from the RTL.
    """
    def build(shape):
        if isinstance(shape, data.StructLayout):
            fields = [(name, field.offset, build(field.shape)) for name, field in shape]

            def pack_struct(value, base):
                word = 0
                for name, offset, sub in fields:
                    word |= sub(value[name], base + offset)
                return word
            return pack_struct
        if isinstance(shape, data.ArrayLayout):
            step = Shape.cast(shape.elem_shape).width
            sub = build(shape.elem_shape)

            def pack_array(value, base):
                word = 0
                for k, x in enumerate(value):
                    word |= sub(x, base + k * step)
                return word
            return pack_array
        mask = (1 << Shape.cast(shape).width) - 1
        return lambda value, base: (value & mask) << base

    packer = build(layout)
    return lambda value: packer(value, 0)


# -- weight-gradient unit -------------------------------------------------------------------------

@dataclass(frozen=True)
class WGUVectors:
    """Accumulation windows for the weight-gradient unit, each closed by a readout.

    Window ``w`` sends ``beats_per_window[w]`` ``(t, b)`` pairs, each as ``rows`` per-row
    update beats in a random row order, then one read command (``clear[w]``: clear-on-read).
    The memory is cleared once before window 0.

    Members
    -------
    seed, rows, cols, grad_width, delta_width, shift, out_width : int
        Generation arguments; ``(seed, window)`` or ``(seed, index)`` identifies a vector.
    rounding : str
    row, delta : list, ``[index]``
        Row index and ``delta`` of every update beat (``index`` counts all windows).
    spikes : list, ``[index][col]``
        Spike vector of every update beat.
    pair : list, ``[index]``
        Index of the ``(t, b)`` pair the update beat belongs to.
    ends : list, ``[window]``
        One past the index of the window's last update beat.
    clear : list, ``[window]``
        Clear-on-read flag of the window's readout (0/1).
    update, overflow : list, ``[window][row][col]``
        Golden readout (``wgu_readout``) and the sticky flags since the last clear (the union
        of the ``wgu_accumulate`` overflow of every window since then).
    """

    seed: int
    rows: int
    cols: int
    grad_width: int
    delta_width: int
    shift: int
    out_width: int
    rounding: str
    row: list
    delta: list
    spikes: list
    pair: list
    ends: list
    clear: list
    update: list
    overflow: list

    def replay(self, window: int, row: int) -> str:
        """Describe the readout of ``row`` in ``window`` so that it can be regenerated."""
        start = self.ends[window - 1] if window else 0
        mine = [k for k in range(start, self.ends[window]) if self.row[k] == row]
        beats = [(self.pair[k], self.delta[k], self.spikes[k]) for k in mine[:8]]
        return (f"seed={self.seed} window={window} row={row} rows={self.rows} "
                f"cols={self.cols} grad_width={self.grad_width} "
                f"delta_width={self.delta_width} shift={self.shift} "
                f"out_width={self.out_width} rounding={self.rounding} "
                f"beats {start}..{self.ends[window] - 1} clear={self.clear[window]} "
                f"first (pair, delta, spikes) of the row: {beats} expected: "
                f"update={self.update[window][row]} overflow={self.overflow[window][row]}")


def wgu_vectors(*, rows: int, cols: int, grad_width: int, delta_width: int, pairs: int,
                seed: int, shift: int = 0, out_width: int | None = None,
                rounding: str = "floor", max_window: int = 48) -> WGUVectors:
    """Generate seeded update beats for ``pairs`` ``(t, b)`` pairs and the golden readouts.

    Windows hold ``1 .. max_window`` pairs. Every window draws, per row, its deltas from one
    mix of :func:`_code_mix` (full range, small, large of one sign, extremes, tiny), so rows
    drift into saturation at either end and come back; the spike density of each pair is
    10 %, 50 % or 90 %. Half of the readouts clear the memory.
    """
    from ..golden.wgu import wgu_accumulate, wgu_readout

    out_width = grad_width if out_width is None else out_width
    lens = _uniform((pairs,), 1, max_window, sub_seed(seed, 0))
    bounds = (torch.cumsum(lens, 0)).tolist()
    bounds = [b for b in bounds if b < pairs] + [pairs]
    n_win = len(bounds)
    window = torch.zeros(pairs, dtype=torch.int64)
    for b in bounds[:-1]:
        window[b:] += 1
    mode = _uniform((n_win, rows), 0, 5, sub_seed(seed, 1))[window]          # (pairs, rows)
    delta = _code_mix((pairs, rows), delta_width, mode, sub_seed(seed, 2))
    density = torch.tensor([10, 50, 90])[_uniform((pairs, 1), 0, 2, sub_seed(seed, 3))]
    spikes = (_uniform((pairs, cols), 0, 99, sub_seed(seed, 4)) < density).to(torch.int64)
    clear = _uniform((n_win,), 0, 1, sub_seed(seed, 5)).tolist()
    order = torch.argsort(_uniform((pairs, rows), 0, (1 << 30), sub_seed(seed, 6)), dim=1)

    G = torch.zeros(rows, cols, dtype=torch.int64)
    ovf = torch.zeros(rows, cols, dtype=torch.bool)
    updates, flags, ends = [], [], []
    start = 0
    for w, end in enumerate(bounds):
        G, o = wgu_accumulate(G, delta[start:end, None, :], spikes[start:end, None, :],
                              grad_width=grad_width, delta_width=delta_width)
        ovf |= o
        upd, G = wgu_readout(G, grad_width=grad_width, shift=shift, out_width=out_width,
                             rounding=rounding, clear=bool(clear[w]))
        updates.append(upd.tolist())
        flags.append(ovf.to(torch.int64).tolist())
        if clear[w]:
            ovf = torch.zeros_like(ovf)
        ends.append(end * rows)
        start = end
    row_idx = order.reshape(-1)
    pair_idx = torch.arange(pairs).repeat_interleave(rows)
    return WGUVectors(seed=seed, rows=rows, cols=cols, grad_width=grad_width,
                      delta_width=delta_width, shift=shift, out_width=out_width,
                      rounding=rounding, row=row_idx.tolist(),
                      delta=delta[pair_idx, row_idx].tolist(),
                      spikes=spikes[pair_idx].tolist(), pair=pair_idx.tolist(), ends=ends,
                      clear=clear, update=updates, overflow=flags)


# -- ping-pong buffer -----------------------------------------------------------------------------

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


def pingpong_vectors(*, depth: int, width: int, words: int, seed: int,
                     signed: bool = False) -> PingPongVectors:
    """Generate seeded frames of at least ``words`` words in all and the golden read-out.

    Frame lengths are 1 (one frame in six), ``depth/2`` (one in six) or uniform in
    ``1 .. depth/2``; data words span the full ``width``-bit range.
    """
    from ..golden.buffer import pingpong_transfer

    bank = depth // 2
    n = max(1, words)                               # enough frames: each has >= 1 word
    kind = _uniform((n,), 0, 5, sub_seed(seed, 0))
    lens = _uniform((n,), 1, bank, sub_seed(seed, 1))
    lens = torch.where(kind == 0, 1, torch.where(kind == 1, bank, lens))
    n_frames = int(torch.searchsorted(torch.cumsum(lens, 0), n).item()) + 1
    lens = lens[:n_frames].tolist()
    total = sum(lens)
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    flat = _uniform((total,), lo, hi, sub_seed(seed, 2))
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


def wgu_layer_vectors(delta: torch.Tensor, spikes: torch.Tensor, *, grad_width: int,
                      delta_width: int, shift: int = 0, out_width: int | None = None,
                      rounding: str = "floor", seed: int = 0) -> WGUVectors:
    """One accumulation window of a layer's ``delta (T, out)`` x ``spikes (T, in)``.

    Timestep ``t`` sends one update beat per row in row order, then a clear-on-read readout;
    the golden readout is ``wgu_readout`` of ``wgu_accumulate`` from a cleared memory (the
    layer's integer ``ΔW``). ``seed`` only labels the vectors for :meth:`WGUVectors.replay`.
    """
    from ..golden.wgu import wgu_accumulate, wgu_readout

    n_t, rows = delta.shape
    cols = spikes.shape[1]
    out_width = grad_width if out_width is None else out_width
    G, ovf = wgu_accumulate(torch.zeros(rows, cols, dtype=torch.int64), delta[:, None],
                            spikes[:, None], grad_width=grad_width, delta_width=delta_width)
    update, _ = wgu_readout(G, grad_width=grad_width, shift=shift, out_width=out_width,
                            rounding=rounding, clear=True)
    pair = torch.arange(n_t).repeat_interleave(rows)
    row = torch.arange(rows).repeat(n_t)
    return WGUVectors(seed=seed, rows=rows, cols=cols, grad_width=grad_width,
                      delta_width=delta_width, shift=shift, out_width=out_width,
                      rounding=rounding, row=row.tolist(), delta=delta[pair, row].tolist(),
                      spikes=spikes[pair].tolist(), pair=pair.tolist(), ends=[n_t * rows],
                      clear=[1], update=[update.tolist()],
                      overflow=[ovf.to(torch.int64).tolist()])
