# SPDX-License-Identifier: MIT
"""Energy of one epoch: the price of every event, and the event counts priced per component.

Each counter is priced by one component (docs/cost-model.md has the table): ``active_rows`` the
cell currents, ``rows_driven`` the spike decoder, ``adc_conversions`` the ADC and its mux,
``psum_adds`` the shift-adders / accumulators, buffer bytes the SRAM buffers (update-phase
bytes the WGU's SRAM) plus the local H-tree, ``tile_bytes`` the global H-tree, ``lif_ops`` and
``gradlif_ops`` the neuron unit, ``wgu_macs`` the WGU adders (and a multiplier for the
multi-bit first-layer input), ``write_pulses`` / ``verify_reads`` the RRAM programming.
DRAM (loading the training set) is a line of its own, as in the paper.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..chip import BITS_PER_KB, ChipConfig
from . import components
from .floorplan import Floorplan
from .mapping import Mapping
from .workload import Cells, Workload

__all__ = ["ENERGY_COMPONENTS", "UnitCosts", "unit_costs", "energy_model", "dram_energy",
           "matrix_placement", "safe_divide"]

ENERGY_COMPONENTS = ("crossbar", "decoder", "adc", "mux", "shift_add", "buffer", "htree",
                     "lif", "gradlif", "wgu", "rram_write")


@dataclass
class UnitCosts:
    """Per-event energies (pJ) and latencies (ns) of one chip and mapping.

    Members
    -------
    clock_ns : float
        One digital clock cycle.
    mean_conductance_us : float
        Mean conductance of a programmed device (read and verify energies).
    cell_read_pj : float
        One active line crossing one populated line for one read.
    decoder_pj, adc_pj, mux_pj, shift_add_pj : float
        One driven line, one conversion, one mux selection, one shift-add.
    buffer_read_pj_per_bit, buffer_write_pj_per_bit : float
        Tile buffer SRAM.
    wgu_read_pj_per_bit, wgu_write_pj_per_bit : list of float
        The WGU's SRAM, per layer (its capacity depends on the scheme).
    global_wire_pj_per_bit, local_wire_pj_per_bit : float
        Mean global (tile to tile) and local (inside a tile) H-tree path.
    lif_pj, gradlif_pj : float
        One LIF update, one GradLIF surrogate-gradient operation.
    wgu_add_pj, wgu_multiply_add_pj : float
        One WGU accumulation (spike input: an add; multi-bit input: a multiply-add).
    write_pulse_pj, verify_read_pj : float
        One programming pulse, one verify read.
    adc_ns, cell_read_ns, write_pulse_ns : float
        Latencies of one conversion, one array read, one programming pulse.
    """

    clock_ns: Any
    mean_conductance_us: Any
    cell_read_pj: Any
    decoder_pj: Any
    adc_pj: Any
    mux_pj: Any
    shift_add_pj: Any
    buffer_read_pj_per_bit: Any
    buffer_write_pj_per_bit: Any
    wgu_read_pj_per_bit: list
    wgu_write_pj_per_bit: list
    global_wire_pj_per_bit: Any
    local_wire_pj_per_bit: Any
    lif_pj: Any
    gradlif_pj: Any
    wgu_add_pj: Any
    wgu_multiply_add_pj: Any
    write_pulse_pj: Any
    verify_read_pj: Any
    adc_ns: Any
    cell_read_ns: Any
    write_pulse_ns: Any


def unit_costs(chip: ChipConfig, mapping: Mapping, plan: Floorplan) -> UnitCosts:
    """Per-event energies and latencies of ``chip`` with ``mapping`` laid out as ``plan``."""
    node = chip.tech.node_nm
    xbar, device = chip.crossbar, chip.device
    clock_ns = 1.0 / np.asarray(chip.tech.clock_ghz, float)
    conductance = components.mean_conductance_us(device.g_min_us, device.g_max_us,
                                                 device.differential)
    cell_read_ns = components.constant("read_cycles") * clock_ns
    bank_bits = np.asarray(chip.buffers.bank_kbit, float) * 1024.0
    tile_buffer_bits = np.asarray(chip.buffers.tile_kb, float) * BITS_PER_KB
    grad_bits = np.asarray(chip.datapath.grad_bits, float)
    # BP updates layer by layer through one WGU bank sized for the largest layer; DFA updates
    # all layers at once, one bank per layer.
    if mapping.scheme == "bp":
        wgu_capacity = [mapping.wgu_words * grad_bits for _ in mapping.shapes]
    else:
        wgu_capacity = [n_out * n_in * grad_bits for n_out, n_in in mapping.shapes]
    wire = components.constant("htree_energy")
    sram = components.sram_energy_per_bit_pj
    return UnitCosts(
        clock_ns=clock_ns, mean_conductance_us=conductance,
        cell_read_pj=components.cell_read_energy_pj(1.0, 1.0, conductance,
                                                    components.constant("read_voltage"),
                                                    cell_read_ns),
        decoder_pj=components.decoder_energy_pj(1.0, node),
        adc_pj=components.adc_energy_pj(xbar.adc_bits, node),
        mux_pj=components.mux_energy_pj(1.0, xbar.lines_per_adc, node),
        shift_add_pj=components.shift_add_energy_pj(1.0, node),
        buffer_read_pj_per_bit=sram(tile_buffer_bits, bank_bits, False, node),
        buffer_write_pj_per_bit=sram(tile_buffer_bits, bank_bits, True, node),
        wgu_read_pj_per_bit=[sram(c, bank_bits, False, node) for c in wgu_capacity],
        wgu_write_pj_per_bit=[sram(c, bank_bits, True, node) for c in wgu_capacity],
        global_wire_pj_per_bit=wire * plan.global_mm, local_wire_pj_per_bit=wire * plan.local_mm,
        lif_pj=components.lif_energy_pj(1.0, node),
        gradlif_pj=components.gradlif_op_energy_pj(1.0, node),
        wgu_add_pj=components.wgu_mac_energy_pj(1.0, False, node),
        wgu_multiply_add_pj=components.wgu_mac_energy_pj(1.0, True, node),
        write_pulse_pj=components.write_energy_pj(1.0),
        verify_read_pj=components.verify_read_energy_pj(1.0, conductance, xbar.adc_bits, node,
                                                         chip.tech.clock_ghz),
        adc_ns=components.adc_latency_ns(xbar.adc_bits, node), cell_read_ns=cell_read_ns,
        write_pulse_ns=components.constant("write_pulse_width"))


def matrix_placement(mapping: Mapping, name: str):
    """``(index, crossbars of one copy, copies)`` of matrix ``name`` (``L*`` or ``B*``)."""
    index = int(name[1:])
    if name[0] == "L":
        return index, mapping.crossbars[index], mapping.dup[index]
    return index, mapping.b_crossbars[index], mapping.b_dup


def safe_divide(numerator, denominator):
    """``numerator / denominator`` elementwise, 0 where the denominator is 0."""
    numerator = np.asarray(numerator, float)
    denominator = np.asarray(denominator, float)
    return np.where(denominator > 0,
                    numerator / np.where(denominator > 0, denominator, 1.0), 0.0)


def energy_model(cells: Cells, mapping: Mapping, prices: UnitCosts
                 ) -> dict[tuple[str, str, str], Any]:
    """Energy (pJ) per ``(matrix, phase, component)``."""
    out: dict[tuple[str, str, str], Any] = {}

    def put(name, phase, component, value):
        key = (name, phase, component)
        out[key] = out.get(key, 0.0) + value

    for (name, phase), counts in sorted(cells.items()):
        get = lambda counter: counts.get(counter, 0.0)  # noqa: E731
        index, _, copies = matrix_placement(mapping, name)
        reads, conversions = get("reads"), get("adc_conversions")
        if np.any(np.asarray(reads) > 0) or np.any(np.asarray(conversions) > 0):
            # Populated lines one active line crosses: the conversions of one read.
            lines_across = safe_divide(conversions, reads)
            put(name, phase, "crossbar", get("active_rows") * lines_across * prices.cell_read_pj)
            put(name, phase, "decoder", get("rows_driven") * prices.decoder_pj)
            put(name, phase, "adc", conversions * prices.adc_pj)
            put(name, phase, "mux", conversions * prices.mux_pj)
        put(name, phase, "shift_add", get("psum_adds") * prices.shift_add_pj)
        read_bits = get("buffer_read_bytes") * 8.0
        write_bits = get("buffer_write_bytes") * 8.0
        if phase == "update":
            put(name, phase, "wgu", read_bits * prices.wgu_read_pj_per_bit[index]
                + write_bits * prices.wgu_write_pj_per_bit[index])
        else:
            put(name, phase, "buffer", read_bits * prices.buffer_read_pj_per_bit
                + write_bits * prices.buffer_write_pj_per_bit)
            put(name, phase, "htree", (read_bits + write_bits) * prices.local_wire_pj_per_bit)
        put(name, phase, "htree", get("tile_bytes") * 8.0 * prices.global_wire_pj_per_bit)
        put(name, phase, "lif", get("lif_ops") * prices.lif_pj)
        put(name, phase, "gradlif", get("gradlif_ops") * prices.gradlif_pj)
        # The first layer's input is multi-bit (direct encoding), so its WGU multiplies.
        put(name, phase, "wgu", get("wgu_macs")
            * (prices.wgu_multiply_add_pj if name == "L0" else prices.wgu_add_pj))
        if name[0] == "L":   # every copy of a duplicated layer is programmed
            put(name, phase, "rram_write",
                (get("write_pulses") * prices.write_pulse_pj
                 + get("verify_reads") * prices.verify_read_pj) * copies)
    return out


def dram_energy(workload: Workload, chip: ChipConfig):
    """Loading the epoch's training set from DRAM once (the same for BP and DFA), pJ."""
    dram = chip.dram
    per_sample = workload.layers[0] * (workload.timesteps if workload.sequence else 1) \
        * np.asarray(dram.bits_per_value, float) + np.asarray(dram.label_bits, float)
    return components.dram_energy_pj(workload.samples * per_sample, dram.pj_per_bit)
