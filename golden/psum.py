# SPDX-License-Identifier: MIT
"""Bit-exact reference of the PE shift-adder and the tile partial-sum accumulator.

Data path of one output column group (DFA_Sim Sec. III, Table II):

1. Each weight ``w`` (signed) is stored as a differential pair of magnitudes
   ``w+ = max(w, 0)`` and ``w- = max(-w, 0)``, each split into ``S`` slices of ``slice_bits``
   (4) bits held in 4-bit RRAM cells: ``w± = sum_k c±_k * 2**(slice_bits * k)``.
2. Spike inputs are 1 bit, so a column's ADC code is (ideally) ``sum_j s_j * c±_jk``; the ADC
   gives an unsigned code of ``adc_bits`` (4) bits. :func:`differential_codes` forms the signed
   slice code ``pos - neg``.
3. :func:`shift_add` (in the PE) weights slice ``k`` by ``2**(slice_bits * k)`` and sums.
4. :func:`psum_accumulate` / :func:`psum_stream` (in the tile) add the shift-adder outputs of the
   ``R`` row tiles (crossbars holding consecutive input rows of the same outputs), saturating
   after every addition and raising a sticky overflow flag.

All functions are element-wise over the trailing ``(..., N)`` lanes.
"""
from __future__ import annotations

import torch

from .fixed import MAX_WIDTH, check_int, check_range, check_width, saturate_flag
from .params import shift_add_sum_width

__all__ = ["differential_codes", "shift_add", "psum_accumulate", "psum_stream"]


def differential_codes(pos: torch.Tensor, neg: torch.Tensor, *, adc_bits: int = 4
                       ) -> torch.Tensor:
    """Return the signed slice code ``pos - neg`` of a differential column pair.

    ``pos`` and ``neg`` are unsigned ADC codes of ``adc_bits`` bits (``0 .. 2**adc_bits - 1``);
    the difference is exact in ``adc_bits + 1`` signed bits (``-15 .. 15`` for 4-bit ADCs).
    """
    adc_bits = check_width(adc_bits, name="adc_bits", maximum=MAX_WIDTH - 2)
    check_range(pos, adc_bits, signed=False, name="pos")
    check_range(neg, adc_bits, signed=False, name="neg")
    if pos.shape != neg.shape:
        raise ValueError(f"pos and neg must have the same shape, got {tuple(pos.shape)} and "
                         f"{tuple(neg.shape)}")
    return pos - neg


