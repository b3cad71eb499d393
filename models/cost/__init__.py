# SPDX-License-Identifier: MIT
"""Energy / latency / area model of tiled BP and DFA training accelerators on RRAM crossbars."""
from __future__ import annotations

from .components import ALTERNATES, ENERGY_EXPONENT, LIBRARY, Constant, library_table, scale
from .config import (BufferConfig, CrossbarHW, DatapathConfig, DramConfig, HardwareConfig,
                     HierarchyConfig, MappingConfig, TechConfig)
from .floorplan import Floorplan, floorplan, htree_root_to_leaf, htree_total_length
from .mapping import SCHEMES, Mapping, hardware_params, map_network
from .rollup import (AREA_COMPONENTS, ENERGY_COMPONENTS, LATENCY_COMPONENTS, PAPER_RATIOS,
                     TRAINING_PHASES, DenseSpec, SchemeResult, Workload, activity_workload,
                     dense_counts, dense_workload, evaluate)
from .sweep import SweepResult, sweep, sweep_grid

__all__ = ["ALTERNATES", "ENERGY_EXPONENT", "LIBRARY", "Constant", "library_table", "scale",
           "BufferConfig", "CrossbarHW", "DatapathConfig", "DramConfig", "HardwareConfig",
           "HierarchyConfig", "MappingConfig", "TechConfig", "Floorplan", "floorplan",
           "htree_root_to_leaf", "htree_total_length", "SCHEMES", "Mapping",
           "hardware_params", "map_network", "AREA_COMPONENTS", "ENERGY_COMPONENTS",
           "LATENCY_COMPONENTS", "PAPER_RATIOS", "TRAINING_PHASES", "DenseSpec",
           "SchemeResult", "Workload", "activity_workload", "dense_counts", "dense_workload",
           "evaluate", "SweepResult", "sweep", "sweep_grid"]
