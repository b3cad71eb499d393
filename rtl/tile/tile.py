# SPDX-License-Identifier: MIT
"""Training tile: buffers, crossbar port, shift-adders, accumulator, GradLIF, WGU and controller."""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ...golden.tile import TileParams
from ..accum import PsumAccumulator, ShiftAdder
from ..buffer import PingPongBuffer
from ..common.fixed import saturate
from ..common.layouts import (XBAR_READ, XBAR_TREAD, XBAR_WRITE, GradLIFDeltaLayout,
                              GradLIFOutputLayout, PingPongWordLayout, TileCommandLayout,
                              TileErrLayout, XbarRequestLayout, XbarResponseLayout)
from ..neuron import GradLIF
from ..wgu import WGU

__all__ = ["Tile", "TileParams", "STATES"]

#: States of the controller FSM, in the order of one step.
STATES = ("IDLE", "CLEAR", "FWD_LOAD", "FWD_REQ", "FWD_WAIT", "BWD_ERR", "BWD_DELTA",
          "BWD_WGU", "BWD_TREQ", "BWD_TWAIT", "UPD_CMD", "UPD_WRITE")


def _params_property(name):
    return property(lambda self: getattr(self._params, name),
                    doc=f"``{name}`` of :attr:`params`.")


class Tile(wiring.Component):
    """One layer's training tile around an RRAM crossbar, with its controller.

    The arithmetic is that of :mod:`golden.tile` bit for bit (see there for the order of the
    crossbar requests); the parameters are those of :class:`golden.tile.TileParams`, which
    checks them. Block diagram::

        i_spk -> [input ping-pong] -> controller --o_req--> crossbar (read / tread / write)
                                        |  ^                   |
                      spike store <-----+  |        i_resp <---+
                                           |           |
                      fwd: [shift-add 1 slice] -> [psum acc] -> [GradLIF] -> [out ping-pong]
                      bwd: [plane collector] -> [shift-add K planes] -> >>, sat -> o_err
        i_err -> GradLIF backward -> delta -> WGU update beats;  WGU readout -> o_req writes

    *Step* (``i_cmd``: ``batch``, ``propagate``): the controller clears the WGU, then for
    each sample runs the forward pass (for ``t`` and row group ``r``: a read request driving
    the spikes of that group; the response's code pairs go through the 1-slice shift-adder
    and the partial-sum accumulator, one group per timestep, into GradLIF, whose spikes fill
    the output buffer, one frame per sample), then the backward pass (per ``t``: one
    ``i_err`` beat into GradLIF; the delta goes to the WGU as ``n_out`` update beats with the
    stored input spikes of ``t``; with ``propagate``, ``R * K`` transposed reads of the
    sign-magnitude bit planes of delta, whose responses are collected per group, shift-added
    and sent out as one ``o_err`` beat). After the batch the WGU is read out (and cleared)
    and each row becomes one write request of level changes.

    *Crossbar protocol*: ``o_req`` and ``i_resp`` are independent valid/ready streams; every
    read and transposed read gets exactly one response, in request order; writes get none.
    Requests may run ahead of responses (the controller does not wait for a response before
    the next request of the same phase).

    All streams use valid/ready back-pressure. ``o_fwd`` and ``o_delta`` are observation
    outputs with strobes (one per GradLIF forward output and per delta), which never stall.
    ``rst`` returns the controller to ``IDLE`` and empties every pipeline and buffer; the next
    step starts clean (memories are cleared or overwritten before they are read).

    Parameters
    ----------
    n_in, n_out, timesteps, max_batch, rows, adc_bits, acc_width, tacc_width, bp_shift, \
grad_width, wgu_shift, level_width, rounding, buffer_words, mem_width, frac_bits, leak_shift, \
threshold, reset, sg_width, grad_shift, err_width, delta_width
        As in :class:`golden.tile.TileParams` (keyword-only, same defaults).

    Raises
    ------
    TypeError
        A parameter has the wrong type.
    ValueError
        A parameter is out of range, e.g. no outputs (zero lanes), ``rows > n_in`` or a
        buffer too small for one sample.

    Members
    -------
    i_cmd : In(stream.Signature(TileCommandLayout(max_batch)))
        Start one step: ``batch`` and ``propagate``. Taken only in ``IDLE``.
    i_spk : In(stream.Signature(PingPongWordLayout(n_in)))
        Input spikes, one word per timestep (input ``j`` in bit ``j``), ``last`` on the
        final timestep of each sample.
    o_req : Out(stream.Signature(XbarRequestLayout(...)))
        Crossbar requests.
    i_resp : In(stream.Signature(XbarResponseLayout(resp_lanes, adc_bits)))
        Crossbar responses.
    i_err : In(stream.Signature(TileErrLayout(n_out, err_width)))
        Error of each timestep (DFA: from the feedback tile; BP: the next layer's ``o_err``).
    o_err : Out(stream.Signature(TileErrLayout(n_in, err_width)))
        Propagated error ``W^T delta`` of each timestep (only with ``propagate``).
    o_spk : Out(stream.Signature(PingPongWordLayout(n_out)))
        Output spikes, one word per timestep, ``last`` on each sample's final timestep.
    o_fwd : Out(GradLIFOutputLayout(n_out, mem_width, timesteps))
        Observation: spikes, membranes and step of a forward output, valid (and never
        stalled) in the cycles where ``o_fwd_valid`` is high.
    o_fwd_valid : Out(1)
        A GradLIF forward output enters the output buffer this cycle.
    o_delta : Out(GradLIFDeltaLayout(n_out, delta_width))
        Observation: a delta, valid where ``o_delta_valid`` is high.
    o_delta_valid : Out(1)
        GradLIF hands a delta to the controller this cycle.
    o_busy : Out(1)
        The controller is not in ``IDLE``.
    o_state : Out(range(len(STATES)))
        Index of the controller state in :data:`STATES` (for cycle counts per phase).
    """

    def __init__(self, *, n_in: int, n_out: int, timesteps: int, max_batch: int = 4,
                 rows: int | None = None, adc_bits: int = 4, acc_width: int = 12,
                 tacc_width: int = 16, bp_shift: int = 0, grad_width: int = 16,
                 wgu_shift: int = 0, level_width: int = 8, rounding: str = "floor",
                 buffer_words: int | None = None, mem_width: int = 16, frac_bits: int = 0,
                 leak_shift: int = 2, threshold: int = 4, reset: str = "hard",
                 sg_width: int = 4, grad_shift: int = 2, err_width: int = 8,
                 delta_width: int = 8):
        self._params = p = TileParams(
            n_in=n_in, n_out=n_out, timesteps=timesteps, max_batch=max_batch, rows=rows,
            adc_bits=adc_bits, acc_width=acc_width, tacc_width=tacc_width, bp_shift=bp_shift,
            grad_width=grad_width, wgu_shift=wgu_shift, level_width=level_width,
            rounding=rounding, buffer_words=buffer_words, mem_width=mem_width,
            frac_bits=frac_bits, leak_shift=leak_shift, threshold=threshold, reset=reset,
            sg_width=sg_width, grad_shift=grad_shift, err_width=err_width,
            delta_width=delta_width)
        lif = p.lif
        super().__init__({
            "i_cmd":   In(stream.Signature(TileCommandLayout(p.max_batch))),
            "i_spk":   In(stream.Signature(PingPongWordLayout(p.n_in))),
            "o_req":   Out(stream.Signature(self.request_layout)),
            "i_resp":  In(stream.Signature(XbarResponseLayout(p.resp_lanes, p.adc_bits))),
            "i_err":   In(stream.Signature(TileErrLayout(p.n_out, lif.err_width))),
            "o_err":   Out(stream.Signature(TileErrLayout(p.n_in, lif.err_width))),
            "o_spk":   Out(stream.Signature(PingPongWordLayout(p.n_out))),
            "o_fwd":   Out(GradLIFOutputLayout(p.n_out, lif.mem_width, p.timesteps)),
            "o_fwd_valid":   Out(1),
            "o_delta": Out(GradLIFDeltaLayout(p.n_out, lif.delta_width)),
            "o_delta_valid": Out(1),
            "o_busy":  Out(1),
            "o_state": Out(range(len(STATES))),
        })

    params = property(lambda self: self._params, doc="The validated :class:`TileParams`.")
    n_in = _params_property("n_in")
    n_out = _params_property("n_out")
    timesteps = _params_property("timesteps")
    max_batch = _params_property("max_batch")
    rows = _params_property("rows")
    groups = _params_property("groups")
    planes = _params_property("planes")

    @property
    def request_layout(self) -> data.StructLayout:
        """Layout of an ``o_req`` beat."""
        p = self._params
        return XbarRequestLayout(n_in=p.n_in, n_out=p.n_out, rows=p.rows, groups=p.groups,
                                 planes=p.planes, level_width=p.level_width)

    def elaborate(self, platform):
        m = Module()
        p = self._params
        lif = p.lif
        n_in, n_out, n_t, rows, R, K = (p.n_in, p.n_out, p.timesteps, p.rows, p.groups,
                                        p.planes)

        # -- blocks ------------------------------------------------------------------------
        m.submodules.in_buf = in_buf = PingPongBuffer(depth=p.buffer_words, width=n_in)
        m.submodules.out_buf = out_buf = PingPongBuffer(depth=p.buffer_words, width=n_out)
        m.submodules.fwd_sa = fwd_sa = ShiftAdder(lanes=n_out, slices=1,
                                                  acc_width=p.acc_width, adc_bits=p.adc_bits)
        m.submodules.psum = psum = PsumAccumulator(lanes=n_out, in_width=p.acc_width,
                                                   acc_width=p.acc_width)
        lif_kw = {name: getattr(lif, name) for name in lif.__dataclass_fields__}
        m.submodules.lif = gl = GradLIF(lanes=n_out, max_timesteps=n_t, **lif_kw)
        m.submodules.wgu = wgu = WGU(rows=n_out, cols=n_in, grad_width=p.grad_width,
                                     delta_width=p.delta_width, shift=p.wgu_shift,
                                     out_width=p.level_width, rounding=p.rounding)
        m.submodules.bwd_sa = bwd_sa = ShiftAdder(lanes=rows, slices=K, slice_bits=1,
                                                  acc_width=p.tacc_width, adc_bits=p.adc_bits)
        # Input spikes of the sample in flight, for the WGU beats of the backward pass.
        m.submodules.spk_mem = spk_mem = Memory(shape=unsigned(n_in), depth=n_t, init=[])
        spk_wr = spk_mem.write_port()
        spk_rd = spk_mem.read_port(domain="comb")

        wiring.connect(m, wiring.flipped(self.i_spk), in_buf.i)
        wiring.connect(m, out_buf.o, wiring.flipped(self.o_spk))

        # -- controller registers -----------------------------------------------------------
        batch = Signal.like(self.i_cmd.payload.batch)
        propagate = Signal()
        b = Signal.like(batch)                   # sample of the batch
        t = Signal(range(n_t))                   # timestep of the sample
        r = Signal(range(R))                     # row group of a request
        k = Signal(range(K))                     # bit plane of a transposed request
        i = Signal(range(n_out))                 # WGU row of an update beat
        word = Signal(n_in)                      # input spikes of timestep t
        delta = Signal(data.ArrayLayout(signed(lif.delta_width), n_out))
        fwd_done = Signal(range(n_t + 1))        # GradLIF outputs of the sample so far
        err_sent = Signal()                      # the o_err beat of timestep t has left
        bwd_phase = Signal()                     # responses go to the plane collector
        last_t = t == n_t - 1

        # -- forward datapath: response -> shift-add -> psum -> GradLIF -> output buffer ----
        resp = self.i_resp.payload
        m.d.comb += [
            fwd_sa.i.valid.eq(self.i_resp.valid & ~bwd_phase),
            fwd_sa.i.payload.pos[0].eq(Cat(resp.pos[j] for j in range(n_out))),
            fwd_sa.i.payload.neg[0].eq(Cat(resp.neg[j] for j in range(n_out))),
        ]
        r_in = Signal(range(R))                  # row group of the beat entering psum
        t_in = Signal(range(n_t))                # timestep of the beat entering GradLIF
        m.d.comb += [
            psum.i.valid.eq(fwd_sa.o.valid),
            fwd_sa.o.ready.eq(psum.i.ready),
            psum.i.payload.code.eq(fwd_sa.o.payload.psum),
            psum.i.payload.last.eq(r_in == R - 1),
            gl.i.valid.eq(psum.o.valid),
            psum.o.ready.eq(gl.i.ready),
            gl.i.payload.current.eq(psum.o.payload.sum),
            gl.i.payload.first.eq(t_in == 0),
        ]
        with m.If(psum.i.valid & psum.i.ready):
            m.d.sync += r_in.eq(Mux(r_in == R - 1, 0, r_in + 1))
        with m.If(gl.i.valid & gl.i.ready):
            m.d.sync += t_in.eq(Mux(t_in == n_t - 1, 0, t_in + 1))
        fwd_go = Signal()
        m.d.comb += [
            out_buf.i.valid.eq(gl.o.valid),
            gl.o.ready.eq(out_buf.i.ready),
            out_buf.i.payload.data.eq(Cat(gl.o.payload.spike[j] for j in range(n_out))),
            out_buf.i.payload.last.eq(gl.o.payload.step == n_t - 1),
            fwd_go.eq(gl.o.valid & gl.o.ready),
            self.o_fwd_valid.eq(fwd_go),
            self.o_fwd.eq(gl.o.payload),
        ]

        # -- backward datapath: plane collector -> K-plane shift-add -> o_err ---------------
        col_k = Signal(range(K))                 # plane of the next transposed response
        col_full = Signal()                      # all K planes of a group collected
        col_pos = Signal(bwd_sa.i.payload.pos.shape())
        col_neg = Signal(bwd_sa.i.payload.neg.shape())
        resp_go_bwd = Signal()
        m.d.comb += [
            self.i_resp.ready.eq(Mux(bwd_phase, ~col_full, fwd_sa.i.ready)),
            resp_go_bwd.eq(self.i_resp.valid & bwd_phase & ~col_full),
        ]
        with m.If(resp_go_bwd):
            for kk in range(K):
                with m.If(col_k == kk):
                    m.d.sync += [
                        col_pos[kk].eq(Cat(resp.pos[j] for j in range(rows))),
                        col_neg[kk].eq(Cat(resp.neg[j] for j in range(rows))),
                    ]
            m.d.sync += col_k.eq(Mux(col_k == K - 1, 0, col_k + 1))
            with m.If(col_k == K - 1):
                m.d.sync += col_full.eq(1)
        m.d.comb += [
            bwd_sa.i.valid.eq(col_full),
            bwd_sa.i.payload.pos.eq(col_pos),
            bwd_sa.i.payload.neg.eq(col_neg),
        ]
        with m.If(bwd_sa.i.valid & bwd_sa.i.ready):
            m.d.sync += col_full.eq(0)

        r_out = Signal(range(R))                 # row group of the next shift-added result
        err_reg = Signal(self.o_err.payload.err.shape())
        m.d.comb += [
            bwd_sa.o.ready.eq(~self.o_err.valid),
            self.o_err.payload.err.eq(err_reg),
        ]
        with m.If(bwd_sa.o.valid & bwd_sa.o.ready):
            for rr in range(R):
                with m.If(r_out == rr):
                    for j in range(rows):
                        lane = rr * rows + j
                        if lane < n_in:
                            shifted = bwd_sa.o.payload.psum[j] >> p.bp_shift
                            m.d.sync += err_reg[lane].eq(saturate(shifted, lif.err_width)[0])
            m.d.sync += r_out.eq(Mux(r_out == R - 1, 0, r_out + 1))
            with m.If(r_out == R - 1):
                m.d.sync += self.o_err.valid.eq(1)
        with m.If(self.o_err.valid & self.o_err.ready):
            m.d.sync += [
                self.o_err.valid.eq(0),
                err_sent.eq(1),
            ]

        # -- controller ----------------------------------------------------------------------
        # The FSM body holds only transitions and registers; every combinational output is an
        # unconditional expression of the state flags below, so the Verilog has continuous
        # assignments that are defined from time 0 in a 4-state simulator (an `always @*`
        # block is not evaluated until one of its inputs changes).
        st = {name: Signal(name=f"st_{name.lower()}") for name in STATES}
        req = self.o_req.payload
        mag = [Signal(unsigned(lif.delta_width), name=f"mag{j}") for j in range(n_out)]
        for j in range(n_out):
            m.d.comb += mag[j].eq(abs(delta[j]))
        # Input spikes of group r, rows past n_in driven 0.
        word_pad = Cat(word, Const(0, R * rows - n_in)) if R * rows > n_in else word
        group_drive = word_pad.word_select(r, rows)
        delta_i = delta.as_value().word_select(i, lif.delta_width).as_signed()
        m.d.comb += [
            spk_rd.addr.eq(t),
            spk_wr.addr.eq(t),
            spk_wr.data.eq(in_buf.o.payload.data),
            wgu.i.payload.row.eq(i),
            wgu.i.payload.spikes.eq(spk_rd.data),
            wgu.i.payload.delta.eq(delta_i),
        ]

        with m.FSM(init="IDLE", name="ctrl") as ctrl:
            with m.State("IDLE"):
                with m.If(self.i_cmd.valid):
                    m.d.sync += [
                        batch.eq(self.i_cmd.payload.batch),
                        propagate.eq(self.i_cmd.payload.propagate),
                        b.eq(0),
                    ]
                    m.next = "CLEAR"
            with m.State("CLEAR"):
                # The WGU memory has no reset: zero it before the first accumulation.
                with m.If(wgu.i_cmd.ready):
                    m.d.sync += [t.eq(0), bwd_phase.eq(0), fwd_done.eq(0)]
                    m.next = "FWD_LOAD"
            with m.State("FWD_LOAD"):
                with m.If(in_buf.o.valid):
                    m.d.sync += [word.eq(in_buf.o.payload.data), r.eq(0)]
                    m.next = "FWD_REQ"
            with m.State("FWD_REQ"):
                with m.If(self.o_req.ready):
                    m.d.sync += r.eq(r + 1)
                    with m.If(r == R - 1):
                        m.d.sync += t.eq(Mux(last_t, 0, t + 1))
                        with m.If(last_t):
                            m.next = "FWD_WAIT"
                        with m.Else():
                            m.next = "FWD_LOAD"
            with m.State("FWD_WAIT"):
                with m.If(fwd_done == n_t):
                    m.d.sync += [t.eq(0), bwd_phase.eq(1), fwd_done.eq(0)]
                    m.next = "BWD_ERR"
            with m.State("BWD_ERR"):
                with m.If(self.i_err.valid & gl.i_err.ready):
                    m.next = "BWD_DELTA"
            with m.State("BWD_DELTA"):
                with m.If(gl.o_delta.valid):
                    m.d.sync += [delta.eq(gl.o_delta.payload.delta), i.eq(0)]
                    m.next = "BWD_WGU"
            with m.State("BWD_WGU"):
                with m.If(wgu.i.ready):
                    m.d.sync += i.eq(i + 1)
                    with m.If(i == n_out - 1):
                        m.d.sync += [r.eq(0), k.eq(0), err_sent.eq(0)]
                        with m.If(propagate):
                            m.next = "BWD_TREQ"
                        with m.Else():
                            m.next = "BWD_TWAIT"
            with m.State("BWD_TREQ"):
                with m.If(self.o_req.ready):
                    m.d.sync += k.eq(Mux(k == K - 1, 0, k + 1))
                    with m.If(k == K - 1):
                        m.d.sync += r.eq(Mux(r == R - 1, 0, r + 1))
                        with m.If(r == R - 1):
                            m.next = "BWD_TWAIT"
            with m.State("BWD_TWAIT"):
                # Without propagate there is no o_err beat to wait for.
                with m.If(err_sent | ~propagate):
                    m.d.sync += t.eq(Mux(last_t, 0, t + 1))
                    with m.If(~last_t):
                        m.next = "BWD_ERR"
                    with m.Elif((b == batch - 1) | (batch == 0)):    # 0 counts as 1
                        m.next = "UPD_CMD"
                    with m.Else():
                        m.d.sync += [b.eq(b + 1), bwd_phase.eq(0)]
                        m.next = "FWD_LOAD"
            with m.State("UPD_CMD"):
                with m.If(wgu.i_cmd.ready):
                    m.next = "UPD_WRITE"
            with m.State("UPD_WRITE"):
                with m.If(wgu.o.valid & self.o_req.ready & wgu.o.payload.last):
                    m.next = "IDLE"
        for name in STATES:
            m.d.comb += st[name].eq(ctrl.ongoing(name))

        read, tread, write = st["FWD_REQ"], st["BWD_TREQ"], st["UPD_WRITE"]
        m.d.comb += [
            self.i_cmd.ready.eq(st["IDLE"]),
            wgu.i_cmd.valid.eq(st["CLEAR"] | st["UPD_CMD"]),
            wgu.i_cmd.payload.clear.eq(1),               # plain clear, or clear-on-read
            wgu.i_cmd.payload.read.eq(st["UPD_CMD"]),
            in_buf.o.ready.eq(st["FWD_LOAD"]),
            spk_wr.en.eq(st["FWD_LOAD"] & in_buf.o.valid),
            gl.i_err.valid.eq(st["BWD_ERR"] & self.i_err.valid),
            self.i_err.ready.eq(st["BWD_ERR"] & gl.i_err.ready),
            gl.o_delta.ready.eq(st["BWD_DELTA"]),
            wgu.i.valid.eq(st["BWD_WGU"]),
            wgu.o.ready.eq(write & self.o_req.ready),
            # Crossbar requests: the fields of other ops stay 0.
            self.o_req.valid.eq(read | tread | (write & wgu.o.valid)),
            req.op.eq(Mux(read, XBAR_READ, Mux(tread, XBAR_TREAD, XBAR_WRITE))),
            req.group.eq(Mux(read | tread, r, 0)),
            req.plane.eq(Mux(tread, k, 0)),
            req.drive.eq(Mux(read, group_drive, 0)),
            req.row.eq(Mux(write, wgu.o.payload.row, 0)),
            req.level.eq(Mux(write, wgu.o.payload.update.as_value(), 0)),
        ]
        for j in range(n_out):
            bit = (mag[j] >> k)[0] & tread
            m.d.comb += [
                req.drive_p[j].eq(bit & (delta[j] > 0)),
                req.drive_n[j].eq(bit & (delta[j] < 0)),
            ]

        with m.If(fwd_go):
            m.d.sync += fwd_done.eq(fwd_done + 1)
        m.d.comb += [
            gl.i_err.payload.err.eq(self.i_err.payload.err),
            gl.i_err.payload.step.eq(t),
            self.o_delta_valid.eq(gl.o_delta.valid & gl.o_delta.ready),
            self.o_delta.eq(gl.o_delta.payload),
            self.o_busy.eq(~st["IDLE"]),
            self.o_state.eq(_encode(st)),
        ]
        return m


def _encode(st: dict):
    """Index of the active state in :data:`STATES` (the flags are one-hot), as an OR of
    constants: a continuous assignment."""
    out = Const(0, range(len(STATES)))
    for index, name in enumerate(STATES):
        out = out | Mux(st[name], index, 0)
    return out
