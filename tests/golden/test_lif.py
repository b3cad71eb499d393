# SPDX-License-Identifier: MIT
"""Float LIF dynamics and surrogate gradients: hand vectors and autograd cross-checks."""
import math

import pytest
import torch

from dfasim.golden.lif import LIFConfig, lif_forward
from dfasim.golden.surrogate import Surrogate, spike


def test_hand_vector_hard_reset():
    # leak 0.5, threshold 1: u = 0.6, 0.3+0.6=0.9, 0.45+0.6=1.05 -> spike, reset, 0.6
    cur = torch.full((4, 1), 0.6)
    s, u = lif_forward(cur, LIFConfig(leak=0.5, threshold=1.0))
    assert s.flatten().tolist() == [0.0, 0.0, 1.0, 0.0]
    assert torch.allclose(u.flatten(), torch.tensor([0.6, 0.9, 1.05, 0.6]))


def test_soft_reset_and_if_neuron():
    cur = torch.full((3, 1), 0.7)
    s, u = lif_forward(cur, LIFConfig(leak=0.5, threshold=1.0, reset="soft", neuron="if"))
    # IF ignores the leak: 0.7, 1.4 -> spike, keeps 0.4, 1.1 -> spike
    assert s.flatten().tolist() == [0.0, 1.0, 1.0]
    assert torch.allclose(u.flatten(), torch.tensor([0.7, 1.4, 1.1]))


def test_spike_needs_strictly_greater_than_threshold():
    s, _ = lif_forward(torch.full((1, 1), 0.5), LIFConfig(threshold=0.5))
    assert s.item() == 0.0


@pytest.mark.parametrize("name,width,x,expected", [
    ("triangle", 1.0, 0.25, 0.75),
    ("triangle", 2.0, 0.0, 0.5),
    ("triangle", 1.0, 1.5, 0.0),
    ("rectangular", 1.0, 0.4, 1.0),
    ("rectangular", 1.0, 0.6, 0.0),
    ("atan", 2.0, 0.0, 1.0),
    ("atan", 2.0, 1.0, 2.0 / (2 * (1 + math.pi ** 2))),
    ("fast_sigmoid", 4.0, 0.5, 1.0 / 9.0),
])
def test_surrogate_values(name, width, x, expected):
    assert Surrogate(name, width).grad(torch.tensor(x)).item() == pytest.approx(expected)


def test_spike_backward_uses_surrogate():
    x = torch.tensor([-0.5, 0.2, 2.0], requires_grad=True)
    spike(x, Surrogate("triangle", 1.0)).sum().backward()
    assert x.grad.tolist() == pytest.approx([0.5, 0.8, 0.0])


def test_bptt_gradient_matches_finite_difference_of_smooth_path():
    # With reset="none" the layer is linear below threshold crossings; the membrane gradient
    # through time must then equal leak powers.
    cfg = LIFConfig(leak=0.75, threshold=100.0, reset="none")
    cur = torch.randn(5, 2, 3, requires_grad=True)
    _, u = lif_forward(cur, cfg)
    u[-1].sum().backward()
    expected = torch.tensor([0.75 ** (4 - t) for t in range(5)]).view(5, 1, 1).expand(5, 2, 3)
    assert torch.allclose(cur.grad, expected)


@pytest.mark.parametrize("kwargs", [dict(leak=1.5), dict(threshold=0.0), dict(reset="x"),
                                    dict(neuron="izh")])
def test_bad_config_rejected(kwargs):
    with pytest.raises(ValueError):
        LIFConfig(**kwargs)


def test_bad_surrogate_rejected():
    with pytest.raises(ValueError, match="unknown surrogate"):
        Surrogate("sigmoid")
    with pytest.raises(ValueError, match="width"):
        Surrogate("triangle", 0.0)
