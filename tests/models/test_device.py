# SPDX-License-Identifier: MIT
"""Weight-to-conductance mapping: level grid, round trips, both mappings, bad configurations."""
import pytest
import torch

from dfasim.models.rram.device import (DeviceConfig, conductance_to_weight, device_levels,
                                       level_conductance, levels_to_weight, weight_scale,
                                       weight_to_levels)


def test_table2_defaults():
    cfg = DeviceConfig()
    assert (cfg.g_min_us, cfg.g_max_us, cfg.cell_bits, cfg.mapping) == (1.0, 10.0, 4,
                                                                       "differential")
    assert cfg.levels == 16 and cfg.step == pytest.approx(0.6)
    assert cfg.q_range == (-15, 15) and cfg.unit == 15 and cfg.devices_per_weight == 2
    k = torch.arange(16)
    assert torch.allclose(level_conductance(k, cfg), 1.0 + 0.6 * k.float())


def test_offset_reference_is_the_level_below_the_middle():
    cfg = DeviceConfig(mapping="offset")
    assert cfg.ref_level == 7 and cfg.q_range == (-7, 8) and cfg.unit == 7
    assert cfg.g_ref == pytest.approx(1.0 + 7 * 0.6)
    # Zero is exact; -w_max and +w_max are levels; one level of headroom above w_max.
    q = weight_to_levels(torch.tensor([0.0, -2.0, 2.0, 5.0]), 2.0, cfg)
    assert q.tolist() == [0, -7, 7, 8]


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("bits", [1, 2, 4, 6])
def test_levels_round_trip(mapping, bits):
    if mapping == "offset" and bits == 1:
        pytest.skip("offset needs two bits")
    cfg = DeviceConfig(cell_bits=bits, mapping=mapping)
    lo, hi = cfg.q_range
    q = torch.arange(lo, hi + 1)
    w = levels_to_weight(q, 0.37, cfg, torch.float64)
    assert torch.equal(weight_to_levels(w, 0.37, cfg), q)
    # Ideal conductances of the pair give back the same weights.
    k_a, k_b = device_levels(q, cfg)
    assert int(k_a.min()) >= 0 and int(k_a.max()) <= cfg.levels - 1
    g_a = level_conductance(k_a, cfg, torch.float64)
    g_b = level_conductance(k_b, cfg, torch.float64)
    assert torch.allclose(conductance_to_weight(g_a, g_b, 0.37, cfg), w)
    if mapping == "differential":
        assert bool(((k_a == 0) | (k_b == 0)).all())  # one device of a pair stays at g_min


def test_nearest_level_error_is_at_most_half_a_step():
    cfg = DeviceConfig()
    w = torch.randn(1000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w_max = weight_scale(w)
    err = levels_to_weight(weight_to_levels(w, w_max, cfg), w_max, cfg, torch.float64) - w
    assert float(err.abs().max()) <= w_max / 15 / 2 + 1e-12
    assert weight_scale(torch.zeros(3)) == 1.0


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(g_min_us=10.0, g_max_us=1.0), ValueError,
     r"g_min_us \(10.0\) must be below device.g_max_us \(1.0\)"),
    (dict(g_min_us=5.0, g_max_us=5.0), ValueError, r"g_min_us \(5.0\) must be below"),
    (dict(g_min_us=0.0), ValueError, "g_min_us must be a positive number, not 0.0"),
    (dict(g_min_us=-1.0), ValueError, "g_min_us must be a positive number, not -1.0"),
    (dict(g_max_us=float("nan")), ValueError, "g_max_us must be a positive number, not nan"),
    (dict(cell_bits=0), ValueError, "device.cell_bits must be >= 1, not 0"),
    (dict(cell_bits=17), ValueError, "device.cell_bits must be <= 16, not 17"),
    (dict(cell_bits=2.5), TypeError, "device.cell_bits must be an integer, not 2.5"),
    (dict(mapping="ternary"), ValueError, "'ternary'"),
    (dict(mapping="offset", cell_bits=1), ValueError, "'offset' needs device.cell_bits >= 2"),
])
def test_bad_device_configs(kwargs, error, match):
    with pytest.raises(error, match=match):
        DeviceConfig(**kwargs).validate()


def test_validate_catches_later_mutation():
    cfg = DeviceConfig()
    cfg.g_min_us = 20.0
    with pytest.raises(ValueError, match=r"g_min_us \(20.0\) must be below"):
        cfg.validate()
