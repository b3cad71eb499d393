# SPDX-License-Identifier: MIT
"""The FC network on the macro: the one-bin delay between layers, the activity counters worked
by hand, the I/O edge count, and the paper's 800-480-120-11 on a real DVS clip."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dfasim.models.macro import MacroConfig, PEConfig
from dfasim.models.macro.network import (MacroActivity, MacroNetwork, next_layer_drive,
                                         rising_edges)

US = 1e-6
IDEAL = replace(PEConfig(), sigma_us=0.0, stuck_off_fraction=0.0, g_off_us=0.0)
CFG = replace(MacroConfig(), pe=IDEAL)


def test_next_layer_drive_is_one_bin_later():
    counts = np.array([[1, 0], [0, 2], [0, 0]])
    x = next_layer_drive(counts, spike_width_s=5e-3, bin_s=5e-3)
    np.testing.assert_array_equal(x, [[0, 0], [1, 0], [0, 1]])      # two spikes still one bin
    np.testing.assert_array_equal(next_layer_drive(counts, 2.5e-3, 5e-3)[1:], [[0.5, 0],
                                                                                [0, 1.0]])


def test_rising_edges_by_hand():
    # Sample 0 streams 1 1 0 | 0 1 1 | 1 0 1: edges at positions 0, 4, 8 -> 3.
    bits = np.array([[[1, 1, 0]], [[0, 1, 1]], [[1, 0, 1]]])
    assert rising_edges(bits).tolist() == [3]


def test_activity_counters_by_hand():
    # 200 inputs -> 13 neurons: 2 row PEs x 2 column PEs. Every weight at state +7 (75 µS on
    # G+, G- off, ideal devices), so each input row carries 13 * 75 µS = 975 µS.
    w = np.full((13, 200), 0.5)
    aligned = replace(CFG, neuron=replace(CFG.neuron, refractory="aligned"))
    net = MacroNetwork([w], aligned, rng=0)
    x = np.zeros((4, 200))
    x[0, :10] = 1.0
    x[2, 150:160] = 0.5
    run = net.run(x)
    la = run.activity.layers[0]
    assert (la.row_pes, la.col_pes) == (2, 2)
    assert la.active_row_bins.tolist() == [20]
    assert la.drive_row_bins.tolist() == [15.0]
    assert la.g_drive_s[0] == pytest.approx(15 * 13 * 75 * US)
    assert la.device_reads.tolist() == [20 * 2 * 24]
    assert la.synaptic_ops.tolist() == [20 * 13]
    assert la.neuron_bins == 13 * 4
    # Current in bin 0: 10 rows * 0.2 V * 75 µS = 150 µA; membrane step (1 - e^-0.1) * 0.05 /
    # 1 µS * 150 µA = 0.714 V >= 0.5 V: all 13 fire once in bin 0 (aligned refractory: held
    # through bin 1); bin 2 (5 rows at half a bin) adds 0.357 V from reset: no spike.
    assert run.counts[0][:, 0].sum(axis=1).tolist() == [13, 0, 0, 0]
    assert la.spikes.tolist() == [13]
    # I/O: 4 bins x (200 + 13) bits; rising edges: the input's runs in bins 0 and 2 and the
    # output's run in bin 0 -> 3.
    assert run.activity.io_bits.tolist() == [4 * 213]
    assert run.activity.io_rising_edges.tolist() == [3]


def test_batches_concatenate_to_the_whole_run():
    rng = np.random.default_rng(6)
    net = MacroNetwork([rng.uniform(-1, 1, (7, 30)), rng.uniform(-1, 1, (3, 7))], MacroConfig(),
                       rng=1)
    x = (rng.random((8, 5, 30)) < 0.3).astype(float)
    whole = net.run(x).activity
    parts = MacroActivity.concatenate([net.run(x[:, :2]).activity, net.run(x[:, 2:]).activity])
    for a, b in zip(whole.layers, parts.layers):
        np.testing.assert_array_equal(a.active_row_bins, b.active_row_bins)
        np.testing.assert_array_equal(a.spikes, b.spikes)
        np.testing.assert_allclose(a.g_drive_s, b.g_drive_s)
    np.testing.assert_array_equal(whole.io_rising_edges, parts.io_rising_edges)
    assert parts.samples == 5
    with pytest.raises(ValueError, match="nothing"):
        MacroActivity.concatenate([])


def test_layers_chain_with_a_one_bin_delay():
    # Layer 1: one neuron fed by 10 rows of +1 (150 µS each): fires in bin 0. Layer 2: one
    # neuron with weight +1 on it: driven in bin 1 only (30 µA, step 0.14 V: silent), so its
    # input activity is exactly one row-bin.
    w1 = np.ones((1, 10))
    w2 = np.ones((1, 1))
    net = MacroNetwork([w1, w2], CFG, rng=0)
    x = np.zeros((5, 10))
    x[0] = 1.0
    run = net.run(x)
    first = run.counts[0][:, 0, 0]
    assert first[0] >= 1 and first[1:].sum() == 0
    assert run.activity.layers[1].active_row_bins.tolist() == [1]
    assert run.activity.synaptic_ops.tolist() == [10 + 1]


def test_bad_networks_are_one_line():
    with pytest.raises(ValueError, match="layer 1 takes 4 inputs but layer 0 has 3"):
        MacroNetwork([np.ones((3, 5)), np.ones((2, 4))], CFG)
    with pytest.raises(ValueError, match="at least one layer"):
        MacroNetwork([], CFG)
    with pytest.raises(TypeError):
        MacroNetwork([np.ones((3, 5))], IDEAL)
    net = MacroNetwork([np.ones((3, 5))], CFG)
    with pytest.raises(ValueError, match=r"drive must be \(bins, samples, 5\)"):
        net.run(np.zeros((4, 6)))


def test_paper_network_on_a_real_dvs_clip():
    # 800-480-120-11 on the 321 PE-equivalents, one real 128 x 128 clip (pad 6, 7 x 7 pool,
    # 300 bins of 5 ms): the first layer's input activity is the clip's.
    from dfasim.flows.datasets import paths
    from dfasim.flows.datasets.events import events_to_frames, read_atis_bin
    clip = next((d / "events" / "dvs128_clips_slayer" / "1.bs2" for d in
                 paths.resolve_data_dirs()
                 if (d / "events" / "dvs128_clips_slayer" / "1.bs2").is_file()), None)
    if clip is None:
        pytest.skip("shared/datasets/events (DVS clips) is not beside this checkout")
    ev = read_atis_bin(clip)
    t0 = int(ev["t"].min())
    fr = events_to_frames(ev, (128, 128), 300, "time", t_range=(t0, t0 + 1_500_000), pool=7,
                          pad=6)
    x = (fr.reshape(300, -1) > 0).astype(float)
    rng = np.random.default_rng(0)
    ws = [rng.uniform(-8, 8, (b, a)) / np.sqrt(a) for a, b in [(800, 480), (480, 120),
                                                                (120, 11)]]
    net = MacroNetwork([np.clip(w, -1, 1) for w in ws], MacroConfig(), rng=0)
    assert sum(layer.placement.pes for layer in net.layers) == 321
    run = net.run(x)
    act = run.activity
    assert act.layers[0].active_row_bins[0] == int((x > 0).sum())
    assert act.layers[0].devices_per_row == 40 * 24
    assert act.dense_synapse_steps == (800 * 480 + 480 * 120 + 120 * 11) * 300
    assert all(la.spikes[0] > 0 for la in act.layers)
