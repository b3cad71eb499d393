# SPDX-License-Identifier: MIT
"""GradLIF unit: integer LIF forward step with a membrane store and surrogate-gradient backward."""
from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ...golden.params import RESETS, GradLIFParams, check_depth, check_lanes
from ..common.component import param_properties
from ..common.fixed import saturate
from ..common.layouts import (GradLIFDeltaLayout, GradLIFErrLayout, GradLIFInputLayout,
                              GradLIFOutputLayout, step_width)
from ..common.stages import register_stage

__all__ = ["GradLIF", "RESETS"]


@param_properties("mem_width", "frac_bits", "leak_shift", "threshold", "reset",
                  "current_width", "sg_width", "grad_shift", "err_width", "delta_width",
                  "h_width")
class GradLIF(wiring.Component):
    """Leaky integrate-and-fire unit for ``lanes`` neurons with a surrogate-gradient backward.

    The arithmetic is that of :mod:`golden.grad_lif` bit for bit: the parameters are those of
    :class:`golden.params.GradLIFParams` (the same class validates them, with the same
    defaults) plus ``lanes`` and ``max_timesteps``.

    *Forward* (stream ``i`` -> stream ``o``, one beat = one timestep of all lanes): per lane,
    ``v`` is taken as 0 when ``i.payload.first`` is set, then ``u = sat(v - (v >> leak_shift) +
    current)``, ``spike = u > threshold`` and ``v`` becomes 0, ``u - threshold`` or ``u``
    (``reset`` hard/soft/none) after a spike, else ``u``. The beat is registered into ``o``
    (one cycle of latency) together with ``step``, the timestep index inside the sample
    (0 on a ``first`` beat, then counting up and wrapping to 0 after ``max_timesteps - 1``).
    ``u`` is also written to a :class:`~amaranth.lib.memory.Memory` of ``max_timesteps``
    words (one word holds every lane) at address ``step``: the membrane store.

    *Backward* (stream ``i_err`` -> stream ``o_delta``): a beat names a stored ``step`` and
    carries ``err`` per lane; the unit reads ``u`` of that step from the store and returns
    ``delta = sat((h(u) * err) >> grad_shift)`` with the triangle surrogate
    ``h = max(0, sg_width - |u - threshold|)``. The store's read port is synchronous, so its
    output register is the pipeline register (one cycle of latency); a read in the same cycle
    as a forward write to the same step sees the new ``u`` (transparent port). Backward beats
    may arrive in any order and interleave with forward beats; a step holds the ``u`` of the
    latest forward beat written to it.

    All four streams use valid/ready back-pressure and accept one beat per cycle. ``rst``
    clears the membranes, the step counter and both pipelines, not the store.

    Parameters
    ----------
    lanes : int
        Number of neurons processed in parallel, ``1 .. 4096``.
    max_timesteps : int
        Depth of the membrane store (timesteps per sample kept for the backward),
        ``1 .. 2**20``. Default 16.
    mem_width, frac_bits, leak_shift, threshold, reset, current_width, sg_width, grad_shift, \
err_width, delta_width
        As in ``golden.params.GradLIFParams`` (``None`` picks the same defaults).

    Raises
    ------
    TypeError
        A parameter is not an integer (``reset``: not a string).
    ValueError
        A parameter is out of range, e.g. no lanes, more than 4096 lanes or a threshold that
        ``mem_width`` bits cannot hold.

    Members
    -------
    i : In(stream.Signature(GradLIFInputLayout(lanes, current_width)))
        Forward input: ``current`` per lane and ``first``.
    o : Out(stream.Signature(GradLIFOutputLayout(lanes, mem_width, max_timesteps)))
        Forward output: ``spike`` and ``u`` per lane and ``step``.
    i_err : In(stream.Signature(GradLIFErrLayout(lanes, err_width, max_timesteps)))
        Backward input: ``err`` per lane and the ``step`` it belongs to.
    o_delta : Out(stream.Signature(GradLIFDeltaLayout(lanes, delta_width)))
        Backward output: ``delta`` per lane, in the order of the ``i_err`` beats.
    """

    def __init__(self, *, lanes: int, max_timesteps: int = 16, mem_width: int = 16,
                 frac_bits: int = 8, leak_shift: int = 2, threshold: int | None = None,
                 reset: str = "hard", current_width: int | None = None,
                 sg_width: int | None = None, grad_shift: int | None = None,
                 err_width: int = 8, delta_width: int = 8):
        self._lanes = check_lanes(lanes)
        self._max_timesteps = check_depth(max_timesteps, name="max_timesteps")
        self._params = p = GradLIFParams(
            mem_width=mem_width, frac_bits=frac_bits, leak_shift=leak_shift,
            threshold=threshold, reset=reset, current_width=current_width, sg_width=sg_width,
            grad_shift=grad_shift, err_width=err_width, delta_width=delta_width)
        n, steps = self._lanes, self._max_timesteps
        super().__init__({
            "i":       In(stream.Signature(GradLIFInputLayout(n, p.current_width))),
            "o":       Out(stream.Signature(GradLIFOutputLayout(n, p.mem_width, steps))),
            "i_err":   In(stream.Signature(GradLIFErrLayout(n, p.err_width, steps))),
            "o_delta": Out(stream.Signature(GradLIFDeltaLayout(n, p.delta_width))),
        })

    lanes = property(lambda self: self._lanes, doc="Number of lanes (neurons).")
    max_timesteps = property(lambda self: self._max_timesteps,
                             doc="Depth of the membrane store in timesteps.")
    @property
    def step_width(self) -> int:
        """Width of the timestep index ``step``."""
        return step_width(self._max_timesteps)

    def elaborate(self, platform):
        m = Module()
        p = self._params
        n, mem_w, theta = self._lanes, p.mem_width, p.threshold

        m.submodules.store = store = Memory(shape=data.ArrayLayout(signed(mem_w), n),
                                            depth=self._max_timesteps, init=[])
        wr = store.write_port()
        rd = store.read_port(transparent_for=(wr,))

        # Forward: one register stage; the input may advance whenever the output is free.
        fwd_go = register_stage(m, self.i, self.o, name="fwd_go")

        step_next = Signal(self.step_width)
        step = Signal(self.step_width)
        m.d.comb += step.eq(Mux(self.i.payload.first, 0, step_next))
        with m.If(fwd_go):
            last = step == self._max_timesteps - 1
            m.d.sync += [
                step_next.eq(Mux(last, 0, step + 1)),
                self.o.payload.step.eq(step),
            ]
        m.d.comb += [
            wr.addr.eq(step),
            wr.en.eq(fwd_go),
        ]

        for lane in range(n):
            v = Signal(signed(mem_w), name=f"v{lane}")
            v_in = Mux(self.i.payload.first, 0, v)
            leaked = v_in - (v_in >> p.leak_shift) if p.leak_shift else v_in
            u = Signal(signed(mem_w), name=f"u{lane}")
            fire = Signal(name=f"fire{lane}")
            m.d.comb += [
                u.eq(saturate(leaked + self.i.payload.current[lane], mem_w)[0]),
                fire.eq(u > theta),
                wr.data[lane].eq(u),
            ]
            if p.reset == "hard":
                v_next = Mux(fire, 0, u)
            elif p.reset == "soft":
                v_next = Mux(fire, u - theta, u)  # 0 < u - theta < 2**(mem_w - 1): no wrap
            else:
                v_next = u
            with m.If(fwd_go):
                m.d.sync += [
                    v.eq(v_next),
                    self.o.payload.u[lane].eq(u),
                    self.o.payload.spike[lane].eq(fire),
                ]

        # Backward: the read port's data register is the pipeline stage. Reading only on an
        # accepted beat keeps rd.data (and so the delta payload) stable while o_delta stalls.
        bwd_go = register_stage(m, self.i_err, self.o_delta, name="bwd_go")
        err = Signal.like(self.i_err.payload.err)
        m.d.comb += [
            rd.addr.eq(self.i_err.payload.step),
            rd.en.eq(bwd_go),
        ]
        with m.If(bwd_go):
            m.d.sync += err.eq(self.i_err.payload.err)

        g = Const(p.sg_width, unsigned(self.h_width))
        for lane in range(n):
            dist = Signal(unsigned(mem_w), name=f"dist{lane}")  # |u - theta| < 2**mem_w
            h = Signal(unsigned(self.h_width), name=f"h{lane}")
            m.d.comb += [
                dist.eq(abs(rd.data[lane] - theta)),
                h.eq(Mux(dist >= g, 0, g - dist)),
                self.o_delta.payload.delta[lane].eq(
                    saturate((h * err[lane]) >> p.grad_shift, p.delta_width)[0]),
            ]
        return m
