# SPDX-License-Identifier: MIT
"""Real-data check: the default integer GradLIF neuron fires like the float LIF on UCI-HAR."""
import pytest
import torch

from dfasim.flows.datasets import DatasetError, load_dataset
from dfasim.golden.grad_lif import GradLIFParams, float_to_int_params, lif_forward_int_seq
from dfasim.golden.lif import LIFConfig, lif_forward
from dfasim.golden.stimulus import make_rng

SIZES = (9, 128, 64, 32, 6)  # DFA_Sim Table I network for UCI-HAR
WINDOWS = 256
GAIN = 2.0  # weight std = GAIN / sqrt(fan_in): firing rates of 20-40 % on every layer


@pytest.fixture(scope="module")
def run():
    # Official test split, channels standardised over the whole split, a seeded subset of windows,
    # direct encoding: the standardised sample is layer 1's input at every one of the 128 steps.
    try:
        ds = load_dataset("uci_har", download=False)
    except DatasetError as exc:
        pytest.skip(f"UCI-HAR is not available offline: {str(exc)[:120]}")
    x = torch.from_numpy(ds.x_test).double()
    x = (x - x.mean(dim=(0, 1))) / x.std(dim=(0, 1))
    g = make_rng(2025)
    idx = torch.randperm(x.shape[0], generator=g)[:WINDOWS]
    x = x[idx].transpose(0, 1).contiguous()  # (T, B, 9)
    weights = [torch.randn(n_out, n_in, generator=g, dtype=torch.float64) * GAIN / n_in ** 0.5
               for n_in, n_out in zip(SIZES, SIZES[1:])]

    cfg = LIFConfig()
    p = float_to_int_params(cfg)
    assert p == GradLIFParams()  # the default widths are what is being checked
    fmt = p.current_fmt

    # "propagated": each domain feeds its own spikes forward, as the two networks would run.
    # "isolated": the integer layer gets the float network's input spikes, so only that layer's
    # quantisation (current rounding and the v - (v >> 2) leak) can make it disagree.
    stats = []
    x_float, x_int = x, x
    for layer, w in enumerate(weights, start=1):
        cur = x_float @ w.T
        s_float, _ = lif_forward(cur, cfg)
        s_iso, _ = lif_forward_int_seq(fmt.quantize(cur), p)
        s_int, _ = lif_forward_int_seq(fmt.quantize(x_int @ w.T), p)
        stats.append({
            "layer": layer,
            "rate": float(s_float.mean()),
            "isolated": float((s_iso == s_float.long()).double().mean()),
            "propagated": float((s_int == s_float.long()).double().mean()),
        })
        x_float, x_int = s_float, s_int.double()
    for s in stats:
        print(f"layer {s['layer']}: rate {s['rate']:.3f}, agreement isolated "
              f"{s['isolated']:.4%}, propagated {s['propagated']:.4%}")
    return stats


def test_firing_rates_are_not_trivial(run):
    for s in run:
        assert 0.01 <= s["rate"] <= 0.50, s


def test_integer_lif_agrees_with_float_lif_on_99_percent_of_spikes(run):
    for s in run:
        assert s["isolated"] >= 0.99, s
    # Layer 1 sees the same (real-valued) input in both domains, so both measures coincide.
    assert run[0]["propagated"] == run[0]["isolated"]


def test_propagated_disagreement_stays_bounded(run):
    # A flipped spike shifts a neuron's phase for several steps and perturbs the next layer, so
    # the gap grows with depth (measured 99.5, 97.9, 96.4, 96.6 %; other subset seeds gave
    # 91-93 % at layer 4). This is a loose sanity bound: one-LSB datapath slips such as `>=`
    # for `>` move these figures by < 1 pp and are caught by the hand vectors in
    # test_grad_lif_golden.py, not here.
    for s in run:
        assert s["propagated"] >= 0.90, s
