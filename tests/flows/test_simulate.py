# SPDX-License-Identifier: MIT
"""``dfasim simulate``: the files of one dataflow and of all four, the adapt workload, bad input."""
import json

import pytest

from dfasim.flows.cli import main
from dfasim.flows.cli.simulate import DATAFLOW_CHOICES, DEFAULT_SIMULATED_BATCHES
from dfasim.flows.simulate import (DATAFLOW_LABELS, DATAFLOWS, comparison_markdown,
                                   dense_simulation_workload, format_text, gantt_batch,
                                   run_simulations)
from dfasim.models.archsim.simulator import SIMULATED_BATCHES
from dfasim.models.chip import ChipConfig
from dfasim.models.cost.workload import DenseSpec

from .fixtures import recorded_adapt_json

TINY = ["--network", "4-3-2", "--timesteps", "3", "--samples", "4", "--batch-size", "2"]
FILES = ("simulation.json", "gantt.png", "buffers.png", "summary.md")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _simulate(out, *extra):
    return main(["simulate", *TINY, "--out", str(out), *extra])


def _check_simulation_json(path, dataflow):
    d = json.loads(path.read_text())
    assert d["dataflow"] == dataflow and d["network"] == "4-3-2"
    assert d["timesteps"] == 3 and d["batch_size"] == 2 and d["batches"] == 2
    assert d["makespan_s"] > 0 and d["makespan_s"] >= d["batch_end_s"][-1]
    assert d["makespan_s"] >= d["schedule_makespan_s"] > 0
    energy = d["energy_j"]
    assert {"dram_dataset", "dram_spill", "total", "crossbar", "adc"} <= set(energy)
    assert all(v >= 0 for v in energy.values()) and energy["total"] > 0
    assert energy["total"] == pytest.approx(sum(v for k, v in energy.items() if k != "total"))
    assert d["dram_bytes"]["dataset"] > 0 and d["dram_bytes"]["spill"] >= 0
    peaks, capacities = d["buffer_peak_bytes"], d["buffer_capacity_bytes"]
    assert set(peaks) == set(capacities) and {"global", "tile:L0", "pe:L0"} <= set(peaks)
    spilled = d["dram_bytes"]["spill"] > 0
    for name, peak in peaks.items():
        assert 0 <= peak <= capacities[name] * (1 + 1e-12) or spilled, name
    assert d["onchip_demand_bytes"] > 0
    assert {"tile", "neuron", "link", "wgu", "dram"} <= set(d["utilisation"])
    assert all(0 <= u <= 1 for u in d["utilisation"].values())
    return d


def _check_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 2000, path


def test_one_dataflow_writes_its_files_flat(tmp_path, capsys):
    out = tmp_path / "sim"
    assert _simulate(out, "--dataflow", "bp") == 0
    printed = capsys.readouterr().out
    assert "BP" in printed and "makespan" in printed and f"under {out}" in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    d = _check_simulation_json(out / "simulation.json", "bp")
    for name in ("gantt.png", "buffers.png"):
        _check_png(out / name)
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# Simulated training epoch: 4-3-2, BP")
    for needle in ("| makespan per epoch |", "| energy per epoch, dram_spill |",
                   "| DRAM bytes per epoch, spill |", "| on-chip capacity at which spills stop",
                   "| buffer | peak | capacity | peak / capacity |", "| tile:L0 |",
                   "| resource kind | utilisation |", "| tile |"):
        assert needle in summary, needle
    assert f"| {d['utilisation']['tile']:.3f} |" in summary


def test_all_dataflows_side_by_side(tmp_path, capsys):
    out = tmp_path / "all"
    assert _simulate(out, "--dataflow", "all", "--quiet") == 0
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in out.iterdir()) == sorted([*DATAFLOWS, "summary.md"])
    made = {}
    for dataflow in DATAFLOWS:
        assert sorted(p.name for p in (out / dataflow).iterdir()) == sorted(FILES)
        made[dataflow] = _check_simulation_json(out / dataflow / "simulation.json", dataflow)
        _check_png(out / dataflow / "gantt.png")
        _check_png(out / dataflow / "buffers.png")
    summary = (out / "summary.md").read_text()
    assert "4 samples per epoch in 2 batches of 2; 2 batches scheduled" in summary
    head = next(line for line in summary.splitlines() if line.startswith("| quantity"))
    assert head == "| quantity | BP | DFA | PipeLayer | PipeSDFA | PipeLayer / PipeSDFA |"
    time_ratio = made["pipelayer"]["makespan_s"] / made["pipesdfa"]["makespan_s"]
    energy_ratio = made["pipelayer"]["energy_j"]["total"] / made["pipesdfa"]["energy_j"]["total"]
    rows = {line.split(" | ")[0][2:]: line for line in summary.splitlines()
            if line.startswith("| ")}
    assert rows["makespan per epoch"].endswith(f" {time_ratio:.3f} |")
    assert rows["energy per epoch, total"].endswith(f" {energy_ratio:.3f} |")
    # The four dataflows differ in time: the table is not one simulation four times.
    assert len({d["makespan_s"] for d in made.values()}) > 1


