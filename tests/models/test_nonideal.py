# SPDX-License-Identifier: MIT
"""Device non-idealities (``chip.nonideal``): off is bit-identical; each effect's direction and
magnitude on a small array against a hand calculation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dfasim.models.chip import ChipConfig
from dfasim.models.crossbar import AnalogMatrix
from dfasim.models.crossbar.nonideal import (drift_sigma, ir_attenuation, ir_nodal,
                                             read_noise_std, stuck_masks, wan_sigma)
from dfasim.models.rram.noise import IdealDevice, PolynomialSpread


def _chip(**kw) -> ChipConfig:
    base = {"crossbar.adc_bits": 0, "datapath.input_bits": 0, "datapath.error_bits": 0}
    base.update(kw)
    return ChipConfig().updated(base).validate()


def _matrix(chip, weight, noise=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return AnalogMatrix.from_weight(weight, chip, noise or IdealDevice(), gen,
                                    dtype=torch.float64)


# ----------------------------------------------------------------------------- all off

def test_switches_off_are_bit_identical():
    """Every effect off, whatever its parameters: same draws, same reads, same writes."""
    w = torch.randn(20, 300, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = (torch.rand(7, 300, generator=torch.Generator().manual_seed(2)) < 0.3).double()
    e = torch.randn(7, 20, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    base = ChipConfig().validate()
    odd = base.updated({"nonideal.read_noise_rel": 0.3, "nonideal.age_s": 1e5,
                        "nonideal.stuck_off_rate": 0.5, "nonideal.wire_row_ohm": 1e3,
                        "nonideal.ir_activity": 0.2}).validate()
    outs = []
    for chip in (base, odd):
        m = _matrix(chip, w, PolynomialSpread(), seed=4)
        m.calibrate(x, e)
        y, t = m.forward(x), m.transpose(e)
        m.update(0.01 * torch.ones_like(w))
        outs.append((y, t, m.g_a.clone(), m.generator.get_state()))
        assert m.read_conductances()[0] is m.g_a          # no copy, no arithmetic
    for a, b in zip(*outs):
        assert torch.equal(a, b)


def test_validation_names_the_key():
    with pytest.raises(ValueError, match="nonideal.stuck_on_rate"):
        ChipConfig().updated({"nonideal.stuck_on_rate": 1.5}).validate()
    with pytest.raises(ValueError, match="nonideal.drift "):
        ChipConfig().updated({"nonideal.drift": 1}).validate()
    with pytest.raises(ValueError, match="nonideal.age_s"):
        ChipConfig().updated({"nonideal.age_s": -1.0}).validate()


# ----------------------------------------------------------------------------- read noise

def test_read_noise_fresh_per_read_with_hand_std():
    """64 spiking rows, ideal ADC, differential, w_max = 1: one output's read-to-read std is
    sigma * sqrt(2 * 64) * weight_per_us with sigma = 0.01 * 10 µS = 0.1 µS and
    weight_per_us = 1 / (15 * 0.6 µS): 0.1 * 11.3137 / 9 = 0.12571."""
    chip = _chip(**{"nonideal.read_noise": True})
    w = torch.full((3, 64), 0.5, dtype=torch.float64)
    w[0, 0] = 1.0
    m = _matrix(chip, w)
    x = torch.ones(20000, 64, dtype=torch.float64)
    y = m.forward(x)
    ideal = x[:1] @ m.target_weight().t()
    assert y.mean(0) == pytest.approx(ideal[0], abs=4 * 0.1257 / math.sqrt(20000))
    assert y.std(0) == pytest.approx(torch.full((3,), 0.1 * math.sqrt(128) / 9), rel=0.03)
    # Transposed read, 3 unit errors: sigma * sqrt(2 * 3) / 9 per input.
    t = m.transpose(torch.ones(20000, 3, dtype=torch.float64))
    assert t.std(0).mean() == pytest.approx(0.1 * math.sqrt(6) / 9, rel=0.03)
    # Same seed, same draws.
    assert torch.equal(_matrix(chip, w).forward(x[:5]), _matrix(chip, w).forward(x[:5]))


def test_read_noise_through_adc_matches_ideal_path():
    """A fine 14-bit ADC of fixed range sees the same read noise (the look-up is bypassed)."""
    chip = _chip(**{"nonideal.read_noise": True, "crossbar.adc_bits": 14,
                    "crossbar.adc_range": "fixed", "crossbar.adc_full_scale_us": 700.0})
    w = torch.full((2, 64), 0.5, dtype=torch.float64)
    w[0, 0] = 1.0                                                   # w_max = 1
    m = _matrix(chip, w)
    y = m.forward(torch.ones(20000, 64, dtype=torch.float64))
    assert y.std(0) == pytest.approx(torch.full((2,), 0.1 * math.sqrt(128) / 9), rel=0.03)
    assert float(read_noise_std(0.1, torch.tensor(64.0))) == pytest.approx(0.8)


# ----------------------------------------------------------------------------- drift

def test_wan_sigma_hand_values():
    """aihwkit's quartic at g = 10 µS (x = 0.25) and 1 µS (x = 0.025), by hand."""
    g = torch.tensor([10.0, 1.0], dtype=torch.float64)
    s1 = wan_sigma(g, 1.0)
    sd = wan_sigma(g, 86400.0)
    # 0.348 + 16.030/4 - 43.853/16 + 45.393/64 - 16.815/256
    assert float(s1[0]) == pytest.approx(0.348 + 4.0075 - 2.7408125 + 0.70926563 - 0.06568359)
    # 0.701 + 22.086/4 - 50.773/16 + 47.095/64 - 16.458/256
    assert float(sd[0]) == pytest.approx(0.701 + 5.5215 - 3.1733125 + 0.73585938 - 0.06428906)
    assert float(s1[1]) == pytest.approx(0.348 + 0.40075 - 0.027408125 + 0.000709266
                                         - 0.0000065684, rel=1e-6)


