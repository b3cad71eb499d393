# SPDX-License-Identifier: MIT
"""Partial-sum accumulator: saturating per-lane sums of row-tile partial sums, ``last``-framed."""
from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.layouts import PsumInputLayout, PsumOutputLayout
from ..common.checks import MAX_WIDTH, check_int, saturate

__all__ = ["PsumAccumulator"]


class PsumAccumulator(wiring.Component):
    """Tile accumulator of ``lanes`` partial sums with saturation after every addition.

    The arithmetic is that of ``golden.psum.psum_stream`` bit for bit. Each lane holds an
    accumulator ``acc`` (``acc_width`` signed bits) and a sticky overflow flag ``ovf``, both 0
    after reset. An accepted beat on ``i`` (all lanes move together) computes, per lane,
    ``s = acc + code`` exactly (``acc_width + 1`` bits), ``acc_new = clamp(s)`` to the
    ``acc_width`` signed range and ``ovf_new = ovf | (s != acc_new)``. Without ``last`` the
    lane keeps ``(acc_new, ovf_new)``; with ``last`` it registers them into ``o`` as one
    output beat (``sum``, ``overflow``) and clears ``acc`` and ``ovf``, so the next beat starts
    a new group from 0. A group is therefore any run of beats up to and including one with
    ``last``; a one-beat group is a beat with ``last`` set.

    Both streams use valid/ready back-pressure. The output is a single register stage: a
    beat is accepted whenever the output register is empty or being read in the same cycle
    (``i.ready = ~o.valid | o.ready``), so the block takes one beat per cycle and a ``last``
    beat appears on ``o`` one cycle after its handshake. ``i.ready`` does not depend on
    ``i.valid`` or on the payload. ``rst`` clears the accumulators, the flags and the output
    register (a group in progress is dropped).

    Parameters
    ----------
    lanes : int
        Number of parallel lanes (output columns), ``>= 1``.
    in_width : int
        Signed width of the input codes, ``1 .. acc_width``. Default 16.
    acc_width : int
        Signed width of the accumulators and of the output sums, ``in_width .. 63``.
        Default 16.

    Raises
    ------
    TypeError
        A parameter is not an integer.
    ValueError
        A parameter is out of range: zero lanes, a width below 1 or above 63, or an
        ``acc_width`` smaller than ``in_width``.

    Members
    -------
    i : In(stream.Signature(PsumInputLayout(lanes, in_width)))
        Input beats: ``code`` per lane and ``last``.
    o : Out(stream.Signature(PsumOutputLayout(lanes, acc_width)))
        One beat per group: ``sum`` and ``overflow`` per lane.
    """

    def __init__(self, *, lanes: int, in_width: int = 16, acc_width: int = 16):
        self._MustUse__silence = True
        self._lanes = check_int(lanes, "lanes", 1)
        self._in_width = check_int(in_width, "in_width", 1, MAX_WIDTH)
        self._acc_width = check_int(acc_width, "acc_width", 1, MAX_WIDTH)
        if acc_width < in_width:
            raise ValueError(f"acc_width must be >= in_width ({in_width!r}), not {acc_width!r}")
        self._MustUse__silence = False
        super().__init__({
            "i": In(stream.Signature(PsumInputLayout(self._lanes, self._in_width))),
            "o": Out(stream.Signature(PsumOutputLayout(self._lanes, self._acc_width))),
        })

    lanes = property(lambda self: self._lanes, doc="Number of lanes.")
    in_width = property(lambda self: self._in_width, doc="Signed width of the input codes.")
    acc_width = property(lambda self: self._acc_width,
                         doc="Signed width of the accumulators and output sums.")

    def elaborate(self, platform):
        m = Module()
        go = Signal()
        m.d.comb += [
            self.i.ready.eq(~self.o.valid | self.o.ready),
            go.eq(self.i.valid & self.i.ready),
        ]
        last = self.i.payload.last
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(go & last):
            m.d.sync += self.o.valid.eq(1)

        for lane in range(self._lanes):
            acc = Signal(signed(self._acc_width), name=f"acc{lane}")
            ovf = Signal(name=f"ovf{lane}")
            acc_new = Signal(signed(self._acc_width), name=f"acc_new{lane}")
            ovf_new = Signal(name=f"ovf_new{lane}")
            clamped, hit = saturate(acc + self.i.payload.code[lane], self._acc_width)
            m.d.comb += [
                acc_new.eq(clamped),
                ovf_new.eq(ovf | hit),
            ]
            with m.If(go):
                with m.If(last):
                    m.d.sync += [
                        acc.eq(0),
                        ovf.eq(0),
                        self.o.payload.sum[lane].eq(acc_new),
                        self.o.payload.overflow[lane].eq(ovf_new),
                    ]
                with m.Else():
                    m.d.sync += [
                        acc.eq(acc_new),
                        ovf.eq(ovf_new),
                    ]
        return m
