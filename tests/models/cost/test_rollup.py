# SPDX-License-Identifier: MIT
"""Roll-up: sparsity lowers energy, dense mode mirrors the simulator's counting rules, BP vs
DFA structure (latency, B tile, transposable peripherals), the latency model's formulas."""
import numpy as np
import pytest
import torch

from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.models.activity import ActivityCounters
from dfasim.models.analog_network import AnalogSNN, deploy_feedback
from dfasim.models.chip import ChipConfig
from dfasim.models.cost import (DenseSpec, Workload, activity_workload, dense_counts,
                                dense_workload, evaluate)
from dfasim.models.cost.workload import UNIT_COUNTERS
from dfasim.models.rram.noise import IdealDevice

UCI = [9, 128, 64, 32, 6]
P = ChipConfig()


def _dense(rate, layers=UCI, **kw):
    spec = DenseSpec(list(layers), kw.pop("timesteps", 16), kw.pop("samples", 100),
                     kw.pop("batch", 50), spike_rate=rate, **kw)
    wl = dense_workload(spec, P)
    return {s: evaluate(wl, P, s) for s in ("bp", "dfa")}


def test_sparser_spikes_cost_less_dense():
    sparse, busy = _dense(0.1), _dense(0.3)
    for s in ("bp", "dfa"):
        assert sparse[s].energy_total < busy[s].energy_total


def _counters(spec):
    """ActivityCounters holding ``spec``'s dense counts (rounded to integers)."""
    out = {}
    for s in ("bp", "dfa"):
        a = ActivityCounters()
        for (name, phase), c in dense_counts(spec, P, s).items():
            # The shape-only unit counters are added by activity_workload itself.
            a.add(name, phase, **{k: int(round(float(v))) for k, v in c.items()
                                  if k not in UNIT_COUNTERS})
        out[s] = a
    return out


def test_sparser_spikes_cost_less_activity():
    busy = DenseSpec(UCI, 16, 100, spike_rate=0.4)
    sparse = DenseSpec(UCI, 16, 100, spike_rate=0.2)
    res = {}
    for tag, spec in (("busy", busy), ("sparse", sparse)):
        wl = activity_workload(_counters(spec), UCI, 16, 50)
        res[tag] = {s: evaluate(wl, P, s).energy_total for s in ("bp", "dfa")}
    for s in ("bp", "dfa"):
        assert res["sparse"][s] < res["busy"][s]


def test_sparser_input_spikes_cost_less_on_the_crossbar_model():
    # One layer on the crossbar model, fed binary spikes and then a strict subset of them.
    g = torch.Generator().manual_seed(1)
    model = SpikingMLP(NetworkSpec((20, 8, 3), 4), generator=g)
    snn = AnalogSNN.deploy(model, ChipConfig(), IdealDevice(), g)
    x = (torch.rand(6, 4, 20, generator=g) < 0.5).float()
    x_sparse = x * (torch.rand(6, 4, 20, generator=g) < 0.5).float()
    assert 0 < x_sparse.sum() < x.sum()
    energy = []
    for inp in (x, x_sparse):
        snn.counters.clear()
        snn.forward(inp, training=True)
        c = snn.counters.copy()
        wl = activity_workload({"bp": c, "dfa": c}, [20, 8, 3], 4, 6)
        energy.append(evaluate(wl, P, "bp").energy_total)
    assert energy[1] < energy[0]


def test_dense_mode_mirrors_the_counting_rules():
    # Counters that depend only on shapes must equal the simulator's, event for event.
    layers, T, B = (5, 12, 8, 3), 4, 6
    g = torch.Generator().manual_seed(0)
    model = SpikingMLP(NetworkSpec(layers, T), generator=g)
    x = torch.randn(B, T, layers[0], generator=g)
    y = torch.randint(0, 3, (B,), generator=g)
    spec = DenseSpec(list(layers), T, B, B)
    for scheme in ("bp", "dfa"):
        snn = AnalogSNN.deploy(model, ChipConfig(), IdealDevice(), g, calibration=x)
        fb = deploy_feedback(model.spec, ChipConfig(), IdealDevice(), g,
                             counters=snn.counters)
        snn.counters.clear()
        if scheme == "dfa":
            snn.dfa_step(x, y, fb, lr=0.01)
        else:
            snn.bp_step(x, y, lr=0.01)
        dense = dense_counts(spec, P, scheme)
        keys = {k for k in dense if k[1] != "update"}
        assert keys == {k for k in snn.counters.cells if k[1] != "update"}
        for key in keys:
            got = snn.counters.get(*key)
            for f in ("lif_ops", "gradlif_ops", "tile_bytes", "buffer_read_bytes",
                      "buffer_write_bytes"):
                assert float(dense[key].get(f, 0.0)) == getattr(got, f), (scheme, key, f)
        # The WGU counts one MAC per output and non-zero input: layer 0 inputs never vanish.
        assert float(dense[("L0", "update")]["wgu_macs"]) == \
            snn.counters.get("L0", "update").wgu_macs