def test_drift_sigma_interpolation():
    g = torch.tensor([10.0, 1.0], dtype=torch.float64)
    s1, sd, s2 = (wan_sigma(g, t) for t in (1.0, 86400.0, 172800.0))
    assert torch.equal(drift_sigma(g, 1.0), torch.zeros(2, dtype=torch.float64))
    # 1 day at 10 µS: sqrt(3.72076^2 - 2.25843^2) = 2.9570 µS.
    day = drift_sigma(g, 86400.0)
    assert float(day[0]) == pytest.approx(2.9570, abs=2e-4)
    assert torch.allclose(day, torch.sqrt(sd ** 2 - s1 ** 2))
    # Half way in log10 t: half the added variance.
    mid = drift_sigma(g, math.sqrt(86400.0))
    assert torch.allclose(mid ** 2, 0.5 * (sd ** 2 - s1 ** 2))
    # Held at the 2-day value beyond 2 days.
    assert torch.allclose(drift_sigma(g, 1e7), torch.sqrt((s2 ** 2 - s1 ** 2).clamp(min=0)))


def test_drift_spreads_weights_with_age():
    """Ideal programming, every weight at +w_max (G+ = 10 µS, G- = 1 µS): after one day the
    effective weight spreads by sqrt(2.9570^2 + 0.98605^2) / 9 = 0.34633 (w_max = 1), zero
    mean; the same devices move further with age (one draw per device)."""
    w = torch.ones(64, 64, dtype=torch.float64)
    young = _matrix(_chip(**{"nonideal.drift": True, "nonideal.age_s": 1.0}), w)
    assert torch.equal(young.effective_weight(), w)
    chip = _chip(**{"nonideal.drift": True, "nonideal.age_s": 86400.0})
    m = _matrix(chip, w)
    dev = m.effective_weight() - 1.0
    assert float(dev.std()) == pytest.approx(math.hypot(2.9570, 0.98605) / 9, rel=0.04)
    assert abs(float(dev.mean())) < 4 * 0.3463 / 64
    assert torch.equal(m.g_a, torch.full_like(m.g_a, 10.0))     # programmed state kept
    g_a, g_b, _ = m.read_conductances()
    m.chip = chip.updated({"nonideal.age_s": math.sqrt(86400.0)})
    half = m.effective_weight() - 1.0
    # Same draws: at sqrt(1 day) the variance is half, so every deviation scales by 1/sqrt(2)
    # wherever the clamp at 0 µS did not act.
    free = (g_a > 0) & (g_b > 0)
    assert int(free.sum()) > 3300           # P(G- > 0) = P(z > -1.014) = 0.845: 3461
    assert torch.allclose(half[free], dev[free] / math.sqrt(2), atol=1e-12)


# ----------------------------------------------------------------------------- stuck devices

