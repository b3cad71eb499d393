# SPDX-License-Identifier: MIT
"""Convolutional spiking networks from an Architecture, and BPTT / DFA / SDFA on them."""
from __future__ import annotations

import pytest
import torch

from dfasim.golden.architecture import Architecture, ConvLayer, DenseLayer
from dfasim.golden.conv import ArchitectureSpec, SpikingNetwork, encode_frames
from dfasim.golden.lif import LIFConfig
from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.golden.networks import (ARCHITECTURES, architecture_of, dvs_gesture_convnet,
                                    parse_network, vgg11)
from dfasim.golden.rules import make_rule
from dfasim.golden.surrogate import Surrogate

TINY = Architecture("tiny", (2, 12, 12),
                    (ConvLayer(2, 4, batch_norm=True, pool="max"),
                     ConvLayer(4, 4, pool="avg"),
                     DenseLayer(36, 3 * 2)), 3, 3, "vote", 2)
LIF = LIFConfig(threshold=0.3)


def _batch(seed=0, b=6):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(b, 3, 2, 12, 12, generator=g) < 0.4).float()
    return x, torch.randint(0, 3, (b,), generator=g)


def test_mlp_architecture_gives_spiking_mlp_numbers():
    layers = (20, 16, 12, 4)
    a = SpikingMLP(NetworkSpec(layers, 5), generator=torch.Generator().manual_seed(1))
    b = SpikingNetwork(Architecture.mlp(layers, 5), generator=torch.Generator().manual_seed(1))
    for wa, wb in zip(a.weights, b.weights):
        assert torch.equal(wa, wb)
    x = torch.rand(8, 5, 20) * 2
    y = torch.randint(0, 4, (8,))
    oa, ta = a(x)
    ob, tb = b(x)
    assert torch.equal(oa, ob)
    assert all(torch.equal(p, q) for p, q in zip(ta.membranes, tb.membranes))
    for name in ("bptt", "dfa", "sdfa"):
        la, _ = make_rule(name, a, loss="mse", generator=torch.Generator().manual_seed(2)
                          ).gradients(x, y)
        lb, _ = make_rule(name, b, loss="mse", generator=torch.Generator().manual_seed(2)
                          ).gradients(x, y)
        assert la == lb
        for wa, wb in zip(a.weights, b.weights):
            assert torch.allclose(wa.grad, wb.grad, rtol=1e-5, atol=1e-7), name


def test_shapes_weights_and_trace():
    net = SpikingNetwork(TINY, LIF, generator=torch.Generator().manual_seed(0))
    assert [tuple(w.shape) for w in net.weights] == [(4, 2, 3, 3), (4, 4, 3, 3), (6, 36)]
    assert net.spec.hidden == (4 * 12 * 12, 4 * 6 * 6)
    assert net.architecture is TINY
    x, _ = _batch()
    out, trace = net(x)
    assert out.shape == (6, 3)
    assert trace.spikes[0].shape == (3, 6, 4, 12, 12)       # before pooling
    assert trace.inputs[1].shape == (3, 6, 4, 6, 6)         # pooled
    assert trace.spikes[2].shape == (3, 6, 6)
    # the vote: each class is the mean of its two neurons' time-averaged spikes
    assert torch.allclose(out, trace.spikes[2].mean(0).reshape(6, 3, 2).mean(-1))
    # a flattened (B, T, C*H*W) sequence is the same input
    out_flat, _ = net(x.reshape(6, 3, -1))
    assert torch.equal(out, out_flat)


def test_encode_frames_forms():
    x = torch.rand(2, 3, 2 * 4 * 4)
    assert encode_frames(x, (2, 4, 4), 3).shape == (3, 2, 2, 4, 4)
    assert encode_frames(torch.rand(2, 2, 4, 4), (2, 4, 4), 3).shape == (3, 2, 2, 4, 4)
    with pytest.raises(ValueError, match="timesteps"):
        encode_frames(x, (2, 4, 4), 5)
    with pytest.raises(ValueError, match="values"):
        encode_frames(torch.rand(2, 3, 7), (2, 4, 4), 3)


@pytest.mark.parametrize("rule, error", [("bptt", "average"), ("dfa", "average"),
                                         ("dfa", "timestep"), ("sdfa", "average")])
def test_every_rule_trains_a_tiny_conv_net(rule, error):
    net = SpikingNetwork(TINY, LIF, generator=torch.Generator().manual_seed(0))
    r = make_rule(rule, net, loss="ce", dfa_error=error,
                  generator=torch.Generator().manual_seed(3))
    x, y = _batch()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for step in range(15):
        loss, out = r.gradients(x, y)
        if step == 0:
            for w in net.weights:
                assert w.grad is not None and torch.isfinite(w.grad).all()
                assert float(w.grad.abs().sum()) > 0
        opt.step()
        losses.append(loss)
    assert losses[-1] < losses[0]


