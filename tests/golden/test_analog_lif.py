# SPDX-License-Identifier: MIT
"""The golden analog LIF layer: its per-bin update equals the macro's behavioural neuron when the
refractory period is aligned to the bins; it trains by BPTT; hardware-aware quantisation."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from dfasim.golden.analog_lif import (AnalogLIFLayer, AnalogLIFParams, HardwareAwareConfig,
                                      analog_lif_forward, device_conductances,
                                      quantise_differential)
from dfasim.models.macro import AnalogNeuron, NeuronConfig, PEConfig, ProgrammedLayer, \
    hardware_aware

from ..models.macro import nmnist_drive

ALIGNED = replace(NeuronConfig(), refractory="aligned")
HW = hardware_aware(PEConfig())
K = 50_000


def _golden_spikes(current: np.ndarray, params: AnalogLIFParams) -> np.ndarray:
    with torch.no_grad():
        s, _ = analog_lif_forward(torch.from_numpy(current), params)
    return s.numpy().astype(np.int64)


def test_params_follow_the_neuron_and_are_scale_invariant():
    # bins of 5 ms, tau = 50 ms: beta = exp(-0.1); r = (1 - beta) * 0.05 / 1 µS;
    # t_ref = 2.5 ms -> ceil(0.5) = 1 whole bin.
    p1 = AnalogNeuron(ALIGNED, 1.0).golden_params(5e-3)
    pk = AnalogNeuron(ALIGNED, K).golden_params(5e-3)
    assert p1.beta == pytest.approx(np.exp(-0.1), rel=1e-15)
    assert p1.input_gain_v_per_a == pytest.approx((1 - np.exp(-0.1)) * 0.05 / 1e-6)
    assert p1.refractory_bins == pk.refractory_bins == 1
    assert pk.beta == pytest.approx(p1.beta, rel=1e-14)
    assert pk.input_gain_v_per_a == pytest.approx(p1.input_gain_v_per_a, rel=1e-12)


@pytest.mark.parametrize("k", [1.0, K])
def test_golden_equals_aligned_neuron_on_synthetic_input(k):
    # Condition: the neuron's refractory period is aligned to the bins (held at reset to the end
    # of the crossing's bin, then ceil(t_ref / dt) bins). Then every bin's spike is the same.
    rng = np.random.default_rng(13)
    cfg = replace(ALIGNED, t_ref_s=7e-3)      # 2 whole bins of 5 ms
    i_unit = cfg.g_leak_s / cfg.tia_gain      # the current of a 1 V asymptote
    cur = i_unit * rng.uniform(-1.0, 3.0, (200, 48))
    neuron = AnalogNeuron(cfg, k)
    want = neuron.simulate(cur, 5e-3)
    got = _golden_spikes(cur, neuron.golden_params(5e-3))
    assert want.counts.sum() > 300
    np.testing.assert_array_equal(got, want.raster)


def test_golden_equals_aligned_neuron_on_real_nmnist_through_the_pes():
    drive, bin_s = nmnist_drive(2, bins=300)
    rng = np.random.default_rng(2)
    layer = ProgrammedLayer(rng.uniform(-0.5, 1.0, (36, drive.shape[1])), PEConfig(), rng)
    cur = layer.current(drive)
    neuron = AnalogNeuron(ALIGNED, K)
    want = neuron.simulate(cur, bin_s)
    assert want.counts.sum() > 50
    np.testing.assert_array_equal(_golden_spikes(cur, neuron.golden_params(bin_s)),
                                  want.raster)


def test_free_running_refractory_is_where_the_golden_layer_stops_being_exact():
    # With the circuit's own refractory (t_ref = 0.5 ms from the crossing, not aligned) and an
    # asymptote of 3 V, the neuron refires inside a 5 ms bin: the climb from 0 V to 0.5 V takes
    # 50 ms * ln(3 / 2.5) = 9.1 ms, longer than a bin, so at most one spike per bin -- but it
    # resumes integrating mid-bin, so it fires more often than the bin-reset golden layer.
    cfg = replace(NeuronConfig(), t_ref_s=0.5e-3)
    cur = np.full((100, 1), 3.0 * cfg.g_leak_s / cfg.tia_gain)
    neuron = AnalogNeuron(cfg, 1.0)
    free = neuron.simulate(cur, 5e-3).counts[0]
    golden = _golden_spikes(cur, neuron.golden_params(5e-3)).sum()
    aligned = AnalogNeuron(replace(cfg, refractory="aligned")).simulate(cur, 5e-3).counts[0]
    assert golden == aligned and free > golden


def test_layer_matches_the_neuron_with_its_own_matmul():
    # The full layer (its own x @ W.T) on on-grid weights equals the behavioural neuron on the
    # PE currents of the same weights with ideal devices.
    rng = np.random.default_rng(21)
    q = rng.integers(-4, 15, (10, 64))
    x = (rng.random((120, 64)) < 0.3).astype(np.float64)
    ideal_pe = replace(PEConfig(), sigma_us=0.0, g_off_us=0.0, stuck_off_fraction=0.0)
    cur = ProgrammedLayer(q / 14, ideal_pe, rng, w_max=1.0).current(x)
    neuron = AnalogNeuron(ALIGNED, K)
    want = neuron.simulate(cur, 5e-3)
    layer = AnalogLIFLayer(64, 10, neuron.golden_params(5e-3), 0.2 * 150e-6).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(q / 14))
        s, _ = layer(torch.from_numpy(x))
    assert want.counts.sum() > 20
    np.testing.assert_array_equal(s.numpy().astype(np.int64), want.raster)


def _rate_loss(layer, x, target):
    s, _ = layer(x)
    return ((s.mean(0) - target) ** 2).mean()


@pytest.mark.parametrize("hardware", [None, "quantised"])
def test_bptt_step_lowers_a_loss(hardware):
    torch.manual_seed(0)
    params = AnalogNeuron(NeuronConfig()).golden_params(5e-3)
    hw = HW if hardware else None
    layer = AnalogLIFLayer(40, 6, params, 0.2 * 150e-6, hardware=hw, noisy=False)
    x = (torch.rand(30, 8, 40) < 0.3).float()
    target = torch.linspace(0.1, 0.6, 6)
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    before = _rate_loss(layer, x, target)
    before.backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    for _ in range(5):
        opt.step()
        opt.zero_grad()
        _rate_loss(layer, x, target).backward()
    with torch.no_grad():
        after = _rate_loss(layer, x, target)
    assert after < before


def test_quantisation_is_straight_through():
    w = torch.tensor([-1.4, -0.5, 0.0, 0.031, 0.5, 0.99], requires_grad=True)
    q = quantise_differential(w, HW, noisy=False)
    # round(w * 14) / 14, clamped to [-1, 1]
    np.testing.assert_allclose(q.detach().numpy(), np.array([-14, -7, 0, 0, 7, 14]) / 14)
    q.sum().backward()
    assert w.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_device_draws_match_the_hand_worked_mean():
    # State +7 on G+, f = 0.25 stuck off, no spread: E[G+ - G-] = 0.75 * 75 + 0.25 * 2 - 2
    # = 54.75 µS (see tests/models/macro/test_pe.py), i.e. 0.365 of G_max.
    hw = replace(HW, sigma_us=0.0, stuck_off_fraction=0.25)
    gen = torch.Generator().manual_seed(0)
    g_pos, g_neg = device_conductances(torch.full((200_000,), 7), hw, gen)
    assert float((g_pos - g_neg).mean()) == pytest.approx(54.75, abs=0.3)
    assert float(g_neg.max()) < 4.0
    w = torch.full((200_000,), 0.5, requires_grad=True)
    noisy = quantise_differential(w, hw, generator=gen)
    assert float(noisy.detach().mean()) == pytest.approx(54.75 / 150, abs=0.003)
    noisy.sum().backward()
    assert torch.all(w.grad == 1)


@pytest.mark.parametrize("kwargs,name", [({"beta": 0.0}, "beta"), ({"beta": 1.5}, "beta"),
                                         ({"input_gain_v_per_a": -1.0}, "input_gain"),
                                         ({"v_reset": 0.6}, "v_reset"),
                                         ({"refractory_bins": -1}, "refractory_bins")])
def test_bad_golden_parameters_are_one_line(kwargs, name):
    base = dict(beta=0.9, input_gain_v_per_a=1e3, v_th=0.5)
    with pytest.raises(ValueError) as exc:
        AnalogLIFParams(**{**base, **kwargs})
    assert "\n" not in str(exc.value) and name in str(exc.value)
    with pytest.raises(ValueError, match="stuck_off_fraction"):
        HardwareAwareConfig(15, 150.0, 4.0, 2.0, 2.0)
