# SPDX-License-Identifier: MIT
"""Chip area by component and by block, and the floorplan the H-tree lengths come from.

Every allocated tile is a full tile (``pes_per_tile x crossbars_per_pe`` crossbars with their
peripherals), whether or not the mapping fills it. A tile whose matrix is read transposed (BP,
every layer but the first) is transposable: each crossbar also has row-side ADCs, muxes and
shift-adders and column-side drivers. A crossbar is an array of 16 F² 1T1R cells. Outside the
tiles: the global buffer, the global H-tree, the LIF/GradLIF units (one bank of
``neuron_lanes`` per layer) and the WGU (SRAM for its gradient words plus ``wgu_lanes`` adders
per bank).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..chip import BITS_PER_KB, ChipConfig
from . import components
from .floorplan import floorplan, htree_total_length
from .mapping import Mapping

__all__ = ["AREA_COMPONENTS", "area_model", "transposed_layers"]

AREA_COMPONENTS = ("crossbar", "decoder", "adc", "mux", "shift_add", "transpose_periphery",
                   "accumulator", "buffer", "htree", "neuron", "wgu")


def transposed_layers(mapping: Mapping) -> list[bool]:
    """Per layer, whether its matrix is read transposed: under BP every layer but the first
    (the error of ``W_l`` is propagated through ``W_l^T`` to layer ``l - 1``; nothing is
    propagated to the input, so ``W_0`` is never read transposed); under DFA none."""
    n_layers = len(mapping.shapes)
    return [mapping.scheme == "bp" and l > 0 for l in range(n_layers)]


def area_model(chip: ChipConfig, mapping: Mapping) -> dict[str, Any]:
    """Area by component and by block (µm²), the floorplan and the per-tile figures.

    Only tiles whose matrix is read transposed (:func:`transposed_layers`) carry the
    transpose periphery; ``tile_area`` and ``pe_area`` are those of the scheme's largest tile
    (transposable under BP), ``plain_tile_area`` that of a tile without transpose periphery.
    The global floorplan spaces all tiles at the pitch of their mean area.
    """
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
    transpose_periphery = (row_adcs * (adc_area + mux_area + shift_add_area)
                           + np.asarray(xbar.cols, float) * driver_area)
    plain_crossbar = {
        "crossbar": components.crossbar_area_um2(xbar.rows, xbar.cols, node),
        "decoder": np.asarray(xbar.rows, float) * driver_area,
        "adc": column_adcs * adc_area, "mux": column_adcs * mux_area,
        "shift_add": column_adcs * shift_add_area,
        "transpose_periphery": 0.0 * row_adcs}

    def pe_of(per_crossbar: dict) -> dict:
        pe = {k: crossbars_per_pe * v for k, v in per_crossbar.items()}
        pe["buffer"] = components.sram_area_um2(buffers.pe_kb * BITS_PER_KB, node)
        pe["accumulator"] = column_adcs * accumulator_area
        return pe

    plain_pe = pe_of(plain_crossbar)
    transposable_pe = pe_of({**plain_crossbar, "transpose_periphery": transpose_periphery})
    # H-tree area per mm of wire: SpikeSim's per-tile H-tree spread over the wire of a
    # non-transposable tile (SpikeSim has none), so a bigger BP tile gets a longer, larger tree.
    plain_pe_area = sum(plain_pe.values())
    reference_side_mm = np.sqrt(plain_pe_area) * 1e-3
    htree_per_mm = (components.constant("htree_area_tile", node)
                    / htree_total_length(hierarchy.pes_per_tile, reference_side_mm))

    def tile_of(pe: dict) -> tuple[dict, Any, Any]:
        pe_area = sum(pe.values())
        tile = {k: pes_per_tile * v for k, v in pe.items()}
        tile["buffer"] = tile["buffer"] + components.sram_area_um2(
            buffers.tile_kb * BITS_PER_KB, node)
        tile["accumulator"] = tile["accumulator"] + column_adcs * accumulator_area
        tile["htree"] = htree_per_mm * htree_total_length(hierarchy.pes_per_tile,
                                                          np.sqrt(pe_area) * 1e-3)
        return tile, sum(tile.values()), pe_area

    plain_tile, plain_tile_area, _ = tile_of(plain_pe)
    transposable_tile, transposable_tile_area, transposable_pe_area = tile_of(transposable_pe)
    transposed = transposed_layers(mapping)
    transposable_tiles = sum((t for t, on in zip(mapping.tiles, transposed) if on),
                             0.0 * np.asarray(mapping.n_tiles, float))
    n_tiles = mapping.n_tiles
    plain_tiles = n_tiles - transposable_tiles
    any_transposed = any(transposed)
    tile = transposable_tile if any_transposed else plain_tile
    tile_area = transposable_tile_area if any_transposed else plain_tile_area
    pe_area = transposable_pe_area if any_transposed else plain_pe_area
    all_tiles_area = plain_tiles * plain_tile_area + transposable_tiles * transposable_tile_area
    mean_tile_area = all_tiles_area / np.maximum(np.asarray(n_tiles, float), 1.0)
    plan = floorplan(pe_area, mean_tile_area, n_tiles, hierarchy.pes_per_tile,
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
    by_component = {c: plain_tiles * plain_tile.get(c, 0.0)
                    + transposable_tiles * transposable_tile.get(c, 0.0)
                    + chip_level.get(c, 0.0) for c in AREA_COMPONENTS}
    layer_tiles_area = (np.asarray(mapping.layer_tiles, float) - transposable_tiles) \
        * plain_tile_area + transposable_tiles * transposable_tile_area
    by_block = {"layer_tiles": layer_tiles_area,
                "b_tile": mapping.b_tiles * plain_tile_area,
                "global_buffer": chip_level["buffer"], "global_htree": chip_level["htree"],
                "neuron_units": chip_level["neuron"], "wgu": chip_level["wgu"]}
    return {"by_component": by_component, "by_block": by_block,
            "total": sum(by_component.values()), "floorplan": plan, "tile_area": tile_area,
            "pe_area": pe_area, "tile": tile, "crossbars_per_tile": crossbars_per_tile,
            "plain_tile_area": plain_tile_area, "transposable_tiles": transposable_tiles,
            "transposed_adc_area": transposable_tiles * crossbars_per_tile * row_adcs
            * adc_area}
