# SPDX-License-Identifier: MIT
"""A deployed network runs wherever its arrays are (``DeployedNetwork.to``), e.g. on a GPU.

Without a GPU the placement is checked on the CPU with PyTorch's ``meta`` device as the default:
inside ``with torch.device("meta")`` every tensor made without an explicit device is a meta
tensor, and any arithmetic that mixes it with the network's CPU tensors raises. A forward pass,
an evaluation and DFA and BP steps that finish there create every tensor on the network's
device, the property a CUDA run needs (CUDA is more lenient: it accepts CPU scalars).
"""
import copy

import pytest
import torch

from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.models.analog_network import AnalogSNN, deploy_feedback
from dfasim.models.chip import ChipConfig
from dfasim.models.rram.noise import PolynomialSpread

CUDA = torch.cuda.is_available()

#: Every non-ideality that changes a read or a write on, so that their code runs too.
ALL_EFFECTS = {"nonideal.read_noise": True, "nonideal.drift": True, "nonideal.stuck": True,
               "nonideal.stuck_off_rate": 0.01, "nonideal.ir_drop": True}


def gen(seed):
    return torch.Generator().manual_seed(seed)


def deployed(overrides, *, input_bits=None, seed=0):
    spec = NetworkSpec((9, 24, 12, 4), 16)
    model = SpikingMLP(spec, generator=gen(seed))
    x = torch.randn(12, 16, 9, generator=gen(seed + 1))
    y = torch.randint(0, 4, (12,), generator=gen(seed + 2))
    chip = ChipConfig().updated(overrides).validate()
    g = gen(seed + 3)
    snn = AnalogSNN.deploy(model, chip, PolynomialSpread(), g, calibration=x)
    fb = deploy_feedback(spec, chip, PolynomialSpread(), g, counters=snn.counters)
    return snn, fb, x, y


def run_steps(snn, fb, x, y):
    """Forward, DFA step, BP step, evaluation: what an adaptation epoch does."""
    out, _ = snn.forward(x)
    dfa = snn.dfa_step(x[:6], y[:6], fb, 0.1, "mse")
    bp = snn.bp_step(x[6:], y[6:], 0.3, "mse")
    acc = snn.evaluate(x, y, batch_size=5)
    return out, dfa, bp, acc


@pytest.mark.parametrize("overrides", [
    {},
    ALL_EFFECTS,
    {**ALL_EFFECTS, "device.mapping": "offset"},
    {"datapath.input_bits": 0, "datapath.error_bits": 0},
], ids=["default", "all-effects", "offset-mapping", "ideal-converters"])
def test_every_tensor_follows_the_network_device(overrides):
    snn, fb, x, y = deployed(overrides)
    snn.to("cpu")
    for b in fb:
        b.to("cpu")
    with torch.device("meta"):
        out, dfa, bp, acc = run_steps(snn, fb, x, y)
        # Ageing between epochs (drift) must follow the device too.
        if overrides.get("nonideal.drift"):
            for m in snn.layers:
                m.advance(3600.0)
            snn.forward(x[:2])
    assert out.device.type == "cpu" and all(dw.device.type == "cpu" for dw in dfa.delta_w)
    assert 0.0 <= acc <= 1.0


def test_moving_to_the_same_device_changes_no_bit():
    reference = run_steps(*deployed(ALL_EFFECTS))
    snn, fb, x, y = deployed(ALL_EFFECTS)
    snn.to("cpu")
    for b in fb:
        b.to("cpu")
    moved = run_steps(snn, fb, x, y)
    assert torch.equal(reference[0], moved[0])
    for ref_step, step in zip(reference[1:3], moved[1:3]):
        assert torch.equal(ref_step.output, step.output)
        assert all(torch.equal(a, b) for a, b in zip(ref_step.delta_w, step.delta_w))
    assert reference[3] == moved[3]


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_cuda_steps_agree_with_the_cpu():
    snn, fb, x, y = deployed(ALL_EFFECTS)
    cpu = copy.deepcopy((snn, fb))
    snn.to("cuda")
    for b in fb:
        b.to("cuda")
    gpu_out, gpu_dfa, _, _ = run_steps(snn, fb, x, y)
    cpu_out, cpu_dfa, _, _ = run_steps(*cpu, x, y)
    assert gpu_out.device.type == "cuda"
    # The same draws (the chip's CPU generator) and the same codes up to float reassociation:
    # spike rates agree except where a current sits on an ADC code boundary.
    assert float((gpu_out.cpu() - cpu_out).abs().mean()) < 0.05
    for g_dw, c_dw in zip(gpu_dfa.delta_w, cpu_dfa.delta_w):
        assert torch.allclose(g_dw.cpu(), c_dw, rtol=0.2, atol=1e-3 * float(c_dw.abs().max()))


@pytest.mark.parametrize("pool, batch_norm", [("max", True), ("avg", False)])
def test_convolutional_network_follows_its_device(pool, batch_norm):
    from dfasim.models.analog_conv import AnalogNetwork, deploy_conv_feedback
    from tests.models.test_analog_conv import _float_setup

    arch, weights, norms, x, y = _float_setup(pool, batch_norm)
    x, weights = x.float(), [w.float() for w in weights]
    if norms is not None:
        norms = [n if n is None else tuple(t.float() for t in n) for n in norms]
    chip = ChipConfig().updated({**ALL_EFFECTS, "datapath.input_bits": 6,
                                 "datapath.error_bits": 6}).validate()
    net = AnalogNetwork.deploy(arch, weights, chip, PolynomialSpread(), gen(18), norms=norms,
                               calibration=x)
    fb = deploy_conv_feedback(arch, chip, PolynomialSpread(), gen(19))
    net.to("cpu")
    for b in fb:
        b.to("cpu")
    with torch.device("meta"):
        dfa = net.dfa_step(x, y, fb, lr=0.05)
        bp = net.bp_step(x, y, lr=0.05)
        acc = net.evaluate(x, y)
    assert all(dw.device.type == "cpu" for dw in dfa.delta_w + bp.delta_w)
    assert 0.0 <= acc <= 1.0


def test_integer_datapath_follows_its_device():
    from dfasim.models.integer_datapath import integer_network

    snn, fb, x, y = deployed(ALL_EFFECTS)
    snn = integer_network(snn, x)
    snn.to("cpu")
    for b in fb:
        b.to("cpu")
    with torch.device("meta"):
        out, dfa, bp, acc = run_steps(snn, fb, x, y)
    assert out.device.type == "cpu" and 0.0 <= acc <= 1.0
