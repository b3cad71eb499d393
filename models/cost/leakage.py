# SPDX-License-Identifier: MIT
"""Standby (leakage) power of the chip by component, for a simulator to multiply by its makespan.

The transistor flavour is ``chip.tech.roadmap``: ``"hp"`` (high performance, the default: the
library's dynamic energies are NeuroSim's 32 nm HP values) or ``"lstp"`` (low standby power,
NeuroSim V2.1's ``Param.cpp`` default, whose off current is a thousand times lower). Every
figure comes from NeuroSim V2.1 (``neurosim/DNN_NeuroSim_V2.1``, numbers only):

* **SRAM** (``buffer``, the gradient words of ``wgu``): a 6T bit leaks through one pull-down
  NMOS, one pull-up PMOS and one access NMOS, at the cell widths of ``Param.cpp`` and the PTM
  32 nm off currents of ``Technology.cpp``
  (:func:`~dfasim.models.cost.components.sram_leakage_per_bit_uw`): 13.34 nW per bit (HP),
  13.3 pW (LSTP).
* **Digital logic** (``neuron``: the LIF/GradLIF lanes; ``wgu``: its adder lanes;
  ``shift_add``: shift-adders and partial-sum accumulators, the transpose periphery's included;
  ``drivers``: line drivers and analog muxes): transistors counted at the SRAM-derived area per
  transistor, each leaking a sixth of an SRAM bit (half of a gate's transistors are off)
  (:func:`~dfasim.models.cost.components.logic_leakage_uw`).
* **ADC**: 0: NeuroSim's SAR model has no standby term (``SarADC.cpp`` sets its leakage to 0:
  a SAR ADC is clocked only while it converts).
* **Crossbar**: 0: an undriven RRAM line has no bias across its cells.

Not modelled (no source): the H-tree repeaters, the clock tree, control.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..chip import BITS_PER_KB, ChipConfig
from . import components
from .mapping import Mapping

__all__ = ["LEAKAGE_COMPONENTS", "leakage_power_uw", "leakage_energy_pj"]

#: Components :func:`leakage_power_uw` reports, in µW.
LEAKAGE_COMPONENTS = ("buffer", "adc", "neuron", "wgu", "shift_add", "drivers", "crossbar")


def leakage_power_uw(chip: ChipConfig, mapping: Mapping, area: dict[str, Any]
                     ) -> dict[str, Any]:
    """Standby power (µW) by component of the chip ``mapping`` allocates.

    Parameters
    ----------
    chip : ChipConfig
        Buffer sizes, gradient word width, node and ``tech.roadmap`` (HP or LSTP).
    mapping : Mapping
        Tiles allocated and WGU words (:func:`~dfasim.models.cost.mapping.map_network`).
    area : dict
        :func:`~dfasim.models.cost.area.area_model` of the same chip and mapping (the logic
        areas the leakage is counted from).

    Returns
    -------
    dict
        ``{component: µW}`` for :data:`LEAKAGE_COMPONENTS` (numbers, or arrays over the
        configurations of a sweep) plus ``"total"``.
    """
    node = chip.tech.node_nm
    roadmap = chip.tech.roadmap
    buffers, hierarchy = chip.buffers, chip.hierarchy
    per_bit = components.sram_leakage_per_bit_uw(roadmap, node)
    n_tiles = np.asarray(mapping.n_tiles, float)
    buffer_bits = (np.asarray(buffers.global_kb, float)
                   + n_tiles * (np.asarray(buffers.tile_kb, float)
                                + np.asarray(hierarchy.pes_per_tile, float)
                                * np.asarray(buffers.pe_kb, float))) * BITS_PER_KB
    wgu_bits = np.asarray(mapping.wgu_words, float) * np.asarray(chip.datapath.grad_bits, float)
    by_component = area["by_component"]
    wgu_lanes_area = mapping.wgu_banks * np.asarray(hierarchy.wgu_lanes, float) \
        * components.constant("wgu_lane_area", node)
    # The transpose periphery holds row-side ADCs (no leakage), muxes, shift-adders and drivers.
    shift_add_area = (by_component["shift_add"] + by_component["accumulator"]
                      + by_component["transpose_periphery"] - area["transposed_adc_area"])
    logic = lambda a: components.logic_leakage_uw(a, roadmap, node)  # noqa: E731
    out = {"buffer": buffer_bits * per_bit,
           "adc": 0.0 * n_tiles,
           "neuron": logic(by_component["neuron"]),
           "wgu": wgu_bits * per_bit + logic(wgu_lanes_area),
           "shift_add": logic(shift_add_area),
           "drivers": logic(by_component["decoder"] + by_component["mux"]),
           "crossbar": 0.0 * n_tiles}
    out["total"] = sum(out[c] for c in LEAKAGE_COMPONENTS)
    return out


def leakage_energy_pj(power_uw, duration_ns):
    """Leakage energy of ``power_uw`` over ``duration_ns``, pJ (µW x ns = 1e-15 J = 1e-3 pJ)."""
    return np.asarray(power_uw, float) * np.asarray(duration_ns, float) * 1e-3