def test_stuck_devices_pinned_and_ignore_writes():
    chip = _chip(**{"nonideal.stuck": True, "nonideal.stuck_off_rate": 0.1,
                    "nonideal.stuck_on_rate": 0.05})
    w = torch.zeros(64, 64, dtype=torch.float64)
    m = _matrix(chip, w)
    off, on = m.stuck["a"]
    n = off.numel()
    # Binomial: 409.6 +- 24 stuck off, 204.8 +- 17.4 stuck on.
    assert abs(int(off.sum()) - 0.1 * n) < 4 * math.sqrt(n * 0.1 * 0.9)
    assert abs(int(on.sum()) - 0.05 * n) < 4 * math.sqrt(n * 0.05 * 0.95)
    assert not (off & on).any()
    assert torch.equal(m.g_a[off], torch.zeros(int(off.sum()), dtype=torch.float64))
    assert torch.equal(m.g_a[on], torch.full((int(on.sum()),), 10.0, dtype=torch.float64))
    # A weight of 0 with G+ stuck on and G- healthy at 1 µS reads (10 - 1) / 9 = w_max = 1.
    healthy_b = ~(m.stuck["b"][0] | m.stuck["b"][1])
    sel = on & healthy_b
    assert torch.allclose(m.effective_weight()[sel], torch.ones(int(sel.sum()),
                                                                dtype=torch.float64))
    # Write +w_max everywhere: stuck devices keep their value, the others move.
    before = m.g_a.clone()
    m.update(torch.ones_like(w), rounding="nearest")
    assert torch.equal(m.g_a[off | on], before[off | on])
    free = ~(off | on)
    assert torch.equal(m.g_a[free], torch.full((int(free.sum()),), 10.0, dtype=torch.float64))
    # Fixed per chip: the same seed gives the same stuck devices.
    again = _matrix(chip, w)
    assert torch.equal(again.stuck["a"][0], off) and torch.equal(again.stuck["a"][1], on)
    o2, n2 = stuck_masks((1000,), 0.0, 0.0, torch.Generator().manual_seed(0))
    assert not o2.any() and not n2.any()


# ----------------------------------------------------------------------------- IR drop

def test_ir_first_order_hand_values_and_nodal():
    """4 x 4 devices at 10 µS, 100 Ω per pitch (r G = 1e-3), every row driven. Far corner
    (row 0, last column): delta_row = r G (4 + 3 + 2 + 1) = 0.01, delta_col = r G (1 + 2 + 3
    + 4) = 0.01, factor 1 / 1.02 = 0.98039; near corner (last row, column 0):
    delta = r G (4 + 4) = 0.008, factor 1 / 1.008 = 0.99206."""
    g = np.full((4, 4), 10.0)
    f = ir_attenuation(torch.tensor(g), 100.0, 100.0).numpy()
    assert f[0, 3] == pytest.approx(1 / 1.02, rel=1e-12)
    assert f[3, 0] == pytest.approx(1 / 1.008, rel=1e-12)
    assert f.min() == f[0, 3] and f.max() == f[3, 0]            # far corner attenuated most
    dev, col = ir_nodal(g, 100.0, 100.0)
    exact = dev / (g * 1e-6)
    assert np.unravel_index(exact.argmin(), exact.shape) == (0, 3)
    assert np.abs(f - exact).max() < 1e-4
    # Column currents: ideal 4 x 10 µS x 1 V = 40 µA, reduced by the drop.
    assert col == pytest.approx(dev.sum(0), rel=1e-9)
    assert (col < 40e-6).all() and col[3] < col[0]
    # Half the rows' current on the bit lines halves delta_col.
    f_half = ir_attenuation(torch.tensor(g), 100.0, 100.0, activity=0.5).numpy()
    assert f_half[0, 3] == pytest.approx(1 / 1.015, rel=1e-12)


def test_ir_nodal_agrees_on_a_16x16_array_at_32nm_wires():
    """NeuroSim's 32 nm wires (1.468 / 4.405 Ω per pitch), 5.5 µS everywhere."""
    g = np.full((16, 16), 5.5)
    dev, _ = ir_nodal(g, 1.468, 4.405)
    f = ir_attenuation(torch.tensor(g), 1.468, 4.405).numpy()
    assert np.abs(f - dev / (g * 1e-6)).max() < 1e-5


