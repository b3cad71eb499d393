# SPDX-License-Identifier: MIT
"""Convolutions on crossbars (models/analog_conv.py): the ideal limit is conv2d, a dense-only
architecture is exactly AnalogSNN, reads are counted per output position, DFA / BP steps equal
their float definitions on an ideal chip."""
import math

import pytest
import torch
import torch.nn.functional as F

from dfasim.golden.architecture import Architecture, ConvLayer, DenseLayer
from dfasim.golden.lif import LIFConfig, lif_forward
from dfasim.golden.loss import output_error
from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.models.analog_conv import (AnalogNetwork, BatchNormAffine, conv_feedback,
                                       deploy_conv_feedback)
from dfasim.models.analog_network import AnalogSNN, default_feedback, deploy_feedback
from dfasim.models.chip import ChipConfig, DeviceConfig
from dfasim.models.rram.device import levels_to_weight, weight_scale, weight_to_levels
from dfasim.models.rram.noise import IdealDevice, PolynomialSpread

IDEAL = {"crossbar.adc_bits": 0, "datapath.input_bits": 0, "datapath.error_bits": 0}
DT = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def on_grid(w, cfg=DeviceConfig()):
    w_max = weight_scale(w)
    return levels_to_weight(weight_to_levels(w, w_max, cfg), w_max, cfg, w.dtype)


def tiny_arch(pool="max", batch_norm=False, T=3):
    layers = (ConvLayer(2, 4, 3, 1, 1, batch_norm=batch_norm, pool=pool),
              ConvLayer(4, 3, 3, 1, 0),
              DenseLayer(3 * 1 * 1, 5))
    return Architecture("tiny", (2, 6, 6), layers, T, 5)


def grid_weights(arch, seed=0, gain=3.0):
    g = gen(seed)
    out = []
    for layer in arch.layers:
        if isinstance(layer, ConvLayer):
            shape = (layer.out_channels, layer.in_channels, layer.kernel_size, layer.kernel_size)
            fan = layer.in_channels * layer.kernel_size ** 2
        else:
            shape, fan = (layer.n_out, layer.n_in), layer.n_in
        w = (torch.rand(*shape, generator=g, dtype=DT) * 2 - 1) / math.sqrt(fan) * gain
        out.append(on_grid(w.reshape(shape[0], -1)).reshape(shape))
    return out


def reference(arch, weights, x, lif=LIFConfig(), norms=None):
    """The float network, written out with conv2d (currents, membranes, spikes per layer)."""
    T = arch.timesteps
    h = x.transpose(0, 1) if x.dim() == 5 else x.unsqueeze(0).expand(T, *x.shape)
    currents, membranes, spikes = [], [], []
    for l, (layer, w) in enumerate(zip(arch.layers, weights)):
        B = h.shape[1]
        if isinstance(layer, ConvLayer):
            z = F.conv2d(h.reshape(T * B, *h.shape[2:]), w, stride=layer.stride,
                         padding=layer.padding)
            z = z.reshape(T, B, *z.shape[1:])
            if norms and norms[l] is not None:
                z = z * norms[l][0][:, None, None] + norms[l][1][:, None, None]
        else:
            z = h.reshape(T, B, -1) @ w.t()
        s, u = lif_forward(z, lif)
        currents.append(z)
        membranes.append(u)
        spikes.append(s)
        if isinstance(layer, ConvLayer) and layer.pool:
            fn = F.max_pool2d if layer.pool == "max" else F.avg_pool2d
            p = fn(s.reshape(T * B, *s.shape[2:]), layer.pool_size)
            h = p.reshape(T, B, *p.shape[1:])
        else:
            h = s
    return spikes[-1].mean(0), currents, membranes, spikes


def frames(B=4, T=3, p=0.4, seed=5):
    return (torch.rand(B, T, 2, 6, 6, generator=gen(seed), dtype=DT) < p).to(DT)


# --- ideal limit -----------------------------------------------------------------------------

