# SPDX-License-Identifier: MIT
"""Tier 2: the generated GradLIF Verilog under Icarus + cocotb against golden.grad_lif."""
from __future__ import annotations

import json

import pytest

from dfasim.cosim.runner import run_cocotb, run_length
from dfasim.rtl.neuron import GradLIF

#: The cocotb testbench (``cosim/testbenches/grad_lif.py``).
TB_MODULE = "dfasim.cosim.testbenches.grad_lif"

# HDL parameter sets (each is its own Verilog build): the paper's defaults at 16 lanes, and an
# IF neuron with soft reset, narrow words and an explicit grad_shift at 4 lanes.
HDL_PARAMS = {
    "default16": dict(lanes=16, max_timesteps=16, steps=16, params={}),
    "soft_if4":  dict(lanes=4, max_timesteps=8, steps=8,
                      params=dict(reset="soft", leak_shift=0, mem_width=10, current_width=8,
                                  threshold=40, sg_width=48, grad_shift=4, err_width=6,
                                  delta_width=5)),
}
COCOTB_SEEDS = 2                 # @cocotb.parametrize(seed_offset=[0, 1]) in tb_grad_lif
DEFAULT_BEATS = 6400             # forward beats per HDL set: 2 sets x 6400 >= 1e4 in total
LONG_BEATS = 500_000             # per HDL set in long mode: 2 sets x 500k >= 1e6


def _run(request, name, seed, beats, sim):
    hdl = HDL_PARAMS[name]
    dut = GradLIF(lanes=hdl["lanes"], max_timesteps=hdl["max_timesteps"], **hdl["params"])
    samples = -(-beats // (COCOTB_SEEDS * hdl["steps"]))
    config = dict(hdl, samples=samples, gap=0.2, stall=0.2)
    run_cocotb(dut, "grad_lif", TB_MODULE, request, seed=seed, sim=sim,
               env={"GRADLIF_CONFIG": json.dumps(config)})


@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_grad_lif_cocotb(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_BEATS, LONG_BEATS))


@pytest.mark.slow
@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_grad_lif_cocotb_long(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_BEATS, LONG_BEATS, force_long=True))
