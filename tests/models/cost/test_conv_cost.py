# SPDX-License-Identifier: MIT
"""Cost model of convolutions (im2col on crossbars): the VGG11 mapping counted by hand on 32 x 32
and 128 x 128 inputs, and a tiny convolutional network whose counts, energy and latency are
worked by hand from the per-event prices (UnitCosts) of the Table II chip."""
import math

import numpy as np
import pytest
import torch

from dfasim.golden.architecture import Architecture, ConvLayer, DenseLayer
from dfasim.golden.networks import vgg11 as golden_vgg11
from dfasim.models.chip import ChipConfig
from dfasim.models.cost import evaluate
from dfasim.models.cost.mapping import architecture_layers, map_network
from dfasim.models.cost.report import cost_report, table1_report
from dfasim.models.cost.workload import DenseSpec, dense_counts, dense_workload
from dfasim.models.analog_conv import AnalogNetwork, deploy_conv_feedback
from dfasim.models.rram.noise import IdealDevice

P = ChipConfig()        # Table II: 256 x 256 crossbars, differential pairs (128 outputs each),
#                         4 PEs x 4 crossbars = 16 crossbars per tile, 8 input / 8 error bits

def vgg11(size, channels, classes):
    """golden's VGG11 (no batch norm, a vote read-out of 10 neurons per class), T = 4."""
    return golden_vgg11((channels, size, size), classes, timesteps=4)


# Hand count. Convolution l: rows = 3 * 3 * C_in, cols = C_out, reads per timestep = H x W of
# its (padded, stride 1) output, i.e. its input side; row tiles ceil(rows / 256), column tiles
# ceil(C_out / 128), crossbars = their product, tiles ceil(crossbars / 16).
#
# 32 x 32 x 3 (CIFAR-10): sides 32, 16, 8, 8, 4, 4, 2, 2, then a 512 -> 10 x 10 (vote) dense
# layer.
#  layer  rows  cols  reads/t  row tiles  col tiles  crossbars  tiles
VGG11_32 = [
    (27,   64,   1024, 1,  1, 1,  1),     # 3*9 = 27
    (576,  128,  256,  3,  1, 3,  1),     # 64*9 = 576 -> 2.25 -> 3
    (1152, 256,  64,   5,  2, 10, 1),     # 128*9 = 1152 -> 4.5 -> 5
    (2304, 256,  64,   9,  2, 18, 2),     # 256*9 = 2304 = 9 * 256
    (2304, 512,  16,   9,  4, 36, 3),
    (4608, 512,  16,   18, 4, 72, 5),     # 72 / 16 = 4.5 -> 5
    (4608, 512,  4,    18, 4, 72, 5),
    (4608, 512,  4,    18, 4, 72, 5),
    (512,  100,  1,    2,  1, 2,  1),     # dense 512 -> 100
]
# 128 x 128 x 2 (DVS128 Gesture, two polarities, 11 classes): sides 128, 64, 32, 32, 16, 16,
# 8, 8, then 512 x 4 x 4 = 8192 -> 11 x 10 (vote).
VGG11_128 = [
    (18,   64,   16384, 1,  1, 1,  1),    # 2*9 = 18
    (576,  128,  4096,  3,  1, 3,  1),
    (1152, 256,  1024,  5,  2, 10, 1),
    (2304, 256,  1024,  9,  2, 18, 2),
    (2304, 512,  256,   9,  4, 36, 3),
    (4608, 512,  256,   18, 4, 72, 5),
    (4608, 512,  64,    18, 4, 72, 5),
    (4608, 512,  64,    18, 4, 72, 5),
    (8192, 110,  1,     32, 1, 32, 2),    # 8192 / 256 = 32 row tiles
]


@pytest.mark.parametrize("size, channels, classes, table, n_tiles", [
    (32, 3, 10, VGG11_32, 24), (128, 2, 11, VGG11_128, 25)])