@pytest.mark.parametrize("pool", ["max", "avg"])
def test_ideal_conv_layer_is_conv2d(pool):
    arch = tiny_arch(pool)
    weights = grid_weights(arch)
    net = AnalogNetwork.deploy(arch, weights, ChipConfig().updated(IDEAL), IdealDevice(), gen(1))
    x = frames()
    out, trace = net.forward(x)
    ref, currents, membranes, spikes = reference(arch, weights, x)
    h = x.transpose(0, 1)
    assert torch.allclose(net._currents(0, h, "probe"), currents[0], atol=1e-12)
    for a, b in zip(trace.spikes, spikes):
        assert torch.equal(a, b)
    for a, b in zip(trace.membranes, membranes):
        assert torch.allclose(a, b, atol=1e-12)
    assert torch.equal(out, ref)
    assert float(trace.spikes[0].sum()) > 0 and float(trace.spikes[1].sum()) > 0
    for w, e in zip(weights, net.effective_weights()):
        assert torch.allclose(w, e, atol=1e-12)


def test_batch_norm_is_a_per_channel_affine():
    arch = tiny_arch(batch_norm=True)
    weights = grid_weights(arch, seed=2)
    bn = torch.nn.BatchNorm2d(4).double().eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.linspace(-0.3, 0.3, 4))
        bn.running_var.copy_(torch.linspace(0.5, 2.0, 4))
        bn.weight.copy_(torch.linspace(0.8, 1.4, 4))
        bn.bias.copy_(torch.linspace(-0.1, 0.2, 4))
    net = AnalogNetwork.deploy(arch, weights, ChipConfig().updated(IDEAL), IdealDevice(), gen(1),
                               norms=[bn, None, None])
    x = frames(seed=6)
    _, trace = net.forward(x)
    z = F.conv2d(x.transpose(0, 1).reshape(-1, 2, 6, 6), weights[0], padding=1)
    want = bn(z).reshape(3, 4, 4, 6, 6)
    _, u = lif_forward(want, LIFConfig())
    assert torch.allclose(trace.membranes[0], u, atol=1e-12)
    aff = BatchNormAffine.of(bn)
    assert torch.allclose(aff.apply(z), bn(z), atol=1e-12)


# --- counting --------------------------------------------------------------------------------

def test_reads_are_counted_per_output_position_and_zero_patches_are_skipped():
    arch = Architecture("one", (1, 5, 5), (ConvLayer(1, 2, 3, 1, 1), DenseLayer(50, 2)), 2, 2)
    weights = grid_weights(arch, seed=3)
    net = AnalogNetwork.deploy(arch, weights, ChipConfig().updated(IDEAL), IdealDevice(), gen(1))
    x = torch.zeros(1, 2, 1, 5, 5, dtype=DT)
    x[0, 0, 0, 0, 0] = 1.0           # t = 0: one event in a corner: 4 patches see it
    x[0, 1, 0, 2, 2] = 1.0           # t = 1: one event in the middle: 9 patches
    net.forward(x)
    c = net.counters.get("L0", "forward")
    assert c.reads == 4 + 9          # one crossbar per read; 25 - 4 and 25 - 9 skipped
    assert c.active_rows == 4 + 9    # one active line in each read patch
    assert c.lif_ops == 2 * 2 * 25   # every neuron of the 2 x 5 x 5 map, every timestep
    assert c.buffer_read_bytes == 2 * 25 * math.ceil(9 / 8) + 2 * 25 * 2 * 2
    ones = torch.ones(1, 2, 1, 5, 5, dtype=DT)
    net.counters.clear()
    net.forward(ones)
    assert net.counters.get("L0", "forward").reads == 2 * 25
    # Weight duplication changes the latency (the cost model), not the reads.
    dup = AnalogNetwork.deploy(arch, weights, ChipConfig().updated(
        {**IDEAL, "mapping.weight_duplication": 4}), IdealDevice(), gen(1))
    dup.forward(ones)
    for name in ("L0", "L1"):
        assert dup.counters.get(name, "forward") == net.counters.get(name, "forward")


def test_tiling_of_a_wide_convolution():
    # 3 x 3 x 40 = 360 rows: two row tiles; 200 channels: two column tiles of 128 outputs.
    arch = Architecture("wide", (40, 4, 4), (ConvLayer(40, 200, 3, 1, 1),
                                             DenseLayer(200 * 16, 3)), 1, 3)
    weights = grid_weights(arch, seed=4)
    net = AnalogNetwork.deploy(arch, weights, ChipConfig().updated(IDEAL), IdealDevice(), gen(1))
    assert (net.layers[0].row_tiles, net.layers[0].col_tiles) == (2, 2)
    x = torch.ones(2, 40, 4, 4, dtype=DT)
    out, trace = net.forward(x)
    ref = F.conv2d(x, weights[0], padding=1)
    _, u = lif_forward(ref.unsqueeze(0), LIFConfig())
    assert torch.allclose(trace.membranes[0], u, atol=1e-12)
    # 16 positions x 2 samples x (2 row tiles, each driving both column tiles)
    assert net.counters.get("L0", "forward").reads == 16 * 2 * 2 * 2