def test_dfa_conv_gradient_is_the_feedback_through_the_kernel():
    """Without batch norm, DFA's kernel gradient is the correlation of delta with the input."""
    arch = Architecture("c", (1, 6, 6), (ConvLayer(1, 2, pool="max"), DenseLayer(18, 2)), 2, 2)
    net = SpikingNetwork(arch, LIF, generator=torch.Generator().manual_seed(0))
    rule = make_rule("dfa", net, loss="mse", generator=torch.Generator().manual_seed(1))
    x = (torch.rand(3, 2, 1, 6, 6, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    y = torch.tensor([0, 1, 1])
    rule.gradients(x, y)
    _, trace = net(x)
    out = trace.spikes[-1].mean(0)
    _, e_t = rule.output_errors(out, trace, y)
    h = LIF.surrogate.grad(trace.membranes[0] - LIF.threshold)
    delta = (e_t @ rule.feedback[0].t()).reshape(h.shape) * h          # (T, B, 2, 6, 6)
    inp = torch.nn.functional.pad(trace.inputs[0], (1, 1, 1, 1))       # (T, B, 1, 8, 8)
    expect = torch.zeros(2, 1, 3, 3)
    for i in range(3):
        for j in range(3):
            expect[:, 0, i, j] = torch.einsum("tbohw,tbhw->o", delta,
                                              inp[:, :, 0, i:i + 6, j:j + 6])
    assert torch.allclose(net.weights[0].grad, expect, atol=1e-6)


def test_authors_neuron_options_on_a_conv_net():
    authors = LIFConfig(leak=0.5, threshold=1.0, surrogate=Surrogate("atan", 2.0),
                        decay_input=True, fire="ge")
    net = SpikingNetwork(ArchitectureSpec(TINY, authors), generator=torch.Generator())
    x, y = _batch()
    loss, out = make_rule("sdfa", net, loss="mse", mse_reduction="mean").gradients(x, y)
    assert out.shape == (6, 3) and loss >= 0


def test_named_architectures():
    conv = ARCHITECTURES["pipesdfa-dvsgesture-convnet"].architecture
    assert conv.input_shape == (2, 128, 128) and conv.timesteps == 30
    assert [l.out_channels for l in conv.layers[:5]] == [32, 64, 128, 128, 128]
    assert all(l.batch_norm and l.pool == "max" for l in conv.layers[:5])
    assert [l.n_out for l in conv.layers[5:]] == [1024, 110]
    assert conv.readout == "vote" and conv.vote_group == 10 and conv.n_classes == 11
    assert sum(m.rows * m.cols for m in conv.matrices()) == 2_597_440
    vgg = ARCHITECTURES["pipesdfa-dvsgesture-vgg11"].architecture
    assert [l.out_channels for l in vgg.layers[:-1]] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert [l.pool for l in vgg.layers[:-1]] == ["max", "max", None, "max", None, "max",
                                                  None, "max"]
    assert not any(l.batch_norm for l in vgg.layers[:-1])
    assert vgg.layers[-1].n_in == 8192 and vgg.layers[-1].n_out == 110
    assert sum(m.rows * m.cols for m in vgg.matrices()) == 10_118_272
    assert architecture_of("pipesdfa-dvsgesture-vgg11") is vgg
    assert architecture_of("pipesdfa-dvsgesture-vgg11", 5).timesteps == 5
    mlp = architecture_of("pipesdfa-nmnist-3fc")
    assert mlp.neurons() == [1000, 1000, 10] and mlp.timesteps == 10
    with pytest.raises(ValueError, match="convolutional"):
        parse_network("pipesdfa-dvsgesture-convnet")


@pytest.mark.parametrize("build", [dvs_gesture_convnet, vgg11])
@pytest.mark.parametrize("rule", ["bptt", "dfa", "sdfa"])
def test_every_rule_runs_on_the_pipesdfa_networks_small(build, rule):
    """The named builders at 2 x 32 x 32 and T = 2 (the full size is too slow for CPU tests)."""
    arch = build(input_shape=(2, 32, 32), timesteps=2, n_classes=3)
    net = SpikingNetwork(arch, LIF, generator=torch.Generator().manual_seed(0))
    x = (torch.rand(2, 2, 2, 32, 32, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    loss, out = make_rule(rule, net, loss="mse", generator=torch.Generator().manual_seed(2)
                          ).gradients(x, torch.tensor([0, 2]))
    assert out.shape == (2, 3)
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in net.weights)
    assert float(net.weights[-1].grad.abs().sum()) > 0


def test_architecture_round_trips_through_plain_data():
    from dfasim.golden.architecture import Architecture as A
    for named in ARCHITECTURES.values():
        assert A.from_dict(named.architecture.to_dict()) == named.architecture
    assert A.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(ValueError, match="architecture"):
        A.from_dict({"layers": [{"type": "pool"}]})
