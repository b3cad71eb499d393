# SPDX-License-Identifier: MIT
"""Co-simulation of one SNN layer: AnalogMatrix codes -> RTL psum, GradLIF and WGU vs golden.

Cases: a small ideal layer, a 2-row-tile noisy layer, a UCI-HAR-shaped input layer (9 inputs,
T = 128, a real UCI-HAR test window where the offline copy exists, else a seeded synthetic one)
and a 256-input layer (one full crossbar of rows).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dfasim.cosim.analog_digital import (layer_codes, project_errors, rtl_grad_lif_layer,
                                  rtl_psum_layer, rtl_wgu_layer)
from dfasim.models.chip import ChipConfig
from dfasim.models.crossbar import AnalogMatrix
from dfasim.models.rram.noise import IdealDevice, PolynomialSpread
from dfasim.golden.grad_lif import GradLIFParams, grad_lif_backward_int, lif_forward_int_seq
from dfasim.golden.psum import psum_accumulate
from dfasim.golden.wgu import wgu_accumulate, wgu_readout

__all__: list[str] = []

ADC_BITS = 4
IN_WIDTH = ADC_BITS + 1         # a differential code pos - neg, -15 .. 15
ACC_WIDTH = 12                  # psum of up to 2 row tiles fits easily (|psum| <= 30)
GRAD_WIDTH = 16
N_CLASSES = 4

# Scaling: the GradLIF current code is the psum itself (current_width = ACC_WIDTH,
# frac_bits = 0), so the threshold and the surrogate width are in psum LSBs; one LSB is
# ``AdcCodes.scale`` weight units. Surrogate g = 4 LSBs, delta = (h * err) >> 2.
LIF = dict(mem_width=14, frac_bits=0, leak_shift=2, current_width=ACC_WIDTH, sg_width=4,
           grad_shift=2, err_width=8, delta_width=8)

# Readout of the weight update: delta x spike sums shifted right by 2 (half-up) into 8 bits,
# the integer ΔW handed to the RRAM write drivers.
READ = dict(shift=2, out_width=8, rounding="half_up")

# (n_in, n_out, T, input spike rate or "uci_har", weight bias, threshold, noise, seed)
CASES = {
    "9x8_ideal":        (9, 8, 16, 0.5, 0.05, 6, IdealDevice, 1),
    "300x8_2tile":      (300, 8, 16, 0.3, 0.01, 5, PolynomialSpread, 2),
    "uci_har_9x32_T128": (9, 32, 128, "uci_har", 0.05, 6, PolynomialSpread, 3),
    "256x16_T32":       (256, 16, 32, 0.2, 0.0, 4, PolynomialSpread, 4),
}


def uci_har_spikes(n_t: int, gen: torch.Generator) -> torch.Tensor:
    """A ``(T, 9)`` spike train from one UCI-HAR test window: a channel spikes above its mean.

    The analog network drives the input layer bit-serially; the co-simulation keeps 1-bit
    rows, so each real channel is threshold-encoded. Without the offline copy a seeded
    random walk of the same shape stands in (the test still checks RTL == golden).
    """
    from dfasim.flows.datasets import resolve_data_dirs, uci_har
    for d in resolve_data_dirs():
        if (d / uci_har.NPZ_TEST).is_file():
            with np.load(d / uci_har.NPZ_TEST) as z:
                x = torch.as_tensor(z["x_test"][0], dtype=torch.float32)
            break
    else:
        x = torch.randn(n_t, 9, generator=gen).cumsum(0)
    if x.shape[0] != n_t:                   # stored as (channels, T)
        x = x.T
    assert x.shape == (n_t, 9)
    return (x > x.mean(0)).to(torch.float32)


def golden_layer(name: str) -> dict:
    """The crossbar codes and golden integer chain of case ``name`` (no RTL involved).

    Also used by the cocotb tier, which runs the same layer's WGU as one 256-column block.
    """
    n_in, n_out, n_t, rate, bias, theta, noise, seed = CASES[name]
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(n_out, n_in, generator=gen) * 0.1 + bias
    chip = ChipConfig().updated({"crossbar.adc_bits": ADC_BITS})
    matrix = AnalogMatrix.from_weight(weight, chip, noise(), generator=gen)
    if rate == "uci_har":
        spikes_in = uci_har_spikes(n_t, gen)
    else:
        spikes_in = (torch.rand(n_t, n_in, generator=gen) < rate).to(torch.float32)
    assert spikes_in.shape == (n_t, n_in) and 0 < spikes_in.mean() < 1
    assert matrix.row_tiles == -(-n_in // matrix.chip.crossbar.rows)

    # Forward: differential codes -> psum accumulator -> integer currents.
    codes = layer_codes(matrix, spikes_in, adc_bits=ADC_BITS)            # (T, R, out)
    assert codes.shape == (n_t, matrix.row_tiles, n_out)
    psum, psum_ovf = psum_accumulate(codes.transpose(0, 1), acc_width=ACC_WIDTH,
                                     in_width=IN_WIDTH)
    assert not bool(psum_ovf.any())

    # GradLIF forward on the psums (current code = psum).
    p = GradLIFParams(threshold=theta, **LIF)
    s, u = lif_forward_int_seq(psum, p)
    firing = s.float().mean().item()
    assert 0.05 <= firing <= 0.5, f"firing rate {firing:.3f} outside 5 % .. 50 %"

    # DFA error: e (C classes) projected by B (out x C), saturated to err_width.
    e = torch.randint(-8, 9, (N_CLASSES,), generator=gen)
    B = torch.randint(-3, 4, (n_out, N_CLASSES), generator=gen)
    err = project_errors(e, B, err_width=p.err_width)
    assert err.abs().sum() > 0
    delta = grad_lif_backward_int(u, err.expand(n_t, n_out), p)
    assert bool(delta.ne(0).any())            # the update below is not trivially zero

    # WGU: G = sum_t delta[t] (x) spikes_in[t] from a cleared memory, read out as ΔW.
    s_int = spikes_in.to(torch.int64)
    G, G_ovf = wgu_accumulate(torch.zeros(n_out, n_in, dtype=torch.int64), delta[:, None],
                              s_int[:, None], grad_width=GRAD_WIDTH, delta_width=p.delta_width)
    assert torch.equal(G, torch.einsum("ti,tj->ij", delta, s_int))
    dW, _ = wgu_readout(G, grad_width=GRAD_WIDTH, **READ)
    assert bool(dW.ne(0).any())
    return dict(codes=codes, psum=psum, psum_ovf=psum_ovf, params=p, s=s, u=u, err=err,
                delta=delta, spikes_in=s_int, G_ovf=G_ovf, dW=dW)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_cosim(name):
    gold = golden_layer(name)
    p = gold["params"]

    rtl_psum, rtl_ovf = rtl_psum_layer(gold["codes"], in_width=IN_WIDTH, acc_width=ACC_WIDTH)
    assert torch.equal(rtl_psum, gold["psum"])
    assert torch.equal(rtl_ovf, gold["psum_ovf"])

    # The RTL GradLIF runs on the RTL psums, so the chain is RTL end to end.
    rtl_s, rtl_u, rtl_delta = rtl_grad_lif_layer(rtl_psum, gold["err"], p)
    assert torch.equal(rtl_s, gold["s"])
    assert torch.equal(rtl_u, gold["u"])
    assert torch.equal(rtl_delta, gold["delta"])

    rtl_dW, rtl_G_ovf = rtl_wgu_layer(rtl_delta, gold["spikes_in"], grad_width=GRAD_WIDTH,
                                      delta_width=p.delta_width, **READ)
    assert torch.equal(rtl_dW, gold["dW"])
    assert torch.equal(rtl_G_ovf, gold["G_ovf"])
