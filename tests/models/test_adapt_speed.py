# SPDX-License-Identifier: MIT
"""The fast paths of the adaptation loop against the straightforward computations they replaced.

Every fast path but one must give the same bits: the LIF recurrence without autograd, the in-place
triangle surrogate, byte bit planes, the spike read without the plane sum, the layer-0 pattern
lookup as an embedding bag, and transposed reads in slices of vectors (the references below
are the former code, kept here). Two agree to float rounding only: the WGU, one matrix product
instead of an einsum, which sums in another order, and the differential transposed read's row
currents, two products (sum and difference) instead of four.
"""
import copy

import pytest
import torch

from dfasim.golden.lif import LIFConfig, lif_forward, lif_step
from dfasim.golden.network import NetworkSpec, SpikingMLP, Trace
from dfasim.golden.surrogate import SURROGATES
from dfasim.models.analog_network import AnalogSNN, deploy_feedback
from dfasim.models.chip import ChipConfig
from dfasim.models.crossbar import AnalogMatrix
from dfasim.models.crossbar import matrix as matrix_module
from dfasim.models.crossbar.encoding import all_planes_present, bit_planes, sign_magnitude
from dfasim.models.rram.noise import PolynomialSpread

from .lif_cases import lif_cases


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def lif_reference(currents, cfg, v0=None):
    """The per-timestep loop through :func:`lif_step` (autograd function, stacked outputs)."""
    v = torch.zeros_like(currents[0]) if v0 is None else v0
    spikes, membrane = [], []
    for t in range(currents.shape[0]):
        s, u, v = lif_step(v, currents[t], cfg)
        spikes.append(s)
        membrane.append(u)
    return torch.stack(spikes), torch.stack(membrane)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lif_without_autograd_equals_the_step_loop_bit_for_bit(dtype):
    for cfg, cur, g in lif_cases(dtype, 0.4):
        v0 = torch.randn(5, 17, generator=g).to(dtype)
        for v in (None, v0):
            with torch.no_grad():
                fast = lif_forward(cur, cfg, v)
            ref = lif_reference(cur, cfg, v)
            assert torch.equal(fast[0], ref[0]) and torch.equal(fast[1], ref[1]), cfg


def test_lif_keeps_its_gradient_path():
    cur = torch.randn(6, 3, 4, requires_grad=True)
    s, _ = lif_forward(cur, LIFConfig())
    s.sum().backward()
    assert cur.grad is not None and cur.grad.abs().sum() > 0


@pytest.mark.parametrize("width", [1.0, 0.7, 2.5])
def test_in_place_triangle_equals_the_formula(width):
    x = torch.randn(10_000, generator=gen(2)) * 2
    x[:3] = torch.tensor([width, -width, 0.0])
    ref = torch.clamp(width - x.abs(), min=0.0) / (width * width)
    assert torch.equal(SURROGATES["triangle"](x, width), ref)


def planes_reference(mag, sign, bits, dtype):
    """The former int32 bit planes, masked by sign after the conversion."""
    k = torch.arange(bits - 1, dtype=torch.int32)
    b = ((mag.to(torch.int32).unsqueeze(0) >> k.view(-1, *([1] * mag.dim()))) & 1).to(dtype)
    d = torch.stack([b * (sign > 0).to(dtype), b * (sign < 0).to(dtype)], 1)
    return d, (2.0 ** k).to(dtype)


@pytest.mark.parametrize("bits", [2, 4, 8, 9, 12])
def test_bit_planes_equal_the_former_planes(bits):
    x = torch.randn(50, 13, generator=gen(3))
    x[4] = 0
    mag, sign, _ = sign_magnitude(x, bits)
    ref = planes_reference(mag, sign, bits, torch.float32)
    for inner in (False, True):
        d, w = bit_planes(mag, sign, bits, torch.float32, sign_inner=inner)
        assert torch.equal(d, ref[0]) and torch.equal(w, ref[1])
    assert all_planes_present(mag, sign != 0, bits)
    assert not all_planes_present(mag, torch.zeros_like(sign, dtype=torch.bool), bits)


def programmed(n_out, n_in, cfg, seed=0):
    w = torch.randn(n_out, n_in, generator=gen(seed))
    return AnalogMatrix.from_weight(w, cfg, PolynomialSpread(), gen(seed + 1))


def test_spike_read_equals_codes_times_lsb():
    """One row tile of spikes: round, clip, G+ minus G- codes, saturate, scale: nothing else."""
    cfg = ChipConfig()
    m = programmed(24, 40, cfg)
    x = (torch.rand(300, 40, generator=gen(4)) < 0.3).float()
    m.calibrate(x)
    lsb = m.full_scale["forward"] / ((1 << cfg.crossbar.adc_bits) - 1)
    g = torch.cat([m.g_a, m.g_b], 0) / lsb
    codes = (x @ g.t()).round_().clamp_(0, (1 << cfg.crossbar.adc_bits) - 1)
    hi = float((1 << (cfg.datapath.psum_bits - 1)) - 1)
    ref = torch.clamp(codes[:, :24] - codes[:, 24:], -hi - 1, hi) * (lsb * m.weight_per_us)
    assert torch.equal(m.forward(x, binary=True), ref)
    assert torch.equal(m.forward(x), ref)


def test_layer0_lookup_equals_reading_every_plane():
    """The pattern lookup (weighted bag of table rows) against reading every bit plane."""
    cfg = ChipConfig()
    m = programmed(16, 9, cfg)
    x = torch.randn(400, 9, generator=gen(5))
    m.calibrate(x)
    drives, w, scale, _ = m._drives(x, cfg.datapath.input_bits)
    fs = m.full_scale["forward"]
    sig, _ = m._signed_codes(drives, fs)                     # (K, N, 1, out), every plane read
    ref = torch.einsum("k,knro->rno", w, sig)
    fast, _ = m._tile_psums(drives, w, fs)
    assert torch.equal(fast, ref)


