# SPDX-License-Identifier: MIT
"""Shift-adder: combine the bit-slice codes of a weight into one saturated partial sum."""
from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...golden.params import ShiftAddParams
from ..common.component import param_properties
from ..common.fixed import saturate
from ..common.layouts import ShiftAddDiffInputLayout, ShiftAddInputLayout, ShiftAddOutputLayout
from ..common.stages import register_stage

__all__ = ["ShiftAdder"]


@param_properties("lanes", "slices", "slice_bits", "code_width", "acc_width", "adc_bits",
                  "differential", "sum_width")
class ShiftAdder(wiring.Component):
    """Parallel shift-adder of ``slices`` bit-slice codes for ``lanes`` columns.

    The arithmetic is that of ``golden.psum.shift_add`` bit for bit (and, in differential
    mode, of ``golden.psum.differential_codes`` before it). *Microarchitecture: parallel.*
    One input beat carries every slice of every lane; per lane the block forms the exact sum
    ``sum_k code[k] << (slice_bits * k)`` (slice 0 least significant) in
    :attr:`sum_width` signed bits, saturates it once to ``acc_width`` signed bits and sets
    ``overflow`` where the exact sum did not fit. The result is registered into ``o`` (one
    cycle of latency, one beat per cycle).

    *Code mode* (``adc_bits=None``): the input holds signed slice codes of ``code_width``
    bits. *Differential mode* (``adc_bits`` given): the input holds the unsigned ADC codes
    ``pos`` and ``neg`` (``adc_bits`` bits) of each slice's column pair, and the slice code is
    ``pos - neg``, exact in ``code_width = adc_bits + 1`` signed bits.

    Both streams use valid/ready back-pressure: ``i.ready = ~o.valid | o.ready`` (independent
    of ``i.valid`` and of the payload). ``rst`` empties the output register.

    Parameters
    ----------
    lanes : int
        Number of parallel lanes (output columns), ``1 .. 4096``.
    slices : int
        Number of bit slices ``S`` per weight, ``>= 1`` (at most 62: the exact sum has at most
        63 bits).
    slice_bits : int
        Significance step between slices (bits per RRAM cell), ``1 .. 32``. Default 4.
    code_width : int, optional
        Signed width of a slice code, ``1 .. acc_width``. Default 5, or ``adc_bits + 1`` in
        differential mode (where any other value is rejected).
    acc_width : int
        Signed output width, ``code_width .. 63``. Default 16.
    adc_bits : int, optional
        ADC code width; selects differential mode. ``1 .. 61``. Default ``None``.

    The parameters are checked by :class:`golden.params.ShiftAddParams`.

    Raises
    ------
    TypeError
        A parameter is not an integer (or ``None`` where allowed).
    ValueError
        A parameter is out of range: no lanes or slices, more than 4096 lanes,
        ``acc_width < code_width``, a
        ``code_width`` that does not match ``adc_bits``, or an exact sum wider than 63 bits.

    Members
    -------
    i : In(stream.Signature(ShiftAddInputLayout(lanes, slices, code_width)))
        Code mode input: ``code[k][lane]``. In differential mode the payload is
        ``ShiftAddDiffInputLayout(lanes, slices, adc_bits)``: ``pos[k][lane]``,
        ``neg[k][lane]``.
    o : Out(stream.Signature(ShiftAddOutputLayout(lanes, acc_width)))
        ``psum`` and ``overflow`` per lane.
    """

    def __init__(self, *, lanes: int, slices: int, slice_bits: int = 4,
                 code_width: int | None = None, acc_width: int = 16,
                 adc_bits: int | None = None):
        self._params = p = ShiftAddParams(lanes=lanes, slices=slices, slice_bits=slice_bits,
                                          code_width=code_width, acc_width=acc_width,
                                          adc_bits=adc_bits)
        if p.differential:
            in_layout = ShiftAddDiffInputLayout(p.lanes, p.slices, p.adc_bits)
        else:
            in_layout = ShiftAddInputLayout(p.lanes, p.slices, p.code_width)
        super().__init__({
            "i": In(stream.Signature(in_layout)),
            "o": Out(stream.Signature(ShiftAddOutputLayout(p.lanes, p.acc_width))),
        })

    def elaborate(self, platform):
        m = Module()
        go = register_stage(m, self.i, self.o)

        p, beat = self._params, self.i.payload
        for lane in range(p.lanes):
            codes = []
            for k in range(p.slices):
                code = Signal(signed(p.code_width), name=f"code{lane}_{k}")
                if p.differential:
                    m.d.comb += code.eq(beat.pos[k][lane] - beat.neg[k][lane])
                else:
                    m.d.comb += code.eq(beat.code[k][lane])
                codes.append(code)
            total = Signal(signed(p.sum_width), name=f"sum{lane}")
            exact = codes[0]
            for k in range(1, p.slices):
                exact = exact + (codes[k] << (p.slice_bits * k))
            m.d.comb += total.eq(exact)
            clamped, hit = saturate(total, p.acc_width)
            with m.If(go):
                m.d.sync += [
                    self.o.payload.psum[lane].eq(clamped),
                    self.o.payload.overflow[lane].eq(hit),
                ]
        return m