def test_ir_drop_in_the_matrix_layout():
    """A 4 x 8 crossbar, differential: the physical row holds (10, 1) µS pairs. Weight (out 3,
    in 0) uses columns 6 (G+) and 7 (G-) of row 0. With r_row = r_col = 100 Ω (G in S):
    delta_row(col 6) = r * sum_j' G_j' (min(6, j') + 1) = 100 * 1e-6 * (10*1 + 1*2 + 10*3 +
    1*4 + 10*5 + 1*6 + 10*7 + 1*7) = 0.0186; delta_col(row 0) = r * G * (1 + 2 + 3 + 4) =
    100 * 1e-6 * 10 * 10 = 0.01 for G+, 0.001 for G-."""
    chip = _chip(**{"crossbar.rows": 4, "crossbar.cols": 8, "crossbar.lines_per_adc": 4,
                    "nonideal.ir_drop": True, "nonideal.wire_row_ohm": 100.0,
                    "nonideal.wire_col_ohm": 100.0})
    w = torch.ones(4, 4, dtype=torch.float64)
    m = _matrix(chip, w)
    g_a, g_b, _ = m.read_conductances()
    d_row_a = 100e-6 * (10 * 1 + 1 * 2 + 10 * 3 + 1 * 4 + 10 * 5 + 1 * 6 + 10 * 7 + 1 * 7)
    d_row_b = 100e-6 * (10 * 1 + 1 * 2 + 10 * 3 + 1 * 4 + 10 * 5 + 1 * 6 + 10 * 7 + 1 * 8)
    assert float(g_a[3, 0]) == pytest.approx(10 / (1 + d_row_a + 0.01), rel=1e-12)
    assert float(g_b[3, 0]) == pytest.approx(1 / (1 + d_row_b + 0.001), rel=1e-12)
    eff = m.effective_weight()
    assert eff[3, 0] == eff.min() and (eff < 1).all()
    assert torch.equal(m.g_a, torch.full_like(m.g_a, 10.0))     # programmed state kept
    y = m.forward(torch.ones(1, 4, dtype=torch.float64))
    assert torch.allclose(y[0], eff.sum(1))


def test_offset_mapping_with_every_effect_reads():
    """Offset mapping, two row tiles, every effect on, 4-bit ADC: reads run, the reference
    column is attenuated like any other, same seed gives the same result."""
    chip = ChipConfig().updated({
        "device.mapping": "offset", "crossbar.rows": 8, "crossbar.cols": 6,
        "crossbar.lines_per_adc": 2, "nonideal.read_noise": True, "nonideal.drift": True,
        "nonideal.age_s": 3600.0, "nonideal.stuck": True, "nonideal.stuck_on_rate": 0.01,
        "nonideal.ir_drop": True}).validate()
    w = torch.randn(7, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    x = (torch.rand(9, 12, generator=torch.Generator().manual_seed(6)) < 0.5).double()
    e = torch.randn(9, 7, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    runs = []
    for _ in range(2):
        m = _matrix(chip, w, PolynomialSpread(), seed=8)
        m.calibrate(x, e)
        runs.append((m.forward(x), m.transpose(e), m.read_conductances()[2]))
        assert runs[-1][0].isfinite().all() and runs[-1][1].isfinite().all()
    for a, b in zip(*runs):
        assert torch.equal(a, b)
    no_ir = _matrix(chip.updated({"nonideal.ir_drop": False}), w, PolynomialSpread(), seed=8)
    assert (runs[0][2] <= no_ir.read_conductances()[2] + 1e-12).all()


def test_advance_ages_and_rewrites_restart_relaxation():
    """Ageing by one day equals a chip read one day after programming; a device re-written
    after that is young again (its own age, 1 s: no relaxation on top of programming)."""
    w = torch.ones(32, 32, dtype=torch.float64)
    young = _matrix(_chip(**{"nonideal.drift": True}), w)
    old = _matrix(_chip(**{"nonideal.drift": True, "nonideal.age_s": 86401.0}), w)
    young.advance(86400.0)
    assert torch.allclose(young.effective_weight(), old.effective_weight(), atol=1e-12)
    delta = torch.zeros_like(w)
    delta[0] = -1.0                                                 # row 0: w_max -> 0
    young.update(delta, rounding="nearest")
    g_a, g_b, _ = young.read_conductances()
    assert torch.equal(g_a[0], torch.full((32,), 1.0, dtype=torch.float64))   # re-written
    assert not torch.equal(g_b[0], young.g_b[0])       # G- stayed at level 0: not written
    assert not torch.equal(g_a[1:], young.g_a[1:])                # the rest still relaxed
    # Vector ages agree with scalar ones.
    g = torch.tensor([10.0, 5.5], dtype=torch.float64)
    for t in (0.5, 1.0, 300.0, 86400.0, 1e5, 1e6):
        vec = drift_sigma(g, torch.full((2,), t, dtype=torch.float64))
        sca = drift_sigma(g, max(t, 1.0))
        assert torch.allclose(vec, sca, atol=1e-12)
