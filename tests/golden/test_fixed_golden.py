# SPDX-License-Identifier: MIT
"""Hand vectors and properties of golden/fixed.py and the generators of golden/stimulus.py."""
import math

import pytest
import torch

from dfasim.golden import stimulus
from dfasim.golden.fixed import (
    FixedFormat, asr, check_range, int_range, round_shift, saturate, saturate_flag, wrap,
)


def t(*values):
    return torch.tensor(values, dtype=torch.int64)


# --- ranges, saturation, wrap --------------------------------------------------------------------

def test_int_range_hand_values():
    assert int_range(8) == (-128, 127)
    assert int_range(8, signed=False) == (0, 255)
    assert int_range(1) == (-1, 0)
    assert int_range(63) == (-(1 << 62), (1 << 62) - 1)


def test_saturate_clamps_to_the_width():
    x = t(-300, -129, -128, 0, 127, 128, 300)
    assert saturate(x, 8).tolist() == [-128, -128, -128, 0, 127, 127, 127]
    assert saturate(x, 8, signed=False).tolist() == [0, 0, 0, 0, 127, 128, 255]
    y, flag = saturate_flag(x, 8)
    assert flag.tolist() == [True, True, False, False, False, True, True]


def test_saturate_bounds_on_random_values():
    x = stimulus.random_ints(1000, 20, seed=1)
    for width in (1, 4, 12, 19):
        lo, hi = int_range(width)
        y = saturate(x, width)
        assert int(y.min()) >= lo and int(y.max()) <= hi
        inside = (x >= lo) & (x <= hi)
        assert torch.equal(y[inside], x[inside])


def test_wrap_is_modulo_two_to_the_width():
    x = t(127, 128, 255, 256, -129, -1)
    assert wrap(x, 8).tolist() == [127, -128, -1, 0, 127, -1]
    assert wrap(x, 8, signed=False).tolist() == [127, 128, 255, 0, 127, 255]


# --- shifts ---------------------------------------------------------------------------------------

def test_asr_rounds_toward_minus_infinity():
    # floor(-5/2) = -3 and floor(-1/2) = -1: an arithmetic shifter, not truncation toward 0.
    assert asr(t(-5, -4, -1, 0, 1, 5), 1).tolist() == [-3, -2, -1, 0, 0, 2]
    assert asr(t(-7, 7), 100).tolist() == [-1, 0]


def test_asr_equals_floor_division():
    x = stimulus.random_ints(2000, 32, seed=2)
    for n in (0, 1, 3, 17):
        assert torch.equal(asr(x, n), torch.div(x, 1 << n, rounding_mode="floor"))


def test_round_shift_is_half_up():
    # x / 4 = -1.5, -1.25, -0.75, -0.5, 0.5, 0.75, 1.25, 1.5: ties go toward +inf.
    assert round_shift(t(-6, -5, -3, -2, 2, 3, 5, 6), 2).tolist() == [-1, -1, -1, 0, 1, 1, 1, 2]
    assert round_shift(t(-3, 3), 0).tolist() == [-3, 3]


# --- FixedFormat ---------------------------------------------------------------------------------

def test_quantize_rounds_to_nearest_even_and_saturates():
    fmt = FixedFormat(16, 8)
    lsb = 2.0 ** -8
    x = torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 0.49, 0.51], dtype=torch.float64) * lsb
    assert fmt.quantize(x).tolist() == [0, 2, 2, 0, -2, 0, 1]
    big = torch.tensor([1e9, -1e9, math.inf, -math.inf, 127.999, 127.99])
    assert fmt.quantize(big).tolist() == [32767, -32768, 32767, -32768, 32767, 32765]
    assert fmt.quantize_scalar(0.5) == 128
    assert fmt.quantize_scalar(1000.0, saturate=True) == 32767


def test_quantize_to_float_round_trip_and_monotonicity():
    fmt = FixedFormat(12, 5)
    q = torch.arange(fmt.min_int, fmt.max_int + 1)
    assert torch.equal(fmt.quantize(fmt.to_float(q)), q)
    x = torch.randn(5000, generator=stimulus.make_rng(3), dtype=torch.float64) * 50
    x = torch.sort(x).values
    qx = fmt.quantize(x)
    assert bool((qx[1:] >= qx[:-1]).all())
    inside = (x > fmt.min_int * fmt.lsb) & (x < fmt.max_int * fmt.lsb)
    assert float((fmt.to_float(qx[inside]) - x[inside]).abs().max()) <= fmt.lsb / 2


