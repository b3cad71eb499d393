# SPDX-License-Identifier: MIT
"""Tier 2: the generated partial-sum accumulator Verilog under Icarus + cocotb vs golden.psum."""
from __future__ import annotations

import json

import pytest

from dfasim.cosim.runner import run_cocotb, run_length
from dfasim.rtl.accum import PsumAccumulator

#: The cocotb testbench (``cosim/testbenches/psum.py``).
TB_MODULE = "dfasim.cosim.testbenches.psum"

# HDL parameter sets (each is its own Verilog build): the paper's 16-bit accumulator at 16
# lanes, and an 8-bit input into a 10-bit accumulator (saturates within a few beats) at 4 lanes.
HDL_PARAMS = {
    "default16": dict(lanes=16, in_width=16, acc_width=16),
    "guard2_4":  dict(lanes=4, in_width=8, acc_width=10),
}
COCOTB_SEEDS = 2                 # @cocotb.parametrize(seed_offset=[0, 1]) in tb_psum
DEFAULT_BEATS = 2560             # per seed: 2 sets x 2 seeds x 2560 = 10240 >= 1e4 beats
LONG_BEATS = 250_000             # per seed in long mode: 2 sets x 2 seeds x 250k >= 1e6


def _run(request, name, seed, beats, sim):
    hdl = HDL_PARAMS[name]
    config = dict(hdl, beats=beats, gap=0.2, stall=0.2)
    run_cocotb(PsumAccumulator(**hdl), "psum_accumulator", TB_MODULE, request,
               seed=seed, sim=sim, env={"PSUM_CONFIG": json.dumps(config)})


@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_psum_cocotb(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_BEATS, LONG_BEATS))


@pytest.mark.slow
@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_psum_cocotb_long(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_BEATS, LONG_BEATS, force_long=True))