def test_the_gantt_chart_shows_the_second_batch_when_there_is_one():
    chip = ChipConfig()
    workload = dense_simulation_workload(DenseSpec([4, 3, 2], 3, 6, 2), chip)
    default = run_simulations(workload, chip, ["dfa"])["dfa"]
    one = run_simulations(workload, chip, ["dfa"], simulated_batches=1)["dfa"]
    assert (default.simulated_batches, one.simulated_batches) == (SIMULATED_BATCHES["dfa"], 1)
    assert (gantt_batch(default), gantt_batch(one)) == (1, 0)
    assert (default.schedule.batch == 1).any() and not (one.schedule.batch == 1).any()


def test_the_comparison_names_each_dataflows_scheduled_batches():
    chip = ChipConfig()
    workload = dense_simulation_workload(DenseSpec([4, 3, 2], 3, 8, 2), chip)
    sims = run_simulations(workload, chip, ["dfa", "pipesdfa"])
    assert [s.simulated_batches for s in sims.values()] == [2, 3]
    text = comparison_markdown(sims, "tiny")
    assert "4 batches of 2; batches scheduled: DFA 2, PipeSDFA 3, the rest" in text
    assert "| quantity | DFA | PipeSDFA |" in text and "PipeLayer / PipeSDFA" not in text
    assert format_text(sims, "tiny").splitlines()[0] == text.splitlines()[2].rstrip(".")


def test_simulated_batches_on_the_command_line(tmp_path):
    out = tmp_path / "one"
    assert _simulate(out, "--dataflow", "pipesdfa", "--simulated-batches", "1") == 0
    d = json.loads((out / "simulation.json").read_text())
    assert d["simulated_batches"] == 1 and len(d["batch_end_s"]) == 1


def test_dataflow_choices_and_defaults_are_the_simulators():
    assert DATAFLOW_CHOICES == (*DATAFLOWS, "all") and set(DATAFLOW_LABELS) == set(DATAFLOWS)
    assert DEFAULT_SIMULATED_BATCHES == SIMULATED_BATCHES


@pytest.fixture(scope="module")
def adapt_json(tmp_path_factory):
    """An adapt.json of one chip: one epoch of BP and of DFA on a 4-3-2 network, T=3."""
    return recorded_adapt_json(tmp_path_factory.mktemp("adapt") / "adapt.json", (4, 3, 2), 3,
                               2)


def test_the_activity_workload_of_an_adapt_run(adapt_json, tmp_path, capsys):
    out = tmp_path / "adapt"
    assert main(["simulate", "--adapt", str(adapt_json), "--dataflow", "dfa", "--out",
                 str(out)]) == 0
    assert "uci_har (4-3-2)" in capsys.readouterr().out
    d = _check_simulation_json(out / "simulation.json", "dfa")
    assert d["samples"] == 4


def _one_line_error(capsys, argv, match):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("dfasim: error: ") and match in err, err
    assert "Traceback" not in err and captured.out == ""


