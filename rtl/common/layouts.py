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
           "WGUCommandLayout", "WGUReadoutLayout", "PingPongWordLayout", "XBAR_READ",
           "XBAR_TREAD", "XBAR_WRITE", "XbarRequestLayout", "XbarResponseLayout",
           "TileCommandLayout", "TileErrLayout"]


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


# -- training tile (rtl/tile) ---------------------------------------------------------------------

#: ``op`` codes of :func:`XbarRequestLayout`: a forward read of one row group, a transposed
#: read of one error bit plane, and a write of one output row's level changes.
XBAR_READ, XBAR_TREAD, XBAR_WRITE = 0, 1, 2


def XbarRequestLayout(*, n_in: int, n_out: int, rows: int, groups: int, planes: int,
                      level_width: int) -> data.StructLayout:
    """Request beat of the tile's crossbar port (:class:`~rtl.tile.Tile` ``o_req``).

    ``op`` (2 bits: :data:`XBAR_READ`, :data:`XBAR_TREAD` or :data:`XBAR_WRITE`) selects which
    other fields mean something; the rest are 0.

    * Read: ``group`` (row group ``r``, ``step_width(groups)`` bits) and ``drive`` (``rows`` x
      1 bit: the spikes of inputs ``r * rows + k``, row ``k`` in the low bits). The crossbar
      answers with one :func:`XbarResponseLayout` beat: the ADC code pair of each output.
    * Transposed read: ``group``, ``plane`` (the magnitude bit ``k`` of the errors,
      ``step_width(planes)`` bits), ``drive_p`` and ``drive_n`` (``n_out`` x 1 bit: column
      drives of phase P, bit ``k`` of the positive errors, and of phase N, of the negative
      ones). The answer holds per row of the group the code of phase P (``pos``) and N
      (``neg``).
    * Write: ``row`` (output ``i``, ``step_width(n_out)`` bits) and ``level`` (``n_in`` x
      ``signed(level_width)``: the level change of each weight ``W[i, j]``). No answer.
    """
    n_in, n_out = _positive(n_in, "n_in"), _positive(n_out, "n_out")
    return data.StructLayout({
        "op":      unsigned(2),
        "group":   unsigned(step_width(groups)),
        "plane":   unsigned(step_width(planes)),
        "drive":   data.ArrayLayout(unsigned(1), _positive(rows, "rows")),
        "drive_p": data.ArrayLayout(unsigned(1), n_out),
        "drive_n": data.ArrayLayout(unsigned(1), n_out),
        "row":     unsigned(step_width(n_out)),
        "level":   data.ArrayLayout(signed(_positive(level_width, "level_width")), n_in),
    })


def XbarResponseLayout(lanes: int, adc_bits: int) -> data.StructLayout:
    """Response beat of the tile's crossbar port (:class:`~rtl.tile.Tile` ``i_resp``).

    ``pos`` and ``neg`` (``lanes`` x ``unsigned(adc_bits)``): for a read, the codes of the
    positive and negative column of each output (lane ``i``); for a transposed read, the codes
    of phase P and N of each row of the group (lane ``k``). Unused lanes are 0.
    """
    lane_l = data.ArrayLayout(unsigned(_positive(adc_bits, "adc_bits")),
                              _positive(lanes, "lanes"))
    return data.StructLayout({"pos": lane_l, "neg": lane_l})


def TileCommandLayout(max_batch: int) -> data.StructLayout:
    """Command beat of :class:`~rtl.tile.Tile` (``i_cmd``): start one training step.

    ``batch`` (samples in the step, ``1 .. max_batch``; ``(max_batch).bit_length()`` bits) and
    ``propagate`` (1 bit: BP, send each timestep's error ``W^T delta`` out on ``o_err``, read
    with transposed requests on the crossbar port).
    """
    return data.StructLayout({
        "batch":     unsigned(_positive(max_batch, "max_batch").bit_length()),
        "propagate": unsigned(1),
    })


def TileErrLayout(lanes: int, err_width: int) -> data.StructLayout:
    """Error beat of :class:`~rtl.tile.Tile` (``i_err`` and ``o_err``): one timestep.

    ``err`` (``lanes`` x ``signed(err_width)``): the error of each neuron at that timestep.
    """
    return data.StructLayout({
        "err": data.ArrayLayout(signed(_positive(err_width, "err_width")),
                                _positive(lanes, "lanes")),
    })
