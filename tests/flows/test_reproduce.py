# SPDX-License-Identifier: MIT
"""``dfasim reproduce`` end to end on a tiny configuration: report vs JSON, resume, bad input."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dfasim.flows.cli import main

from .fixtures import without_wall_times

# A network small enough to run the whole path in seconds; the crossbar noise is the CrossSim
# polynomial, so no GPR model is fitted.
TINY = """\
[reproduce]
dataset = "basic_motions"
[reproduce.train]
layers = "6-16-4"
epochs = 3
[reproduce.adapt]
chips = {chips}
epochs = {epochs}
noise = "crosssim"
calibration_samples = 16
"""


def _tiny(tmp_path: Path, chips: int = 2, epochs: int = 2) -> Path:
    path = tmp_path / f"tiny-{chips}-{epochs}.toml"
    path.write_text(TINY.format(chips=chips, epochs=epochs))
    return path


def _cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    """Run the command line in a fresh process with one thread (bit-identical sums)."""
    e = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-c", "import sys; from dfasim.flows.cli import "
                             "main; sys.exit(main(sys.argv[1:]))", *args], env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return out


def _numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", cell)]


def test_reproduce_tiny_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["reproduce", "--config", str(_tiny(tmp_path)), "--out", str(out),
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.md'}" in printed

    res = json.loads((out / "results.json").read_text())
    adapt = json.loads((out / "adapt" / "adapt.json").read_text())
    cost = json.loads((out / "cost" / "cost.json").read_text())
    row = res["table1"]

    # Both rules ran every epoch on every chip, and the cost has both schemes.
    assert adapt["rules"] == ["bp", "dfa"] and len(adapt["chips"]) == 2
    for chip in adapt["chips"]:
        for rule in ("bp", "dfa"):
            assert [h["epoch"] for h in chip["adapt"][rule]["history"]] == [1, 2]
            assert chip["adapt"][rule]["epoch_counts"]["layers"]
    for rule in ("bp", "dfa"):
        assert cost["schemes"][rule]["energy_pj"]["total"] > 0
        # The roll-up's figures beside the simulator's, which the row shows.
        assert row[f"rollup_{rule}_energy_uj_per_epoch"] == pytest.approx(
            cost["schemes"][rule]["energy_pj"]["total"] * 1e-6, rel=1e-12)
        sim = json.loads((out / "simulation" / rule / "simulation.json").read_text())
        energy = sim["energy_j"]
        assert row[f"{rule}_energy_uj_per_epoch"] == pytest.approx(
            (energy["total"] - energy["dram_dataset"]) * 1e6, rel=1e-12)
        assert row[f"{rule}_latency_ms_per_epoch"] == pytest.approx(sim["makespan_s"] * 1e3)
        parts = row[f"{rule}_energy_parts_uj"]
        assert sum(parts.values()) == pytest.approx(row[f"{rule}_energy_uj_per_epoch"])
        assert parts["leakage"] > 0 and parts["dynamic"] > 0
        finals = [100 * c["adapt"][rule]["history"][-1]["test_acc"] for c in adapt["chips"]]
        assert row[f"{rule}_acc_pct"]["mean"] == pytest.approx(sum(finals) / 2)
    assert row["fp32_acc_pct"] == pytest.approx(100 * adapt["fp32_accuracy"])
    assert row["rollup_ratios_dfa_over_bp"]["energy"] == pytest.approx(cost["ratios"]["energy"])
    assert row["ratios_dfa_over_bp"]["energy"] == pytest.approx(
        row["dfa_energy_uj_per_epoch"] / row["bp_energy_uj_per_epoch"])
    assert "from the architecture simulator" in (out / "report.md").read_text()

    # The report's Table I row shows the same numbers as the JSON (to the digits printed).
    report = (out / "report.md").read_text()
    lines = [ln for ln in report.splitlines() if ln.startswith("| basic_motions |")]
    assert len(lines) == 1
    cells = [c.strip() for c in lines[0].strip("|").split("|")]
    assert _numbers(cells[3]) == [round(row["fp32_acc_pct"], 2)]
    for i, rule in ((5, "bp"), (6, "dfa")):
        acc = row[f"{rule}_acc_pct"]
        assert _numbers(cells[i]) == [round(acc["mean"], 2), round(acc["std"], 2)]
    energy = _numbers(cells[7])
    assert energy == pytest.approx([row["bp_energy_uj_per_epoch"],
                                    row["dfa_energy_uj_per_epoch"]], rel=1e-3)
    assert _numbers(cells[10]) == pytest.approx(
        [round(row["ratios_dfa_over_bp"][k], 2) for k in ("energy", "latency", "area")])
    for fig in res["files"]["figures"]:
        assert (out / fig).is_file() and f"]({fig})" in report
    assert (out / "table1.csv").read_text().count("\n") == 2

    # What a rerun elsewhere can reproduce: the spread next to mean ± std, the granularity.
    rep = res["reproducibility"]
    assert rep["n_test"] == 40 and rep["accuracy_step_pct"] == 2.5
    for rule in ("bp", "dfa"):
        spread = rep["accuracy_spread_pct"][rule]
        assert spread["mean"] == pytest.approx(row[f"{rule}_acc_pct"]["mean"])
        assert spread["std"] == pytest.approx(row[f"{rule}_acc_pct"]["std"])
        assert spread["ci95_low"] <= spread["mean"] <= spread["ci95_high"]
        assert spread["sem"] == pytest.approx(spread["std"] / 2 ** 0.5)
    assert "## Reproducibility" in report and "same number of torch threads" in report
    assert "one test sample is 2.50 points" in report
    assert "95 % interval of the mean" in report

    # The TOML written into the folder repeats the run bit for bit.
    again = tmp_path / "again"
    assert main(["reproduce", "--config", str(out / "reproduce.toml"), "--out", str(again),
                 "--quiet"]) == 0
    assert (again / "results.json").read_bytes() == (out / "results.json").read_bytes()
    # The cost names its input relative to its folder, so the whole file repeats too.
    assert (again / "cost" / "cost.json").read_bytes() == (out / "cost" / "cost.json").read_bytes()
    cost_source = json.loads((out / "cost" / "cost.json").read_text())["network"]["source"]
    assert cost_source.startswith("../adapt/adapt.json")


def test_sigkill_mid_adaptation_resumes_to_the_same_numbers(tmp_path):
    cfg = str(_tiny(tmp_path, chips=3, epochs=6))
    ref, run = tmp_path / "ref", tmp_path / "killed"
    _finish(_cli("reproduce", "--config", cfg, "--out", str(ref), "--quiet"))

    proc = _cli("reproduce", "--config", cfg, "--out", str(run), "--quiet")
    marker = run / "adapt" / "state" / "chip0-bp.pt"      # chip 0 adapted one BP epoch
    deadline = time.monotonic() + 300
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "results.json").exists()
    finished = {p: p.stat().st_mtime_ns for p in [run / "train" / "checkpoint.pt",
                                                   run / "adapt" / "state" / "chip0.pt"]}

    _finish(_cli("reproduce", "--config", cfg, "--out", str(run), "--quiet"))
    # Nothing finished was recomputed, and the final numbers equal the uninterrupted run's.
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    assert (run / "results.json").read_bytes() == (ref / "results.json").read_bytes()
    a = without_wall_times(json.loads((run / "adapt" / "adapt.json").read_text()))
    b = without_wall_times(json.loads((ref / "adapt" / "adapt.json").read_text()))
    for d in (a, b):
        d.pop("checkpoint")
        d["config"].pop("checkpoint")
    assert a == b


@pytest.mark.parametrize("args, msg", [
    (["--dataset", "nope"], "invalid choice: 'nope'"),
    (["--chips", "0"], "chips must be positive"),
    (["--config", "missing.toml"], "cannot read config"),
    pytest.param(["--device", "cuda"], "no CUDA GPU", marks=pytest.mark.skipif(
        torch.cuda.is_available(), reason="a CUDA GPU is present")),
])
def test_bad_input_one_line(tmp_path, capsys, args, msg):
    assert main(["reproduce", "--out", str(tmp_path / "r"), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfasim: error:") and msg in err and "\n" not in err


def test_malformed_config_keeps_earlier_results(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["reproduce", "--config", str(_tiny(tmp_path)), "--out", str(out),
                 "--quiet"]) == 0
    before = (out / "results.json").read_bytes()
    bad = tmp_path / "bad.toml"
    bad.write_text("[reproduce]\ndataset = 3\n")
    assert main(["reproduce", "--config", str(bad), "--out", str(out), "--quiet"]) == 2
    assert "dataset: expected str" in capsys.readouterr().err
    # A different configuration into the same folder is refused, and nothing is lost.
    other = tmp_path / "other.toml"
    other.write_text(TINY.format(chips=3, epochs=2))
    assert main(["reproduce", "--config", str(other), "--out", str(out), "--quiet"]) == 2
    assert "different configuration" in capsys.readouterr().err
    assert (out / "results.json").read_bytes() == before
