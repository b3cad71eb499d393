# SPDX-License-Identifier: MIT
"""Tier 2: the generated weight-gradient unit Verilog under Icarus + cocotb vs golden.wgu."""
from __future__ import annotations

import json

import pytest

from dfasim.cosim.runner import run_cocotb, run_length
from dfasim.rtl.wgu import WGU

#: The cocotb testbench (``cosim/testbenches/wgu.py``).
TB_MODULE = "dfasim.cosim.testbenches.wgu"

# HDL parameter sets (each is its own Verilog build): the paper's 16-bit gradients with 8-bit
# deltas and a plain readout, and a 10-bit memory (saturates within a few beats) read out with
# a half-up shift into 8 bits over a non-power-of-two depth.
HDL_PARAMS = {
    "default16": dict(rows=8, cols=16, grad_width=16, delta_width=8, shift=0, out_width=16,
                      rounding="floor"),
    "narrow10":  dict(rows=5, cols=6, grad_width=10, delta_width=8, shift=3, out_width=8,
                      rounding="half_up"),
}
COCOTB_SEEDS = 2                 # @cocotb.parametrize(seed_offset=[0, 1]) in tb_wgu
DEFAULT_BEATS = 2600             # update beats per seed: 2 sets x 2 seeds x 2600 >= 1e4
LONG_BEATS = 260_000             # per seed in long mode: 2 sets x 2 seeds x 260k >= 1e6


def _run(request, name, seed, beats, sim):
    hdl = HDL_PARAMS[name]
    # One update beat per row of each (t, b) pair.
    config = dict(hdl, pairs=-(-beats // hdl["rows"]), gap=0.2, stall=0.2)
    run_cocotb(WGU(**hdl), "wgu", TB_MODULE, request, seed=seed, sim=sim,
               env={"WGU_CONFIG": json.dumps(config)})


@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_wgu_cocotb(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_BEATS, LONG_BEATS))


@pytest.mark.slow
@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_wgu_cocotb_long(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_BEATS, LONG_BEATS, force_long=True))
