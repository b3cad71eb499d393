# SPDX-License-Identifier: MIT
"""Ping-pong buffer controller: two SRAM banks, one written while the other is read."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ...golden.params import PingPongParams, buffer_depth
from ..common.component import param_properties
from ..common.layouts import PingPongWordLayout

__all__ = ["buffer_depth", "PingPongBuffer"]


@param_properties("depth", "bank_depth", "width", "signed")
class PingPongBuffer(wiring.Component):
    """Double-buffered SRAM of ``depth`` words of ``width`` bits, in two banks of ``depth/2``.

    Data order and physical addresses are those of ``golden.buffer.pingpong_transfer`` bit for
    bit. The words live in one :class:`~amaranth.lib.memory.Memory`; the bank is the address
    MSB, so bank ``b`` holds physical addresses ``b * depth/2 .. (b + 1) * depth/2 - 1``.

    *Write side* (stream ``i``): frame ``f`` (the beats up to and including one with ``last``)
    is written linearly into bank ``f % 2`` from offset 0, one word per accepted beat, and its
    length is recorded. A frame may hold at most ``depth/2`` words: if the ``depth/2``-th word
    of a frame does not carry ``last``, the frame is closed there anyway (as if ``last`` were
    set), the sticky flag ``o_overflow`` goes high, and the following words form a new frame.
    The words are thus never lost or overwritten; the overlong frame comes out as frames of
    ``depth/2`` words plus a remainder, which is what ``pingpong_transfer`` gives for those
    split frames.

    *Read side* (stream ``o``): the other bank is read from offset 0 for exactly the recorded
    length, ``last`` marking the frame's final word. The read port has one cycle of latency and
    the output word is held in its data register, which only advances when ``o`` accepts
    (``o.valid`` low or ``o.ready`` high), so ``o`` obeys valid/ready back-pressure at one word
    per cycle.

    *Bank swap*: the banks swap when the writer has closed its frame and the reader has issued
    the read of its last word or was idle. Two FSMs hold this state: the writer is ``FILL``
    (taking words) or ``CLOSED`` (frame done, waiting for the swap), the reader ``IDLE`` or
    ``DRAIN``. After a swap the reader drains the bank
    just written while the writer fills the other one; the word that still waits in the output
    register was read before the swap, so the writer may already overwrite its address.

    * ``i.ready`` is high when the writer has not closed its frame, or when it has and the banks
      swap in this cycle (then the beat is the first word of the next frame, written at offset
      0 of the new bank). It is low from the cycle after a frame's final word until the swap,
      i.e. while the reader still drains the other bank. With equal frame lengths and no
      back-pressure both sides run at one word per cycle without bubbles.
    * ``o.valid`` is high while the output register holds a word; it rises the cycle after the
      read of a word is issued, which happens from the cycle after a swap.

    ``rst`` (synchronous) clears the bank state: both banks empty, the writer at bank 0 offset
    0, no word on ``o``, ``o_overflow`` low. A frame in progress and any unread frame are
    dropped; the memory contents are not cleared (they are never read before being written).

    Parameters
    ----------
    depth : int
        Total SRAM depth in words, a power of two in ``2 .. 2**20`` (:meth:`from_bytes` derives
        it from a byte size such as the Table II 16 KB / 4 KB / 1 KB).
    width : int
        Word width in bits, ``1 .. 63``. Default 16.
    signed : bool
        Whether the ``data`` fields are ``signed(width)``. Default False.

    The parameters are checked by :class:`golden.params.PingPongParams`.

    Raises
    ------
    TypeError
        ``depth`` or ``width`` is not an integer, or ``signed`` is not a bool.
    ValueError
        ``depth`` is below 2, above ``2**20`` or not a power of two, or ``width`` is out of
        range.

    Members
    -------
    i : In(stream.Signature(PingPongWordLayout(width, signed)))
        Write beats: ``data`` and ``last`` (ends the frame).
    o : Out(stream.Signature(PingPongWordLayout(width, signed)))
        Read beats: ``data`` and ``last`` (the final word of the recorded frame).
    o_waddr : Out(log2(depth))
        Physical address that the beat on ``i`` is written to (meaningful while ``i.valid``
        and ``i.ready``).
    o_raddr : Out(log2(depth))
        Physical address that the word on ``o`` was read from (meaningful while ``o.valid``).
    o_overflow : Out(1)
        Sticky since reset: a frame longer than ``depth/2`` words was split.
    """

    def __init__(self, *, depth: int, width: int = 16, signed: bool = False):
        self._params = p = PingPongParams(depth=depth, width=width, signed=signed)
        abits = p.depth.bit_length() - 1
        super().__init__({
            "i":          In(stream.Signature(PingPongWordLayout(p.width, p.signed))),
            "o":          Out(stream.Signature(PingPongWordLayout(p.width, p.signed))),
            "o_waddr":    Out(unsigned(abits)),
            "o_raddr":    Out(unsigned(abits)),
            "o_overflow": Out(1),
        })

    @classmethod
    def from_bytes(cls, size_bytes: int, *, width: int = 16, signed: bool = False):
        """Build a buffer of ``size_bytes`` bytes of ``width``-bit words (:func:`buffer_depth`)."""
        # Check first: a component rejected by its constructor would be left unused.
        p = PingPongParams(depth=buffer_depth(size_bytes, width), width=width, signed=signed)
        return cls(depth=p.depth, width=p.width, signed=p.signed)

    def elaborate(self, platform):
        m = Module()
        bank_depth = self._params.bank_depth

        m.submodules.mem = mem = Memory(shape=unsigned(self._params.width),
                                        depth=self._params.depth, init=[])
        wr = mem.write_port()
        rd = mem.read_port()

        # Write side: bank `wbank`, next offset `woff`; once the frame is closed `woff` is back
        # at 0 and `wlen` holds the frame length.
        wbank = Signal()
        woff = Signal(range(bank_depth))
        wlen = Signal(range(bank_depth + 1))
        # Read side: bank `rbank`, next offset `roff` of `rlen` words while draining.
        rbank = Signal()
        roff = Signal(range(bank_depth))
        rlen = Signal(range(bank_depth + 1))

        wclosed = Signal()                  # the writer waits for the swap (CLOSED)
        rbusy = Signal()                    # the reader drains its bank (DRAIN)
        adv = Signal()                      # the output register may take the next word
        issue = Signal()                    # read the word at `roff` this cycle
        issue_last = Signal()               # ... and it is the frame's final word
        swap = Signal()
        wgo = Signal()
        wend = Signal()                     # the accepted beat closes its frame
        wfull = Signal()                    # the accepted beat fills the bank
        wbank_now = Signal()                # bank written this cycle (the new one on a swap)
        m.d.comb += [
            adv.eq(~self.o.valid | self.o.ready),
            issue.eq(rbusy & adv),
            issue_last.eq(issue & (roff == rlen - 1)),
            swap.eq(wclosed & (~rbusy | issue_last)),
            self.i.ready.eq(~wclosed | swap),
            wgo.eq(self.i.valid & self.i.ready),
            wfull.eq(woff == bank_depth - 1),
            wend.eq(self.i.payload.last | wfull),
            wbank_now.eq(wbank ^ swap),
        ]

        m.d.comb += [
            wr.addr.eq(Cat(woff, wbank_now)),
            wr.data.eq(self.i.payload.data),
            wr.en.eq(wgo),
            self.o_waddr.eq(Cat(woff, wbank_now)),
            rd.addr.eq(Cat(roff, rbank)),
            rd.en.eq(issue),
            self.o.payload.data.eq(rd.data),
        ]

        # Reader: the output register advances whenever `o` is empty or accepts. IDLE waits for
        # a swap; DRAIN issues one read per advance and stays there when the swap comes in the
        # cycle that issues its last word.
        with m.If(adv):
            m.d.sync += self.o.valid.eq(issue)
        with m.If(issue):
            m.d.sync += [
                self.o.payload.last.eq(roff == rlen - 1),
                self.o_raddr.eq(Cat(roff, rbank)),
                roff.eq(roff + 1),
            ]
        with m.FSM(init="IDLE", name="reader") as reader:
            with m.State("IDLE"):
                with m.If(swap):
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                with m.If(issue_last & ~swap):
                    m.next = "IDLE"
        m.d.comb += rbusy.eq(reader.ongoing("DRAIN"))

        # Swap: the reader takes the bank just written; the writer moves to the other bank.
        with m.If(swap):
            m.d.sync += [
                wbank.eq(~wbank),
                rbank.eq(wbank),
                rlen.eq(wlen),
                roff.eq(0),
            ]

        # Writer: FILL takes words; the frame's final word (or the one that fills the bank)
        # closes it. CLOSED waits for the swap, which reopens it, unless a one-word frame
        # written in the swap cycle closes the new frame at once.
        with m.If(wgo):
            with m.If(wend):
                m.d.sync += [
                    wlen.eq(woff + 1),
                    woff.eq(0),
                ]
                with m.If(wfull & ~self.i.payload.last):
                    m.d.sync += self.o_overflow.eq(1)
            with m.Else():
                m.d.sync += woff.eq(woff + 1)
        with m.FSM(init="FILL", name="writer") as writer:
            with m.State("FILL"):
                with m.If(wgo & wend):
                    m.next = "CLOSED"
            with m.State("CLOSED"):
                with m.If(swap & ~(wgo & wend)):
                    m.next = "FILL"
        m.d.comb += wclosed.eq(writer.ongoing("CLOSED"))
        return m
