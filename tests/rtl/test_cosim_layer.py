# SPDX-License-Identifier: MIT
"""Co-simulation of one SNN layer: AnalogMatrix codes -> RTL psum, GradLIF and WGU vs golden."""
from __future__ import annotations

import pytest
import torch

from dfasim.cosim.analog_digital import (layer_codes, project_errors, rtl_grad_lif_layer,
                                  rtl_psum_layer, rtl_wgu_layer)
from dfasim.models.crossbar import AnalogMatrix, CrossbarConfig
from dfasim.models.rram.noise import IdealDevice, PolynomialSpread
from dfasim.golden.grad_lif import GradLIFParams, grad_lif_backward_int, lif_forward_int_seq
from dfasim.golden.psum import psum_accumulate
from dfasim.golden.wgu import wgu_accumulate

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

# (n_in, n_out, T, input spike rate, weight bias, threshold, noise, seed)
CASES = {
    "9x8_ideal":   (9, 8, 16, 0.5, 0.05, 6, IdealDevice, 1),
    "300x8_2tile": (300, 8, 16, 0.3, 0.01, 5, PolynomialSpread, 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_cosim(name):
    n_in, n_out, n_t, rate, bias, theta, noise, seed = CASES[name]
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(n_out, n_in, generator=gen) * 0.1 + bias
    matrix = AnalogMatrix.from_weight(weight, CrossbarConfig(adc_bits=ADC_BITS), noise(),
                                      generator=gen)
    spikes_in = (torch.rand(n_t, n_in, generator=gen) < rate).to(torch.float32)
    assert matrix.row_tiles == -(-n_in // matrix.cfg.rows)

    # Forward: differential codes -> RTL psum accumulator -> integer currents.
    codes = layer_codes(matrix, spikes_in, adc_bits=ADC_BITS)            # (T, R, out)
    assert codes.shape == (n_t, matrix.row_tiles, n_out)
    gold_psum, gold_ovf = psum_accumulate(codes.transpose(0, 1), acc_width=ACC_WIDTH,
                                          in_width=IN_WIDTH)
    assert not bool(gold_ovf.any())
    rtl_psum, rtl_ovf = rtl_psum_layer(codes, in_width=IN_WIDTH, acc_width=ACC_WIDTH)
    assert torch.equal(rtl_psum, gold_psum)
    assert torch.equal(rtl_ovf, gold_ovf)

    # GradLIF forward on the psums (current code = psum).
    p = GradLIFParams(threshold=theta, **LIF)
    gold_s, gold_u = lif_forward_int_seq(gold_psum, p)
    firing = gold_s.float().mean().item()
    assert 0.05 <= firing <= 0.5, f"firing rate {firing:.3f} outside 5 % .. 50 %"

    # DFA error: e (C classes) projected by B (out x C), saturated to err_width.
    e = torch.randint(-8, 9, (N_CLASSES,), generator=gen)
    B = torch.randint(-3, 4, (n_out, N_CLASSES), generator=gen)
    err = project_errors(e, B, err_width=p.err_width)
    assert err.abs().sum() > 0

    rtl_s, rtl_u, rtl_delta = rtl_grad_lif_layer(rtl_psum, err, p)
    assert torch.equal(rtl_s, gold_s)
    assert torch.equal(rtl_u, gold_u)
    gold_delta = grad_lif_backward_int(gold_u, err.expand(n_t, n_out), p)
    assert torch.equal(rtl_delta, gold_delta)
    assert bool(gold_delta.ne(0).any())       # the update below is not trivially zero

    # WGU: G = sum_t delta[t] (x) spikes_in[t], from a cleared memory.
    s_int = spikes_in.to(torch.int64)
    gold_G, gold_G_ovf = wgu_accumulate(torch.zeros(n_out, n_in, dtype=torch.int64),
                                        gold_delta[:, None], s_int[:, None],
                                        grad_width=GRAD_WIDTH, delta_width=p.delta_width)
    rtl_G, rtl_G_ovf = rtl_wgu_layer(rtl_delta, s_int, grad_width=GRAD_WIDTH,
                                     delta_width=p.delta_width)
    assert torch.equal(rtl_G, gold_G)
    assert torch.equal(rtl_G_ovf, gold_G_ovf)
    assert torch.equal(gold_G, torch.einsum("ti,tj->ij", gold_delta, s_int))
