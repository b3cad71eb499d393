# SPDX-License-Identifier: MIT
"""The vectorised sweep: same numbers as one-at-a-time evaluation, infeasible entries flagged,
any chip field as an axis; the speed check (>= 10^4 configurations per second) is slow-marked."""
import numpy as np
import pytest

from dfasim.models.chip import ChipConfig
from dfasim.models.cost import DenseSpec, dense_workload, evaluate, sweep, sweep_grid
from dfasim.models.cost.sweep import random_configs

UCI = DenseSpec([9, 128, 64, 32, 6], 128, 2400)


def test_sweep_matches_scalar_evaluation():
    cfg = sweep_grid({"size": (64, 256), "adc_bits": (3, 6), "lines_per_adc": (4, 16),
                      "tile_kb": (2.0, 8.0)})
    res = sweep(UCI, cfg)
    for i in (0, 5, 15):
        size = int(cfg["size"][i])
        p = ChipConfig().updated({"crossbar.rows": size, "crossbar.cols": size,
                                  "crossbar.adc_bits": int(cfg["adc_bits"][i]),
                                  "crossbar.lines_per_adc": int(cfg["lines_per_adc"][i]),
                                  "buffers.tile_kb": float(cfg["tile_kb"][i])}).validate()
        wl = dense_workload(UCI, p)
        for s in ("bp", "dfa"):
            r = evaluate(wl, p, s)
            t = res.totals[s]
            assert t["energy_pj"][i] == pytest.approx(r.energy_total, rel=1e-12)
            assert t["latency_ns"][i] == pytest.approx(r.latency_total, rel=1e-12)
            assert t["area_um2"][i] == pytest.approx(r.area_total, rel=1e-12)


def test_sweep_flags_infeasible_configurations():
    fmnist = DenseSpec([784, 512, 256, 128, 64, 10], 5, 1000, sequence=False)
    res = sweep(fmnist, {"size": np.array([64, 256])})
    np.testing.assert_array_equal(res.feasible, [False, True])
    with pytest.raises(ValueError, match="unknown sweep parameter"):
        sweep(UCI, {"colour": np.array([1])})


def test_any_chip_field_is_an_axis():
    res = sweep(UCI, {"hierarchy.wgu_lanes": np.array([16, 32, 64])})
    latency = res.totals["bp"]["latency_ns"]
    assert latency[0] > latency[1] > latency[2]        # more WGU adders, shorter update


@pytest.mark.slow
def test_sweep_speed():
    # A speed figure, measured as a benchmark (docs/benchmarks.md); kept out of the default run.
    cfg = random_configs(20000, seed=0)
    best = min(sweep(UCI, cfg).seconds for _ in range(3))
    assert 20000 / best >= 1e4
