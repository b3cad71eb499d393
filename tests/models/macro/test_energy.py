# SPDX-License-Identifier: MIT
"""Energy, latency and TSOPS/W of the macro, each component worked by hand from the cited
constants (25 µA per TIA, 2 µA soma bias, 20 fF per spike, 1.9 / 0.9 / 0.9 fF per cell on the
WL / SL / BL, 0.9 V bit-line reference, 2 pF and 1.8 V per I/O edge, 20 ns settling, 1.8 V supply,
0.2 V read, 100 ns chip bin)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dfasim.models.macro import MacroConfig
from dfasim.models.macro.energy import (COMPONENTS, PAPER_SPLIT_PERCENT, EnergyConfig,
                                        efficiency, sample_energy)
from dfasim.models.macro.network import LayerActivity, MacroActivity

CFG = MacroConfig()


def _activity() -> MacroActivity:
    """Two samples through a 200-30-5 network over 10 bins (hand-set counts)."""
    l1 = LayerActivity(200, 30, 2, 3, 128, 24, 10, active_row_bins=np.array([100, 0]),
                       drive_row_bins=np.array([100.0, 0.0]),
                       g_drive_s=np.array([2e-3, 0.0]), spikes=np.array([40, 0]))
    l2 = LayerActivity(30, 5, 1, 1, 128, 24, 10, active_row_bins=np.array([40, 0]),
                       drive_row_bins=np.array([40.0, 0.0]),
                       g_drive_s=np.array([1e-4, 0.0]), spikes=np.array([7, 0]))
    return MacroActivity((l1, l2), 10, 100e-9, io_bits=np.array([2050, 2050]),
                         io_rising_edges=np.array([90, 0]))


def test_each_component_by_hand():
    rep = sample_energy(_activity(), CFG)
    # Latency: 10 input bins + (2 layers - 1) bins of 100 ns + 20 ns settling = 1.12 µs.
    t = 11 * 100e-9 + 20e-9
    assert rep.latency_s == pytest.approx(1.12e-6)
    neurons = 35
    e = rep.energy_j
    # TIA pair: 35 neurons * 2 * 25 µA * 1.8 V * 1.12 µs = 3.528 nJ, active or idle.
    np.testing.assert_allclose(e["tia"], [35 * 2 * 25e-6 * 1.8 * t] * 2)
    assert e["tia"][0] == pytest.approx(3.528e-9)
    # Soma: 35 * 2 µA * 1.8 V * 1.12 µs + 47 spikes * 20 fF * 1.8² V².
    np.testing.assert_allclose(e["soma"], [neurons * 2e-6 * 1.8 * t + 47 * 20e-15 * 3.24,
                                           neurons * 2e-6 * 1.8 * t])
    # Array: 0.2² V² * 100 ns * (2e-3 + 1e-4) S = 8.4 fJ.
    np.testing.assert_allclose(e["array"], [0.04 * 100e-9 * 2.1e-3, 0.0])
    # WL: 100 rows * (3 * 24 = 72 cells) * 1.9 fF * 1.8² + 40 rows * 24 cells * 1.9 fF * 1.8².
    np.testing.assert_allclose(e["wl"], [(100 * 72 + 40 * 24) * 1.9e-15 * 3.24, 0.0])
    # SL: the same lines at the 0.2 V read voltage, 0.9 fF per cell.
    np.testing.assert_allclose(e["sl"], [(100 * 72 + 40 * 24) * 0.9e-15 * 0.04, 0.0])
    # BL: every device of the 6 + 1 PEs (128 * 24 each) on a bit line charged to 0.9 V once.
    np.testing.assert_allclose(e["bl"], [7 * 128 * 24 * 0.9e-15 * 0.81] * 2)
    # I/O: 90 rising edges * 2 pF * 1.8² V².
    np.testing.assert_allclose(e["io"], [90 * 2e-12 * 3.24, 0.0])
    assert np.all(e["other"] == 0)
    np.testing.assert_allclose(rep.total_j, sum(e[c] for c in COMPONENTS))
    np.testing.assert_allclose(rep.power_w, rep.total_j / t)


def test_tsops_definitions_by_hand():
    rep = sample_energy(_activity(), CFG)
    eff = efficiency(rep)
    # SOP: active rows * fan-out: 100 * 30 + 40 * 5 = 3,200 in sample 0, 0 in sample 1.
    assert eff["synaptic_ops"] == pytest.approx(1600)
    total = float(rep.total_j.sum())
    assert eff["tsops_w"] == pytest.approx(3200 / total / 1e12)
    # Dense: (200 * 30 + 30 * 5) * 10 bins = 61,500 per sample; both devices: twice that.
    assert eff["dense_synapse_steps"] == 61_500
    assert eff["tsops_w_dense"] == pytest.approx(2 * 61_500 / total / 1e12)
    assert eff["tsops_w_dense_devices"] == pytest.approx(4 * 61_500 / total / 1e12)


@pytest.mark.parametrize("key", ["tia_bias_a", "soma_bias_a", "c_spike_f", "c_wl_cell_f",
                                 "c_sl_cell_f", "c_bl_cell_f", "v_bl_ref_v", "c_io_f",
                                 "v_io_v", "tia_settle_s"])
def test_every_constant_moves_the_energy(key):
    base = sample_energy(_activity(), CFG).total_j[0]
    doubled = replace(EnergyConfig(), **{key: 2 * getattr(EnergyConfig(), key)})
    assert sample_energy(_activity(), CFG, doubled).total_j[0] > base


def test_macro_constants_enter_the_energy():
    act = _activity()
    base = sample_energy(act, CFG)
    hi_read = replace(CFG, pe=replace(CFG.pe, read_v=0.4))
    rep = sample_energy(act, hi_read)
    np.testing.assert_allclose(rep.energy_j["array"], 4 * base.energy_j["array"])
    np.testing.assert_allclose(rep.energy_j["sl"], 4 * base.energy_j["sl"])
    slow = replace(act, chip_bin_s=200e-9)
    rep = sample_energy(slow, CFG)
    np.testing.assert_allclose(rep.energy_j["array"], 2 * base.energy_j["array"])
    assert rep.latency_s == pytest.approx(22 * 100e-9 + 20e-9)


def test_split_and_paper_numbers():
    rep = sample_energy(_activity(), CFG)
    split = rep.split_percent()
    assert sum(split.values()) == pytest.approx(100.0)
    assert sum(PAPER_SPLIT_PERCENT.values()) == pytest.approx(100.01)  # as published
    assert PAPER_SPLIT_PERCENT["tia"] + PAPER_SPLIT_PERCENT["soma"] == pytest.approx(61.78)
    assert set(rep.mean()) >= {"energy_j", "latency_s", "power_w", "tsops_w", "split_percent"}


@pytest.mark.parametrize("key,value", [("tia_bias_a", -1e-6), ("c_io_f", float("nan")),
                                       ("v_io_v", True)])
def test_bad_constants_are_one_line(key, value):
    with pytest.raises((ValueError, TypeError)) as exc:
        replace(EnergyConfig(), **{key: value}).validate()
    assert f"energy.{key}" in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(TypeError):
        sample_energy("activity", CFG)
