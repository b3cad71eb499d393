# SPDX-License-Identifier: MIT
"""The compiled reads (``models/crossbar/sparse_read.py``) against the tensor path they replace.

The pattern lookup of multi-bit inputs sums small integers and must give the same bits. The
forward read of spikes and the transposed read of error planes sum each line current in another
order than the dense products, so their currents agree to float rounding and their ADC codes
agree except where a current lies within that rounding of a code boundary; every count of
reads, rows, conversions and bytes must be identical. Both give the same bits on any thread
count.
"""
import copy

import pytest
import torch

from dfasim.models.chip import ChipConfig
from dfasim.models.crossbar import AnalogMatrix
from dfasim.models.crossbar import matrix as matrix_module
from dfasim.models.crossbar.adc import to_codes
from dfasim.models.crossbar.encoding import sign_magnitude
from dfasim.models.crossbar.sparse_read import (error_read_codes, error_read_currents,
                                                kernels_apply, lookup_read_psums,
                                                spike_read_codes)
from dfasim.models.rram.noise import PolynomialSpread


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def programmed(n_out, n_in, cfg, seed=0):
    w = torch.randn(n_out, n_in, generator=gen(seed))
    return AnalogMatrix.from_weight(w, cfg, PolynomialSpread(), gen(seed + 1))


def tensor_path(monkeypatch):
    """Make every read of this test take the tensor operations."""
    monkeypatch.setattr(matrix_module, "kernels_apply", lambda *tensors: False)


def counts(m):
    return m.counters.to_dict()


def small_chip(mapping="differential", rows=256):
    return ChipConfig().updated({"device.mapping": mapping, "crossbar.rows": rows,
                                 "crossbar.cols": rows})


def code_step(m):
    return m.full_scale["forward"] / ((1 << m.chip.crossbar.adc_bits) - 1) * m.weight_per_us


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("shape,rows", [((24, 40), 256), ((70, 150), 64)])
def test_spike_read_matches_the_tensor_path(mapping, shape, rows, monkeypatch):
    """One and several row (and column) tiles: the same codes but at boundaries, the same
    counts."""
    m = programmed(*shape, small_chip(mapping, rows))
    x = (torch.rand(4, 500, shape[1], generator=gen(2)) < 0.3).float()
    m.calibrate(x)
    ref_m = copy.deepcopy(m)
    fast = m.forward(x, binary=True)
    tensor_path(monkeypatch)
    ref = ref_m.forward(x, binary=True)
    assert fast.shape == ref.shape == (4, 500, shape[0])
    differ = (fast != ref)
    assert float(differ.float().mean()) < 1e-3
    # A code that flips moves the sum by one step of one tile (a tile may flip both columns).
    assert float((fast - ref).abs().max()) <= 2 * code_step(m) * (1 + 1e-6)
    assert counts(m) == counts(ref_m)


def test_adc_codes_are_the_codes_the_forward_read_sums():
    m = programmed(40, 300, small_chip("offset", 128))
    x = (torch.rand(200, 300, generator=gen(3)) < 0.4).float()
    m.calibrate(x)
    codes = m.adc_codes(x)
    hi = float((1 << (m.chip.datapath.psum_bits - 1)) - 1)
    acc = torch.clamp(codes.pos - codes.neg, -hi - 1, hi).to(torch.float32)
    total = acc[0]
    for r in range(1, acc.shape[0]):
        total = torch.clamp(total + acc[r], -hi - 1, hi)
    assert torch.equal(m.forward(x, binary=True), total * codes.scale)