def shift_add(slice_codes: torch.Tensor, *, slice_bits: int = 4, code_width: int = 5,
              acc_width: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Combine bit-slice codes: ``psum = sat(sum_k slice_codes[k] * 2**(slice_bits * k))``.

    Slice ``k = 0`` is the least significant. The sum is formed exactly in a
    ``code_width + slice_bits * (S - 1) + 1``-bit signed register (wide enough for any input,
    so the order in which the RTL adds the slices, LSB-first ``acc += c << (b*k)`` or
    MSB-first ``acc = (acc << b) + c``, does not matter) and saturated once, at the output, to
    ``acc_width`` signed bits.

    Parameters
    ----------
    slice_codes : Tensor, int64, shape ``(S, ..., N)``
        Signed slice codes (e.g. :func:`differential_codes`), ``code_width`` signed bits each.
    slice_bits : int
        Bits per RRAM cell, i.e. the significance step between slices. Default 4.
    code_width : int
        Signed width of each slice code. Default 5 (a 4-bit ADC differential pair).
    acc_width : int
        Signed output width. Default 16.

    Returns
    -------
    psum : Tensor, int64, shape ``(..., N)``
        Saturated combined partial sum.
    overflow : Tensor, bool, shape ``(..., N)``
        True where the exact sum did not fit ``acc_width`` bits.
    """
    slice_bits = check_int(slice_bits, name="slice_bits", minimum=1, maximum=32)
    code_width = check_width(code_width, name="code_width")
    acc_width = check_width(acc_width, name="acc_width")
    check_range(slice_codes, code_width, name="slice_codes")
    if slice_codes.dim() < 1 or slice_codes.shape[0] < 1:
        raise ValueError("slice_codes needs a leading slice axis of length >= 1")
    n_slices = slice_codes.shape[0]
    shift_add_sum_width(slices=n_slices, slice_bits=slice_bits, code_width=code_width)
    total = torch.zeros_like(slice_codes[0])
    for k in range(n_slices):
        total = total + slice_codes[k] * (1 << (slice_bits * k))
    return saturate_flag(total, acc_width)


def psum_accumulate(codes: torch.Tensor, *, acc_width: int = 16,
                    in_width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Accumulate ``R`` row-tile partial sums with saturation after every addition.

    Starting from ``acc = 0``, for ``r = 0 .. R-1`` in order:
    ``acc = clamp(acc + codes[r], -2**(acc_width-1), 2**(acc_width-1) - 1)``; the addition is
    exact in ``max(acc_width, in_width) + 1`` bits. Because saturation happens after each add,
    the result depends on the order of the tiles (e.g. 8-bit: ``[100, 100, -100]`` gives 27,
    ``[100, -100, 100]`` gives 100). ``overflow`` is sticky: true if any addition clamped,
    even if a later one brought the value back into range.

    This is :func:`psum_stream` with a single group whose ``last`` beat is ``r = R - 1``.

    Parameters
    ----------
    codes : Tensor, int64, shape ``(R, ..., N)``
        Signed inputs of ``in_width`` bits (``None``: ``acc_width``), in arrival order.
    acc_width : int
        Signed accumulator width. Default 16.

    Returns
    -------
    acc : Tensor, int64, shape ``(..., N)``
    overflow : Tensor, bool, shape ``(..., N)``
    """
    if not isinstance(codes, torch.Tensor) or codes.dim() < 1 or codes.shape[0] < 1:
        raise ValueError("codes needs a leading tile axis of length >= 1")
    last = torch.zeros(codes.shape[0], dtype=torch.bool)
    last[-1] = True
    sums, overflow = psum_stream(codes, last, acc_width=acc_width, in_width=in_width)
    return sums[0], overflow[0]


def psum_stream(codes: torch.Tensor, last: torch.Tensor, *, acc_width: int = 16,
                in_width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Stream semantics of the tile accumulator: sums delimited by a ``last`` flag.

    State per lane: ``acc`` (``acc_width`` signed) and ``ovf`` (1 bit), both 0 after reset.
    Each input beat ``i`` (one valid handshake; all lanes move together) does::

        s       = acc + codes[i]                  # exact, max(acc_width, in_width) + 1 bits
        acc_new = clamp(s, acc_min, acc_max)
        ovf_new = ovf | (s != acc_new)
        if last[i]: emit (acc_new, ovf_new); acc, ovf = 0, 0   # clear for the next group
        else:       acc, ovf = acc_new, ovf_new

    so a group's first beat adds to 0 and the output carries that group's sum only. Beats after
    the final ``last`` stay in the accumulator and produce no output.

    Parameters
    ----------
    codes : Tensor, int64, shape ``(L, ..., N)``
        Input beats in arrival order, ``in_width`` signed bits (``None``: ``acc_width``).
    last : Tensor, bool or int64 0/1, shape ``(L,)``
        End-of-group flag of each beat.
    acc_width : int
        Signed accumulator width. Default 16.

    Returns
    -------
    sums : Tensor, int64, shape ``(G, ..., N)``
        One saturated sum per ``last`` beat, in order.
    overflow : Tensor, bool, shape ``(G, ..., N)``
        Sticky overflow flag of each group.
    """
    acc_width = check_width(acc_width, name="acc_width")
    in_width = acc_width if in_width is None else check_width(in_width, name="in_width")
    check_range(codes, in_width, name="codes")
    if codes.dim() < 1:
        raise ValueError("codes needs a leading beat axis")
    if not isinstance(last, torch.Tensor) or last.shape != codes.shape[:1]:
        raise ValueError(f"last must be a tensor of shape {tuple(codes.shape[:1])}")
    if last.dtype != torch.bool:
        check_range(last, 1, signed=False, name="last")
        last = last.bool()
    acc = torch.zeros_like(codes[0]) if codes.shape[0] else codes.new_zeros(codes.shape[1:])
    ovf = torch.zeros(acc.shape, dtype=torch.bool)
    sums, flags = [], []
    for i in range(codes.shape[0]):
        acc, clamped = saturate_flag(acc + codes[i], acc_width)
        ovf = ovf | clamped
        if bool(last[i]):
            sums.append(acc)
            flags.append(ovf)
            acc = torch.zeros_like(acc)
            ovf = torch.zeros_like(ovf)
    if not sums:
        return (codes.new_zeros((0, *codes.shape[1:])),
                torch.zeros((0, *codes.shape[1:]), dtype=torch.bool))
    return torch.stack(sums), torch.stack(flags)