def test_vgg11_mapping_by_hand(size, channels, classes, table, n_tiles):
    arch = vgg11(size, channels, classes)
    mats = arch.matrices()
    m = map_network([], P, "bp", architecture=arch)
    assert len(mats) == len(table) == len(m.shapes)
    for l, (rows, cols, reads, r, c, x, t) in enumerate(table):
        assert (mats[l].rows, mats[l].cols, mats[l].reads_per_timestep) == (rows, cols, reads)
        assert m.shapes[l] == (cols, rows)
        assert m.positions[l] == reads
        assert (int(m.row_tiles[l]), int(m.col_tiles[l]), int(m.crossbars[l]),
                int(m.tiles[l])) == (r, c, x, t)
        # Used cells (two devices per weight) over the cells of the layer's crossbars.
        assert float(m.utilisation[l]) == pytest.approx(rows * cols * 2 / (x * 256 * 256))
        assert float(m.tile_utilisation[l]) == pytest.approx(
            rows * cols * 2 / (t * 16 * 256 * 256))
    assert int(m.n_tiles) == n_tiles == sum(row[-1] for row in table)
    summary = m.to_dict()["layers"]["L0"]
    assert summary["reads_per_timestep"] == table[0][2]
    assert summary["utilisation"] == pytest.approx(table[0][0] * table[0][1] * 2 / 65536)