# --- dense-only is AnalogSNN -----------------------------------------------------------------

def test_dense_only_architecture_is_exactly_analog_snn():
    layers, T = (6, 40, 24, 4), 5
    g = gen(7)
    model = SpikingMLP(NetworkSpec(layers, T), generator=g)
    x = torch.randn(8, T, 6, generator=g) * 2
    y = torch.randint(0, 4, (8,), generator=g)
    chip = ChipConfig().updated({"datapath.input_bits": 6, "datapath.error_bits": 6})
    noise = PolynomialSpread()
    runs = []
    for kind in ("mlp", "arch"):
        if kind == "mlp":
            net = AnalogSNN.deploy(model, chip, noise, gen(8), calibration=x)
            fb = deploy_feedback(model.spec, chip, noise, gen(9))
        else:
            arch = Architecture.mlp(layers, T)
            net = AnalogNetwork.deploy(arch, list(model.weights), chip, noise, gen(8),
                                       calibration=x)
            fb = deploy_conv_feedback(arch, chip, noise, gen(9))
        out, _ = net.forward(x)
        r1 = net.dfa_step(x, y, fb, lr=0.05)
        r2 = net.bp_step(x, y, lr=0.05)
        runs.append((out, r1, r2, [m.g_a.clone() for m in net.layers], net.counters))
    (o1, a1, a2, ga, ca), (o2, b1, b2, gb, cb) = runs
    assert torch.equal(o1, o2)
    assert a1.loss == b1.loss and a2.loss == b2.loss
    for u, v in zip(a1.delta_w + a2.delta_w, b1.delta_w + b2.delta_w):
        assert torch.equal(u, v)
    assert all(torch.equal(u, v) for u, v in zip(ga, gb))
    assert ca == cb and ca.total("reads") > 0
    assert [b.shape for b in conv_feedback(Architecture.mlp(layers, T), gen(0))] == \
        [b.shape for b in default_feedback(model.spec, gen(0))]


def test_from_model_of_an_mlp():
    model = SpikingMLP(NetworkSpec((6, 10, 3), 2), generator=gen(1))
    net = AnalogNetwork.from_model(model, ChipConfig().updated(IDEAL), IdealDevice(), gen(2))
    assert net.architecture.matrices()[0].rows == 6 and net.n_layers == 2


# --- adaptation on an ideal chip -------------------------------------------------------------

def _float_setup(pool="max", batch_norm=False):
    arch = tiny_arch(pool, batch_norm)
    weights = grid_weights(arch, seed=11, gain=4.0)
    norms = None
    if batch_norm:
        norms = [(torch.linspace(0.7, 1.3, 4, dtype=DT), torch.linspace(-0.1, 0.1, 4,
                                                                         dtype=DT)), None, None]
    x = frames(B=6, seed=12, p=0.5)
    y = torch.randint(0, 5, (6,), generator=gen(13))
    return arch, weights, norms, x, y


