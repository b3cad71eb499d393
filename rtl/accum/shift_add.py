# SPDX-License-Identifier: MIT
"""Shift-adder: combine the bit-slice codes of a weight into one saturated partial sum."""
from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.layouts import ShiftAddDiffInputLayout, ShiftAddInputLayout, ShiftAddOutputLayout
from ..common.checks import MAX_WIDTH, check_int, saturate

__all__ = ["ShiftAdder"]


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
        Number of parallel lanes (output columns), ``>= 1``.
    slices : int
        Number of bit slices ``S`` per weight, ``>= 1``.
    slice_bits : int
        Significance step between slices (bits per RRAM cell), ``1 .. 32``. Default 4.
    code_width : int, optional
        Signed width of a slice code, ``1 .. acc_width``. Default 5, or ``adc_bits + 1`` in
        differential mode (where any other value is rejected).
    acc_width : int
        Signed output width, ``code_width .. 63``. Default 16.
    adc_bits : int, optional
        ADC code width; selects differential mode. ``1 .. 61``. Default ``None``.

    Raises
    ------
    TypeError
        A parameter is not an integer (or ``None`` where allowed).
    ValueError
        A parameter is out of range: zero lanes or slices, ``acc_width < code_width``, a
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
        self._MustUse__silence = True
        self._lanes = check_int(lanes, "lanes", 1)
        self._slices = check_int(slices, "slices", 1)
        self._slice_bits = check_int(slice_bits, "slice_bits", 1, 32)
        if adc_bits is not None:
            self._adc_bits = check_int(adc_bits, "adc_bits", 1, 61)
            if code_width is not None and code_width != adc_bits + 1:
                check_int(code_width, "code_width", 1)
                raise ValueError(f"code_width must be adc_bits + 1 = {adc_bits + 1} in "
                                 f"differential mode, not {code_width!r}")
            code_width = adc_bits + 1
        else:
            self._adc_bits = None
            code_width = 5 if code_width is None else code_width
        self._code_width = check_int(code_width, "code_width", 1, MAX_WIDTH)
        self._acc_width = check_int(acc_width, "acc_width", 1, MAX_WIDTH)
        if acc_width < code_width:
            raise ValueError(f"acc_width must be >= code_width ({code_width!r}), "
                             f"not {acc_width!r}")
        if self.sum_width > MAX_WIDTH:
            raise ValueError(f"{slices!r} slices of {slice_bits!r} bits with code_width="
                             f"{code_width!r} need a {self.sum_width}-bit sum (> {MAX_WIDTH})")
        self._MustUse__silence = False
        if self._adc_bits is None:
            in_layout = ShiftAddInputLayout(self._lanes, self._slices, self._code_width)
        else:
            in_layout = ShiftAddDiffInputLayout(self._lanes, self._slices, self._adc_bits)
        super().__init__({
            "i": In(stream.Signature(in_layout)),
            "o": Out(stream.Signature(ShiftAddOutputLayout(self._lanes, self._acc_width))),
        })

    lanes = property(lambda self: self._lanes, doc="Number of lanes.")
    slices = property(lambda self: self._slices, doc="Number of bit slices per weight.")
    slice_bits = property(lambda self: self._slice_bits,
                          doc="Significance step between consecutive slices, in bits.")
    code_width = property(lambda self: self._code_width, doc="Signed width of a slice code.")
    acc_width = property(lambda self: self._acc_width, doc="Signed output width.")
    adc_bits = property(lambda self: self._adc_bits,
                        doc="ADC code width in differential mode, else ``None``.")

    @property
    def differential(self) -> bool:
        """Whether the input carries ``pos``/``neg`` ADC code pairs."""
        return self._adc_bits is not None

    @property
    def sum_width(self) -> int:
        """Signed width of the exact internal sum, ``code_width + slice_bits * (S - 1) + 1``."""
        return self._code_width + self._slice_bits * (self._slices - 1) + 1

    def elaborate(self, platform):
        m = Module()
        go = Signal()
        m.d.comb += [
            self.i.ready.eq(~self.o.valid | self.o.ready),
            go.eq(self.i.valid & self.i.ready),
        ]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(go):
            m.d.sync += self.o.valid.eq(1)

        p = self.i.payload
        for lane in range(self._lanes):
            codes = []
            for k in range(self._slices):
                code = Signal(signed(self._code_width), name=f"code{lane}_{k}")
                if self.differential:
                    m.d.comb += code.eq(p.pos[k][lane] - p.neg[k][lane])
                else:
                    m.d.comb += code.eq(p.code[k][lane])
                codes.append(code)
            total = Signal(signed(self.sum_width), name=f"sum{lane}")
            exact = codes[0]
            for k in range(1, self._slices):
                exact = exact + (codes[k] << (self._slice_bits * k))
            m.d.comb += total.eq(exact)
            clamped, hit = saturate(total, self._acc_width)
            with m.If(go):
                m.d.sync += [
                    self.o.payload.psum[lane].eq(clamped),
                    self.o.payload.overflow[lane].eq(hit),
                ]
        return m
