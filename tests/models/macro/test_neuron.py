# SPDX-License-Identifier: MIT
"""The macro's behavioural analog neuron: closed-form spikes, exactness against Euler, the
proportional time-scaling property on real N-MNIST input, and what breaks it."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from dfasim.models.macro import (AnalogNeuron, MacroConfig, NeuronConfig, PEConfig,
                                 ProgrammedLayer, whole_bins)

from . import nmnist_drive

K_PAPER = 50_000
CFG = NeuronConfig()


def _current_for(v_inf: float, cfg: NeuronConfig = CFG) -> float:
    """Differential current whose membrane asymptote ``a I / g`` is ``v_inf`` volts."""
    return v_inf * cfg.g_leak_s / cfg.tia_gain


def _one_line(exc, name) -> None:
    msg = str(exc.value)
    assert "\n" not in msg and str(name) in msg, msg


# ------------------------------------------------------------------ parameters
def test_defaults_are_the_documented_design_point():
    cfg = MacroConfig()
    cfg.validate()
    n = cfg.neuron
    # 1 pF on chip at k = 50,000 -> 50 nF at k = 1; tau = 50 nF / 1 µS = 50 ms (1 µs on chip).
    assert n.c_mem_f == pytest.approx(50e-9) and n.tau_s == pytest.approx(50e-3)
    assert n.at_scale(K_PAPER).c_mem_f == pytest.approx(1e-12)
    assert n.at_scale(K_PAPER).tau_s == pytest.approx(1e-6)
    assert n.at_scale(K_PAPER).spike_width_s == pytest.approx(100e-9)
    assert cfg.data_bin_s == pytest.approx(5e-3)


@pytest.mark.parametrize("k", [0, -1.0, float("nan"), float("inf")])
def test_bad_time_scale_is_one_line(k):
    with pytest.raises(ValueError) as exc:
        AnalogNeuron(CFG, time_scale=k)
    _one_line(exc, "time_scale")
    with pytest.raises(ValueError) as exc:
        replace(MacroConfig(), time_scale=k).validate()
    _one_line(exc, "macro.time_scale")


@pytest.mark.parametrize("key,value", [("c_mem_f", 0.0), ("g_leak_s", -1e-6), ("g_leak_s", 0.0),
                                       ("v_th_v", -0.1), ("t_ref_s", -1e-3),
                                       ("spike_width_s", 0.0), ("refractory", "clocked")])
def test_bad_neuron_parameters_are_one_line(key, value):
    with pytest.raises(ValueError) as exc:
        replace(MacroConfig(), neuron=replace(CFG, **{key: value})).validate()
    _one_line(exc, f"macro.neuron.{key}")
    with pytest.raises(ValueError):
        AnalogNeuron(replace(CFG, **{key: value}))


def test_inconsistent_voltages_and_types():
    with pytest.raises(ValueError, match="v_reset_v"):
        replace(CFG, v_reset_v=0.5).validate()
    with pytest.raises(ValueError, match="supply_v"):
        replace(CFG, v_th_v=2.0).validate()
    with pytest.raises(TypeError, match="c_mem_f"):
        replace(CFG, c_mem_f=True).validate()
    with pytest.raises(TypeError):
        AnalogNeuron(PEConfig())
    n = AnalogNeuron(CFG)
    with pytest.raises(ValueError, match="bin_s"):
        n.simulate(np.zeros((3, 2)), 0.0)
    with pytest.raises(ValueError, match="v0_v"):
        n.simulate(np.zeros((3, 2)), 1e-3, v0_v=0.6)


# ------------------------------------------------------------------ hand-worked cases
def test_constant_current_spike_times_by_hand():
    # Asymptote V_inf = a I / g = 2 V_th = 1 V, reset to 0 V: the membrane climbs
    # V(t) = V_inf (1 - exp(-t/tau)) and reaches V_th at t = tau ln(V_inf / (V_inf - V_th))
    # = 50 ms * ln 2 = 34.657 ms; after each spike t_ref = 2.5 ms at 0 V and the climb repeats:
    # period P = 34.657 + 2.5 = 37.157 ms, spike n at n * 34.657 + (n - 1) * 2.5 ms.
    # In 60 bins of 5 ms (300 ms): n * 34.657 + (n - 1) * 2.5 <= 300 -> n <= 302.5 / 37.157
    # = 8.14 -> 8 spikes.
    n = AnalogNeuron(CFG)
    out = n.simulate(np.full((60, 1), _current_for(1.0)), 5e-3)
    rise = 50e-3 * math.log(2.0)
    want = np.arange(1, 9) * rise + np.arange(0, 8) * 2.5e-3
    assert out.counts.tolist() == [8]
    np.testing.assert_allclose(out.times_s[0], want, rtol=1e-12)
    assert n.spike_period_s(_current_for(1.0)) == pytest.approx(rise + 2.5e-3, rel=1e-12)
    # The spikes fall in the bins that hold them.
    assert np.flatnonzero(out.raster[:, 0]).tolist() == (want // 5e-3).astype(int).tolist()


def test_reset_above_ground_and_bin_partition_do_not_matter():
    # V_reset = 0.2 V, V_inf = 0.8 V: the climb from reset takes tau ln((0.8 - 0.2)/(0.8 - 0.5))
    # = 50 ms * ln 2 again, the first one (from 0 V) tau ln(0.8 / 0.3) = 49.04 ms.
    cfg = replace(CFG, v_reset_v=0.2)
    i = _current_for(0.8, cfg)
    n = AnalogNeuron(cfg)
    one_bin = n.simulate(np.full((1, 1), i), 0.3)           # a single 300 ms bin
    many = n.simulate(np.full((300, 1), i), 1e-3)           # 300 bins of 1 ms
    first = 50e-3 * math.log(0.8 / 0.3)
    period = 50e-3 * math.log(2.0) + 2.5e-3
    want = first + period * np.arange(0, 1 + int((0.3 - first) // period))
    np.testing.assert_allclose(one_bin.times_s[0], want, rtol=1e-12)
    np.testing.assert_allclose(many.times_s[0], want, rtol=1e-12)


def test_subthreshold_membrane_is_the_closed_form_and_stays_above_ground():
    # V_inf = 0.4 V < V_th: V(t) = 0.4 (1 - exp(-t / 50 ms)) at every bin end, no spike; then a
    # negative current pulls the membrane to the ground rail and holds it there.
    n = AnalogNeuron(CFG)
    cur = np.concatenate([np.full(40, _current_for(0.4)), np.full(40, _current_for(-1.0))])
    out = n.simulate(cur[:, None], 2e-3)
    t_end = np.arange(1, 41) * 2e-3
    np.testing.assert_allclose(out.membrane_v[:40, 0], 0.4 * (1 - np.exp(-t_end / 50e-3)),
                               rtol=1e-12)
    assert out.counts[0] == 0 and out.membrane_v[-1, 0] == 0.0
    assert np.all(out.membrane_v >= 0)


def test_short_refractory_allows_several_spikes_per_bin():
    # V_inf = 2 V_th, t_ref = 0.1 ms: period 34.757 ms; one 200 ms bin holds 5 spikes
    # (5 * 34.657 + 4 * 0.1 = 173.7 ms <= 200 < 208.4 ms).
    n = AnalogNeuron(replace(CFG, t_ref_s=1e-4))
    out = n.simulate(np.full((1, 1), _current_for(1.0)), 0.2)
    assert out.raster[0, 0] == 5 and out.counts[0] == 5


# ------------------------------------------------------------------ exactness vs Euler
def _euler(current, bin_s, cfg, substeps):
    """Forward Euler with ``substeps`` steps per bin; fires at the end of the step that reaches
    the threshold; refractory served in whole steps."""
    h = bin_s / substeps
    tau, gain = cfg.tau_s, cfg.tia_gain / cfg.g_leak_s
    n = current.shape[1]
    v, hold = np.zeros(n), np.zeros(n)
    times = [[] for _ in range(n)]
    for b in range(current.shape[0]):
        v_inf = gain * current[b]
        for s in range(substeps):
            t = b * bin_s + (s + 1) * h
            held = hold > h / 2
            hold = np.where(held, hold - h, 0.0)
            v = np.where(held, cfg.v_reset_v, np.maximum(v + h / tau * (v_inf - v), 0.0))
            fire = ~held & (v >= cfg.v_th_v)
            for i in np.flatnonzero(fire):
                times[i].append(t)
            v = np.where(fire, cfg.v_reset_v, v)
            hold = np.where(fire, cfg.t_ref_s, hold)
    return [np.array(t) for t in times]


def test_exact_integration_is_the_limit_of_fine_euler_steps():
    rng = np.random.default_rng(7)
    bins, bin_s = 24, 5e-3
    # Piecewise-constant currents with asymptotes between -0.5 V and 2.5 V.
    cur = _current_for(1.0) * rng.uniform(-0.5, 2.5, (bins, 6))
    exact = AnalogNeuron(CFG).simulate(cur, bin_s).times_s
    assert sum(len(t) for t in exact) >= 6
    errors = []
    for substeps in (25, 250, 2500):
        approx = _euler(cur, bin_s, CFG, substeps)
        assert [len(t) for t in approx] == [len(t) for t in exact], substeps
        errors.append(max(np.abs(a - e).max() for a, e in zip(approx, exact) if len(e)))
    # First-order convergence: each 10x finer step cuts the worst spike-time error about 10x,
    # and the finest is within a few steps of the exact times.
    assert errors[1] < errors[0] / 4 and errors[2] < errors[1] / 4, errors
    assert errors[2] < 3 * bin_s / 2500, errors


# ------------------------------------------------------------------ time scaling
def _assert_same_trains(slow, fast, k):
    assert fast.counts.tolist() == slow.counts.tolist()
    np.testing.assert_array_equal(fast.raster, slow.raster)
    for a, b in zip(slow.times_s, fast.times_s):
        np.testing.assert_allclose(b * k, a, rtol=1e-9, atol=0)
    np.testing.assert_allclose(fast.membrane_v, slow.membrane_v, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["continuous", "aligned"])
def test_time_scaling_synthetic_seeded(mode):
    cfg = replace(CFG, refractory=mode)
    rng = np.random.default_rng(2509)
    cur = _current_for(1.0) * rng.uniform(-1.0, 3.0, (200, 64))
    slow = AnalogNeuron(cfg, 1.0).simulate(cur, 5e-3)
    fast = AnalogNeuron(cfg, K_PAPER).simulate(cur, 5e-3)
    assert slow.counts.sum() > 200
    assert fast.bin_s == pytest.approx(100e-9)
    _assert_same_trains(slow, fast, K_PAPER)


def _nmnist_currents(sample: int, neurons: int = 24):
    drive, bin_s = nmnist_drive(sample, bins=300)
    rng = np.random.default_rng(sample)
    # Excitatory-leaning random weights, programmed on PEs with the default non-idealities.
    w = rng.uniform(-0.5, 1.0, (neurons, drive.shape[1]))
    layer = ProgrammedLayer(w, PEConfig(), rng)
    return layer.current(drive), bin_s


@pytest.mark.parametrize("sample", [1, 60001])
def test_time_scaling_on_real_nmnist_events(sample):
    cur, bin_s = _nmnist_currents(sample)
    slow = AnalogNeuron(CFG, 1.0).simulate(cur, bin_s)
    fast = AnalogNeuron(CFG, K_PAPER).simulate(cur, bin_s)
    assert slow.counts.sum() > 50 and (slow.counts > 0).sum() > 12
    _assert_same_trains(slow, fast, K_PAPER)
    # Compressing the input without shrinking C: tau stays 50 ms while the ~300 ms sample
    # lasts 6 µs, so every bin adds k times less charge; V can rise at most
    # V_inf_max * (1 - exp(-6 µs / 50 ms)) ~ V_inf_max * 1.2e-4, far below V_th: silence.
    fixed_c = AnalogNeuron(replace(CFG, c_mem_f=CFG.c_mem_f * K_PAPER), K_PAPER)
    assert fixed_c.circuit.c_mem_f == CFG.c_mem_f
    silent = fixed_c.simulate(cur, bin_s)
    assert silent.counts.sum() == 0
    v_inf_max = CFG.tia_gain * cur.max() / CFG.g_leak_s
    bound = v_inf_max * -math.expm1(-cur.shape[0] * bin_s / K_PAPER / CFG.tau_s)
    assert v_inf_max > CFG.v_th_v and bound < CFG.v_th_v
    assert 0 < silent.membrane_v.max() <= bound * (1 + 1e-9)


def test_non_proportional_scaling_diverges_as_worked_by_hand():
    cur = np.full((60, 1), _current_for(1.0))     # V_inf = 2 V_th for 60 bins of 5 ms
    proportional = AnalogNeuron(CFG, 2.0).simulate(cur, 5e-3)
    assert proportional.counts.tolist() == [8]    # as at k = 1 (hand count above)
    # k = 2, C kept at 50 nF: tau = 50 ms, t_ref = 1.25 ms, the input lasts 150 ms:
    # n * 34.657 + (n - 1) * 1.25 <= 150 -> n <= 151.25 / 35.907 = 4.21 -> 4 spikes, not 8.
    fixed = AnalogNeuron(replace(CFG, c_mem_f=CFG.c_mem_f * 2), 2.0).simulate(cur, 5e-3)
    assert fixed.counts.tolist() == [4]
    # k = 50,000, C kept: the input lasts 6 µs; V(6 µs) = 1 V * (1 - exp(-6e-6 / 0.05))
    # = 1.19993e-4 V, no spike.
    k = K_PAPER
    frozen = AnalogNeuron(replace(CFG, c_mem_f=CFG.c_mem_f * k), k).simulate(cur, 5e-3)
    assert frozen.counts.tolist() == [0]
    assert frozen.membrane_v[-1, 0] == pytest.approx(-math.expm1(-6e-6 / 0.05), rel=1e-9)


def test_whole_bins_rounding():
    assert whole_bins(2.5e-3, 5e-3) == 1 and whole_bins(10e-3, 5e-3) == 2
    assert whole_bins(0.0, 5e-3) == 0 and whole_bins(10.000001e-3, 5e-3) == 3
    # invariant under scaling both by k
    assert whole_bins(10e-3 / K_PAPER, 5e-3 / K_PAPER) == 2