def test_quantize_rejects_nan_and_out_of_range_without_saturation():
    fmt = FixedFormat(8, 4)
    with pytest.raises(ValueError, match="NaN"):
        fmt.quantize(torch.tensor([math.nan]))
    with pytest.raises(ValueError, match="not representable"):
        fmt.quantize(torch.tensor([8.0]), saturate=False)
    with pytest.raises(ValueError, match="8.0"):
        fmt.quantize_scalar(8.0)
    with pytest.raises(TypeError):
        fmt.quantize(t(1))


@pytest.mark.parametrize("kwargs, exc, text", [
    ({"width": 0}, ValueError, "width must be >= 1, not 0"),
    ({"width": 64}, ValueError, "64"),
    ({"width": 8.0}, TypeError, "8.0"),
    ({"width": True}, TypeError, "True"),
    ({"frac_bits": -1}, ValueError, "-1"),
    ({"signed": 1}, TypeError, "signed"),
])
def test_fixed_format_validation(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        FixedFormat(**kwargs)


def test_helpers_reject_non_int64_tensors_and_name_bad_values():
    with pytest.raises(TypeError, match="int64"):
        saturate(torch.tensor([1.0]), 8)
    with pytest.raises(TypeError, match="torch.Tensor"):
        asr([1, 2], 1)
    with pytest.raises(ValueError, match="current holds 200"):
        check_range(t(1, 200), 8, name="current")
    with pytest.raises(ValueError, match="width must be >= 1, not 0"):
        int_range(0)


# --- seeded stimulus ------------------------------------------------------------------------------

def test_stimulus_is_reproducible_and_in_range():
    a = stimulus.random_currents((4, 8), width=10, seed=7)
    assert torch.equal(a, stimulus.random_currents((4, 8), width=10, seed=7))
    assert not torch.equal(a, stimulus.random_currents((4, 8), width=10, seed=8))
    check_range(a, 10)
    check_range(stimulus.random_errors(100, width=6, seed=1), 6)
    check_range(stimulus.random_adc_codes(100, seed=1), 4, signed=False)
    codes = stimulus.random_slice_codes(1000, seed=1)
    assert int(codes.min()) >= -15 and int(codes.max()) <= 15
    spikes = stimulus.random_spikes((1000,), rate=0.25, seed=1)
    assert set(spikes.unique().tolist()) <= {0, 1} and 0.2 < float(spikes.double().mean()) < 0.3
    assert int(stimulus.random_currents(100, max_abs=3, seed=1).abs().max()) <= 3


def test_stimulus_corner_cases():
    assert stimulus.saturation_corners(8).tolist() == [-128, -127, -1, 0, 1, 126, 127]
    assert stimulus.saturation_corners(2).tolist() == [-2, -1, 0, 1]
    assert stimulus.saturation_corners(4, signed=False).tolist() == [0, 1, 14, 15]
    assert stimulus.threshold_corners(128).tolist() == [126, 127, 128, 129, 130]
    assert stimulus.threshold_corners(127, width=8).tolist() == [125, 126, 127]
    assert stimulus.all_ones_spikes((2, 3)).sum() == 6


def test_default_seed_reads_the_environment(monkeypatch):
    monkeypatch.delenv(stimulus.SEED_ENV, raising=False)
    assert stimulus.default_seed() == stimulus.FALLBACK_SEED
    monkeypatch.setenv(stimulus.SEED_ENV, "1234")
    assert stimulus.default_seed() == 1234
    assert torch.equal(stimulus.random_errors(16), stimulus.random_errors(16, seed=1234))
    monkeypatch.setenv(stimulus.SEED_ENV, "abc")
    with pytest.raises(ValueError, match="DFASIM_SEED='abc'"):
        stimulus.make_rng()
    with pytest.raises(ValueError, match="seed must be >= 0"):
        stimulus.make_rng(-1)
