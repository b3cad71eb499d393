# SPDX-License-Identifier: MIT
"""``dfasim bench rtl``: GradLIF cycles per second under amaranth.sim and cocotb (never timed)."""
from __future__ import annotations

import json

import pytest

from dfasim.cosim import runner
from dfasim.cosim.runner import VERILATOR_MISSING
from dfasim.flows.bench import DEFAULT_RTL_CYCLES, bench_rtl, parse_rtl_cycles
from dfasim.flows.cli import main
from dfasim.flows.errors import DfasimError

ENTRY_KEYS = {"build_s", "run_s", "cycles", "beats", "cycles_per_s", "mismatches"}


def _check(entry, beats):
    assert ENTRY_KEYS <= set(entry), entry
    assert entry["mismatches"] == 0 and entry["beats"] == beats
    # One beat per cycle plus the output register's cycle of latency.
    assert entry["cycles"] == beats + 1
    assert entry["cycles_per_s"] > 0 and entry["run_s"] > 0 and entry["build_s"] > 0


def test_parse_cycles():
    assert parse_rtl_cycles([]) == DEFAULT_RTL_CYCLES
    assert parse_rtl_cycles(["500", "amaranth=50"]) == dict(amaranth=50, icarus=500,
                                                             verilator=500)
    for bad, needle in (("x", "integer"), ("modelsim=3", "modelsim"), ("0", "at least 1")):
        with pytest.raises(DfasimError, match=needle):
            parse_rtl_cycles([bad])


def test_bench_rtl_amaranth_and_cli(tmp_path, capsys):
    out = tmp_path / "bench_rtl.json"
    rc = main(["bench", "rtl", "--sims", "amaranth", "--cycles", "120", "--lanes", "4",
               "--out", str(tmp_path)])
    assert rc == 0 and "cycles/s" in capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res["lanes"] == 4 and res["versions"]["amaranth"]
    _check(res["simulators"]["amaranth"], 120)


@pytest.mark.cocotb
def test_bench_rtl_icarus(tmp_path):
    res = bench_rtl({"amaranth": 100, "icarus": 300}, ("amaranth", "icarus"),
                    build_root=tmp_path, progress=False)
    assert res["lanes"] == 16 and res["versions"]["iverilog"].startswith("Icarus Verilog")
    _check(res["simulators"]["amaranth"], 100)
    _check(res["simulators"]["icarus"], 300)
    assert (tmp_path / "grad_lif16-icarus" / "bench.json").is_file()


def test_bench_rtl_skips_missing_simulator(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "available_simulators", lambda: ("icarus",))
    res = bench_rtl(10, ("verilator",), build_root=tmp_path, progress=False)
    assert res["simulators"] == {"verilator": {"skipped": VERILATOR_MISSING}}


def test_bench_rtl_bad_input(capsys):
    rc = main(["bench", "rtl", "--sims", "amaranth,modelsim"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("dfasim: error:") and "modelsim" in err
    assert len(err.splitlines()) == 1
    with pytest.raises(DfasimError, match="lanes"):
        bench_rtl(10, ("amaranth",), lanes=0)
