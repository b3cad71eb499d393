# SPDX-License-Identifier: MIT
"""Training rules: each rule's gradient checked against an independent computation."""
import math

import pytest
import torch

from dfasim.golden.lif import lif_forward
from dfasim.golden.loss import output_error, output_loss
from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.golden.rules import BPTT, DFA, SDFA, make_rule


def _setup(layers=(5, 16, 12, 3), T=6, seed=0, readout="spike"):
    g = torch.Generator().manual_seed(seed)
    spec = NetworkSpec(layers, T, readout=readout)
    model = SpikingMLP(spec, generator=g)
    with torch.no_grad():
        for w in model.weights:
            w.mul_(3.0)  # make the small network fire
    x = torch.randn(8, T, layers[0], generator=g) * 2
    y = torch.randint(0, layers[-1], (8,), generator=g)
    return model, x, y, g


def test_network_fires_in_test_setup():
    model, x, _, _ = _setup()
    _, trace = model(x)
    rates = [s.mean().item() for s in trace.spikes]
    assert all(0.02 < r < 0.9 for r in rates), rates


def test_bptt_equals_autograd():
    model, x, y, _ = _setup()
    BPTT(model, loss="mse").gradients(x, y)
    got = [w.grad.clone() for w in model.weights]
    out, _ = model(x)
    ref = torch.autograd.grad(output_loss(out, y, "mse"), list(model.weights))
    for a, b in zip(got, ref):
        assert torch.allclose(a, b)
    assert any(a.abs().sum() > 0 for a in got)


def test_dfa_matches_explicit_formula():
    model, x, y, g = _setup()
    rule = DFA(model, loss="mse", generator=g)
    rule.gradients(x, y)
    with torch.no_grad():
        out, tr = model(x)
    _, e = output_error(out, y, "mse")
    T = x.shape[1]
    cfg = model.spec.lif
    for l in range(model.n_layers):
        proj = e if l == model.n_layers - 1 else e @ rule.feedback[l].t()
        ref = torch.zeros_like(model.weights[l])
        for t in range(T):
            delta = (proj / T) * cfg.surrogate.grad(tr.membranes[l][t] - cfg.threshold)
            ref += delta.t() @ tr.inputs[l][t]
        assert torch.allclose(model.weights[l].grad, ref, atol=1e-6)


def test_dfa_feedback_is_fixed_and_zero_error_gives_zero_update():
    model, x, y, g = _setup()
    rule = DFA(model, loss="mse", generator=g)
    b0 = [b.clone() for b in rule.feedback]
    rule.gradients(x, y)
    assert all(torch.equal(a, b) for a, b in zip(b0, rule.feedback))
    # With B = 0 no error reaches the hidden layers, whatever the output error.
    rule.feedback = [torch.zeros_like(b) for b in rule.feedback]
    rule.gradients(x, y)
    assert all(model.weights[l].grad.abs().sum() == 0 for l in range(model.n_layers - 1))


def test_dfa_timestep_error_differs_from_average():
    model, x, y, g = _setup()
    a = DFA(model, loss="mse", generator=torch.Generator().manual_seed(1))
    b = DFA(model, loss="mse", error="timestep", generator=torch.Generator().manual_seed(1))
    a.gradients(x, y)
    ga = [w.grad.clone() for w in model.weights]
    b.gradients(x, y)
    assert not torch.allclose(ga[-1], model.weights[-1].grad)


def test_sdfa_semantics():
    model, x, y, g = _setup()
    rule = SDFA(model, loss="mse", generator=g)
    assert rule.feedback.shape == (3, 16)  # (C, max hidden width)
    rule.gradients(x, y)
    got = [w.grad.clone() for w in model.weights]

    # Independent reference: layer by layer with detached inputs.
    with torch.no_grad():
        out, tr = model(x)
    _, e = output_error(out, y, "mse")
    r = e @ rule.feedback / math.sqrt(16)
    for l, n in enumerate(model.spec.layers[1:]):
        w = model.weights[l].detach().clone().requires_grad_(True)
        s, _ = lif_forward(tr.inputs[l] @ w.t(), model.spec.lif)
        if l < model.n_layers - 1:
            obj = (s * r[:, :n]).sum()  # same r[:, :n_l] at every timestep
        else:
            obj = output_loss(s.mean(0), y, "mse")  # true gradient at the output
        (ref,) = torch.autograd.grad(obj, w)
        assert torch.allclose(got[l], ref, atol=1e-6), l


def test_rules_share_interface_and_validate():
    model, x, y, g = _setup()
    for name in ("bptt", "dfa", "sdfa"):
        rule = make_rule(name, model, loss="ce", generator=g)
        loss, out = rule.gradients(x, y)
        assert math.isfinite(loss) and out.shape == (8, 3)
        assert all(w.grad is not None for w in model.weights)
    with pytest.raises(ValueError):
        make_rule("hebb", model)
    with pytest.raises(ValueError):
        make_rule("bptt", model, loss="hinge")
    with pytest.raises(ValueError):
        DFA(model, error="sometimes")


def test_dfa_state_roundtrip():
    model, _, _, g = _setup()
    a = DFA(model, generator=g)
    b = DFA(model, generator=torch.Generator().manual_seed(99))
    b.load_state_dict(a.state_dict())
    assert all(torch.equal(p, q) for p, q in zip(a.feedback, b.feedback))
    with pytest.raises(ValueError):
        b.load_state_dict({"B0": a.feedback[0]})
