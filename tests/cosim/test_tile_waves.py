# SPDX-License-Identifier: MIT
"""The tile's VCD read back: the controller states and port events it shows are the cycles the
simulation counted; the picture is drawn from them."""
from __future__ import annotations

from collections import Counter

import pytest

from dfasim.cosim.tile import network_case, run_network
from dfasim.cosim.tile_waves import main, read_tile_waves, render_step, state_intervals
from tests.uci_har_windows import UCI_HAR_MISSING, uci_har_windows


def test_state_intervals():
    assert state_intervals(["A", "A", "B", "A"]) == [(0, 2, "A"), (2, 3, "B"), (3, 4, "A")]
    assert state_intervals([]) == []


def test_vcd_shows_the_counted_cycles(tmp_path):
    case = network_case("dfa", seed=0, windows=uci_har_windows())
    if case is None:
        pytest.skip(UCI_HAR_MISSING)
    params, plan, make_oracles = case
    vcd = tmp_path / "step.vcd"
    traces = run_network(params, plan, make_oracles(), vcd=vcd)
    waves = read_tile_waves(vcd)
    assert sorted(waves) == ["tile0", "tile1"]
    for n, trace in enumerate(traces):
        tw = waves[f"tile{n}"]
        seen = Counter(s for s in tw.states if s != "IDLE")
        counted = Counter({s: c for s, c in trace.state_cycles.items() if s != "IDLE"})
        assert seen == counted
        # Every request the testbench decoded is a handshake in the VCD, every read answered.
        assert len(tw.events["crossbar request"]) == len(trace.requests)
        reads = sum(r["op"] != "write" for r in trace.requests)
        assert len(tw.events["crossbar response"]) == reads
        assert len(tw.events["delta"]) == plan.spikes_in.shape[0] * params[n].timesteps
    png = render_step(vcd, tmp_path / "step.png", title="DFA step")
    assert png.stat().st_size > 10_000


def test_bad_vcd_is_one_line(tmp_path, capsys):
    bad = tmp_path / "empty.vcd"
    bad.write_text("$timescale 1 ns $end\n$enddefinitions $end\n")
    assert main([str(bad), str(tmp_path / "x.png")]) == 2
    assert main([str(tmp_path / "missing.vcd"), str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("tile_waves: error:") for line in err)
