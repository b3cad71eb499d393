# amaranth: UnusedElaboratable=no
# SPDX-License-Identifier: MIT
"""Every RTL block validates with golden.params: same classes, and absurd sizes fail at once."""
from __future__ import annotations


import pytest

from dfasim.golden.params import (GradLIFParams, PingPongParams, PsumParams, ShiftAddParams,
                                  WGUParams)
from dfasim.rtl.accum import PsumAccumulator, ShiftAdder
from dfasim.rtl.buffer import PingPongBuffer
from dfasim.rtl.neuron import GradLIF
from dfasim.rtl.wgu import WGU

# Constructed and never elaborated: the linter comment on line 1 keeps Amaranth quiet.


def test_blocks_hold_the_shared_params():
    assert GradLIF(lanes=2).params == GradLIFParams()
    assert PsumAccumulator(lanes=2).params == PsumParams(lanes=2)
    assert ShiftAdder(lanes=2, slices=3).params == ShiftAddParams(lanes=2, slices=3)
    assert WGU(rows=4, cols=2).params == WGUParams(rows=4, cols=2)
    assert PingPongBuffer(depth=8).params == PingPongParams(depth=8)


@pytest.mark.parametrize("build, value", [
    (lambda: GradLIF(lanes=100_000_000), "100000000"),
    (lambda: GradLIF(lanes=2, max_timesteps=1 << 30), "1073741824"),
    (lambda: PsumAccumulator(lanes=4097), "4097"),
    (lambda: ShiftAdder(lanes=1 << 20, slices=2), "1048576"),
    (lambda: ShiftAdder(lanes=2, slices=10_000), "10000"),
    (lambda: WGU(rows=1 << 24, cols=2), "16777216"),
    (lambda: WGU(rows=2, cols=1 << 16), "65536"),
    (lambda: PingPongBuffer(depth=1 << 32), "4294967296"),
])
def test_absurd_sizes_fail_fast(build, value, hang_guard):
    # Upper bounds stop the request in the constructor, long before any elaboration.
    with hang_guard(60.0), pytest.raises(ValueError, match=f"must be <= .*not {value}$"):
        build()