@pytest.mark.parametrize("pool, batch_norm", [("max", False), ("avg", True)])
def test_ideal_dfa_step_equals_the_float_dfa_gradient(pool, batch_norm):
    arch, weights, norms, x, y = _float_setup(pool, batch_norm)
    chip = ChipConfig().updated(IDEAL)
    net = AnalogNetwork.deploy(arch, weights, chip, IdealDevice(), gen(14), norms=norms)
    fb_float = [on_grid(b.to(DT)) for b in conv_feedback(arch, gen(15))]
    fb = deploy_conv_feedback(arch, chip, IdealDevice(), gen(16), matrices=fb_float)
    res = net.dfa_step(x, y, fb, lr=0.1, loss="mse")
    out, _, membranes, spikes = reference(arch, weights, x, norms=norms)
    _, e = output_error(out, y, "mse")
    e_t = e / arch.timesteps
    lif = LIFConfig()
    inputs = [x.transpose(0, 1)] + [net._pool(l, s) for l, s in enumerate(spikes[:-1])]
    T, B = arch.timesteps, x.shape[0]
    for l, (layer, w) in enumerate(zip(arch.layers, weights)):
        h = lif.surrogate.grad(membranes[l] - lif.threshold)
        proj = e_t if l == len(weights) - 1 else e_t @ fb_float[l].t()
        delta = proj.reshape(1, B, *h.shape[2:]) * h
        wl = w.clone().requires_grad_(True)
        if isinstance(layer, ConvLayer):
            z = F.conv2d(inputs[l].reshape(T * B, *inputs[l].shape[2:]), wl,
                         padding=layer.padding).reshape(delta.shape)
            if norms and norms[l] is not None:
                z = z * norms[l][0][:, None, None] + norms[l][1][:, None, None]
        else:
            z = inputs[l].reshape(T, B, -1) @ wl.t()
        (grad,) = torch.autograd.grad((z * delta).sum(), wl)
        assert torch.allclose(res.delta_w[l], -0.1 * grad, atol=1e-12)
        assert float(res.delta_w[l].abs().sum()) > 0
    assert sum(s.weights_changed for s in res.writes) > 0
    c = net.counters
    assert c.total("gradlif_ops", layer="L0") == T * B * 4 * 36
    assert c.total("reads", layer="B0", phase="backward") > 0


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_ideal_bp_step_is_spatial_backprop_through_convolutions(pool):
    arch, weights, norms, x, y = _float_setup(pool, batch_norm=pool == "avg")
    chip = ChipConfig().updated(IDEAL)
    net = AnalogNetwork.deploy(arch, weights, chip, IdealDevice(), gen(17), norms=norms)
    res = net.bp_step(x, y, lr=0.5, loss="ce")
    out, _, membranes, spikes = reference(arch, weights, x, norms=norms)
    _, e = output_error(out, y, "ce")
    T, B = arch.timesteps, x.shape[0]
    lif = LIFConfig()
    hs = [lif.surrogate.grad(u - lif.threshold) for u in membranes]
    inputs = [x.transpose(0, 1)] + [net._pool(l, s) for l, s in enumerate(spikes[:-1])]

    def currents(l, inp, w):
        layer = arch.layers[l]
        if isinstance(layer, ConvLayer):
            z = F.conv2d(inp.reshape(T * B, *inp.shape[2:]), w, padding=layer.padding)
            z = z.reshape(T, B, *z.shape[1:])
            if norms and norms[l] is not None:
                z = z * norms[l][0][:, None, None] + norms[l][1][:, None, None]
            return z
        return inp.reshape(T, B, -1) @ w.t()

    delta = (e / T).unsqueeze(0) * hs[-1]
    for l in range(len(weights) - 1, -1, -1):
        wl = weights[l].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad((currents(l, inputs[l], wl) * delta).sum(), wl)
        assert torch.allclose(res.delta_w[l], -0.5 * grad, atol=1e-12)
        assert float(grad.abs().sum()) > 0
        if l:
            s = spikes[l - 1].clone().requires_grad_(True)
            pooled = net._pool(l - 1, s)
            (back,) = torch.autograd.grad((currents(l, pooled, weights[l]) * delta).sum(), s)
            delta = back * hs[l - 1]
    assert net.counters.total("reads", layer="L1", phase="backward") > 0
    assert net.counters.total("reads", layer="L0", phase="backward") == 0


def test_noisy_conv_steps_are_deterministic():
    arch, weights, _, x, y = _float_setup()
    x, weights = x.float(), [w.float() for w in weights]
    chip = ChipConfig().updated({"datapath.error_bits": 6, "datapath.input_bits": 6})
    runs = []
    for _ in range(2):
        net = AnalogNetwork.deploy(arch, weights, chip, PolynomialSpread(), gen(18),
                                   calibration=x)
        fb = deploy_conv_feedback(arch, chip, PolynomialSpread(), gen(19))
        r1 = net.dfa_step(x, y, fb, lr=0.05)
        r2 = net.bp_step(x, y, lr=0.05)
        runs.append((r1.loss, r2.loss, net.counters))
    assert runs[0] == runs[1]
    assert runs[0][2].total("write_pulses", phase="update") > 0


