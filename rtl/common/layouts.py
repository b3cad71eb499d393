# SPDX-License-Identifier: MIT
"""Stream payload layouts of the digital blocks, defined once for RTL, amaranth.sim and cocotb.

Every layout is a :class:`amaranth.lib.data.StructLayout` whose fields pack LSB-first, so a test
bench builds a payload word with ``Layout.const({...}).as_bits()`` and decodes one with
``Layout.from_bits(word)``. Per-lane vectors are :class:`~amaranth.lib.data.ArrayLayout` fields
with lane 0 in the least significant bits.
"""
from __future__ import annotations

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from ...golden.params import check_int

__all__ = ["step_width", "GradLIFInputLayout", "GradLIFOutputLayout", "GradLIFErrLayout",
           "GradLIFDeltaLayout", "PsumInputLayout", "PsumOutputLayout", "ShiftAddInputLayout",
           "ShiftAddDiffInputLayout", "ShiftAddOutputLayout", "WGUUpdateLayout",
           "WGUCommandLayout", "WGUReadoutLayout", "PingPongWordLayout"]


def _positive(value, name: str) -> int:
    return check_int(value, name=name, minimum=1)


def step_width(max_timesteps: int) -> int:
    """Return the width of a timestep index ``0 .. max_timesteps - 1`` (at least 1 bit)."""
    return max(1, (_positive(max_timesteps, "max_timesteps") - 1).bit_length())


def GradLIFInputLayout(lanes: int, current_width: int) -> data.StructLayout:
    """Forward input beat of :class:`~rtl.neuron.GradLIF`: one timestep for every lane.

    ``current`` (``lanes`` x ``signed(current_width)``, the input current per lane) and
    ``first`` (1 bit: this beat is the first timestep of a sample, so the membranes restart
    from 0 and the timestep index restarts from 0).
    """
    lanes = _positive(lanes, "lanes")
    return data.StructLayout({
        "current": data.ArrayLayout(signed(_positive(current_width, "current_width")), lanes),
        "first":   unsigned(1),
    })


def GradLIFOutputLayout(lanes: int, mem_width: int, max_timesteps: int) -> data.StructLayout:
    """Forward output beat of :class:`~rtl.neuron.GradLIF`.

    ``spike`` (``lanes`` x 1 bit), ``u`` (``lanes`` x ``signed(mem_width)``, the pre-reset
    membrane, also written to the membrane store) and ``step`` (the store address that ``u``
    was written to, ``step_width(max_timesteps)`` bits).
    """
    lanes = _positive(lanes, "lanes")
    return data.StructLayout({
        "spike": data.ArrayLayout(unsigned(1), lanes),
        "u":     data.ArrayLayout(signed(_positive(mem_width, "mem_width")), lanes),
        "step":  unsigned(step_width(max_timesteps)),
    })


def GradLIFErrLayout(lanes: int, err_width: int, max_timesteps: int) -> data.StructLayout:
    """Backward input beat of :class:`~rtl.neuron.GradLIF`.

    ``err`` (``lanes`` x ``signed(err_width)``, the projected error) and ``step`` (which
    stored timestep's membranes the error belongs to).
    """
    lanes = _positive(lanes, "lanes")
    return data.StructLayout({
        "err":  data.ArrayLayout(signed(_positive(err_width, "err_width")), lanes),
        "step": unsigned(step_width(max_timesteps)),
    })


def GradLIFDeltaLayout(lanes: int, delta_width: int) -> data.StructLayout:
    """Backward output beat of :class:`~rtl.neuron.GradLIF`: ``delta`` per lane, signed."""
    lanes = _positive(lanes, "lanes")
    return data.StructLayout({
        "delta": data.ArrayLayout(signed(_positive(delta_width, "delta_width")), lanes),
    })


def PsumInputLayout(lanes: int, in_width: int) -> data.StructLayout:
    """Input beat of :class:`~rtl.accum.PsumAccumulator`: one row-tile partial sum per lane.

    ``code`` (``lanes`` x ``signed(in_width)``, added to each lane's accumulator) and ``last``
    (1 bit: this beat closes the group, so its sum is emitted and the accumulators clear).
    """
    lanes = _positive(lanes, "lanes")
    return data.StructLayout({
        "code": data.ArrayLayout(signed(_positive(in_width, "in_width")), lanes),
        "last": unsigned(1),
    })


def PsumOutputLayout(lanes: int, acc_width: int) -> data.StructLayout:
    """Output beat of :class:`~rtl.accum.PsumAccumulator`: one group's result per lane.

    ``sum`` (``lanes`` x ``signed(acc_width)``, the saturated group sum) and ``overflow``
    (``lanes`` x 1 bit, sticky: some addition of the group clamped).
    """
    lanes = _positive(lanes, "lanes")
    return data.StructLayout({
        "sum":      data.ArrayLayout(signed(_positive(acc_width, "acc_width")), lanes),
        "overflow": data.ArrayLayout(unsigned(1), lanes),
    })