@pytest.mark.parametrize("mapping", ["differential", "offset"])
def test_sliced_transposed_read_equals_one_pass(mapping, monkeypatch):
    cfg = ChipConfig().updated({"device.mapping": mapping, "crossbar.rows": 64,
                                "crossbar.cols": 64})
    m = programmed(70, 90, cfg)                               # two column tiles
    e = torch.randn(500, 70, generator=gen(6)) * (torch.rand(500, 70, generator=gen(7)) < 0.4)
    m.calibrate(err=e)
    monkeypatch.setattr(matrix_module, "_SLICE_BYTES", 1 << 40)
    one_pass = m.transpose(e)
    monkeypatch.setattr(matrix_module, "_SLICE_BYTES", 4096)
    assert torch.equal(m.transpose(e), one_pass)


def test_transposed_read_equals_a_plane_by_plane_reference():
    """Differential, one column tile: per plane and phase, codes of the row currents."""
    cfg = ChipConfig()
    m = programmed(20, 30, cfg)
    e = torch.randn(200, 20, generator=gen(8))
    m.calibrate(err=e)
    bits = cfg.datapath.error_bits
    lsb = m.full_scale["transpose"] / ((1 << cfg.crossbar.adc_bits) - 1)
    mag, sign, scale = sign_magnitude(e, bits)
    planes, w = planes_reference(mag, sign, bits, torch.float32)
    top = (1 << cfg.crossbar.adc_bits) - 1
    ga, gb = m.g_a / lsb, m.g_b / lsb
    acc = torch.zeros(200, 30)
    for k in range(planes.shape[0]):
        pos, neg = planes[k, 0], planes[k, 1]
        d = torch.cat([pos, neg], 1)
        i_p = d @ torch.cat([ga, gb], 0)
        i_n = d @ torch.cat([gb, ga], 0)
        acc += w[k] * (i_p.round().clamp(0, top) - i_n.round().clamp(0, top))
    ref = acc * (lsb * m.weight_per_us) * scale[:, None]
    # The one-pass reference sums each current in BLAS's order for its own shapes.
    assert torch.allclose(m.transpose(e), ref, rtol=0, atol=2 * lsb * m.weight_per_us
                          * float(scale.max()))


def small_chip(seed=0):
    spec = NetworkSpec((9, 24, 12, 4), 16)
    model = SpikingMLP(spec, generator=gen(seed))
    x = torch.randn(20, 16, 9, generator=gen(seed + 1))
    y = torch.randint(0, 4, (20,), generator=gen(seed + 2))
    g = gen(seed + 3)
    chip = AnalogSNN.deploy(model, ChipConfig(), PolynomialSpread(), g, calibration=x)
    fb = deploy_feedback(spec, ChipConfig(), PolynomialSpread(), g, counters=chip.counters)
    return chip, fb, x, y


def test_wgu_product_equals_the_einsum_to_rounding():
    chip, _, x, _ = small_chip()
    _, trace = chip.forward(x, training=True)
    deltas = [torch.randn(s.shape[:2] + (m.n_out,), generator=gen(9))
              for s, m in zip(trace.inputs, chip.layers)]
    ref = [-0.1 * torch.einsum("tbo,tbi->oi", d, s) for d, s in zip(deltas, trace.inputs)]
    dws, _ = copy.deepcopy(chip)._wgu_and_update(deltas, Trace(trace.inputs, [], []), 0.1)
    for dw, r in zip(dws, ref):
        assert dw.shape == r.shape
        assert torch.allclose(dw, r, rtol=1e-5, atol=1e-6)


def test_same_seed_same_steps_bit_for_bit():
    results = []
    for _ in range(2):
        chip, fb, x, y = small_chip()
        a = chip.dfa_step(x[:10], y[:10], fb, 0.1)
        b = chip.bp_step(x[10:], y[10:], 0.3)
        results.append((a.output, b.output, *a.delta_w, *b.delta_w,
                        *[m.g_a for m in chip.layers]))
    for p, q in zip(*results):
        assert torch.equal(p, q)


def test_sum_and_difference_currents_equal_four_products_to_rounding():
    """Differential transposed read: the phases' row currents from two products, S and D,
    against the four products ``pos G+ + neg G-`` and ``pos G- + neg G+``: equal to float
    rounding, and the ADC codes equal except where a current sits within that rounding of a
    code boundary."""
    cfg = ChipConfig()
    m = programmed(64, 128, cfg)
    e = torch.randn(3000, 64, generator=gen(10)) * (torch.rand(3000, 64, generator=gen(11)) < 0.5)
    m.calibrate(err=e)
    lsb = m.full_scale["transpose"] / ((1 << cfg.crossbar.adc_bits) - 1)
    mag, sign, _ = sign_magnitude(e, cfg.datapath.error_bits)
    planes, _ = bit_planes(mag, sign, cfg.datapath.error_bits, torch.float32, sign_inner=True)
    fast = m._phase_currents(planes, lsb)[0]                     # (K, N, 2, in)
    ga, gb = m.g_a / lsb, m.g_b / lsb
    pos, neg = planes[:, 0], planes[:, 1]                        # (K, N, out)
    ref = torch.stack([pos @ ga + neg @ gb, pos @ gb + neg @ ga], 2)
    scale = float(ref.abs().max())
    assert torch.allclose(fast, ref, rtol=0, atol=1e-5 * scale)
    top = (1 << cfg.crossbar.adc_bits) - 1
    codes = [c.round().clamp(0, top) for c in (fast, ref)]
    differ = float((codes[0] != codes[1]).float().mean())
    assert differ < 1e-4, differ
