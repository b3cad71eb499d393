# SPDX-License-Identifier: MIT
"""``dfasim cost``: reports from adapt.json and dense specs, files, TOML configs, CLI errors."""
import json
import shutil

import pytest

from dfasim.flows import rtl
from dfasim.flows.cli import main
from dfasim.flows.config import dump_toml, load_chip
from dfasim.flows.cost import (cost_report, format_report, format_table1, synth_areas,
                               table1_report, write_cost_outputs)
from dfasim.flows.errors import DfasimError
from dfasim.golden.papers import DFA_SIM_TABLE1
from dfasim.models.chip import ChipConfig

from .fixtures import recorded_adapt_json

LAYERS, T, B = (5, 12, 8, 3), 4, 6


@pytest.fixture(scope="module")
def adapt_json(tmp_path_factory):
    """A small adapt.json: one epoch of BP and of DFA on two chips of a 5-12-8-3 network."""
    return recorded_adapt_json(tmp_path_factory.mktemp("adapt") / "adapt.json", LAYERS, T, B,
                               chips=2, tiles=3)


def _one_line_error(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dfasim: error: ") and match in err, err
    assert "Traceback" not in err


def test_cli_adapt_writes_the_outputs(adapt_json, tmp_path, capsys):
    out = tmp_path / "cost"
    assert main(["cost", "adapt", str(adapt_json), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "DFA/BP" in printed and "activity mode" in printed
    for name in ("cost.json", "cost.csv", "energy_by_component.png", "latency_by_phase.png",
                 "area_by_component.png"):
        assert (out / name).stat().st_size > 0, name
    rep = json.loads((out / "cost.json").read_text())
    assert rep["mode"] == "activity" and rep["network"]["samples_per_epoch"] == 2 * B
    bp, dfa = rep["schemes"]["bp"], rep["schemes"]["dfa"]
    assert bp["energy_pj"]["total"] == pytest.approx(sum(bp["energy_pj"]["by_phase"].values()))
    assert set(dfa["energy_pj"]["by_layer"]) >= {"L0", "L1", "L2", "B0", "B1"}
    assert rep["ratios"]["energy"] == pytest.approx(dfa["energy_pj"]["total"]
                                                    / bp["energy_pj"]["total"])
    assert bp["dram_energy_pj"] == dfa["dram_energy_pj"] > 0
    assert rep["constants"]["adc_energy"]["source"].startswith("NeuroSim")
    lines = (out / "cost.csv").read_text().splitlines()
    assert lines[0] == "scheme,quantity,breakdown,key,value,unit"
    assert any(l.startswith("dfa,area,component,transpose_periphery,0.0") for l in lines)


def test_report_is_deterministic(adapt_json, tmp_path):
    a = cost_report(adapt_json)
    assert json.dumps(a, sort_keys=True) == json.dumps(cost_report(adapt_json), sort_keys=True)
    pa = write_cost_outputs(a, tmp_path / "a")
    pb = write_cost_outputs(a, tmp_path / "b")
    assert [p.read_bytes() for p in pa] == [p.read_bytes() for p in pb]


def test_dense_report_from_a_dict():
    rep = cost_report({"layers": [9, 128, 64, 32, 6], "timesteps": 128,
                       "samples_per_epoch": 2400, "batch_size": 50, "spike_rate": 0.1},
                      mode="dense")
    assert rep["mode"] == "dense" and rep["network"]["spike_rate"] == 0.1
    assert rep["paper_ratios"]["network"]["network"] == "uci_har"
    assert 0 < rep["ratios"]["latency"] < 1
    assert "DFA/BP" in format_report(rep)
    with pytest.raises(DfasimError, match="unknown key"):
        cost_report({"layers": [9, 6], "timesteps": 4, "samples": 3}, mode="dense")
    with pytest.raises(DfasimError, match="activity mode needs an adapt.json"):
        cost_report({"layers": [9, 6], "timesteps": 4, "samples_per_epoch": 3})


def test_adapt_in_dense_mode_uses_its_network(adapt_json):
    rep = cost_report(adapt_json, mode="dense")
    assert rep["mode"] == "dense" and rep["network"]["layers"] == list(LAYERS)
    assert 0 <= rep["network"]["spike_rate"] <= 1


def test_table1_rows():
    t = table1_report()
    assert [r["network"] for r in t["rows"]] == list(DFA_SIM_TABLE1)
    for r in t["rows"]:
        assert r["paper_energy"] < 0.5 and r["ratio_latency"] < 1
        assert r["dfa_area_um2"] > 0 and r["dram_energy_pj"] > 0
        # The rule overhead (backward + update) ratio beside the whole-epoch one.
        assert 0 < r["ratio_energy_rule_overhead"] < 1
        assert 0 < r["ratio_latency_rule_overhead"] < 1
        # Three WGU designs side by side; the priced one is the row's own figure.
        assert r["wgu_sram_rmw_bp_energy_pj"] == pytest.approx(r["bp_energy_pj"])
        assert r["wgu_neurosim_array_bp_energy_pj"] < r["wgu_register_bp_energy_pj"] \
            < r["wgu_sram_rmw_bp_energy_pj"]
        # Leakage is its own line, with the roadmap named.
        assert r["leakage_roadmap"] == "hp" and r["bp_leakage_energy_pj"] > 0
    table = format_table1(t)
    for heading in ("Rule overhead (backward + update only", "WGU designs side by side",
                    "Leakage (separate line, not in the energies above)"):
        assert heading in table


def test_toml_round_trip(tmp_path):
    chip = ChipConfig().updated({"crossbar.rows": 128, "buffers.tile_kb": 8.0,
                                 "mapping.weight_duplication": 2,
                                 "crossbar.adc_full_scale_us": 12.5,
                                 "programming.verify_tolerance_us": 0.25,
                                 "hierarchy.wgu_design": "register", "tech.roadmap": "lstp",
                                 "crossbar.read_voltage_v": 0.3,
                                 "programming.write_pulse_ns": 20.0})
    path = tmp_path / "chip.toml"
    dump_toml(path, {"chip": chip})
    assert load_chip(path) == chip
    assert load_chip(None) == ChipConfig()
    # Absent optional fields (None) are left out of the file and read back as None.
    dump_toml(path, {"chip": ChipConfig()})
    assert "adc_full_scale_us" not in path.read_text() and load_chip(path) == ChipConfig()


@pytest.mark.parametrize("text, match", [
    ("[chip.crossbar]\nrows = -3\n", "crossbar.rows must be >= 2, not -3"),
    ("[chip.crossbar]\ncolour = 1\n", "unknown key 'colour'"),
    ("[chip.crossbar]\nrows = 'big'\n", "expected int"),
    ("[chip.crossbar\nrows = 3\n", "not valid TOML"),
    ("[chip.buffers]\ntile_kb = 0\n", "buffers.tile_kb must be a positive number"),
    ("[chip.crossbar]\nadc_bits = -3\n", "crossbar.adc_bits must be >= 0, not -3"),
    ("[train]\n", "has no [chip] table"),
    ("[chip.hierarchy]\nwgu_design = 'abacus'\n", "hierarchy.wgu_design must be one of"),
    ("[chip.crossbar]\nread_pulse_ns = 0\n", "crossbar.read_pulse_ns must be a positive"),
])
def test_malformed_config_is_one_line(tmp_path, capsys, text, match):
    path = tmp_path / "hw.toml"
    path.write_text(text)
    _one_line_error(capsys, ["cost", "network", "9-128-6", "--config", str(path)], match)


def test_cli_input_errors(adapt_json, tmp_path, capsys):
    _one_line_error(capsys, ["cost", "network", "9-x-6"], "network must be layer sizes")
    _one_line_error(capsys, ["cost", "adapt", str(tmp_path / "none.json")], "cannot read")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    _one_line_error(capsys, ["cost", "adapt", str(bad)], "is not valid JSON")
    only_bp = json.loads(adapt_json.read_text())
    for chip in only_bp["chips"]:
        del chip["adapt"]["dfa"]
    one = tmp_path / "one.json"
    one.write_text(json.dumps(only_bp))
    _one_line_error(capsys, ["cost", "adapt", str(one)], "no per-epoch activity counts")
    hw = tmp_path / "hw.toml"
    hw.write_text("[chip.crossbar]\nrows = 128\ncols = 128\n")
    _one_line_error(capsys, ["cost", "adapt", str(adapt_json), "--config", str(hw)],
                    "simulated with crossbar.rows=256")
    tiles = tmp_path / "tiles.toml"
    tiles.write_text("[chip.hierarchy]\nmax_tiles = 2\n")
    _one_line_error(capsys, ["cost", "network", "9-128-64-6", "--config", str(tiles)],
                    "max_tiles=2")


def test_cli_sweep(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["cost", "sweep", "--random", "64", "--network", "9-128-64-32-6",
                 "--out", str(out)]) == 0
    assert "configurations/s" in capsys.readouterr().out
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["configurations"] == 64 and summary["configs_per_second"] > 0
    assert len((out / "sweep.csv").read_text().splitlines()) == 65


@pytest.mark.slow
@pytest.mark.synth
@pytest.mark.skipif(shutil.which("yosys") is None or not rtl.OSU018_LIBERTY.is_file(),
                    reason="needs yosys and the OSU 0.18 µm liberty")
def test_synth_areas_match_the_library(tmp_path):
    res = synth_areas(tmp_path)
    for name, b in res["blocks"].items():
        # The library holds the same syntheses' figures; yosys is deterministic.
        assert b["logic_um2_per_lane_scaled"] == pytest.approx(
            b["library_um2_per_lane_scaled"], rel=0.02), name