def ShiftAddInputLayout(lanes: int, slices: int, code_width: int) -> data.StructLayout:
    """Input beat of :class:`~rtl.accum.ShiftAdder` in code mode: every slice of every lane.

    ``code`` (``slices`` x ``lanes`` x ``signed(code_width)``): ``code[k][lane]`` is the signed
    code of slice ``k`` (slice 0 least significant, in the low bits).
    """
    lanes, slices = _positive(lanes, "lanes"), _positive(slices, "slices")
    lane_l = data.ArrayLayout(signed(_positive(code_width, "code_width")), lanes)
    return data.StructLayout({"code": data.ArrayLayout(lane_l, slices)})


def ShiftAddDiffInputLayout(lanes: int, slices: int, adc_bits: int) -> data.StructLayout:
    """Input beat of :class:`~rtl.accum.ShiftAdder` in differential mode: ADC code pairs.

    ``pos`` and ``neg`` (each ``slices`` x ``lanes`` x ``unsigned(adc_bits)``): the unsigned
    ADC codes of the positive and negative column of slice ``k`` (``[k][lane]``, slice 0 in the
    low bits); the block forms the signed slice code ``pos - neg``.
    """
    lanes, slices = _positive(lanes, "lanes"), _positive(slices, "slices")
    lane_l = data.ArrayLayout(unsigned(_positive(adc_bits, "adc_bits")), lanes)
    return data.StructLayout({
        "pos": data.ArrayLayout(lane_l, slices),
        "neg": data.ArrayLayout(lane_l, slices),
    })


def ShiftAddOutputLayout(lanes: int, acc_width: int) -> data.StructLayout:
    """Output beat of :class:`~rtl.accum.ShiftAdder`: the combined partial sum per lane.

    ``psum`` (``lanes`` x ``signed(acc_width)``, saturated once) and ``overflow``
    (``lanes`` x 1 bit: the exact sum did not fit ``acc_width`` bits).
    """
    lanes = _positive(lanes, "lanes")
    return data.StructLayout({
        "psum":     data.ArrayLayout(signed(_positive(acc_width, "acc_width")), lanes),
        "overflow": data.ArrayLayout(unsigned(1), lanes),
    })


def WGUUpdateLayout(rows: int, cols: int, delta_width: int) -> data.StructLayout:
    """Update beat of :class:`~rtl.wgu.WGU`: one gradient row of one ``(t, b)`` outer product.

    ``row`` (the row index ``i``, ``step_width(rows)`` bits), ``delta`` (``signed(delta_width)``,
    ``delta[t, b, i]``) and ``spikes`` (``cols`` x 1 bit, ``spikes[t, b, :]``, column 0 in the
    low bits): the unit adds ``delta`` to every word ``G[i, j]`` whose spike ``j`` is set.
    """
    cols = _positive(cols, "cols")
    return data.StructLayout({
        "row":    unsigned(step_width(rows)),
        "delta":  signed(_positive(delta_width, "delta_width")),
        "spikes": data.ArrayLayout(unsigned(1), cols),
    })


def WGUCommandLayout() -> data.StructLayout:
    """Command beat of :class:`~rtl.wgu.WGU`.

    ``read`` (1 bit: stream every row out on the readout port) and ``clear`` (1 bit: zero every
    row and its overflow flags; with ``read`` this is clear-on-read). Both 0 is a no-op.
    """
    return data.StructLayout({
        "read":  unsigned(1),
        "clear": unsigned(1),
    })


def WGUReadoutLayout(rows: int, cols: int, out_width: int) -> data.StructLayout:
    """Readout beat of :class:`~rtl.wgu.WGU`: one row of weight-update words.

    ``row`` (row index, ``step_width(rows)`` bits), ``update`` (``cols`` x
    ``signed(out_width)``, the shifted, rounded and saturated words), ``overflow`` (``cols`` x
    1 bit, sticky since the last clear: an accumulation into the word clamped) and ``last``
    (1 bit: the final row of this readout).
    """
    cols = _positive(cols, "cols")
    return data.StructLayout({
        "row":      unsigned(step_width(rows)),
        "update":   data.ArrayLayout(signed(_positive(out_width, "out_width")), cols),
        "overflow": data.ArrayLayout(unsigned(1), cols),
        "last":     unsigned(1),
    })


def PingPongWordLayout(width: int, signed_data: bool = False) -> data.StructLayout:
    """Write and read beat of :class:`~rtl.buffer.PingPongBuffer`: one buffer word.

    ``data`` (``unsigned(width)``, or ``signed(width)`` with ``signed_data``, the word stored
    in the SRAM) and ``last`` (1 bit: this word ends its frame).
    """
    width = _positive(width, "width")
    return data.StructLayout({
        "data": signed(width) if signed_data else unsigned(width),
        "last": unsigned(1),
    })
