# SPDX-License-Identifier: MIT
"""Tier 2: the generated ping-pong buffer Verilog under Icarus + cocotb vs golden.buffer."""
from __future__ import annotations

import json

import pytest

from dfasim.cosim.runner import run_cocotb, run_length
from dfasim.rtl.buffer import PingPongBuffer

#: The cocotb testbench (``cosim/testbenches/pingpong.py``).
TB_MODULE = "dfasim.cosim.testbenches.pingpong"

# HDL parameter sets (each is its own Verilog build): a small unsigned 16-bit buffer whose
# 8-word banks swap often, and a signed 12-bit buffer at the Table II PE size (1 KB of 12-bit
# words: buffer_depth gives 512) with long frames of up to 256 words.
HDL_PARAMS = {
    "small16":  dict(depth=16, width=16, signed=False),
    "pe12s":    dict(depth=512, width=12, signed=True),
}
COCOTB_SEEDS = 2                 # @cocotb.parametrize(seed_offset=[0, 1]) in tb_pingpong
DEFAULT_WORDS = 2600             # words per seed: 2 sets x 2 seeds x 2600 >= 1e4
LONG_WORDS = 260_000             # per seed in long mode: 2 sets x 2 seeds x 260k >= 1e6


def _run(request, name, seed, words, sim):
    hdl = HDL_PARAMS[name]
    config = dict(hdl, words=words, gap=0.2, stall=0.2)
    run_cocotb(PingPongBuffer(**hdl), "ping_pong_buffer", TB_MODULE, request,
               seed=seed, sim=sim, env={"PINGPONG_CONFIG": json.dumps(config)})


@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_pingpong_cocotb(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_WORDS, LONG_WORDS))


@pytest.mark.slow
@pytest.mark.cocotb
@pytest.mark.parametrize("name", sorted(HDL_PARAMS))
def test_pingpong_cocotb_long(request, name, seed):
    _run(request, name, seed, *run_length(DEFAULT_WORDS, LONG_WORDS, force_long=True))
