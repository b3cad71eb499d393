# SPDX-License-Identifier: MIT
"""One SDFA step with the PipeSDFA authors' settings against their published equations.

The reference below is written from REFERENCE.md section 2 alone, by hand (no autograd):
spikingjelly's LIF with ``decay_input`` (tau = 2), ``V_th = 1``, hard reset to 0, firing on
``H - V_th >= 0``, ATan surrogate (alpha = 2) of ``H - V_th``, reset not detached; ``nn.MSELoss``
(mean over classes and batch) on the time-averaged output spikes; one ``B ~ N(0, 1)`` of shape
``(C, max_l n_l)``, ``r = e B / sqrt(max_l n_l)`` fed to every timestep of hidden layer ``l`` as
``r[:, :n_l]``; BPTT inside each layer only; the output layer's true gradient.
"""
from __future__ import annotations

import math

import torch

from dfasim.golden.lif import LIFConfig, lif_forward
from dfasim.golden.loss import output_loss
from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.golden.rules import SDFA
from dfasim.golden.surrogate import Surrogate

TAU, V_TH, ALPHA = 2.0, 1.0, 2.0
AUTHORS = LIFConfig(leak=1.0 - 1.0 / TAU, threshold=V_TH, reset="hard", neuron="lif",
                    surrogate=Surrogate("atan", ALPHA), decay_input=True, fire="ge")


def _atan(x):
    return ALPHA / (2.0 * (1.0 + (math.pi / 2.0 * ALPHA * x) ** 2))


def _layer_forward(w, inputs):
    """spikingjelly multi-step LIF: returns spikes and H per timestep."""
    T = inputs.shape[0]
    v = torch.zeros(inputs.shape[1], w.shape[0], dtype=inputs.dtype)
    spikes, hs = [], []
    for t in range(T):
        x = inputs[t] @ w.t()
        h = v + (x - (v - 0.0)) / TAU
        s = (h - V_TH >= 0).to(h.dtype)
        v = h * (1.0 - s) + 0.0 * s
        spikes.append(s)
        hs.append(h)
    return torch.stack(spikes), torch.stack(hs)


def _layer_backward(inputs, spikes, hs, g_spikes):
    """dL/dW of one layer given dL/dS[t], BPTT through H, S and the (attached) hard reset."""
    T = inputs.shape[0]
    g_v = torch.zeros_like(hs[0])
    dw = 0.0
    for t in reversed(range(T)):
        sg = _atan(hs[t] - V_TH)
        # V[t] = H[t] (1 - S[t]): dV/dH = (1 - S) - H * sg (reset not detached).
        g_h = g_spikes[t] * sg + g_v * ((1.0 - spikes[t]) - hs[t] * sg)
        g_x = g_h / TAU
        dw = dw + g_x.t() @ inputs[t]
        g_v = g_h * (1.0 - 1.0 / TAU)   # H[t+1] depends on V[t] with factor 1 - 1/tau
    return dw


def _reference_step(weights, x, y, b):
    inputs = [x.transpose(0, 1)]
    spikes, hs = [], []
    for w in weights:
        s, h = _layer_forward(w, inputs[-1])
        spikes.append(s)
        hs.append(h)
        inputs.append(s)
    T, B = x.shape[1], x.shape[0]
    out = spikes[-1].mean(dim=0)
    C = out.shape[1]
    target = torch.nn.functional.one_hot(y, C).to(out.dtype)
    e = 2.0 * (out - target) / (B * C)                    # d nn.MSELoss / d out
    width = b.shape[1]
    r = e @ b / math.sqrt(width)
    grads = []
    for l, w in enumerate(weights):
        if l == len(weights) - 1:
            g = (e / T).expand(T, *e.shape)
        else:
            g = r[:, :w.shape[0]].expand(T, *r[:, :w.shape[0]].shape)
        grads.append(_layer_backward(inputs[l], spikes[l], hs[l], g))
    return ((out - target) ** 2).mean(), grads


def test_authors_neuron_matches_spikingjelly_equations():
    cur = torch.tensor([[2.0], [0.4], [1.7], [3.0]], dtype=torch.float64)
    s, u = lif_forward(cur, AUTHORS)
    # H = V + (X - V)/2: 1.0 (fires on >=), 0.2, 0.95, 1.975 (fires).
    assert torch.allclose(u.flatten(), torch.tensor([1.0, 0.2, 0.95, 1.975], dtype=torch.float64))
    assert s.flatten().tolist() == [1.0, 0.0, 0.0, 1.0]
    s_gt, _ = lif_forward(cur, LIFConfig(leak=0.5, threshold=1.0, decay_input=True))
    assert s_gt.flatten().tolist()[0] == 0.0      # dfasim's default fires only above
    s_if, u_if = lif_forward(cur, LIFConfig(neuron="if", threshold=1.0, decay_input=True,
                                            fire="ge"))
    assert u_if.flatten()[:2].tolist() == [2.0, 0.4]   # IF: H = V + X


def test_mse_mean_is_torch_mse_loss():
    out, y = torch.rand(5, 4), torch.randint(0, 4, (5,))
    target = torch.nn.functional.one_hot(y, 4).float()
    assert torch.allclose(output_loss(out, y, "mse", "mean"),
                          torch.nn.MSELoss()(out, target))
    assert torch.allclose(output_loss(out, y, "mse"), 4 * torch.nn.MSELoss()(out, target))


def test_one_sdfa_step_matches_the_published_equations():
    torch.manual_seed(0)
    spec = NetworkSpec((12, 9, 7, 3), 6, AUTHORS, "spike")
    model = SpikingMLP(spec, generator=torch.Generator().manual_seed(4)).double()
    with torch.no_grad():
        for w in model.weights:
            w.mul_(8.0)     # enough drive that every layer spikes
    rule = SDFA(model, loss="mse", mse_reduction="mean",
                generator=torch.Generator().manual_seed(5))
    rule.feedback = rule.feedback.double()
    x = (torch.rand(5, 6, 12, dtype=torch.float64) < 0.5).to(torch.float64)
    y = torch.tensor([0, 1, 2, 1, 0])
    loss, _ = rule.gradients(x, y)
    ref_loss, ref_grads = _reference_step([w.detach() for w in model.weights], x, y,
                                          rule.feedback)
    assert abs(loss - float(ref_loss)) < 1e-12
    for w, g in zip(model.weights, ref_grads):
        assert float(g.abs().sum()) > 0
        assert torch.allclose(w.grad, g, rtol=1e-9, atol=1e-12)