@pytest.mark.parametrize("extra,chip_toml,match", [
    (["--dataflow", "sgd"], None, "invalid choice: 'sgd'"),
    (["--dataflow", "all"], "[chip.hierarchy]\nmax_tiles = 1\n", "the chip has "
                                                                  "hierarchy.max_tiles=1"),
    (["--dataflow", "bp"], "[chip.buffers]\ntile_kb = -1\n", "buffers.tile_kb must be a "
                                                              "positive number"),
    (["--dataflow", "bp", "--simulated-batches", "0"], None, "must be a positive integer"),
    (["--dataflow", "bp", "--spike-rate", "nan"], None, "spike_rate must be in [0, 1]"),
    (["--dataflow", "bp"], "[chip.hierarchy\n", "chip.toml"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, extra, chip_toml, match):
    out = tmp_path / "out"
    argv = ["simulate", *TINY, "--out", str(out), *extra]
    if chip_toml is not None:
        config = tmp_path / "chip.toml"
        config.write_text(chip_toml)
        argv += ["--config", str(config)]
    _one_line_error(capsys, argv, match)
    assert not out.exists()


def test_a_large_network_that_does_not_fit_the_chip(tmp_path, capsys):
    config = tmp_path / "chip.toml"
    config.write_text("[chip.hierarchy]\nmax_tiles = 1\n")
    out = tmp_path / "out"
    _one_line_error(capsys, ["simulate", "--network", "pipesdfa-nmnist-5fc", "--dataflow",
                             "pipelayer", "--config", str(config), "--out", str(out)],
                    "needs 12 tiles")
    assert not out.exists()


@pytest.mark.parametrize("content,match", [
    (None, "cannot read adaptation results"),
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"layers": [4, 3, 2]}', "holds no chip description"),
    ('{"layers": [4, 3, 2], "config": {"chip": {}}}', "needs layers, timesteps and batch_size"),
    ('{"layers": [4, 3, 2], "timesteps": 3, "batch_size": 2, "config": {"chip": {}}}',
     "no per-epoch activity counts"),
])
def test_a_bad_adapt_json_is_one_line(tmp_path, capsys, content, match):
    path = tmp_path / "adapt.json"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "out"
    _one_line_error(capsys, ["simulate", "--adapt", str(path), "--dataflow", "bp", "--out",
                             str(out)], match)
    assert not out.exists()


def test_dense_options_with_an_adapt_run_are_refused(adapt_json, tmp_path, capsys):
    _one_line_error(capsys, ["simulate", "--adapt", str(adapt_json), "--timesteps", "3",
                             "--dataflow", "bp", "--out", str(tmp_path / "out")],
                    "--timesteps set the dense workload of --network")


def test_a_failed_run_keeps_what_the_folder_held(tmp_path, capsys):
    out = tmp_path / "sim"
    assert _simulate(out, "--dataflow", "dfa", "--quiet") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    config = tmp_path / "chip.toml"
    config.write_text("[chip.hierarchy]\nmax_tiles = 1\n")
    _one_line_error(capsys, ["simulate", *TINY, "--dataflow", "all", "--config", str(config),
                             "--out", str(out)], "max_tiles=1")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_write_that_fails_midway_leaves_no_folder(tmp_path, capsys, monkeypatch):
    from dfasim.flows import simulate as flow

    written = []

    def fail_on_the_third(path, data):
        if len(written) == 2:
            raise flow.DfasimError(f"cannot write {path}: No space left on device")
        written.append(path)
        real_write(path, data)

    real_write = flow.atomic_write_bytes
    monkeypatch.setattr(flow, "atomic_write_bytes", fail_on_the_third)
    out = tmp_path / "sim"
    _one_line_error(capsys, ["simulate", *TINY, "--dataflow", "all", "--out", str(out)],
                    "No space left on device")
    assert len(written) == 2 and not out.exists() and list(tmp_path.iterdir()) == []


def test_an_out_path_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("kept\n")
    _one_line_error(capsys, ["simulate", *TINY, "--dataflow", "bp", "--out", str(out)],
                    "is a file, not a folder")
    assert out.read_text() == "kept\n"


def test_a_convolutional_network(tmp_path):
    # A named convolutional network, its B tiles set in a chip file (SDFA's folded B of the
    # ConvNet needs 179 crossbars: 12 tiles of 16).
    config = tmp_path / "chip.toml"
    config.write_text("[chip.mapping]\nb_tiles = 12\n")
    out = tmp_path / "conv"
    assert main(["simulate", "--network", "pipesdfa-dvsgesture-convnet", "--timesteps", "2",
                 "--samples", "4", "--batch-size", "2", "--dataflow", "pipesdfa",
                 "--config", str(config), "--out", str(out), "--quiet"]) == 0
    d = json.loads((out / "simulation.json").read_text())
    assert d["network"].startswith("32768-524288-") and d["timesteps"] == 2
    assert d["mapping"]["layers"]["B0"]["crossbars"] == 179
