# SPDX-License-Identifier: MIT
"""SRAM-based weight-gradient unit: saturating read-modify-write of ``G += delta (x) s``."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ...golden.params import READOUT_ROUNDINGS, WGUParams
from ..common.component import param_properties
from ..common.fixed import saturate
from ..common.layouts import (WGUCommandLayout, WGUReadoutLayout, WGUUpdateLayout,
                              step_width)

__all__ = ["READOUT_ROUNDINGS", "WGU"]


@param_properties("rows", "cols", "grad_width", "delta_width", "shift", "out_width",
                  "rounding")
class WGU(wiring.Component):
    """Weight-gradient memory of ``rows`` x ``cols`` signed words with saturating updates.

    The arithmetic is that of ``golden.wgu.wgu_accumulate`` and ``golden.wgu.wgu_readout``
    bit for bit, and the parameters are checked by :class:`golden.params.WGUParams`. The
    gradients live in a :class:`~amaranth.lib.memory.Memory` of ``rows`` words; one word holds
    a whole row ``G[i, :]`` (``cols`` x ``signed(grad_width)``) and its ``cols`` sticky
    overflow flags, so every port moves one row per cycle.

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
    (each row is zeroed the cycle after it is read). A controller FSM sequences them: ``IDLE``
    (takes commands and update beats), ``READ`` (the readout sweep) and ``CLEAR`` (a plain
    clear sweep, one row per cycle). The memory has no reset, so the first
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
        Number of gradient rows (``out`` neurons; the memory depth), ``1 .. 2**20``. Any depth
        is allowed; it need not be a power of two.
    cols : int
        Number of gradient columns (``in`` neurons; words per row), ``1 .. 4096``.
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
        A parameter is out of range: no rows or columns (or more than ``2**20`` rows or 4096
        columns), a width outside its bounds, a shift larger than ``grad_width``, or an
        unknown rounding mode.

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
        self._params = p = WGUParams(rows=rows, cols=cols, grad_width=grad_width,
                                     delta_width=delta_width, shift=shift, out_width=out_width,
                                     rounding=rounding)
        super().__init__({
            "i":     In(stream.Signature(WGUUpdateLayout(p.rows, p.cols, p.delta_width))),
            "i_cmd": In(stream.Signature(WGUCommandLayout())),
            "o":     Out(stream.Signature(WGUReadoutLayout(p.rows, p.cols, p.out_width))),
        })

    @property
    def word_layout(self) -> data.StructLayout:
        """Layout of one memory word: ``grad`` and ``overflow`` of every column of a row."""
        return data.StructLayout({
            "grad":     data.ArrayLayout(signed(self.grad_width), self.cols),
            "overflow": data.ArrayLayout(1, self.cols),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        rows, cols, gw = p.rows, p.cols, p.grad_width

        m.submodules.mem = mem = Memory(shape=self.word_layout, depth=rows, init=[])
        wr = mem.write_port()
        rd = mem.read_port(transparent_for=(wr,))

        cnt = Signal(range(rows + 1))       # row of the command sweep
        clear_on_read = Signal()            # the READ sweep also zeroes each row it reads
        clr_pend = Signal()                 # clear-on-read: zero `clr_row` this cycle
        clr_row = Signal(step_width(rows))
        busy = Signal()                     # a command sweep is running (not IDLE)
        adv = Signal()                      # the output register may take the next row
        issue = Signal()                    # read row `cnt` for the readout this cycle
        sweep_clear = Signal()              # plain clear: zero row `cnt` this cycle
        m.d.comb += adv.eq(~self.o.valid | self.o.ready)

        # Controller. IDLE takes a command (which wins over a pending update beat) or an
        # update beat; READ streams rows 0 .. rows-1 out on `o` under back-pressure and
        # returns once the final row has left the output register; CLEAR zeroes one row per
        # cycle. The handshakes are decoded from the state below, as continuous assignments,
        # so that they are defined from time 0 in a 4-state simulator.
        with m.FSM(init="IDLE", name="wgu_ctrl") as ctrl:
            with m.State("IDLE"):
                with m.If(self.i_cmd.valid):
                    m.d.sync += [
                        cnt.eq(0),
                        clear_on_read.eq(self.i_cmd.payload.clear),
                    ]
                    with m.If(self.i_cmd.payload.read):
                        m.next = "READ"
                    with m.Elif(self.i_cmd.payload.clear):
                        m.next = "CLEAR"
            with m.State("READ"):
                with m.If(adv):
                    m.d.sync += self.o.valid.eq(cnt < rows)
                    with m.If(cnt < rows):
                        m.d.sync += [
                            cnt.eq(cnt + 1),
                            self.o.payload.row.eq(cnt),
                            self.o.payload.last.eq(cnt == rows - 1),
                        ]
                    with m.Else():
                        m.next = "IDLE"
            with m.State("CLEAR"):
                m.d.sync += cnt.eq(cnt + 1)
                with m.If(cnt == rows - 1):
                    m.next = "IDLE"
        idle = ctrl.ongoing("IDLE")
        m.d.comb += [
            busy.eq(~idle),
            self.i_cmd.ready.eq(idle),
            self.i.ready.eq(idle & ~self.i_cmd.valid),
            issue.eq(ctrl.ongoing("READ") & adv & (cnt < rows)),
            sweep_clear.eq(ctrl.ongoing("CLEAR")),
        ]

        m.d.sync += clr_pend.eq(issue & clear_on_read)
        with m.If(issue):
            m.d.sync += clr_row.eq(cnt)

        # Update pipeline, stage 1: the row read in the previous cycle is in `rd.data`.
        upd_go = Signal()
        m.d.comb += upd_go.eq(self.i.valid & self.i.ready)
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
        m.d.comb += [
            wr.addr.eq(Mux(s1_valid, s1_row, Mux(clr_pend, clr_row, cnt))),
            wr.data.eq(Mux(s1_valid, new.as_value(), 0)),
            wr.en.eq((s1_valid & (s1_row < rows)) | clr_pend | sweep_clear),
            rd.addr.eq(Mux(busy, cnt, self.i.payload.row)),
            rd.en.eq(Mux(busy, issue, upd_go)),
        ]

        # Readout arithmetic on the read data register (held while `o` stalls).
        sh = p.shift
        for j in range(cols):
            g = rd.data.grad[j]
            if p.rounding == "half_up" and sh > 0:
                shifted = (g.as_signed() + (1 << (sh - 1))) >> sh
            else:
                shifted = g >> sh
            clamped, _ = saturate(shifted, p.out_width)
            m.d.comb += [
                self.o.payload.update[j].eq(clamped),
                self.o.payload.overflow[j].eq(rd.data.overflow[j]),
            ]
        return m
