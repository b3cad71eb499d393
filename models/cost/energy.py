# SPDX-License-Identifier: MIT
"""Energy of one epoch: the price of every event, and the event counts priced per component.

Each counter is priced by one component (docs/cost-model.md has the table): ``active_rows`` the
cell currents, ``rows_driven`` the spike decoder, ``adc_conversions`` the ADC and its mux,
``psum_adds`` the shift-adders / accumulators, buffer bytes the SRAM buffers (update-phase
bytes the WGU's SRAM) plus the local H-tree, ``tile_bytes`` the global H-tree,
``unit_traffic_bits`` the global H-tree to and from the global LIF/GradLIF units and WGUs
(component ``htree_units``), ``lif_ops`` and ``gradlif_ops`` the neuron unit, ``wgu_macs`` the
WGU adders (and a multiplier for the multi-bit first-layer input) under the chip's
``hierarchy.wgu_design``, ``write_pulses`` / ``verify_reads`` the RRAM programming.
DRAM (loading the training set) is a line of its own, as in the paper; leakage too
(``leakage.py``).
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
                     "htree_units", "lif", "gradlif", "wgu", "rram_write")

#: NeuroSim V2.1's weight-gradient array (``Training_pytorch/NeuroSIM/Param.cpp``): SRAM
#: sub-arrays of ``numRowSubArrayWG = 128`` rows read through ADCs of ``levelOutputWG = 16``
#: levels (4 bits) behind ``numRowMuxedWG = 8`` column muxes.
WG_ARRAY_ROWS, WG_ARRAY_ADC_BITS, WG_ARRAY_MUX = 128, 4, 8


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
    wgu_design : str
        ``hierarchy.wgu_design``: how the update phase's WGU work is priced.
    wgu_register_pj : float
        ``register`` design: one register update of a gradient word (``grad_bits`` DFFs).
    wg_array_conversion_pj : float
        ``neurosim_array`` design: one column read of the weight-gradient SRAM array (bit
        line, 4-bit conversion, 8:1 mux, shift-add).
    wg_array_write_pj_per_bit : float
        ``neurosim_array`` design: writing the layer input into the array.
    wg_array_planes : float
        ``neurosim_array`` design: bit planes of a delta applied to the array's rows.
    grad_bits, input_bits : float
        Bits of a gradient word and of a first-layer input word.
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
    wgu_design: str = "sram_rmw"
    wgu_register_pj: Any = 0.0
    wg_array_conversion_pj: Any = 0.0
    wg_array_write_pj_per_bit: Any = 0.0
    wg_array_planes: Any = 8.0
    grad_bits: Any = 16.0
    input_bits: Any = 8.0


def unit_costs(chip: ChipConfig, mapping: Mapping, plan: Floorplan) -> UnitCosts:
    """Per-event energies and latencies of ``chip`` with ``mapping`` laid out as ``plan``."""
    node = chip.tech.node_nm
    xbar, device, width = chip.crossbar, chip.device, chip.datapath
    clock_ns = 1.0 / np.asarray(chip.tech.clock_ghz, float)
    conductance = components.mean_conductance_us(device.g_min_us, device.g_max_us,
                                                 device.differential)
    # A driven line conducts for the read pulse (NeuroSim's 10 ns by default).
    cell_read_ns = np.asarray(xbar.read_pulse_ns, float)
    read_voltage = np.asarray(xbar.read_voltage_v, float)
    bank_bits = np.asarray(chip.buffers.bank_kbit, float) * 1024.0
    tile_buffer_bits = np.asarray(chip.buffers.tile_kb, float) * BITS_PER_KB
    grad_bits = np.asarray(width.grad_bits, float)
    # BP updates layer by layer through one WGU bank sized for the largest layer; DFA updates
    # all layers at once, one bank per layer.
    if mapping.scheme == "bp":
        wgu_capacity = [mapping.wgu_words * grad_bits for _ in mapping.shapes]
    else:
        wgu_capacity = [n_out * n_in * grad_bits for n_out, n_in in mapping.shapes]
    wire = components.constant("htree_energy")
    sram = components.sram_energy_per_bit_pj
    programming = chip.programming
    # The weight-gradient array: one 16 kbit sub-array (128 x 128) per read.
    wg_array_bits = float(WG_ARRAY_ROWS * WG_ARRAY_ROWS)
    wg_conversion = (sram(wg_array_bits, bank_bits, False, node)
                     + components.adc_energy_pj(WG_ARRAY_ADC_BITS, node)
                     + components.mux_energy_pj(1.0, WG_ARRAY_MUX, node)
                     + components.shift_add_energy_pj(1.0, grad_bits, width.delta_bits, node))
    return UnitCosts(
        clock_ns=clock_ns, mean_conductance_us=conductance,
        cell_read_pj=components.cell_read_energy_pj(1.0, 1.0, conductance, read_voltage,
                                                    cell_read_ns),
        decoder_pj=components.decoder_energy_pj(1.0, node),
        adc_pj=components.adc_energy_pj(xbar.adc_bits, node),
        mux_pj=components.mux_energy_pj(1.0, xbar.lines_per_adc, node),
        shift_add_pj=components.shift_add_energy_pj(1.0, width.psum_bits, width.input_bits,
                                                    node),
        buffer_read_pj_per_bit=sram(tile_buffer_bits, bank_bits, False, node),
        buffer_write_pj_per_bit=sram(tile_buffer_bits, bank_bits, True, node),
        wgu_read_pj_per_bit=[sram(c, bank_bits, False, node) for c in wgu_capacity],
        wgu_write_pj_per_bit=[sram(c, bank_bits, True, node) for c in wgu_capacity],
        global_wire_pj_per_bit=wire * plan.global_mm, local_wire_pj_per_bit=wire * plan.local_mm,
        lif_pj=components.lif_energy_pj(1.0, node),
        gradlif_pj=components.gradlif_op_energy_pj(1.0, node),
        wgu_add_pj=components.wgu_mac_energy_pj(1.0, False, node),
        wgu_multiply_add_pj=components.wgu_mac_energy_pj(1.0, True, node),
        write_pulse_pj=components.write_energy_pj(
            1.0, components.write_conductance_us(device.g_min_us, device.g_max_us),
            programming.write_voltage_v, programming.write_pulse_ns),
        verify_read_pj=components.verify_read_energy_pj(1.0, conductance, xbar.adc_bits, node,
                                                         read_voltage, cell_read_ns),
        adc_ns=components.adc_latency_ns(xbar.adc_bits, node), cell_read_ns=cell_read_ns,
        write_pulse_ns=np.asarray(programming.write_pulse_ns, float),
        wgu_design=chip.hierarchy.wgu_design,
        wgu_register_pj=grad_bits * components.constant("dff_energy", node),
        wg_array_conversion_pj=wg_conversion,
        wg_array_write_pj_per_bit=sram(wg_array_bits, bank_bits, True, node),
        wg_array_planes=np.asarray(width.delta_bits, float), grad_bits=grad_bits,
        input_bits=np.asarray(width.input_bits, float))


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
            put(name, phase, "wgu", _wgu_energy(counts, mapping, prices, index,
                                                 multiply=name == "L0"))
        else:
            put(name, phase, "buffer", read_bits * prices.buffer_read_pj_per_bit
                + write_bits * prices.buffer_write_pj_per_bit)
            put(name, phase, "htree", (read_bits + write_bits) * prices.local_wire_pj_per_bit)
        put(name, phase, "htree", get("tile_bytes") * 8.0 * prices.global_wire_pj_per_bit)
        put(name, phase, "htree_units", get("unit_traffic_bits") * prices.global_wire_pj_per_bit)
        put(name, phase, "lif", get("lif_ops") * prices.lif_pj)
        put(name, phase, "gradlif", get("gradlif_ops") * prices.gradlif_pj)
        if name[0] == "L":   # every copy of a duplicated layer is programmed
            put(name, phase, "rram_write",
                (get("write_pulses") * prices.write_pulse_pj
                 + get("verify_reads") * prices.verify_read_pj) * copies)
    return out


def _wgu_energy(counts: dict, mapping: Mapping, prices: UnitCosts, index: int,
                multiply: bool):
    """Update-phase WGU energy of one layer under ``prices.wgu_design``, pJ.

    * ``sram_rmw``: the recorded SRAM traffic (deltas and inputs read, one gradient word read
      and written per MAC, the gradient read once per batch) and one 16-bit add per MAC (the
      first layer's multi-bit input adds a multiply);
    * ``register``: the same, except that the gradient word stays in a register over the
      timestep loop: per MAC a register update (``grad_bits`` DFFs) replaces the SRAM
      read-modify-write, which happens once per (weight, sample) instead;
    * ``neurosim_array``: NeuroSim V2.1's SRAM weight-gradient array: each layer input is
      written into a 128-row sub-array (one column per input bit); every ``WG_ARRAY_ROWS``
      vectors, each output's delta is applied bit-serially to the rows and every column is
      read through a 4-bit ADC and shift-added (``n_out x delta_bits x n_in x input bits /
      128`` column reads per vector), and the
      partial gradients are added into the gradient SRAM (a 16-bit add and a read-modify-write
      per weight per 128 vectors); deltas are read from the WGU SRAM as before.
    """
    get = lambda counter: counts.get(counter, 0.0)  # noqa: E731
    read_pj, write_pj = prices.wgu_read_pj_per_bit[index], prices.wgu_write_pj_per_bit[index]
    read_bits = get("buffer_read_bytes") * 8.0
    write_bits = get("buffer_write_bytes") * 8.0
    macs, grad_bits = get("wgu_macs"), prices.grad_bits
    mac_pj = prices.wgu_multiply_add_pj if multiply else prices.wgu_add_pj
    rmw_pj = grad_bits * (read_pj + write_pj)
    recorded = read_bits * read_pj + write_bits * write_pj
    if prices.wgu_design == "register":
        return (recorded - macs * rmw_pj + get("wgu_weight_visits") * rmw_pj
                + macs * (mac_pj + prices.wgu_register_pj))
    if prices.wgu_design == "neurosim_array":
        n_out, n_in = mapping.shapes[index]
        vectors = get("wgu_vectors")
        blocks = vectors / WG_ARRAY_ROWS
        # The input vector written into the array, one column per bit (spikes: 1 bit; the
        # first layer's multi-bit words: input_bits columns each).
        in_bits = prices.input_bits if multiply else 1.0
        array_write = vectors * n_in * in_bits * prices.wg_array_write_pj_per_bit
        conversions = blocks * n_out * prices.wg_array_planes * n_in * in_bits
        accumulate = blocks * n_out * n_in * (prices.wgu_add_pj + rmw_pj)
        delta_reads = vectors * n_out * prices.wg_array_planes * read_pj
        return (array_write + conversions * prices.wg_array_conversion_pj + accumulate
                + delta_reads)
    return recorded + macs * mac_pj


def dram_energy(workload: Workload, chip: ChipConfig):
    """Loading the epoch's training set from DRAM once (the same for BP and DFA), pJ."""
    dram = chip.dram
    per_sample = workload.layers[0] * (workload.timesteps if workload.sequence else 1) \
        * np.asarray(dram.bits_per_value, float) + np.asarray(dram.label_bits, float)
    return components.dram_energy_pj(workload.samples * per_sample, dram.pj_per_bit)
