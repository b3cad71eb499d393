# SPDX-License-Identifier: MIT
"""How long each operation of training takes on one chip: the table of ``docs/simulator.md``.

Durations come from the same mapping (``models/cost/mapping.py``) and the same per-event
prices (``models/cost/energy.unit_costs``) as the analytical roll-up, so the two models differ
only in how they put the operations together in time. :class:`OpTimes` is plain data: the
tests give the dataflows hand-chosen durations through it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..chip import ChipConfig
from ..cost.energy import UnitCosts
from ..cost.mapping import Mapping, MatrixUse

__all__ = ["LayerTimes", "OpTimes", "op_times", "scalar"]


def scalar(value) -> float:
    """A chip or mapping field as one float (the simulator runs one configuration)."""
    array = np.asarray(value, float)
    if array.size != 1:
        raise ValueError(f"the architecture simulator takes one chip configuration, not "
                         f"{array.size} (a sweep belongs to the analytical mode)")
    return float(array.reshape(-1)[0])


@dataclass(frozen=True)
class LayerTimes:
    """Durations (ns) of the operations of one weight matrix ``W_l``.

    Members
    -------
    send_ns : float
        The layer's input of one timestep over its H-tree link.
    fwd_ns : float
        Forward read of one timestep's input vector(s) on one copy of the weights.
    lif_ns, glif_ns : float
        One timestep of the layer's LIF update, of its GradLIF.
    tmvm_ns, bsend_ns : float
        BP: transposed read of one timestep's deltas, and the resulting errors sent back.
    esend_ns : float
        DFA: the projected error from the B tile to the layer (once per sample).
    wgu_ns : float
        One timestep of gradient accumulation in the WGU.
    write_ns : float
        Programming the batch's changed devices and their write-verify reads (all crossbars in
        parallel, one pulse or verify read at a time per crossbar).
    """

    send_ns: float
    fwd_ns: float
    lif_ns: float
    glif_ns: float
    tmvm_ns: float
    bsend_ns: float
    esend_ns: float
    wgu_ns: float
    write_ns: float


@dataclass(frozen=True)
class OpTimes:
    """Durations (ns) of every operation of one network on one chip.

    Members
    -------
    layers : tuple of LayerTimes
        One per weight matrix.
    load_ns : float
        One sample's inputs and label from DRAM.
    loss_ns : float
        The output error of one sample.
    proj_ns : float
        DFA: every ``B_l e`` of one sample on one copy of the B matrices.
    """

    layers: tuple[LayerTimes, ...]
    load_ns: float
    loss_ns: float
    proj_ns: float


def _cycles(n, width) -> float:
    """Cycles to pass ``n`` items through ``width`` lanes (at least one cycle for any work)."""
    return float(math.ceil(n / width)) if n > 0 else 0.0


def _read_ns(prices: UnitCosts, lines: float, lines_used: float, lines_per_adc: float) -> float:
    """One crossbar read: the cells conduct, then ``ceil(lines / lines_per_adc)`` ADCs convert
    the ``lines_used`` lines of the fullest crossbar, one conversion each at a time."""
    adcs = math.ceil(lines / lines_per_adc)
    return scalar(prices.cell_read_ns) + math.ceil(lines_used / adcs) * scalar(prices.adc_ns)


def op_times(chip: ChipConfig, mapping: Mapping, prices: UnitCosts, uses: list[MatrixUse], *,
             sample_bytes: float, classes: int, write_pulses: list[float],
             verify_reads: list[float] | None = None, b_fold: int = 1) -> OpTimes:
    """Durations of every operation (``docs/simulator.md``, "Operations and their durations").

    ``sample_bytes`` is one sample's inputs and label as loaded from DRAM; ``write_pulses`` and
    ``verify_reads`` hold the programming pulses and write-verify reads of one batch per layer
    (from the workload's counts; a verify read is one cell read and one conversion);
    ``classes`` is the width of the output error (a vote read-out has more output neurons than
    classes); ``b_fold`` column blocks of the feedback matrix share a crossbar on disjoint row
    groups and are read one after the other.
    """
    clock_ns = 1.0 / scalar(chip.tech.clock_ghz)
    rows, cols = scalar(chip.crossbar.rows), scalar(chip.crossbar.cols)
    lines_per_adc = scalar(chip.crossbar.lines_per_adc)
    differential = chip.device.differential
    outputs = cols // 2 if differential else cols - 1
    lanes, wgu_lanes = scalar(chip.hierarchy.neuron_lanes), scalar(chip.hierarchy.wgu_lanes)
    htree_bits = scalar(chip.hierarchy.htree_bits)
    width = chip.datapath
    input_bits, error_bits = int(scalar(width.input_bits)), int(scalar(width.error_bits))
    # Sign-magnitude words are applied one magnitude bit plane per read and one sign per pass:
    # 2 (bits - 1) reads (1 read for an ideal driver, bits = 0), as models/crossbar/encoding.
    input_planes = 2 * (input_bits - 1) if input_bits else 1
    error_planes = 2 * (error_bits - 1) if error_bits else 1
    bus = lambda bits: _cycles(bits, htree_bits) * clock_ns  # noqa: E731
    layers = []
    for index, use in enumerate(uses):
        # Physical columns in use on the fullest crossbar of a forward read (a differential
        # pair is two columns; the offset mapping adds its reference column), and rows on the
        # fullest crossbar of a transposed read.
        columns_used = min(cols, (2 * min(use.cols, outputs)) if differential
                           else min(use.cols, outputs) + 1)
        rows_used = min(rows, use.rows)
        forward_read = _read_ns(prices, cols, columns_used, lines_per_adc)
        transposed_read = _read_ns(prices, rows, rows_used, lines_per_adc)
        planes = input_planes if index == 0 else 1
        in_bits = (input_bits or 1) if index == 0 else 1
        crossbars = scalar(mapping.crossbars[index])
        pulses_per_crossbar = math.ceil(write_pulses[index] / crossbars) if crossbars else 0
        verifies = (verify_reads or [0.0] * len(uses))[index]
        verifies_per_crossbar = math.ceil(verifies / crossbars) if crossbars else 0
        layers.append(LayerTimes(
            send_ns=bus(use.in_size * in_bits),
            fwd_ns=planes * use.positions * forward_read,
            lif_ns=_cycles(use.neurons, lanes) * clock_ns,
            glif_ns=_cycles(use.neurons, lanes) * clock_ns,
            tmvm_ns=error_planes * use.positions * transposed_read if index > 0 else 0.0,
            bsend_ns=bus(use.in_size * (error_bits or 8)) if index > 0 else 0.0,
            esend_ns=bus(use.neurons * (error_bits or 8)),
            wgu_ns=use.positions * use.cols * _cycles(use.rows, wgu_lanes) * clock_ns,
            write_ns=pulses_per_crossbar * scalar(prices.write_pulse_ns)
            + verifies_per_crossbar * (scalar(prices.cell_read_ns) + scalar(prices.adc_ns))))
    dram = chip.dram
    # DRAM: GB/s = bytes per ns.
    load_ns = scalar(dram.latency_ns) + sample_bytes / scalar(dram.bandwidth_gbs)
    proj_ns = 0.0
    if mapping.b_shapes:
        # B_l is read forward (the class error drives its rows); its columns are converted.
        b_columns_used = min(cols, 2 * max(n for n, _ in mapping.b_shapes)
                             if differential else max(n for n, _ in mapping.b_shapes) + 1)
        proj_ns = b_fold * error_planes * _read_ns(prices, cols, b_columns_used,
                                                   lines_per_adc)
    return OpTimes(layers=tuple(layers), load_ns=load_ns,
                   loss_ns=_cycles(classes, lanes) * clock_ns, proj_ns=proj_ns)
