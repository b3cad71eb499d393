# SPDX-License-Identifier: MIT
"""Pipeline stages shared by the digital blocks: the valid/ready output register stage."""
from __future__ import annotations

from amaranth.hdl import Module, Signal

__all__ = ["register_stage"]


def register_stage(m: Module, i, o, *, emit=None, name: str = "go") -> Signal:
    """Make ``o`` a one-beat output register fed by ``i``; return the input handshake signal.

    ``i`` is the block's input stream interface and ``o`` its output stream interface (the
    ``In``/``Out`` members of a component). The stage accepts a beat whenever its register is
    empty or being read in the same cycle, ``i.ready = ~o.valid | o.ready``, so it moves one
    beat per cycle and ``i.ready`` depends on neither ``i.valid`` nor the payload. The caller
    registers the output payload on the returned ``go`` (``i.valid & i.ready``); ``o.valid``
    rises in the cycle after an accepted beat for which ``emit`` is true (every beat when
    ``emit`` is ``None``) and falls once ``o`` has taken the beat. ``rst`` empties the register.

    Parameters
    ----------
    m : Module
        The module being elaborated.
    i, o : stream.Interface
        Input and output streams of the stage.
    emit : Value, optional
        Which accepted beats produce an output beat (e.g. the ``last`` flag of an accumulator).
    name : str
        Name of the returned handshake signal in simulations and the Verilog.
    """
    go = Signal(name=name)
    m.d.comb += [
        i.ready.eq(~o.valid | o.ready),
        go.eq(i.valid & i.ready),
    ]
    with m.If(o.ready):
        m.d.sync += o.valid.eq(0)
    with m.If(go if emit is None else go & emit):
        m.d.sync += o.valid.eq(1)
    return go
