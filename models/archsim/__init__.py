# SPDX-License-Identifier: MIT
"""Architecture simulator: a list scheduler over a task graph with finite buffers
(``docs/simulator.md``)."""
from __future__ import annotations

from .engine import BufferOccupancy, Occupancy, Schedule, TaskGraph, measure_engine_speed

__all__ = ["BufferOccupancy", "Occupancy", "Schedule", "TaskGraph", "measure_engine_speed"]
