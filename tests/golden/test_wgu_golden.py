# SPDX-License-Identifier: MIT
"""Hand vectors and properties of the weight-gradient unit reference."""
import pytest
import torch

from dfasim.golden import stimulus
from dfasim.golden.wgu import wgu_accumulate, wgu_readout


def t(*values):
    return torch.tensor(values, dtype=torch.int64)


def scalar_reference(G, delta, spikes, grad_width):
    """Plain-Python read-modify-write loop in the documented (t, b) row-major order."""
    lo, hi = -(1 << (grad_width - 1)), (1 << (grad_width - 1)) - 1
    g = G.tolist()
    for d_tb, s_tb in zip(delta.reshape(-1, delta.shape[-1]).tolist(),
                          spikes.reshape(-1, spikes.shape[-1]).tolist()):
        for i, d in enumerate(d_tb):
            for j, s in enumerate(s_tb):
                if s:
                    g[i][j] = min(max(g[i][j] + d, lo), hi)
    return torch.tensor(g, dtype=torch.int64)


def test_equals_einsum_without_saturation():
    T, B, n_out, n_in = 6, 3, 5, 7
    G0 = stimulus.random_gradients((n_out, n_in), width=10, seed=41)
    delta = stimulus.random_errors((T, B, n_out), width=8, seed=42)
    spikes = stimulus.random_spikes((T, B, n_in), rate=0.4, seed=43)
    G, ovf = wgu_accumulate(G0, delta, spikes, grad_width=16)
    assert torch.equal(G, G0 + torch.einsum("tbi,tbj->ij", delta, spikes))
    assert not bool(ovf.any())


def test_saturation_order_is_t_major_and_pinned_by_hand():
    # 8-bit G = 120, deltas (t, b) = [[+10, +10], [-10, -10]], every spike on.
    delta = t(10, 10, -10, -10).reshape(2, 2, 1)
    ones = stimulus.all_ones_spikes((2, 2, 1))
    G, ovf = wgu_accumulate(t(120).reshape(1, 1), delta, ones, grad_width=8)
    # t-major: 130->127, 137->127, 117, 107
    assert (int(G), bool(ovf)) == (107, True)
    # Sample-major order (transpose in): +10 -> 127, -10 -> 117, +10 -> 127, -10 -> 117.
    G, _ = wgu_accumulate(t(120).reshape(1, 1), delta.transpose(0, 1), ones, grad_width=8)
    assert int(G) == 117
    # Down first never clamps: 120 -> 110 -> 120.
    G, ovf = wgu_accumulate(t(120).reshape(1, 1), t(-10, 10).reshape(2, 1, 1),
                            ones[:, :1], grad_width=8)
    assert (int(G), bool(ovf)) == (120, False)


def test_saturating_accumulation_matches_a_scalar_loop():
    T, B, n_out, n_in = 5, 4, 3, 6
    G0 = stimulus.random_gradients((n_out, n_in), width=6, seed=44)
    delta = stimulus.random_errors((T, B, n_out), width=6, seed=45)
    spikes = stimulus.random_spikes((T, B, n_in), rate=0.6, seed=46)
    G, ovf = wgu_accumulate(G0, delta, spikes, grad_width=6, delta_width=6)
    assert torch.equal(G, scalar_reference(G0, delta, spikes, 6))
    assert bool(ovf.any())  # this stimulus does clamp
    assert int(G.min()) >= -32 and int(G.max()) <= 31


def test_spikes_gate_the_update():
    G0 = stimulus.random_gradients((4, 3), width=16, seed=47)
    delta = stimulus.random_errors((2, 2, 4), seed=48)
    G, _ = wgu_accumulate(G0, delta, torch.zeros((2, 2, 3), dtype=torch.int64))
    assert torch.equal(G, G0)
    G, _ = wgu_accumulate(torch.zeros_like(G0), delta, stimulus.all_ones_spikes((2, 2, 3)))
    assert torch.equal(G, delta.sum((0, 1))[:, None].expand(4, 3))


def test_readout_rounding_saturation_and_clear():
    G = t(-6, -5, -3, -2, 2, 3, 5, 6)
    up, G_next = wgu_readout(G, shift=2)
    assert up.tolist() == [-2, -2, -1, -1, 0, 0, 1, 1]  # floor
    assert torch.equal(G_next, G)
    up, _ = wgu_readout(G, shift=2, rounding="half_up")
    assert up.tolist() == [-1, -1, -1, 0, 1, 1, 1, 2]
    up, G_next = wgu_readout(t(300, -300, 5), grad_width=12, out_width=8, clear=True)
    assert up.tolist() == [127, -128, 5]
    assert G_next.tolist() == [0, 0, 0]


@pytest.mark.parametrize("call, exc, text", [
    (lambda: wgu_accumulate(torch.zeros(2, 2, dtype=torch.int64), t(1, 1).reshape(1, 1, 2),
                            t(2, 0).reshape(1, 1, 2)), ValueError, "spikes holds 2"),
    (lambda: wgu_accumulate(torch.zeros(2, 2, dtype=torch.int64), t(200, 1).reshape(1, 1, 2),
                            t(1, 0).reshape(1, 1, 2)), ValueError, "delta holds 200"),
    (lambda: wgu_accumulate(torch.zeros(2, 3, dtype=torch.int64), t(1, 1).reshape(1, 1, 2),
                            t(1, 0).reshape(1, 1, 2)), ValueError, "shape mismatch"),
    (lambda: wgu_accumulate(torch.zeros(2, dtype=torch.int64), t(1), t(1)), ValueError,
     "expected G"),
    (lambda: wgu_accumulate(t(1).reshape(1, 1), t(1).reshape(1, 1, 1), t(1).reshape(1, 1, 1),
                            grad_width=0), ValueError, "grad_width must be >= 1, not 0"),
    (lambda: wgu_readout(t(1), rounding="even"), ValueError, "'even'"),
    (lambda: wgu_readout(t(1), shift=-1), ValueError, "shift must be >= 0, not -1"),
    (lambda: wgu_readout(t(1), clear=1), TypeError, "clear must be a bool, not 1"),
    (lambda: wgu_readout(t(40000)), ValueError, "G holds 40000"),
])
def test_validation(call, exc, text):
    with pytest.raises(exc, match=text):
        call()
