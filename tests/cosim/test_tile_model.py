# SPDX-License-Identifier: MIT
"""The tile's measured cycles against the architecture model's durations of the same work."""
from __future__ import annotations

import pytest

from dfasim.cosim.tile import network_case, network_params, run_network
from dfasim.cosim.tile_model import TESTBENCH_READ_CYCLES, compare, model_cycles, model_chip
from tests.uci_har_windows import UCI_HAR_MISSING, uci_har_windows

BATCH = 4


def test_model_cycles_by_hand():
    params = network_params(timesteps=8, max_batch=BATCH)         # 9-8-6, rows 5 then 8
    chip = model_chip(params)
    assert (chip.hierarchy.neuron_lanes, chip.hierarchy.wgu_lanes) == (8, 9)
    hidden = model_cycles(params, 0, batch=BATCH, propagate=False)
    out = model_cycles(params, 1, batch=BATCH, propagate=True)
    steps = BATCH * 8                                              # sample-timesteps
    # WGU: outputs x ceil(inputs / wgu_lanes) cycles per timestep = 8 x ceil(9 / 9), 6 x 1.
    assert hidden["wgu"] == steps * 8 and out["wgu"] == steps * 6
    # LIF and GradLIF: ceil(neurons / lanes) = 1 cycle per timestep.
    assert hidden["lif"] == hidden["glif"] == steps
    # One read per timestep (row tiles in parallel) of the testbench's 2 cycles.
    assert hidden["forward_read"] == steps * TESTBENCH_READ_CYCLES
    # BP: K = 8 magnitude planes, two sign phases each, two phases per request of the tile.
    assert out["transposed_read"] == steps * 8 * TESTBENCH_READ_CYCLES
    assert hidden["transposed_read"] == 0.0 == model_cycles(params, 1, batch=BATCH,
                                                              propagate=False)["transposed_read"]


def test_rtl_cycles_against_the_model():
    case = network_case("bp", seed=0, windows=uci_har_windows(), batch=BATCH)
    if case is None:
        pytest.skip(UCI_HAR_MISSING)
    params, plan, make_oracles = case
    traces = run_network(params, plan, make_oracles())
    for layer, trace in enumerate(traces):
        rows = {r.work: r for r in compare(trace, params, layer, batch=BATCH,
                                           propagate=layer > 0)}
        # The WGU takes one row of n_in columns per cycle in both: equal to the cycle.
        assert rows["backward: WGU accumulation"].rtl == rows["backward: WGU accumulation"].model
        # The model times the units alone; the tile's controller adds handshakes and waits:
        # never below the model (docs/rtl-tile.md, "Cycles against the model").
        for row in rows.values():
            assert row.rtl >= row.model, row
    treads = rows["backward: transposed reads"]
    # Requests are pipelined (faster than 2 cycles each); the drain of each timestep's last
    # plane, shift-add and error beat adds 5 cycles per timestep: within 25 % of the model.
    assert treads.model <= treads.rtl <= 1.25 * treads.model
    requests = sum(r["op"] == "tread" for r in traces[1].requests)
    assert requests == BATCH * 8 * params[1].groups * params[1].planes
