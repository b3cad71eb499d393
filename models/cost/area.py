# SPDX-License-Identifier: MIT
"""Chip area by component and by block, and the floorplan the H-tree lengths come from.

Every allocated tile is a full tile (``pes_per_tile x crossbars_per_pe`` crossbars with their
peripherals), whether or not the mapping fills it. BP tiles are transposable: each crossbar also
has row-side ADCs, muxes and shift-adders and column-side drivers. Outside the tiles: the global
buffer, the global H-tree, the LIF/GradLIF units (one bank of ``neuron_lanes`` per layer) and the
WGU (SRAM for its gradient words plus ``wgu_lanes`` adders per bank).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..chip import BITS_PER_KB, ChipConfig
from . import components
from .floorplan import floorplan, htree_total_length
from .mapping import Mapping

__all__ = ["AREA_COMPONENTS", "area_model"]

AREA_COMPONENTS = ("crossbar", "decoder", "adc", "mux", "shift_add", "transpose_periphery",
                   "accumulator", "buffer", "htree", "neuron", "wgu")


def area_model(chip: ChipConfig, mapping: Mapping) -> dict[str, Any]:
    """Area by component and by block (µm²), the floorplan and the per-tile figures."""
    node = chip.tech.node_nm
    xbar, hierarchy, buffers = chip.crossbar, chip.hierarchy, chip.buffers
    crossbars_per_pe = np.asarray(hierarchy.crossbars_per_pe, float)
    pes_per_tile = np.asarray(hierarchy.pes_per_tile, float)
    crossbars_per_tile = crossbars_per_pe * pes_per_tile
    column_adcs = np.ceil(np.asarray(xbar.cols, float) / xbar.lines_per_adc)
    row_adcs = np.ceil(np.asarray(xbar.rows, float) / xbar.lines_per_adc)
    adc_area = components.adc_area_um2(xbar.adc_bits, node)
    mux_area = components.mux_area_um2(xbar.lines_per_adc, node)
    shift_add_area = components.constant("shift_add_area", node)
    driver_area = components.driver_area_um2(xbar.dac_bits, node)
    accumulator_area = components.constant("accumulator_area", node)
    per_crossbar = {
        "crossbar": components.crossbar_area_um2(xbar.rows, xbar.cols, node),
        "decoder": np.asarray(xbar.rows, float) * driver_area,
        "adc": column_adcs * adc_area, "mux": column_adcs * mux_area,
        "shift_add": column_adcs * shift_add_area,
        "transpose_periphery": (row_adcs * (adc_area + mux_area + shift_add_area)
                                + np.asarray(xbar.cols, float) * driver_area)
        if mapping.scheme == "bp" else 0.0 * row_adcs}
    pe = {k: crossbars_per_pe * v for k, v in per_crossbar.items()}
    pe["buffer"] = components.sram_area_um2(buffers.pe_kb * BITS_PER_KB, node)
    pe["accumulator"] = column_adcs * accumulator_area
    pe_area = sum(pe.values())
    # H-tree area per mm of wire: SpikeSim's per-tile H-tree spread over the wire of a
    # non-transposable tile (SpikeSim has none), so a bigger BP tile gets a longer, larger tree.
    reference_side_mm = np.sqrt(pe_area
                                - crossbars_per_pe * per_crossbar["transpose_periphery"]) * 1e-3
    htree_per_mm = (components.constant("htree_area_tile", node)
                    / htree_total_length(hierarchy.pes_per_tile, reference_side_mm))
    tile = {k: pes_per_tile * v for k, v in pe.items()}
    tile["buffer"] = tile["buffer"] + components.sram_area_um2(buffers.tile_kb * BITS_PER_KB,
                                                               node)
    tile["accumulator"] = tile["accumulator"] + column_adcs * accumulator_area
    tile["htree"] = htree_per_mm * htree_total_length(hierarchy.pes_per_tile,
                                                      np.sqrt(pe_area) * 1e-3)
    tile_area = sum(tile.values())
    n_tiles = mapping.n_tiles
    plan = floorplan(pe_area, tile_area, n_tiles, hierarchy.pes_per_tile,
                     hierarchy.crossbars_per_pe)
    n_layers = len(mapping.shapes)
    wgu_bits = mapping.wgu_words * np.asarray(chip.datapath.grad_bits, float)
    chip_level = {
        "buffer": components.sram_area_um2(buffers.global_kb * BITS_PER_KB, node),
        "htree": htree_per_mm * plan.global_wire_mm,
        "neuron": n_layers * np.asarray(hierarchy.neuron_lanes, float)
        * components.constant("gradlif_area", node),
        "wgu": components.sram_area_um2(wgu_bits, node)
        + mapping.wgu_banks * np.asarray(hierarchy.wgu_lanes, float)
        * components.constant("wgu_lane_area", node)}
    by_component = {c: n_tiles * tile.get(c, 0.0) + chip_level.get(c, 0.0)
                    for c in AREA_COMPONENTS}
    by_block = {"layer_tiles": mapping.layer_tiles * tile_area,
                "b_tile": mapping.b_tiles * tile_area,
                "global_buffer": chip_level["buffer"], "global_htree": chip_level["htree"],
                "neuron_units": chip_level["neuron"], "wgu": chip_level["wgu"]}
    return {"by_component": by_component, "by_block": by_block,
            "total": sum(by_component.values()), "floorplan": plan, "tile_area": tile_area,
            "pe_area": pe_area, "tile": tile, "crossbars_per_tile": crossbars_per_tile}