def test_lookup_read_equals_the_tensor_path_bit_for_bit(monkeypatch):
    """Multi-bit inputs on a 9-row matrix, with a zero row, NaN and infinities."""
    m = programmed(128, 9, ChipConfig())
    x = torch.randn(3, 400, 9, generator=gen(4))
    x[0, 0] = 0.0
    x[0, 1, 3] = float("nan")
    x[0, 2, 5] = float("inf")
    x[0, 3, 1] = -float("inf")
    m.calibrate(torch.randn(200, 9, generator=gen(5)))
    ref_m = copy.deepcopy(m)
    fast = m.forward(x, binary=False)
    tensor_path(monkeypatch)
    ref = ref_m.forward(x, binary=False)
    assert torch.equal(fast.isnan(), ref.isnan())
    assert torch.equal(torch.nan_to_num(fast), torch.nan_to_num(ref))
    assert counts(m) == counts(ref_m)


def test_lookup_kernel_scales_as_the_tensor_products_round():
    """``unit``: ``(psum * unit) * scale`` in the table's type, bit for bit the two in-place
    products it replaces, in float32 and float64."""
    for dtype in (torch.float32, torch.float64):
        x = (torch.randn(700, 7, generator=gen(21)) * 5).to(dtype)
        table = torch.randint(-15, 16, (128, 40), generator=gen(22)).to(dtype)
        table[0] = 0
        unit = 0.0123456789
        psum, act, scale = lookup_read_psums(x, 8, table)
        scaled, act_scaled, _ = lookup_read_psums(x, 8, table, unit=unit)
        assert torch.equal(scaled, psum.clone().mul_(unit).mul_(scale[:, None]))
        assert torch.equal(act, act_scaled)


def test_lookup_table_of_a_matrix_follows_its_writes():
    """The kept table of drive-pattern codes is rebuilt after a write: reads after an update
    equal those of a copy that never kept one."""
    m = programmed(32, 6, ChipConfig())
    x = torch.randn(300, 6, generator=gen(23))
    m.calibrate(x)
    before = m.forward(x, binary=False)
    assert torch.equal(m.forward(x, binary=False), before)          # the kept table, reused
    m.update(torch.randn(32, 6, generator=gen(24)) * 4 * m.level_step)
    after = m.forward(x, binary=False)
    fresh = copy.deepcopy(m)
    fresh._derived.clear()
    assert not torch.equal(after, before)
    assert torch.equal(after, fresh.forward(x, binary=False))


@pytest.mark.parametrize("shape,rows", [((64, 128), 256), ((70, 90), 64)])
def test_transposed_read_matches_the_tensor_path(shape, rows, monkeypatch):
    """One and two column tiles: the same codes but at boundaries, the same counts, and a
    calibrated range equal to float rounding."""
    m = programmed(*shape, small_chip("differential", rows))
    e = torch.randn(2, 600, shape[0], generator=gen(6)) * (
        torch.rand(2, 600, shape[0], generator=gen(7)) < 0.4)
    e[0, 0] = 0.0
    ref_m = copy.deepcopy(m)
    fast = m.transpose(e)                                   # calibrates the range itself
    tensor_path(monkeypatch)
    ref = ref_m.transpose(e)
    fs, ref_fs = m.full_scale["transpose"], ref_m.full_scale["transpose"]
    assert abs(fs - ref_fs) <= 1e-5 * ref_fs
    ref_m.full_scale["transpose"] = fs                      # the same range from here on
    m.counters.clear()
    ref_m.counters.clear()
    fast = m.transpose(e)
    ref = ref_m.transpose(e)
    lsb = fs / ((1 << m.chip.crossbar.adc_bits) - 1)
    _, _, scale = sign_magnitude(e.reshape(-1, shape[0]), m.chip.datapath.error_bits)
    step = lsb * m.weight_per_us * scale.reshape(fast.shape[:-1]).unsqueeze(-1)
    # A flipped code of plane k moves the sum by 2**k steps: bound the rare flips.
    flips = ((fast - ref).abs() / step).round()
    assert float((flips != 0).float().mean()) < 2e-3
    assert counts(m) == counts(ref_m)


