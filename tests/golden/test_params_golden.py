# SPDX-License-Identifier: MIT
"""golden/params.py: one set of parameter checks and bounds, re-exported by the references."""
from __future__ import annotations

import pytest

from dfasim.golden import buffer, fixed, grad_lif, params, wgu
from dfasim.golden.params import (MAX_DEPTH, MAX_LANES, MAX_WIDTH, PingPongParams, PsumParams,
                                  ShiftAddParams, WGUParams, check_depth, check_lanes,
                                  shift_add_sum_width)


def test_references_reexport_the_one_definition():
    # The torch modules keep their public names, and each is the params object itself.
    assert fixed.check_int is params.check_int and fixed.MAX_WIDTH is params.MAX_WIDTH
    assert fixed.int_range is params.int_range and fixed.check_width is params.check_width
    assert grad_lif.GradLIFParams is params.GradLIFParams and grad_lif.RESETS is params.RESETS
    assert wgu.WGUParams is params.WGUParams
    assert wgu.READOUT_ROUNDINGS is params.READOUT_ROUNDINGS == ("floor", "half_up")
    assert buffer.buffer_depth is params.buffer_depth
    assert buffer.GLOBAL_BUFFER_BYTES == 16 * 1024 and buffer.PE_BUFFER_BYTES == 1024


def test_defaults_resolve():
    p = WGUParams(rows=4, cols=3)
    assert (p.grad_width, p.delta_width, p.shift, p.out_width, p.rounding) == \
        (16, 8, 0, 16, "floor")
    s = ShiftAddParams(lanes=2, slices=4)
    assert (s.code_width, s.sum_width, s.differential) == (5, 18, False)
    assert ShiftAddParams(lanes=2, slices=4, adc_bits=4).code_width == 5
    assert PingPongParams(depth=8).bank_depth == 4
    assert PsumParams(lanes=1).acc_width == 16


@pytest.mark.parametrize("call, exc, text", [
    # Upper bounds: a request far beyond any real block fails at once, naming the value.
    (lambda: check_lanes(MAX_LANES + 1), ValueError, f"lanes must be <= 4096, not {4097}"),
    (lambda: check_depth(MAX_DEPTH * 2), ValueError, "depth must be <= 1048576, not 2097152"),
    (lambda: check_depth(12, power_of_two=True), ValueError, "power of two, not 12"),
    (lambda: WGUParams(rows=MAX_DEPTH + 1, cols=1), ValueError, "rows must be <= 1048576"),
    (lambda: WGUParams(rows=1, cols=100_000), ValueError, "cols must be <= 4096, not 100000"),
    (lambda: WGUParams(rows=1, cols=1, rounding="even"), ValueError, "'even'"),
    (lambda: WGUParams(rows=1, cols=1, rounding=None), TypeError, "None"),
    (lambda: WGUParams(rows=1, cols=1, grad_width=63, shift=63, rounding="half_up"),
     ValueError, "shift must be <= 62, not 63"),
    (lambda: PsumParams(lanes=10**8), ValueError, "100000000"),
    (lambda: PsumParams(lanes=2, in_width=9, acc_width=8), ValueError, "not 8"),
    (lambda: ShiftAddParams(lanes=2, slices=1000), ValueError, "slices must be <= 63"),
    (lambda: ShiftAddParams(lanes=2, slices=4, adc_bits=4, code_width=6), ValueError, "not 6"),
    (lambda: shift_add_sum_width(slices=16, slice_bits=4, code_width=5), ValueError,
     "66-bit sum, more than 63 bits"),
    (lambda: PingPongParams(depth=1 << 40), ValueError, "1099511627776"),
    (lambda: PingPongParams(depth=8, signed=1), TypeError, "signed must be a bool, not 1"),
    (lambda: params.GradLIFParams(reset="soft-ish"), ValueError, "'soft-ish'"),
    (lambda: params.int_range(MAX_WIDTH + 1), ValueError, "width must be <= 63, not 64"),
])
def test_validation(call, exc, text):
    with pytest.raises(exc, match=text):
        call()
