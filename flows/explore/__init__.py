# SPDX-License-Identifier: MIT
"""``dfasim explore``: accuracy-and-cost design-space exploration on a Dask cluster.

A design space in TOML (:mod:`.space`: axes over any chip field and the adaptation settings,
searched as a grid, by seeded random draws or by Optuna's NSGA-II) is evaluated one task per
(point, chip) on a local or running Dask.distributed cluster (:mod:`.engine`); each task deploys
the pre-trained network on a noisy chip, adapts it for a few epochs and prices the epoch
(:mod:`.tasks`), and its result is on disk the moment it is known, so a killed worker or driver
loses nothing finished. :mod:`.results` writes the table, the Pareto front and plot, and
``summary.md``; :mod:`.run` ties them together (``docs/explore.md``).
"""
from __future__ import annotations

from .engine import EngineConfig, available_cores
from .results import pareto_mask
from .run import Plan, explore, prepare
from .space import ExploreConfig, load_space

__all__ = ["EngineConfig", "ExploreConfig", "Plan", "available_cores", "explore", "load_space",
           "pareto_mask", "prepare"]
