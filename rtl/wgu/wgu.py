# SPDX-License-Identifier: MIT
"""SRAM-based weight-gradient unit: saturating read-modify-write of ``G += delta (x) s``."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common.checks import MAX_WIDTH, check_int, saturate
from ..common.layouts import (WGUCommandLayout, WGUReadoutLayout, WGUUpdateLayout,
                              step_width)

__all__ = ["ROUNDINGS", "WGU"]

#: Readout rounding modes (``golden.wgu.ROUNDINGS``).
ROUNDINGS = ("floor", "half_up")


class WGU(wiring.Component):
    """Weight-gradient memory of ``rows`` x ``cols`` signed words with saturating updates.

    The arithmetic is that of ``golden.wgu.wgu_accumulate`` and ``golden.wgu.wgu_readout``
    bit for bit. The gradients live in a :class:`~amaranth.lib.memory.Memory` of ``rows``
    words; one word holds a whole row ``G[i, :]`` (``cols`` x ``signed(grad_width)``) and its
    ``cols`` sticky overflow flags, so every port moves one row per cycle.

    *Update* (stream ``i``): a beat ``{row, delta, spikes}`` is one row ``i`` of the outer
    product of one ``(t, b)`` pair. The unit reads the row, computes per column ``s = G[i, j]
    + (delta if spikes[j] else 0)`` exactly, writes back ``G[i, j] = clamp(s)`` to the
    ``grad_width`` signed range and sets the word's overflow flag if ``s`` was clamped. To
    reproduce ``wgu_accumulate(G, delta, spikes)`` send, for each ``(t, b)`` in golden order
    (``t`` outer, ``b`` inner), the ``rows`` beats of that pair in any row order: rows are
    independent, so only the order of the beats of one row matters. Beats with ``row >=
    rows`` are accepted and dropped. The read-modify-write is a two-stage pipeline (read,
    then add and write) that takes one beat per cycle: the read port is transparent to the
    write port, so a beat reading the row that the previous beat writes in the same cycle sees
    the new value (read-after-write forwarding through the memory; no stall).

    *Commands* (stream ``i_cmd``, ``{read, clear}``): ``read`` streams rows ``0 .. rows - 1``
    out on ``o`` and ``clear`` zeroes every row and its flags; both together is clear-on-read
    (each row is zeroed the cycle after it is read). The memory has no reset, so the first
    command after power-up must clear it. While a command runs (``rows`` cycles plus output
    back-pressure), ``i`` and ``i_cmd`` are not ready; a pending command takes precedence
    over a pending update beat (``i.ready`` is low while ``i_cmd.valid`` is high).

    *Readout* (stream ``o``): per row, ``update = clamp(G >> shift)`` (``rounding="floor"``)
    or ``clamp((G + 2**(shift - 1)) >> shift)`` (``"half_up"``) to ``out_width`` signed bits,
    the row's overflow flags (sticky since the last clear, i.e. the union of the golden
    per-call ``overflow`` of every accumulation since then) and ``last`` on the final row.
    The payload is combinational from the read port's data register, which only advances
    when ``o`` accepts, so ``o`` obeys valid/ready back-pressure and runs at one row per cycle.

    ``rst`` aborts a command in progress and empties both pipelines but does not touch the
    memory; an update beat accepted in the cycle before ``rst`` still completes its write.

    Parameters
    ----------
    rows : int
        Number of gradient rows (``out`` neurons; the memory depth), ``>= 1``. Any depth is
        allowed; it need not be a power of two.
    cols : int
        Number of gradient columns (``in`` neurons; words per row), ``>= 1``.
    grad_width : int
        Signed width of a gradient word, ``1 .. 63``. Default 16.
    delta_width : int
        Signed width of ``delta``, ``1 .. 62``. Default 8.
    shift : int
        Readout right shift, ``0 .. grad_width`` (``"half_up"``: at most 62). Default 0.
    out_width : int or None
        Signed width of the readout words, ``1 .. 63``; ``None`` means ``grad_width``.
    rounding : str
        ``"floor"`` (arithmetic shift) or ``"half_up"`` (ties toward plus infinity).

    Raises
    ------
    TypeError
        A width, count or shift is not an integer, or ``rounding`` is not a string.
    ValueError
        A parameter is out of range: zero rows or columns, a width outside its bounds, a shift
        larger than ``grad_width``, or an unknown rounding mode.

    Members
    -------
    i : In(stream.Signature(WGUUpdateLayout(rows, cols, delta_width)))
        Update beats: ``row``, ``delta`` and ``spikes``.
    i_cmd : In(stream.Signature(WGUCommandLayout()))
        Commands: ``read`` and ``clear``.
    o : Out(stream.Signature(WGUReadoutLayout(rows, cols, out_width)))
        Readout beats: ``row``, ``update`` and ``overflow`` per column, ``last``.
    """

    def __init__(self, *, rows: int, cols: int, grad_width: int = 16, delta_width: int = 8,
                 shift: int = 0, out_width: int | None = None, rounding: str = "floor"):
        self._MustUse__silence = True
        self._rows = check_int(rows, "rows", 1)
        self._cols = check_int(cols, "cols", 1)
        self._grad_width = check_int(grad_width, "grad_width", 1, MAX_WIDTH)
        self._delta_width = check_int(delta_width, "delta_width", 1, MAX_WIDTH - 1)
        if not isinstance(rounding, str):
            raise TypeError(f"rounding must be a string, not {rounding!r}")
        if rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {ROUNDINGS}, not {rounding!r}")
        self._rounding = rounding
        max_shift = grad_width if rounding == "floor" else min(grad_width, MAX_WIDTH - 1)
        self._shift = check_int(shift, "shift", 0, max_shift)
        self._out_width = grad_width if out_width is None else check_int(out_width, "out_width",
                                                                         1, MAX_WIDTH)
        self._MustUse__silence = False
        super().__init__({
            "i":     In(stream.Signature(WGUUpdateLayout(self._rows, self._cols,
                                                         self._delta_width))),
            "i_cmd": In(stream.Signature(WGUCommandLayout())),
            "o":     Out(stream.Signature(WGUReadoutLayout(self._rows, self._cols,
                                                           self._out_width))),
        })

    rows = property(lambda self: self._rows, doc="Number of gradient rows (memory depth).")
    cols = property(lambda self: self._cols, doc="Number of gradient words per row.")
    grad_width = property(lambda self: self._grad_width, doc="Signed width of a gradient word.")
    delta_width = property(lambda self: self._delta_width, doc="Signed width of ``delta``.")
    shift = property(lambda self: self._shift, doc="Readout right shift.")
    out_width = property(lambda self: self._out_width, doc="Signed width of the readout words.")
    rounding = property(lambda self: self._rounding, doc="Readout rounding mode.")

    @property
    def word_layout(self) -> data.StructLayout:
        """Layout of one memory word: ``grad`` and ``overflow`` of every column of a row."""
        return data.StructLayout({
            "grad":     data.ArrayLayout(signed(self._grad_width), self._cols),
            "overflow": data.ArrayLayout(1, self._cols),
        })

    def elaborate(self, platform):
        m = Module()
        rows, cols, gw = self._rows, self._cols, self._grad_width

        m.submodules.mem = mem = Memory(shape=self.word_layout, depth=rows, init=[])
        wr = mem.write_port()
        rd = mem.read_port(transparent_for=(wr,))

        # Command state: `busy` while a read and/or clear sweeps the rows with counter `cnt`.
        busy = Signal()
        do_read = Signal()
        do_clear = Signal()
        cnt = Signal(range(rows + 1))
        clr_pend = Signal()                 # clear-on-read: zero `clr_row` this cycle
        clr_row = Signal(step_width(rows))

        cmd_go = Signal()
        upd_go = Signal()
        m.d.comb += [
            self.i_cmd.ready.eq(~busy),
            cmd_go.eq(self.i_cmd.valid & self.i_cmd.ready),
            self.i.ready.eq(~busy & ~self.i_cmd.valid),
            upd_go.eq(self.i.valid & self.i.ready),
        ]

        # Update pipeline, stage 1: the row read in the previous cycle is in `rd.data`.
        s1_valid = Signal()
        s1_row = Signal.like(self.i.payload.row)
        s1_delta = Signal.like(self.i.payload.delta)
        s1_spikes = Signal.like(self.i.payload.spikes)
        m.d.sync += s1_valid.eq(upd_go)
        with m.If(upd_go):
            m.d.sync += [
                s1_row.eq(self.i.payload.row),
                s1_delta.eq(self.i.payload.delta),
                s1_spikes.eq(self.i.payload.spikes),
            ]
        new = Signal(self.word_layout)
        for j in range(cols):
            clamped, hit = saturate(rd.data.grad[j] + Mux(s1_spikes[j], s1_delta, 0), gw)
            m.d.comb += [
                new.grad[j].eq(clamped),
                new.overflow[j].eq(rd.data.overflow[j] | hit),
            ]

        # Memory ports. Clear writes and update writes never fall in the same cycle: an update
        # write follows an accepted beat, and no beat is accepted while a command is busy (the
        # last clear-on-read write falls in the first idle cycle, whose beat writes one later).
        sweep_clear = Signal()              # plain clear: zero row `cnt` this cycle
        m.d.comb += [
            wr.addr.eq(Mux(s1_valid, s1_row, Mux(clr_pend, clr_row, cnt))),
            wr.data.eq(Mux(s1_valid, new.as_value(), 0)),
            wr.en.eq((s1_valid & (s1_row < rows)) | clr_pend | sweep_clear),
        ]

        adv = Signal()                      # the output register may take the next row
        issue = Signal()                    # read row `cnt` for the readout this cycle
        m.d.comb += [
            adv.eq(~self.o.valid | self.o.ready),
            issue.eq(busy & do_read & adv & (cnt < rows)),
            sweep_clear.eq(busy & ~do_read & do_clear),
            rd.addr.eq(Mux(busy, cnt, self.i.payload.row)),
            rd.en.eq(Mux(busy, issue, upd_go)),
        ]

        m.d.sync += clr_pend.eq(issue & do_clear)
        with m.If(issue):
            m.d.sync += clr_row.eq(cnt)

        with m.If(cmd_go):
            m.d.sync += [
                busy.eq(self.i_cmd.payload.read | self.i_cmd.payload.clear),
                do_read.eq(self.i_cmd.payload.read),
                do_clear.eq(self.i_cmd.payload.clear),
                cnt.eq(0),
            ]
        with m.If(busy & do_read & adv):
            m.d.sync += self.o.valid.eq(cnt < rows)
            with m.If(cnt < rows):
                m.d.sync += [
                    cnt.eq(cnt + 1),
                    self.o.payload.row.eq(cnt),
                    self.o.payload.last.eq(cnt == rows - 1),
                ]
            with m.Else():
                m.d.sync += busy.eq(0)
        with m.If(sweep_clear):
            m.d.sync += cnt.eq(cnt + 1)
            with m.If(cnt == rows - 1):
                m.d.sync += busy.eq(0)

        # Readout arithmetic on the read data register (held while `o` stalls).
        sh = self._shift
        for j in range(cols):
            g = rd.data.grad[j]
            if self._rounding == "half_up" and sh > 0:
                shifted = (g.as_signed() + (1 << (sh - 1))) >> sh
            else:
                shifted = g >> sh
            clamped, _ = saturate(shifted, self._out_width)
            m.d.comb += [
                self.o.payload.update[j].eq(clamped),
                self.o.payload.overflow[j].eq(rd.data.overflow[j]),
            ]
        return m
