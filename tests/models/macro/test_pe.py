# SPDX-License-Identifier: MIT
"""The macro's 128 x 24 PEs: the paper's 321 PE-equivalents, programming with device
non-idealities, and the error of a layer's currents against the ideal matrix product."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dfasim.models.macro import (MacroConfig, PEConfig, ProgrammedLayer, hardware_aware,
                                 map_network, place_layer, program_pe, weight_levels)

PE = PEConfig()
IDEAL = replace(PE, sigma_us=0.0, g_off_us=0.0, stuck_off_fraction=0.0)
US = 1e-6


def test_paper_network_needs_321_pe_equivalents():
    # A PE is 128 rows x 24 columns = 12 differential pairs (neurons). A layer takes
    # ceil(fan_in / 128) row-stacked PEs x ceil(fan_out / 12) PEs side by side:
    #   800 -> 480: ceil(800 / 128) = 7 (6.25 rounded up) x 480 / 12 = 40 -> 280
    #   480 -> 120: ceil(480 / 128) = 4 (3.75)            x 120 / 12 = 10 ->  40
    #   120 ->  11: ceil(120 / 128) = 1                    x ceil(11 / 12) = 1 ->   1
    #   total 280 + 40 + 1 = 321, the paper's count.
    # Counting devices instead, 2 * (800*480 + 480*120 + 120*11) = 885,840 devices / 3,072 per
    # PE = 288.4 -> 289, which is not the paper's number: it counts whole tiles. A bias row per
    # layer (801, 481, 121 rows) would not change the tile count.
    m = map_network([800, 480, 120, 11])
    assert [(p.row_pes, p.col_pes, p.pes) for p in m.layers] == [(7, 40, 280), (4, 10, 40),
                                                                 (1, 1, 1)]
    assert m.pes == 321
    assert sum(place_layer(a + 1, b, PE).pes for a, b in [(800, 480), (480, 120), (120, 11)]) \
        == 321
    devices = 2 * (800 * 480 + 480 * 120 + 120 * 11)
    assert -(-devices // (128 * 24)) == 289
    assert m.layers[2].device_utilisation == pytest.approx(120 * 11 / (128 * 12))


@pytest.mark.parametrize("n_in,n_out,pes", [(128, 12, 1), (129, 12, 2), (128, 13, 2),
                                            (1, 1, 1), (256, 24, 4)])
def test_tile_counts_at_the_edges(n_in, n_out, pes):
    assert place_layer(n_in, n_out, PE).pes == pes


def test_paper_pe_values_and_states():
    # 15 states evenly spaced in [0, 150] µS: step 150 / 14 = 10.714 µS; 0.2 V read.
    assert PE.neurons == 12 and PE.step_us == pytest.approx(150 / 14) and PE.read_v == 0.2
    rng = np.random.default_rng(0)
    g = program_pe(np.arange(-14, 15).reshape(29, 1) * np.ones((1, 12), dtype=np.int64),
                   IDEAL, rng)
    assert g.shape == (128, 24)
    np.testing.assert_allclose(g[:29, 0] / US, np.maximum(np.arange(-14, 15), 0) * 150 / 14)
    np.testing.assert_allclose(g[:29, 1] / US, np.maximum(-np.arange(-14, 15), 0) * 150 / 14)
    assert np.all(g[29:] == 0)


def test_too_many_levels_for_the_window_is_one_line():
    # 40 states in 150 µS are 150 / 39 = 3.85 µS apart, below the 4 µS off-state bound; the most
    # that fit are 38 (150 / 37 = 4.05 µS > 4 µS, 150 / 38 = 3.95 µS is not).
    assert PE.max_levels == 38
    replace(PE, levels=38).validate()
    with pytest.raises(ValueError) as exc:
        replace(MacroConfig(), pe=replace(PE, levels=40)).validate()
    msg = str(exc.value)
    assert "\n" not in msg and "macro.pe.levels" in msg and "38" in msg, msg


@pytest.mark.parametrize("key,value", [("levels", 1), ("cols", 23), ("read_v", 0.0),
                                       ("sigma_us", -1.0), ("stuck_off_fraction", 1.5),
                                       ("g_max_us", 0.0)])
def test_bad_pe_parameters_are_one_line(key, value):
    with pytest.raises(ValueError) as exc:
        replace(PE, **{key: value}).validate()
    msg = str(exc.value)
    assert "\n" not in msg and f"pe.{key}" in msg, msg


def test_blocks_and_networks_that_do_not_fit():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="129 rows x 12 neurons does not fit"):
        program_pe(np.zeros((129, 12), dtype=np.int64), PE, rng)
    with pytest.raises(ValueError, match="13 neurons"):
        program_pe(np.zeros((128, 13), dtype=np.int64), PE, rng)
    with pytest.raises(ValueError, match="integers in"):
        program_pe(np.full((2, 2), 15), PE, rng)
    with pytest.raises(ValueError, match="at least an input and an output"):
        map_network([800])
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        map_network([800, 0, 11])
    layer = ProgrammedLayer(np.ones((3, 5)), PE, rng)
    with pytest.raises(ValueError, match="takes 5 features"):
        layer.current(np.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        layer.current(np.full((2, 5), 2.0))


def test_on_grid_weights_are_exact_through_stacked_pes():
    # Weights on the 29-value grid q / 14 and ideal devices: the currents of 7 row-stacked PEs
    # summed in analog equal the full product V_read * G_max * x @ W.T exactly (up to float).
    rng = np.random.default_rng(1)
    q = rng.integers(-14, 15, (30, 800))
    layer = ProgrammedLayer(q / 14, IDEAL, rng, w_max=1.0)
    assert layer.placement.row_pes == 7 and layer.placement.col_pes == 3
    x = (rng.random((5, 800)) < 0.2).astype(float)
    np.testing.assert_allclose(layer.current(x), layer.ideal_current(x), rtol=1e-12,
                               atol=1e-18)
    np.testing.assert_allclose(layer.pe_currents(x).sum(axis=-3).reshape(5, -1)[:, :30],
                               layer.current(x))


def test_quantisation_error_is_at_most_half_a_state_per_driven_row():
    # Off-grid weights, ideal devices: each weight is off by at most half a state, so a neuron's
    # current is off by at most V_read * step / 2 * (driven rows) = 0.2 V * 5.357 µS * sum(x).
    rng = np.random.default_rng(2)
    w = rng.normal(0, 1, (20, 300))
    layer = ProgrammedLayer(w, IDEAL, rng)
    x = rng.random((8, 300))
    err = np.abs(layer.current(x) - layer.ideal_current(x))
    bound = 0.2 * (150 / 14) / 2 * US * x.sum(axis=1, keepdims=True)
    assert np.all(err <= bound * (1 + 1e-9)) and err.max() > 0


def test_stuck_off_devices_shrink_the_currents_by_the_hand_worked_amount():
    # Every weight at state +7 (75 µS nominal on G+, G- off), no spread, 4 µS off bound,
    # a quarter of the devices stuck off. Per pair:
    #   E[G+] = (1 - f) * 75 + f * 2 = 56.25 + 0.5 = 56.75 µS   (stuck reads U[0, 4), mean 2)
    #   E[G-] = 2 µS                                             (off either way)
    #   E[G+ - G-] = 54.75 µS, against the ideal 75 µS: 27 % smaller, never larger on average.
    pe = replace(PE, sigma_us=0.0, stuck_off_fraction=0.25)
    rng = np.random.default_rng(3)
    n_in, n_out = 512, 240
    layer = ProgrammedLayer(np.full((n_out, n_in), 0.5), pe, rng, w_max=1.0)
    x = np.ones((1, n_in))
    got = layer.current(x)[0] / (0.2 * n_in * US)       # mean G+ - G- per row, µS
    ideal = layer.ideal_current(x)[0] / (0.2 * n_in * US)
    np.testing.assert_allclose(ideal, 75.0)
    # Spread of one pair's difference: Var = f (1-f) (75 - 2)^2 + (1-f) 0 + f 16/12 + 16/12,
    # ~1000 µS² + 1.7 µS²; a neuron averages 512 pairs and we average 240 neurons:
    # standard error sqrt(1002 / (512 * 240)) = 0.09 µS.
    assert got.mean() == pytest.approx(54.75, abs=0.5)
    assert np.all(got < ideal)


def test_spread_alone_is_unbiased_with_the_hand_worked_scatter():
    # Ideal off state (0 µS), no stuck devices, sigma = 2 µS on every programmed device; all
    # weights non-zero (states +-1..+-14, never clipped at 0 µS: 10.7 µS is 5 sigma). With all
    # n rows driven, a neuron's current error is 0.2 V * sum of n N(0, 2 µS) draws:
    # std = 0.2 V * 2 µS * sqrt(400) = 8 µA, mean 0.
    pe = replace(PE, sigma_us=2.0, g_off_us=0.0, stuck_off_fraction=0.0)
    rng = np.random.default_rng(4)
    n_in, n_out = 400, 600
    q = rng.integers(1, 15, (n_out, n_in)) * rng.choice([-1, 1], (n_out, n_in))
    layer = ProgrammedLayer(q / 14, pe, rng, w_max=1.0)
    x = np.ones((1, n_in))
    err = (layer.current(x) - layer.ideal_current(x))[0]
    assert abs(err.mean()) < 3 * 8e-6 / np.sqrt(n_out)
    assert err.std() == pytest.approx(8e-6, rel=0.1)


def test_default_non_idealities_shrink_but_keep_the_direction():
    # Paper-default devices (2 µS spread, 1 % stuck off, off state U[0, 4) µS) on a random
    # layer: the currents keep the ideal's direction (correlation > 0.95) and shrink
    # (least-squares slope below 1: stuck-off devices and the off partner's mean 2 µS both
    # pull |G+ - G-| down).
    rng = np.random.default_rng(5)
    w = rng.normal(0, 1, (120, 480))
    layer = ProgrammedLayer(w, PE, rng)
    x = (rng.random((50, 480)) < 0.3).astype(float)
    ideal, got = layer.ideal_current(x).ravel(), layer.current(x).ravel()
    slope = float(ideal @ got / (ideal @ ideal))
    assert np.corrcoef(ideal, got)[0, 1] > 0.95
    assert 0.8 < slope < 1.0


def test_weight_levels_and_hardware_aware_round_trip():
    q, w_max = weight_levels(np.array([[0.5, -1.0, 0.04]]), PE)
    assert w_max == 1.0 and q.tolist() == [[7, -14, 1]]
    q, w_max = weight_levels(np.zeros((2, 2)), PE)
    assert w_max == 1.0 and not q.any()
    with pytest.raises(ValueError, match="w_max"):
        weight_levels(np.ones((2, 2)), PE, w_max=0.0)
    hw = hardware_aware(PE)
    assert (hw.levels, hw.g_max_us, hw.g_off_us, hw.sigma_us, hw.stuck_off_fraction) == (
        15, 150.0, 4.0, 2.0, 0.01)
