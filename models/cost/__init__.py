# SPDX-License-Identifier: MIT
"""Energy / latency / area model of tiled BP and DFA training accelerators on RRAM crossbars.

The chip is :class:`dfasim.models.chip.ChipConfig`; ``workload`` turns an epoch into event
counts, ``mapping`` places the matrices, ``area``, ``energy`` and ``latency`` price them with the
cited constants of ``components``, ``leakage`` gives the standby power by component (for a
simulator to multiply by its makespan), ``rollup`` joins them per scheme, ``report`` assembles
the JSON report and ``sweep`` evaluates many chips at once.
"""
from __future__ import annotations

from .area import AREA_COMPONENTS, area_model
from .components import ALTERNATES, ENERGY_EXPONENT, LIBRARY, Constant, library_table, scale
from .energy import ENERGY_COMPONENTS, UnitCosts, dram_energy, energy_model, unit_costs
from .floorplan import Floorplan, floorplan, htree_root_to_leaf, htree_total_length
from .latency import LATENCY_COMPONENTS, latency_model
from .leakage import LEAKAGE_COMPONENTS, leakage_energy_pj, leakage_power_uw
from .mapping import SCHEMES, Mapping, map_network
from .rollup import SchemeResult, evaluate
from .sweep import SweepResult, sweep, sweep_grid
from .workload import (TRAINING_PHASES, UNIT_COUNTERS, DenseSpec, Workload, activity_workload,
                       add_unit_traffic, dense_counts, dense_workload)

__all__ = ["AREA_COMPONENTS", "area_model", "ALTERNATES", "ENERGY_EXPONENT", "LIBRARY",
           "Constant", "library_table", "scale", "ENERGY_COMPONENTS", "UnitCosts",
           "dram_energy", "energy_model", "unit_costs", "Floorplan", "floorplan",
           "htree_root_to_leaf", "htree_total_length", "LATENCY_COMPONENTS", "latency_model",
           "LEAKAGE_COMPONENTS", "leakage_energy_pj", "leakage_power_uw",
           "SCHEMES", "Mapping", "map_network", "SchemeResult", "evaluate", "SweepResult",
           "sweep", "sweep_grid", "TRAINING_PHASES", "UNIT_COUNTERS", "DenseSpec", "Workload",
           "activity_workload", "add_unit_traffic", "dense_counts", "dense_workload"]