def test_bad_deployments_are_one_line():
    arch = tiny_arch()
    weights = grid_weights(arch)
    chip = ChipConfig().updated(IDEAL)
    with pytest.raises(ValueError, match="weight 0"):
        AnalogNetwork.deploy(arch, [weights[0][:, :1]] + weights[1:], chip, IdealDevice())
    with pytest.raises(ValueError, match="batch norm"):
        AnalogNetwork.deploy(arch, weights, chip, IdealDevice(),
                             norms=[None, None, (torch.ones(5), torch.zeros(5))])
    with pytest.raises(ValueError, match="max_tiles"):
        AnalogNetwork.deploy(arch, weights, chip.updated({"hierarchy.max_tiles": 1}),
                             IdealDevice())


# --- the golden convolutional network ---------------------------------------------------------

def _golden_setup():
    from dfasim.golden.conv import SpikingNetwork
    from dfasim.golden.networks import dvs_gesture_convnet
    arch = dvs_gesture_convnet((2, 8, 8), n_classes=3, timesteps=3, channels=(4, 6),
                               hidden=12, vote_group=2, name="small")
    model = SpikingNetwork(arch, generator=gen(20)).double().eval()
    with torch.no_grad():
        for w in model.weights:
            w.copy_(on_grid((w * 4.0).reshape(w.shape[0], -1)).reshape(w.shape))
        for i, bn in enumerate(n for n in model.norms if hasattr(n, "running_mean")):
            bn.running_mean.copy_(torch.linspace(-0.2, 0.2, bn.num_features) * (i + 1))
            bn.running_var.copy_(torch.linspace(0.6, 1.5, bn.num_features))
            bn.weight.copy_(torch.linspace(0.9, 1.3, bn.num_features))
            bn.bias.copy_(torch.linspace(0.0, 0.3, bn.num_features))
    x = (torch.rand(5, 3, 2, 8, 8, generator=gen(21), dtype=DT) < 0.5).to(DT)
    y = torch.randint(0, 3, (5,), generator=gen(22))
    return model, x, y


def test_ideal_chip_equals_the_golden_convolutional_network():
    model, x, _ = _golden_setup()
    net = AnalogNetwork.from_model(model, ChipConfig().updated(IDEAL), IdealDevice(), gen(23))
    out, trace = net.forward(x)
    with torch.no_grad():
        ref, rtr = model(x)
    for a, b in zip(trace.spikes, rtr.spikes):
        assert torch.equal(a, b)
    assert torch.equal(out, ref)
    assert all(float(s.sum()) > 0 for s in trace.spikes)


def test_ideal_dfa_step_equals_the_golden_dfa_rule():
    from dfasim.golden.rules import DFA
    model, x, y = _golden_setup()
    chip = ChipConfig().updated(IDEAL)
    net = AnalogNetwork.from_model(model, chip, IdealDevice(), gen(24))
    rule = DFA(model, loss="mse", generator=gen(25))
    rule.feedback = [on_grid(b.to(DT)) for b in rule.feedback]
    fb = deploy_conv_feedback(model.architecture, chip, IdealDevice(), gen(26),
                              matrices=rule.feedback)
    rule.gradients(x, y)
    res = net.dfa_step(x, y, fb, lr=0.2, loss="mse")
    for dw, w in zip(res.delta_w, model.weights):
        assert torch.allclose(dw, -0.2 * w.grad, atol=1e-12)
        assert float(dw.abs().sum()) > 0


def test_reading_in_chunks_changes_nothing(monkeypatch):
    import dfasim.models.analog_conv as analog_conv
    arch, weights, _, x, y = _float_setup()
    chip = ChipConfig().updated({"datapath.error_bits": 6, "datapath.input_bits": 6,
                                 "crossbar.adc_range": "max"})
    runs = []
    for chunk in (analog_conv.CHUNK_VALUES, 2000):
        monkeypatch.setattr(analog_conv, "CHUNK_VALUES", chunk)
        net = AnalogNetwork.deploy(arch, weights, chip, PolynomialSpread(), gen(40))
        assert len(net._chunks(0, 18, (2, 6, 6))) == (1 if chunk > 2000 else 18)
        fb = deploy_conv_feedback(arch, chip, PolynomialSpread(), gen(41))
        out, _ = net.forward(x)
        r1 = net.dfa_step(x, y, fb, lr=0.05)
        r2 = net.bp_step(x, y, lr=0.05)
        runs.append((out, r1.delta_w + r2.delta_w, net.counters))
    (o1, d1, c1), (o2, d2, c2) = runs
    assert torch.allclose(o1, o2, atol=1e-9)
    assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(d1, d2))
    assert c1 == c2 and c1.total("reads") > 0
