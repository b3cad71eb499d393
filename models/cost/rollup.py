# SPDX-License-Identifier: MIT
"""Roll-up of one adaptation epoch for one scheme: map, floorplan, price energy and latency.

:func:`evaluate` joins the parts: the mapping (``mapping.py``), the area and floorplan
(``area.py``), the price of every event (``energy.unit_costs``) and the energy and latency of
the workload's counts (``energy.py``, ``latency.py``). Everything is numpy broadcasting, so
fields of the chip description may hold arrays (``sweep.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..chip import ChipConfig
from .area import area_model
from .energy import UnitCosts, dram_energy, energy_model, unit_costs
from .latency import latency_model
from .mapping import Mapping, map_network
from .workload import Workload

__all__ = ["SchemeResult", "evaluate"]


@dataclass
class SchemeResult:
    """Raw (possibly array-valued) roll-up of one scheme.

    Members
    -------
    mapping : Mapping
    area : dict
        :func:`~dfasim.models.cost.area.area_model` output.
    energy : dict
        pJ per ``(matrix, phase, component)``.
    latency : dict
        ns per ``(phase, component)``.
    dram_pj : float or array
        Loading the epoch's training set.
    prices : UnitCosts
        The per-event costs used.
    """

    mapping: Mapping
    area: dict[str, Any]
    energy: dict[tuple[str, str, str], Any]
    latency: dict[tuple[str, str], Any]
    dram_pj: Any
    prices: UnitCosts | None = field(repr=False, default=None)

    @property
    def energy_total(self):
        return sum(self.energy.values())

    @property
    def latency_total(self):
        return sum(self.latency.values())

    @property
    def area_total(self):
        return self.area["total"]


def evaluate(workload: Workload, chip: ChipConfig, scheme: str) -> SchemeResult:
    """Map, floorplan and price one scheme of ``workload`` on ``chip``."""
    mapping = map_network(workload.layers, chip, scheme,
                          architecture=getattr(workload, "architecture", None))
    area = area_model(chip, mapping)
    prices = unit_costs(chip, mapping, area["floorplan"])
    cells = workload.counts[scheme]
    return SchemeResult(mapping=mapping, area=area, energy=energy_model(cells, mapping, prices),
                        latency=latency_model(cells, chip, mapping, prices, workload),
                        dram_pj=dram_energy(workload, chip), prices=prices)
