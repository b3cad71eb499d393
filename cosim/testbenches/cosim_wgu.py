# SPDX-License-Identifier: MIT
"""cocotb testbench: one co-simulated layer's DFA update through a full-width WGU Verilog block.

``test_cosim_wgu_cocotb.py`` computes the layer (crossbar-model codes → golden psum → GradLIF
deltas) and stores the deltas and input spikes in ``COSIM_NPZ``; this bench streams them into
the generated WGU (all input columns in one block, which amaranth's Python simulator cannot
compile) under random back-pressure and compares the readout with the golden ``ΔW``.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
import torch

from dfasim.cosim.vectors import sub_seed, wgu_layer_vectors
from dfasim.golden.stimulus import default_seed
from .wgu import reset, run_chunk

__all__ = []

CONFIG = json.loads(os.environ.get("COSIM_CONFIG", "{}"))


@cocotb.test()
@cocotb.parametrize(stall=[0.0, 0.3])
async def test_layer_update(dut, stall):
    """The RTL readout of Σ_t δ_t ⊗ s_t equals the golden ΔW, with and without stalls."""
    with np.load(CONFIG["npz"]) as z:
        delta, spikes = torch.as_tensor(z["delta"]), torch.as_tensor(z["spikes"])
    hdl = {k: CONFIG[k] for k in ("grad_width", "delta_width", "shift", "out_width",
                                  "rounding")}
    seed = default_seed()
    vec = wgu_layer_vectors(delta, spikes, seed=seed, **hdl)
    assert (vec.rows, vec.cols) == (CONFIG["rows"], CONFIG["cols"])
    rng = random.Random(sub_seed(seed, 300))
    await reset(dut)
    cycles = await run_chunk(dut, vec, gap=stall, stall=stall, rng=rng)
    dut._log.info("%d x %d layer, %d timesteps: readout equal to golden ΔW in %d cycles",
                  vec.rows, vec.cols, delta.shape[0], cycles)