def test_dfa_backward_is_faster_than_bp():
    for layers in ([9, 128, 64, 32, 6], [784, 512, 256, 128, 64, 10], [20, 30, 20, 5]):
        r = _dense(0.3, layers)
        bwd = {s: sum(v for (ph, _), v in r[s].latency.items() if ph == "backward")
               for s in r}
        assert bwd["dfa"] < bwd["bp"]
        upd = {s: sum(v for (ph, _), v in r[s].latency.items() if ph == "update") for s in r}
        assert upd["dfa"] < upd["bp"]           # all layers' WGUs at once


def test_area_structure():
    r = _dense(0.3)
    bp, dfa = r["bp"].area, r["dfa"].area
    assert bp["by_block"]["b_tile"] == 0 and dfa["by_block"]["b_tile"] > 0
    assert dfa["by_block"]["b_tile"] == pytest.approx(dfa["tile_area"])
    assert bp["by_component"]["transpose_periphery"] > 0
    assert dfa["by_component"]["transpose_periphery"] == 0
    assert bp["tile_area"] > dfa["tile_area"]        # transposable tiles are bigger
    assert dfa["by_component"]["wgu"] > bp["by_component"]["wgu"]
    assert bp["total"] == pytest.approx(sum(bp["by_component"].values()))
    assert bp["total"] == pytest.approx(sum(bp["by_block"].values()))


def test_forward_pipeline_and_update_formulas():
    # Two layers whose forward stages are pure neuron work: 160 and 480 LIF updates on 16
    # lanes at 1 GHz = 10 ns and 30 ns; T x B = 4 items per batch are pipelined:
    # (10 + 30) / 4 + 3/4 x 30 = 32.5 ns.
    cells = {("L0", "forward"): {"lif_ops": 160.0}, ("L1", "forward"): {"lif_ops": 480.0},
             ("L0", "update"): {"write_pulses": 10.0}}
    wl = Workload(layers=[3, 4, 2], timesteps=2, batch_size=2, samples=2.0, sequence=True,
                  counts={"bp": cells, "dfa": cells}, mode="activity")
    bp, dfa = evaluate(wl, P, "bp"), evaluate(wl, P, "dfa")
    assert bp.latency[("forward", "neuron")] == pytest.approx(32.5)
    # Update: WGU beats = samples x T x n_out x ceil(n_in / 32): 2*2*4*1 and 2*2*2*1 cycles;
    # 10 pulses of 50 ns (NeuroSim's write pulse) on L0's one crossbar.
    assert bp.latency[("update", "wgu")] == pytest.approx(16 + 8)
    assert bp.latency[("update", "rram_write")] == pytest.approx(500)
    assert dfa.latency[("update", "wgu")] + dfa.latency[("update", "rram_write")] \
        == pytest.approx(16 + 500)                    # the slowest layer only
    # 10 pulses x (4 V)² x 5.5 µS x 50 ns = 44 pJ.
    assert bp.energy[("L0", "update", "rram_write")] == pytest.approx(44.0)


def test_training_phases_only_and_chip_average():
    a, b = ActivityCounters(), ActivityCounters()
    for c, k in ((a, 1), (b, 3)):
        c.add("L0", "forward", lif_ops=10 * k, reads=5 * k, adc_conversions=5 * k)
        c.add("L0", "inference", reads=10 ** 6, lif_ops=10 ** 6)
        c.add("L0", "deploy", write_pulses=10 ** 6)
        c.add("L0", "calibrate", reads=10 ** 6)
    wl = activity_workload({"bp": [a, b], "dfa": [a, b]}, [2, 5], 1, 1)
    # Recorded: the forward pass only; the cost model adds the shape-only unit counters
    # (4 samples x 1 timestep: 4 x 5 neurons x 16-bit partial sums to the LIF unit, ...).
    assert set(wl.counts["bp"]) == {("L0", "forward"), ("L0", "update")}
    assert wl.counts["bp"][("L0", "forward")]["lif_ops"] == 20.0   # mean of 10 and 30
    assert wl.counts["bp"][("L0", "forward")]["unit_traffic_bits"] == 4 * 5 * 16
    assert set(wl.counts["bp"][("L0", "update")]) == set(UNIT_COUNTERS)
    assert wl.samples == pytest.approx(4.0)
    with pytest.raises(ValueError, match="dfa"):
        activity_workload({"bp": a}, [2, 5], 1, 1)


def test_energy_breakdowns_add_up():
    r = _dense(0.3)["bp"]
    total = r.energy_total
    by_phase = {}
    for (_, ph, _), v in r.energy.items():
        by_phase[ph] = by_phase.get(ph, 0.0) + v
    assert set(by_phase) == {"forward", "backward", "update"}
    assert sum(by_phase.values()) == pytest.approx(total)
    assert r.dram_pj > 0 and np.isfinite(r.latency_total)


def test_dense_spec_validation():
    with pytest.raises(ValueError, match="spike_rate"):
        DenseSpec(UCI, 4, 10, spike_rate=1.5).validate()
    with pytest.raises(ValueError, match="timesteps"):
        DenseSpec(UCI, 0, 10).validate()
