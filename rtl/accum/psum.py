# SPDX-License-Identifier: MIT
"""Partial-sum accumulator: saturating per-lane sums of row-tile partial sums, ``last``-framed."""
from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...golden.params import PsumParams
from ..common.component import param_properties
from ..common.fixed import saturate
from ..common.layouts import PsumInputLayout, PsumOutputLayout
from ..common.stages import register_stage

__all__ = ["PsumAccumulator"]


@param_properties("lanes", "in_width", "acc_width")
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
        Number of parallel lanes (output columns), ``1 .. 4096``.
    in_width : int
        Signed width of the input codes, ``1 .. acc_width``. Default 16.
    acc_width : int
        Signed width of the accumulators and of the output sums, ``in_width .. 63``.
        Default 16.

    The parameters are checked by :class:`golden.params.PsumParams`.

    Raises
    ------
    TypeError
        A parameter is not an integer.
    ValueError
        A parameter is out of range: no lanes or more than 4096, a width below 1 or above 63,
        or an ``acc_width`` smaller than ``in_width``.

    Members
    -------
    i : In(stream.Signature(PsumInputLayout(lanes, in_width)))
        Input beats: ``code`` per lane and ``last``.
    o : Out(stream.Signature(PsumOutputLayout(lanes, acc_width)))
        One beat per group: ``sum`` and ``overflow`` per lane.
    """

    def __init__(self, *, lanes: int, in_width: int = 16, acc_width: int = 16):
        self._params = p = PsumParams(lanes=lanes, in_width=in_width, acc_width=acc_width)
        super().__init__({
            "i": In(stream.Signature(PsumInputLayout(p.lanes, p.in_width))),
            "o": Out(stream.Signature(PsumOutputLayout(p.lanes, p.acc_width))),
        })

    def elaborate(self, platform):
        m = Module()
        last = self.i.payload.last
        go = register_stage(m, self.i, self.o, emit=last)

        acc_width = self._params.acc_width
        for lane in range(self._params.lanes):
            acc = Signal(signed(acc_width), name=f"acc{lane}")
            ovf = Signal(name=f"ovf{lane}")
            acc_new = Signal(signed(acc_width), name=f"acc_new{lane}")
            ovf_new = Signal(name=f"ovf_new{lane}")
            clamped, hit = saturate(acc + self.i.payload.code[lane], acc_width)
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
