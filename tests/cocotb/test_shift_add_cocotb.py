# SPDX-License-Identifier: MIT
"""Tier 2: the generated shift-adder Verilog under Icarus + cocotb vs golden.psum.shift_add."""
from __future__ import annotations

import json

import pytest

from dfasim.cosim.runner import run_cocotb, run_length
from dfasim.rtl.accum import ShiftAdder

#: The cocotb testbench (``cosim/testbenches/shift_add.py``).
TB_MODULE = "dfasim.cosim.testbenches.shift_add"

# HDL parameter sets (each is its own Verilog build): the paper's 4 slices of 4-bit cells
# with differential 4-bit ADC inputs at 16 lanes, and a narrow 3-slice code-mode variant with
# an 8-bit output (saturates often) at 4 lanes.
HDL_PARAMS = {
    "diff16":   dict(lanes=16, slices=4, slice_bits=4, adc_bits=4, acc_width=16),
    "narrow4":  dict(lanes=4, slices=3, slice_bits=3, code_width=5, acc_width=8),
}
COCOTB_SEEDS = 2                 # @cocotb.parametrize(seed_offset=[0, 1]) in tb_shift_add
DEFAULT_BEATS = 2560             # per seed: 2 sets x 2 seeds x 2560 = 10240 >= 1e4 beats
LONG_BEATS = 250_000             # per seed in long mode: 2 sets x 2 seeds x 250k >= 1e6


def _run(request, name, seed, beats, sim):
    dut = ShiftAdder(**HDL_PARAMS[name])
    config = dict(lanes=dut.lanes, slices=dut.slices, slice_bits=dut.slice_bits,
                  code_width=dut.code_width, acc_width=dut.acc_width, adc_bits=dut.adc_bits,
                  beats=beats, gap=0.2, stall=0.2)
    run_cocotb(dut, "shift_adder", TB_MODULE, request, seed=seed, sim=sim,
               env={"SHIFT_ADD_CONFIG": json.dumps(config)})


@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_shift_add_cocotb(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_BEATS, LONG_BEATS))


@pytest.mark.slow
@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_shift_add_cocotb_long(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_BEATS, LONG_BEATS, force_long=True))