def test_error_currents_equal_float64_products_to_rounding():
    m = programmed(64, 128, ChipConfig())
    e = torch.randn(1000, 64, generator=gen(8)) * (torch.rand(1000, 64, generator=gen(9)) < 0.5)
    bits = 8
    mag, sign, _ = sign_magnitude(e, bits)
    currents, active = error_read_currents(mag, sign, m.g_a, m.g_b, 64, bits - 1)
    k = torch.arange(bits - 1).view(-1, 1, 1)
    on = ((mag.unsqueeze(0) >> k) & 1).double()                       # (K, N, out)
    pos, neg = on * (sign > 0).double(), on * (sign < 0).double()
    ga, gb = m.g_a.double(), m.g_b.double()
    ref = torch.stack([pos @ ga + neg @ gb, pos @ gb + neg @ ga], 2)   # (K, N, 2, in)
    assert torch.allclose(currents[0].double(), ref, rtol=0,
                          atol=1e-6 * float(ref.abs().max()))
    assert torch.equal(active[..., 0], (pos + neg).sum(-1).to(torch.int32))


def test_adc_transfer_of_single_lines_equals_to_codes():
    """A read of one line is that line's conductances exactly, so the codes must be
    ``to_codes`` of them bit for bit: ties to even, the rails, infinities, NaN."""
    g = torch.tensor([[0.5, 1.5, 2.5, -0.4, -3.0, 14.5, 15.5, 99.0, float("inf"),
                       -float("inf"), float("nan"), 7.49999]]).t().contiguous()   # (P, 1)
    drives = torch.ones(1, 1)
    codes, active = spike_read_codes(drives, g, 1, torch.arange(g.shape[0]), 4, raw=True)
    assert torch.equal(codes[0, 0].isnan(), g[:, 0].isnan())
    ref = to_codes(g[:, 0].clone(), 4)
    assert torch.equal(torch.nan_to_num(codes[0, 0], nan=-1.0), torch.nan_to_num(ref, nan=-1.0))
    assert int(active) == 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_adc_transfer_of_single_error_lines_equals_to_codes(dtype):
    """One positive error line in plane 0 only: phase P's currents are its ``G+`` row and
    phase N's its ``G-`` row exactly, so the codes are ``to_codes`` of them bit for bit."""
    g_plus = torch.tensor([[0.5, 1.5, 2.5, 14.5, 15.5, 99.0, float("inf"), float("nan"), -2.0,
                            3.4999]], dtype=dtype)
    g_minus = torch.tensor([[0.0, 0.5, 3.5, 15.0, 1.0, -1.0, 2.0, 1.0, float("-inf"),
                             float("nan")]], dtype=dtype)
    codes, active = error_read_codes(torch.ones(1, 1, dtype=torch.int64), torch.ones(1, 1),
                                     g_plus, g_minus, 1, 7, 4)
    ref = to_codes(g_plus[0].clone(), 4) - to_codes(g_minus[0].clone(), 4)
    assert torch.equal(codes[0, 0].isnan(), ref.isnan())
    assert torch.equal(torch.nan_to_num(codes[0, 0]), torch.nan_to_num(ref))
    assert active[:, 0, 0].tolist() == [1, 0, 0, 0, 0, 0, 0]


def test_nan_errors_drive_no_line(monkeypatch):
    m = programmed(20, 30, ChipConfig())
    e = torch.randn(100, 20, generator=gen(10))
    m.calibrate(err=e)
    e[5, 3] = float("nan")
    mag, sign, _ = sign_magnitude(e, 8)
    _, active = error_read_codes(mag, sign, m.g_a, m.g_b, 20, 7, 4)
    nan_free = e.clone()
    nan_free[5, 3] = 0.0
    mag0, sign0, _ = sign_magnitude(nan_free, 8)
    _, active0 = error_read_codes(mag0, sign0, m.g_a, m.g_b, 20, 7, 4)
    # Row 5's scale is 1 with a NaN (the tensor path's sign_magnitude), so compare the others.
    keep = torch.ones(100, dtype=torch.bool)
    keep[5] = False
    assert torch.equal(active[:, keep], active0[:, keep])
    ref_m = copy.deepcopy(m)
    fast = m.transpose(e)
    tensor_path(monkeypatch)
    ref = ref_m.transpose(e)
    assert torch.equal(fast.isnan(), ref.isnan())
    assert torch.allclose(fast, ref, rtol=0, atol=2 * float(ref.abs().max()) / 15)