def test_vgg11_dfa_feedback_matrices_project_onto_whole_maps():
    arch = vgg11(32, 3, 10)
    # Hidden neurons (maps before pooling): 64x32x32, 128x16x16, 256x8x8 (twice), 512x4x4
    # (twice), 512x2x2 (twice); B_l is neurons x 10: 1 row tile, neurons / 128 column tiles.
    hidden = [65536, 32768, 16384, 16384, 8192, 8192, 2048, 2048]
    assert architecture_layers(arch) == [3 * 32 * 32] + hidden + [100]
    m = map_network([], P, "dfa", architecture=arch)
    assert [int(x) for x in m.b_crossbars] == [n // 128 for n in hidden]   # 1184 in all
    assert not bool(m.feasible) and "1184 crossbars" in m.reason
    ok = map_network([], P.updated({"mapping.b_tiles": 74}), "dfa", architecture=arch)
    assert bool(ok.feasible) and int(ok.b_dup) == 1 and int(ok.n_tiles) == 24 + 74


def test_vgg11_dense_counts_scale_with_positions():
    arch = vgg11(32, 3, 10)
    spec = DenseSpec([], 4, 100, 50, spike_rate=0.25, bit_density=1.0, architecture=arch)
    w = dense_workload(spec, P)
    vectors = 100 * 4
    bp = w.counts["bp"]
    # L1 forward: 256 positions, 576 spike lines in 3 row tiles (256, 256, 64), one column tile.
    p256, p64 = 1 - 0.75 ** 256, 1 - 0.75 ** 64
    c = bp[("L1", "forward")]
    assert c["reads"] == pytest.approx(vectors * 256 * (2 * p256 + p64))
    assert c["active_rows"] == pytest.approx(vectors * 256 * 576 * 0.25)
    assert c["lif_ops"] == vectors * 128 * 16 * 16
    assert c["adc_conversions"] == pytest.approx(vectors * 256 * (2 * p256 + p64) * 256)
    # BP: W_2 (1152 x 256 on crossbars, 64 positions) is read transposed once per position
    # and bit plane and column phase: 7 planes x 2 phases, both column tiles active (every
    # error bit is 1 at bit density 1), 5 row tiles each.
    t = bp[("L2", "backward")]
    assert t["reads"] == pytest.approx(vectors * 64 * 2 * 7 * 2 * 5)
    assert t["adc_conversions"] == pytest.approx(vectors * 64 * 2 * 7 * 2 * 1152)
    # GradLIF of L1 over its whole map; WGU of L1: 128 x 576 per position at spike rate 0.25.
    assert bp[("L1", "backward")]["gradlif_ops"] == vectors * 32768
    assert bp[("L1", "update")]["wgu_macs"] == pytest.approx(128 * vectors * 256 * 576 * 0.25)
    # DFA: B_1 (32768 x 10) read once per sample, 14 bit planes.
    d = w.counts["dfa"][("B1", "backward")]
    assert d["reads"] == pytest.approx(100 * 14 * (1 - 0.5 ** 10) * 256)
    # The class error (10 classes, not the 100 vote neurons) goes to the B tile once per sample.
    assert w.counts["dfa"][("B0", "backward")]["tile_bytes"] == pytest.approx(
        100 * 10 + 100 * 65536)
    rep = cost_report(w, P.updated({"mapping.b_tiles": 74}), name="vgg11")
    assert rep["network"]["architecture"]["matrices"][0]["reads_per_timestep"] == 1024
    assert rep["schemes"]["bp"]["mapping"]["layers"]["L5"]["crossbars"] == 72


# --- a tiny convolutional network worked by hand ---------------------------------------------
#
# Input 1 x 4 x 4, a 3 x 3 convolution (no padding) to 2 channels: 2 x 2 = 4 positions, 8
# neurons, a 9 x 2 matrix on one crossbar; then a dense 8 -> 2 layer. T = 2, 2 samples,
# batch 2, spike rate 0.5, bit density 1 (a first-layer magnitude line is on with probability
# 1 / 2 in each of its 2 x 7 sign-magnitude planes).

TINY = Architecture("tiny-conv", (1, 4, 4), (ConvLayer(1, 2, 3, 1, 0), DenseLayer(8, 2)), 2, 2)


def _tiny(chip=P):
    spec = DenseSpec([], 2, 2, 2, spike_rate=0.5, bit_density=1.0, architecture=TINY)
    w = dense_workload(spec, chip)
    return w, {s: evaluate(w, chip, s) for s in ("bp", "dfa")}


def test_tiny_conv_counts_by_hand():
    w, _ = _tiny()
    c = w.counts["bp"][("L0", "forward")]
    p9 = 1 - 0.5 ** 9                      # a 9-line read is skipped when all lines are 0
    reads = 2 * 2 * 4 * 14                 # samples x T x positions x planes = 224
    assert c["reads"] == pytest.approx(reads * p9)
    assert c["active_rows"] == pytest.approx(reads * 9 * 0.5)
    assert c["rows_driven"] == pytest.approx(reads * p9 * 9)
    assert c["adc_conversions"] == pytest.approx(reads * p9 * 4)     # 2 outputs x 2 columns
    assert c["psum_adds"] == pytest.approx(reads * p9 * 4)
    assert c["lif_ops"] == 4 * 8
    # patches 16 x 9 B in, partial sums 16 x 4 B out; the neuron unit reads 4 x 16 B partial
    # sums and writes 4 x (1 B spikes + 16 B membranes); the H-tree brings 4 x 16 B of input.
    assert c["buffer_read_bytes"] == 16 * 9 + 4 * 16
    assert c["buffer_write_bytes"] == 16 * 4 + 4 * (1 + 16)
    assert c["tile_bytes"] == 4 * 16
    u = w.counts["bp"][("L0", "update")]
    assert u["wgu_macs"] == 2 * 16 * 9     # 2 outputs x 16 patches x 9 lines (multi-bit input)
    assert w.counts["bp"][("L1", "update")]["wgu_macs"] == pytest.approx(2 * 4 * 8 * 0.5)


def test_tiny_conv_energy_by_hand():
    w, res = _tiny()
    r = res["bp"]
    prices = r.prices
    p9 = 1 - 0.5 ** 9
    reads = 224 * p9
    e = lambda comp: float(r.energy[("L0", "forward", comp)])  # noqa: E731
    assert e("adc") == pytest.approx(reads * 4 * float(prices.adc_pj))
    assert e("mux") == pytest.approx(reads * 4 * float(prices.mux_pj))
    # Every active line crosses the 4 converted columns of its read.
    assert e("crossbar") == pytest.approx(224 * 9 * 0.5 * 4 * float(prices.cell_read_pj))
    assert e("decoder") == pytest.approx(reads * 9 * float(prices.decoder_pj))
    assert e("shift_add") == pytest.approx(reads * 4 * float(prices.shift_add_pj))
    assert e("lif") == pytest.approx(32 * float(prices.lif_pj))
    assert e("buffer") == pytest.approx(208 * 8 * float(prices.buffer_read_pj_per_bit)
                                        + 132 * 8 * float(prices.buffer_write_pj_per_bit))
    assert e("htree") == pytest.approx(340 * 8 * float(prices.local_wire_pj_per_bit)
                                       + 64 * 8 * float(prices.global_wire_pj_per_bit))
    # WGU of the convolution: 288 multiply-adds (first layer: multi-bit input).
    wgu = float(r.energy[("L0", "update", "wgu")])
    reads_b = 16 * (2 + 9) + (288 + 18) * 2   # 2 B of 8-bit deltas + 9 B of patch, G words
    assert wgu == pytest.approx(288 * float(prices.wgu_multiply_add_pj)
                                + reads_b * 8 * float(prices.wgu_read_pj_per_bit[0])
                                + 288 * 2 * 8 * float(prices.wgu_write_pj_per_bit[0]))


def test_tiny_conv_latency_by_hand_and_duplication():
    _, res = _tiny()
    _, dup = _tiny(P.updated({"mapping.weight_duplication": 2}))
    prices = res["bp"].prices
    clock = float(prices.clock_ns)
    # One read: a cell read then ceil(4 conversions / 32 ADCs) = 1 conversion time.
    read_ns = float(prices.cell_read_ns) + float(prices.adc_ns)
    l0 = 224 * (1 - 0.5 ** 9) * read_ns            # every read on the one crossbar
    l1 = 4 * (1 - 0.5 ** 8) * read_ns              # the dense layer: 8 spike lines
    # Forward pipeline over T x batch = 4 items, L0 the slowest stage.
    assert float(res["bp"].latency[("forward", "tile")]) == pytest.approx(l0 + l1 / 4)
    assert float(res["bp"].latency[("forward", "neuron")]) == pytest.approx(
        (32 + 8) / 16 * clock / 4 + 32 / 16 * clock * 3 / 4)
    # Two copies of every layer serve positions in parallel: half the read time, same reads.
    assert float(dup["bp"].latency[("forward", "tile")]) == pytest.approx((l0 + l1 / 4) / 2)
    assert float(dup["bp"].energy[("L0", "forward", "adc")]) == pytest.approx(
        float(res["bp"].energy[("L0", "forward", "adc")]))
    # WGU beats: samples x T x positions x outputs x ceil(inputs / 32 lanes).
    beats_l0, beats_l1 = 2 * 2 * 4 * 2 * 1, 2 * 2 * 1 * 2 * 1
    assert float(res["bp"].latency[("update", "wgu")]) == pytest.approx(
        (beats_l0 + beats_l1) * clock)
    assert float(res["dfa"].latency[("update", "wgu")]) == pytest.approx(beats_l0 * clock)
    m = res["bp"].mapping
    assert m.positions == [4, 1] and int(m.crossbars[0]) == 1
    assert float(m.utilisation[0]) == pytest.approx(9 * 2 * 2 / 65536)


def test_an_mlp_architecture_prices_like_its_layer_list():
    net = table1_report(P)["networks"]["uci_har"]
    layers = net["network"]["layers"]
    arch = Architecture.mlp(layers, net["network"]["timesteps"])
    spec = DenseSpec([], 1, 7352, 50, architecture=arch)
    rep = cost_report(dense_workload(spec, P), P)
    for scheme in ("bp", "dfa"):
        assert rep["schemes"][scheme]["energy_pj"]["by_component"] == \
            net["schemes"][scheme]["energy_pj"]["by_component"]
        assert rep["schemes"][scheme]["latency_ns"]["total"] == \
            net["schemes"][scheme]["latency_ns"]["total"]


def test_dense_mode_mirrors_the_convolutional_counting_rules():
    # Counters that depend only on shapes equal the analog network's, event for event.
    arch = Architecture("mirror", (2, 6, 6), (
        ConvLayer(2, 3, 3, 1, 1, pool="max"), ConvLayer(3, 4, 3, 1, 0),
        DenseLayer(4, 6), DenseLayer(6, 3)), 3, 3)
    g = torch.Generator().manual_seed(0)
    weights = [torch.randn(3, 2, 3, 3, generator=g), torch.randn(4, 3, 3, 3, generator=g),
               torch.randn(6, 4, generator=g), torch.randn(3, 6, generator=g)]
    B = 5
    x = torch.randn(B, 3, 2, 6, 6, generator=g)
    y = torch.randint(0, 3, (B,), generator=g)
    spec = DenseSpec([], 3, B, B, architecture=arch).validate()
    for scheme in ("bp", "dfa"):
        net = AnalogNetwork.deploy(arch, weights, P, IdealDevice(), g, calibration=x)
        fb = deploy_conv_feedback(arch, P, IdealDevice(), g, counters=net.counters)
        net.counters.clear()
        if scheme == "dfa":
            net.dfa_step(x, y, fb, lr=0.01)
        else:
            net.bp_step(x, y, lr=0.01)
        dense = dense_counts(spec, P, scheme)
        keys = {k for k in dense if k[1] != "update"}
        assert keys == {k for k in net.counters.cells if k[1] != "update"}
        for key in keys:
            got = net.counters.get(*key)
            for f in ("lif_ops", "gradlif_ops", "tile_bytes", "buffer_read_bytes",
                      "buffer_write_bytes"):
                assert float(dense[key].get(f, 0.0)) == getattr(got, f), (scheme, key, f)
        # One WGU MAC per output and non-zero patch line: multi-bit inputs never vanish, zero
        # padding does; dense mode counts padding lines like the others (an upper bound).
        ones = torch.nn.functional.unfold(torch.ones(1, 2, 6, 6), 3, padding=1)
        lines = int(ones.sum())
        assert net.counters.get("L0", "update").wgu_macs == 3 * 3 * B * lines
        assert float(dense[("L0", "update")]["wgu_macs"]) == 3 * 3 * B * 36 * 18
