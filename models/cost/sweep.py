# SPDX-License-Identifier: MIT
"""Design-space sweep: the dense roll-up of many hardware configurations in one numpy pass.

Any numeric field of the chip description may hold an array: the model is written with
broadcasting only, so a sweep costs one evaluation of each formula on arrays of ``N``
configurations (a Python loop runs over the network's layers, never over
configurations). Infeasible configurations (feedback matrices that do not fit their tile, a
tile budget exceeded) are flagged, not dropped.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..chip import ChipConfig
from .rollup import evaluate
from .workload import DenseSpec, dense_workload

__all__ = ["SWEEP_AXES", "AXIS_FIELDS", "SweepResult", "sweep", "sweep_grid", "random_configs"]

#: Chip fields behind each short axis name (``size``: square crossbars). Any other dotted
#: field path of the chip description (``"hierarchy.wgu_lanes"``) is an axis too.
AXIS_FIELDS: dict[str, tuple[str, ...]] = {
    "size": ("crossbar.rows", "crossbar.cols"),
    "adc_bits": ("crossbar.adc_bits",),
    "lines_per_adc": ("crossbar.lines_per_adc",),
    "global_kb": ("buffers.global_kb",),
    "tile_kb": ("buffers.tile_kb",),
    "pe_kb": ("buffers.pe_kb",),
}

#: Axes of the cost sweep and their default values (crossbars are square).
SWEEP_AXES: dict[str, tuple] = {
    "size": (64, 128, 256, 512),
    "adc_bits": (3, 4, 5, 6, 8),
    "lines_per_adc": (4, 8, 16),
    "global_kb": (8.0, 16.0, 32.0),
    "tile_kb": (2.0, 4.0, 8.0),
    "pe_kb": (0.5, 1.0, 2.0),
}


@dataclass
class SweepResult:
    """Totals per configuration.

    Members
    -------
    configs : dict of str to ndarray
        The varied parameters, one entry per configuration.
    totals : dict
        ``{scheme: {"energy_pj", "latency_ns", "area_um2": ndarray}}``.
    feasible : ndarray of bool
        Both schemes map.
    seconds : float
        Wall time of the vectorised evaluation (both schemes).
    """

    configs: dict[str, np.ndarray]
    totals: dict[str, dict[str, np.ndarray]]
    feasible: np.ndarray
    seconds: float

    @property
    def n(self) -> int:
        return int(self.feasible.size)

    @property
    def configs_per_second(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else float("inf")

    def rows(self) -> list[dict[str, Any]]:
        """One dict per configuration: parameters, totals and DFA/BP ratios."""
        out = []
        bp, dfa = self.totals["bp"], self.totals["dfa"]
        for i in range(self.n):
            row = {k: v[i].item() for k, v in self.configs.items()}
            row["feasible"] = bool(self.feasible[i])
            for s, t in (("bp", bp), ("dfa", dfa)):
                for q, v in t.items():
                    row[f"{s}_{q}"] = float(v[i])
            for q in ("energy_pj", "latency_ns", "area_um2"):
                row[f"ratio_{q.split('_')[0]}"] = float(dfa[q][i] / bp[q][i])
            out.append(row)
        return out


def sweep_grid(axes: dict[str, tuple] | None = None) -> dict[str, np.ndarray]:
    """The full grid over ``axes`` (default :data:`SWEEP_AXES`), one array per axis."""
    axes = SWEEP_AXES if axes is None else axes
    names = list(axes)
    combos = list(itertools.product(*(axes[k] for k in names)))
    return {k: np.array([c[i] for c in combos]) for i, k in enumerate(names)}


def random_configs(n: int, seed: int = 0, axes: dict[str, tuple] | None = None
                   ) -> dict[str, np.ndarray]:
    """``n`` configurations drawn uniformly from the values of ``axes`` (seeded)."""
    axes = SWEEP_AXES if axes is None else axes
    rng = np.random.default_rng(seed)
    return {k: np.asarray(v)[rng.integers(0, len(v), n)] for k, v in axes.items()}


def sweep(spec: DenseSpec, configs: dict[str, np.ndarray],
          base: ChipConfig | None = None) -> SweepResult:
    """Dense roll-up of ``spec`` for every configuration of ``configs``.

    ``configs`` maps axis names (:data:`AXIS_FIELDS`) or dotted chip field paths to
    equal-length arrays; every other field comes from ``base`` (Table II by default), which is
    validated first. The axis values themselves are checked only for fitting the crossbar
    (``lines_per_adc``); the other axes are flagged by the mapping.
    """
    overrides = {}
    n = None
    for k, v in configs.items():
        v = np.asarray(v)
        n = v.size if n is None else n
        if v.shape != (n,):
            raise ValueError(f"sweep parameter {k!r} must be a 1-D array of {n} values")
        for path in AXIS_FIELDS.get(k, (k,)):
            overrides[path] = v.astype(np.int64) if k == "size" else v
    try:
        chip = (base or ChipConfig()).validate().updated(overrides)
    except ValueError as exc:
        raise ValueError(f"unknown sweep parameter: {exc} (or one of "
                         f"{', '.join(AXIS_FIELDS)})") from None
    lines_per_adc = np.asarray(chip.crossbar.lines_per_adc)
    fits_mux = np.broadcast_to(lines_per_adc <= np.minimum(np.asarray(chip.crossbar.rows),
                                                           np.asarray(chip.crossbar.cols)),
                               (n or 0,))
    t0 = time.perf_counter()
    workload = dense_workload(spec, chip)
    totals, feasible = {}, fits_mux
    for scheme in ("bp", "dfa"):
        r = evaluate(workload, chip, scheme)
        shape = np.shape(fits_mux)
        totals[scheme] = {"energy_pj": np.broadcast_to(r.energy_total, shape).astype(float),
                          "latency_ns": np.broadcast_to(r.latency_total, shape).astype(float),
                          "area_um2": np.broadcast_to(r.area_total, shape).astype(float)}
        feasible = feasible & np.broadcast_to(r.mapping.feasible, shape)
    seconds = time.perf_counter() - t0
    return SweepResult(configs={k: np.asarray(v) for k, v in configs.items()},
                       totals=totals, feasible=np.asarray(feasible), seconds=seconds)