def test_the_same_bits_on_any_thread_count():
    m = programmed(64, 128, ChipConfig())
    spikes = (torch.rand(3000, 128, generator=gen(11)) < 0.3).float()
    e = torch.randn(3000, 64, generator=gen(12))
    mag, sign, _ = sign_magnitude(e, 8)
    x = torch.randn(3000, 9, generator=gen(13))
    table = torch.randint(-15, 16, (512, 32), generator=gen(14)).float()
    g = torch.cat([m.g_a, m.g_b], 0) / 3.0

    def run():
        return (*spike_read_codes(spikes, g, 256, torch.arange(64) + 64, 4),
                *error_read_codes(mag, sign, m.g_a / 2.0, m.g_b / 2.0, 64, 7, 4),
                *lookup_read_psums(x, 8, table))

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run()
        torch.set_num_threads(max(2, threads))
        many = run()
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, many):
        assert torch.equal(a, b)


def test_kernels_take_cpu_float_tensors_only():
    assert kernels_apply(torch.zeros(2), torch.zeros(2, dtype=torch.float64))
    assert not kernels_apply(torch.zeros(2, dtype=torch.float16))
    assert not kernels_apply(torch.zeros(2, requires_grad=True))
    assert not kernels_apply(torch.zeros(2, device="meta"))


@pytest.mark.parametrize("values", [[0.0, 1.0, -0.0], [0.0, 1.0, 0.5], [1.0, float("nan")],
                                    [float("inf")], [1.0] * 5, []])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_is_binary_matches_the_tensor_check(values, dtype):
    from dfasim.models.crossbar.encoding import is_binary
    x = torch.tensor(values, dtype=dtype)
    assert is_binary(x) == bool(((x == 0) | (x == 1)).all())
    assert is_binary(x.reshape(-1, 1).t()) == is_binary(x)


@pytest.mark.parametrize("adc_bits,psum_bits", [(4, 16), (8, 12), (6, 8)])
def test_saturation_is_kept_where_the_partial_sum_range_can_be_reached(adc_bits, psum_bits,
                                                                       monkeypatch):
    """Single-tile reads skip the saturating pass only when it could not change anything:
    with a narrow partial-sum range the compiled paths must saturate as the tensor path does."""
    cfg = ChipConfig().updated({"crossbar.adc_bits": adc_bits, "datapath.psum_bits": psum_bits,
                                "crossbar.adc_range": "max"})
    layer0, hidden = programmed(32, 9, cfg), programmed(48, 64, cfg, seed=3)
    x = torch.randn(300, 9, generator=gen(15)) * 3
    spikes = (torch.rand(300, 64, generator=gen(16)) < 0.5).float()
    e = torch.randn(300, 48, generator=gen(17))
    fast = (layer0.forward(x), hidden.forward(spikes, binary=True), hidden.transpose(e))
    tensor_path(monkeypatch)
    ref = (layer0.forward(x), hidden.forward(spikes, binary=True), hidden.transpose(e))
    assert torch.equal(fast[0], ref[0])
    for a, b in zip(fast[1:], ref[1:]):
        assert float((a != b).float().mean()) < 1e-2
    # The transposed read's plane sums do reach the range here: saturated, not wrapped.
    hi = float((1 << (psum_bits - 1)) - 1)
    step = hidden.full_scale["transpose"] / ((1 << adc_bits) - 1) * hidden.weight_per_us
    _, _, scale = sign_magnitude(e, hidden.chip.datapath.error_bits)
    assert float((fast[2] / (step * scale[:, None])).abs().max()) <= (hi + 1) * (1 + 1e-5)
