# SPDX-License-Identifier: MIT
"""Architecture simulator: training operations scheduled on the resources of a tiled chip,
stored tensors placed in finite buffers, four dataflows (``docs/simulator.md``).

``engine`` is the list scheduler, ``placement`` the buffer placement, ``durations`` the time of
every operation on a chip, ``dataflows`` the task graphs of ``bp``, ``dfa``, ``pipelayer`` and
``pipesdfa``, and ``simulator`` joins them into one epoch.
"""
from __future__ import annotations

from .dataflows import DATAFLOWS, SCHEME_OF, BuiltGraph, GraphPlan, build_graph
from .durations import LayerTimes, OpTimes, op_times
from .engine import Schedule, TaskGraph
from .placement import BufferOccupancy, Occupancy
from .simulator import SIMULATED_BATCHES, Simulation, simulate, simulation_plan

__all__ = ["DATAFLOWS", "SCHEME_OF", "BuiltGraph", "GraphPlan", "build_graph", "LayerTimes",
           "OpTimes", "op_times", "BufferOccupancy", "Occupancy", "Schedule", "TaskGraph",
           "SIMULATED_BATCHES", "Simulation", "simulate",
           "simulation_plan"]
