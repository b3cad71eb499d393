# SPDX-License-Identifier: MIT
"""What ``dfasim reproduce`` reports: the Table I row, the spread over chips, tables, report.md."""
from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any

from ..golden.networks import NETWORKS, format_layers
from ..golden.papers import DFA_SIM_RATIO_RANGES, DFA_SIM_TABLE1
from .fileio import atomic_write_bytes

__all__ = ["PAPER_TABLE1", "COLUMNS", "accuracy_curves", "table1_row", "accuracy_spread",
           "reproducibility", "table_markdown", "write_table", "render_report"]

#: Table I of the DFA paper as recorded in results.json (``"paper"``): accuracies in %,
#: energy/latency/area ``(BP, DFA)`` in the paper's unrecoverable units (only their DFA/BP
#: ratios are comparable). Read from :data:`dfasim.golden.papers.DFA_SIM_TABLE1`.
PAPER_TABLE1: dict[str, dict[str, Any]] = {
    name: dict(T=row.timesteps, layers=format_layers(NETWORKS[row.network].layers),
               fp32=row.fp32, nonideal=row.nonideal, bp=row.bp, dfa=row.dfa,
               energy=row.energy, latency=row.latency, area=row.area)
    for name, row in DFA_SIM_TABLE1.items()}

#: Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (above: normal).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def _stat(values: list[float]) -> dict[str, float]:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) \
        if len(values) > 1 else 0.0
    return {"mean": mean, "std": std}


def accuracy_curves(results: dict) -> dict[str, dict[str, list[float]]]:
    """Per rule: test accuracy (%) after each adaptation epoch, mean and std over chips."""
    curves = {}
    for rule in results["rules"]:
        per_chip = [[h["test_acc"] for h in c["adapt"][rule]["history"]]
                    for c in results["chips"] if rule in c["adapt"]]
        epochs = min(len(h) for h in per_chip)
        stats = [_stat([100 * h[e] for h in per_chip]) for e in range(epochs)]
        curves[rule] = {"epoch": list(range(1, epochs + 1)),
                        "mean": [s["mean"] for s in stats], "std": [s["std"] for s in stats]}
    return curves


def table1_row(results: dict, report: dict, metrics: dict,
               simulations: dict[str, dict] | None = None) -> dict[str, Any]:
    """One Table I row: accuracies (%, mean ± std over chips) and cost per epoch per scheme.

    With ``simulations`` (``{"bp": simulation.json dict, "dfa": ...}`` of the architecture
    simulator), energy and latency per epoch are the simulator's: the scheduled makespan, and
    the dynamic energy plus DRAM spills plus leakage (the training set's DRAM line apart, as
    before); the analytical roll-up's stay beside them as ``rollup_*``."""
    summary = results["summary"]
    pct = lambda s: {"mean": 100 * s["mean"], "std": 100 * s["std"]}  # noqa: E731
    row: dict[str, Any] = {
        "dataset": results["dataset"], "T": results["timesteps"],
        "network": "-".join(map(str, results["layers"])),
        "fp32_acc_pct": 100 * summary["fp32"], "nonideal_acc_pct": pct(summary["nonideal"]),
        "pretrain_test_acc_pct": 100 * metrics["test_accuracy"],
    }
    for rule in ("bp", "dfa"):
        if rule in summary:
            row[f"{rule}_acc_pct"] = pct(summary[rule])
        s = report["schemes"][rule]
        row[f"{rule}_energy_uj_per_epoch"] = s["energy_pj"]["total"] * 1e-6
        row[f"{rule}_latency_ms_per_epoch"] = s["latency_ns"]["total"] * 1e-6
        row[f"{rule}_area_mm2"] = s["area_um2"]["total"] * 1e-6
    row["dram_energy_uj_per_epoch"] = report["schemes"]["bp"]["dram_energy_pj"] * 1e-6
    row["ratios_dfa_over_bp"] = {k: report["ratios"][k] for k in ("energy", "latency", "area")}
    if simulations:
        row["cost_source"] = "architecture simulator (docs/simulator.md)"
        row["rollup_ratios_dfa_over_bp"] = dict(row["ratios_dfa_over_bp"])
        for rule in ("bp", "dfa"):
            sim = simulations[rule]
            energy = sim["energy_j"]
            row[f"rollup_{rule}_energy_uj_per_epoch"] = row[f"{rule}_energy_uj_per_epoch"]
            row[f"rollup_{rule}_latency_ms_per_epoch"] = row[f"{rule}_latency_ms_per_epoch"]
            row[f"{rule}_energy_uj_per_epoch"] = (energy["total"] - energy["dram_dataset"]) * 1e6
            row[f"{rule}_latency_ms_per_epoch"] = sim["makespan_s"] * 1e3
            row[f"{rule}_energy_parts_uj"] = {
                "dynamic": (energy["total"] - energy["dram_dataset"] - energy["dram_spill"]
                            - energy["leakage"]) * 1e6,
                "dram_spill": energy["dram_spill"] * 1e6, "leakage": energy["leakage"] * 1e6}
        ratio = lambda key: row[f"dfa_{key}"] / row[f"bp_{key}"]  # noqa: E731
        row["ratios_dfa_over_bp"] = {"energy": ratio("energy_uj_per_epoch"),
                                     "latency": ratio("latency_ms_per_epoch"),
                                     "area": row["rollup_ratios_dfa_over_bp"]["area"]}
    return row


def accuracy_spread(values_pct: list[float]) -> dict[str, float]:
    """Mean, std, standard error and 95 % interval of the mean of per-chip accuracies (%).

    The interval is Student's t (chips are few), clipped to [0, 100]; one chip has none.
    """
    n = len(values_pct)
    mean = statistics.fmean(values_pct)
    std = statistics.stdev(values_pct) if n > 1 else 0.0
    sem = std / math.sqrt(n)
    half = (_T975[n - 2] if n - 1 <= len(_T975) else 1.96) * sem if n > 1 else 0.0
    return {"chips": n, "mean": mean, "std": std, "sem": sem,
            "ci95_low": max(0.0, mean - half), "ci95_high": min(100.0, mean + half)}


def reproducibility(results: dict, metrics: dict) -> dict[str, Any]:
    """What a rerun elsewhere can be expected to reproduce (``results.json["reproducibility"]``).

    Bit-identical numbers need the same machine and thread count: another CPU sums floats in
    another order, and adaptation on noisy chips amplifies the difference (a BasicMotions run
    moved by two test windows). What carries over is the spread: the per-chip accuracies'
    standard error and 95 % interval of the mean, and the granularity of one test sample.
    """
    n_test = int(metrics["n_test"])
    per_chip = {"nonideal": [100 * c["nonideal_accuracy"] for c in results["chips"]]}
    for rule in results["rules"]:
        finals = [100 * c["adapt"][rule]["history"][-1]["test_acc"] for c in results["chips"]
                  if rule in c["adapt"] and c["adapt"][rule]["history"]]
        if finals:
            per_chip[rule] = finals
    return {"bit_identical_on": "the same machine with the same torch thread count",
            "torch_threads": metrics.get("torch_threads"), "n_test": n_test,
            "accuracy_step_pct": 100.0 / n_test if n_test else None,
            "accuracy_spread_pct": {k: accuracy_spread(v) for k, v in per_chip.items()}}


COLUMNS = [("dataset", "dataset"), ("T", "T"), ("network", "network"),
           ("FP32 acc (%)", "fp32_acc_pct"), ("non-ideal (%)", "nonideal_acc_pct"),
           ("BP-adapted (%)", "bp_acc_pct"), ("DFA-adapted (%)", "dfa_acc_pct"),
           ("energy BP / DFA (µJ/epoch)", ("bp_energy_uj_per_epoch", "dfa_energy_uj_per_epoch")),
           ("latency BP / DFA (ms/epoch)",
            ("bp_latency_ms_per_epoch", "dfa_latency_ms_per_epoch")),
           ("area BP / DFA (mm²)", ("bp_area_mm2", "dfa_area_mm2")),
           ("DFA/BP energy, latency, area", "ratios_dfa_over_bp")]


def _cell(row: dict, key) -> str:
    if isinstance(key, tuple):
        return " / ".join(f"{row[k]:.4g}" for k in key)
    v = row.get(key)
    if v is None:
        return "–"
    if isinstance(v, dict) and "mean" in v:
        return f"{v['mean']:.2f} ± {v['std']:.2f}"
    if isinstance(v, dict):
        return ", ".join(f"{x:.2f}" for x in v.values())
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def table_markdown(rows: list[dict]) -> str:
    """The measured Table I rows as a markdown table."""
    head = "| " + " | ".join(c for c, _ in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    body = ["| " + " | ".join(_cell(r["table1"], k) for _, k in COLUMNS) + " |" for r in rows]
    return "\n".join([head, rule, *body]) + "\n"


def write_table(csv_path: Path, md_path: Path, rows: list[dict]) -> None:
    """Write the Table I rows as CSV (nested values flattened) and as markdown."""
    flat = []
    for r in rows:
        d = {}
        for k, v in r["table1"].items():
            if isinstance(v, dict):
                for kk, vv in v.items():
                    d[f"{k}_{kk}"] = vv
            else:
                d[k] = v
        flat.append(d)
    keys = list(dict.fromkeys(k for d in flat for k in d))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    w.writerows(flat)
    atomic_write_bytes(csv_path, buf.getvalue().encode())
    atomic_write_bytes(md_path, table_markdown(rows).encode())


def _paper_markdown(rows: list[dict]) -> str:
    lines = ["| dataset | T | network | FP32 | non-ideal | BP | DFA | DFA/BP energy, latency, "
             "area |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p = r.get("paper")
        if not p:
            continue
        ratio = ", ".join(f"{b / a:.2f}" for a, b in (p["energy"], p["latency"], p["area"]))
        lines.append(f"| {r['dataset']} | {p['T']} | {p['layers']} | {p['fp32']} | "
                     f"{p['nonideal']} | {p['bp']} | {p['dfa']} | {ratio} |")
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def _paper_ranges() -> str:
    return ", ".join(f"{q} {lo:.2f}–{hi:.2f}" for q, (lo, hi) in DFA_SIM_RATIO_RANGES.items())


_SPREAD_ROWS = (("nonideal", "non-ideal"), ("bp", "BP-adapted"), ("dfa", "DFA-adapted"))


def _reproducibility_markdown(rows: list[dict]) -> list[str]:
    threads = sorted({str(r["reproducibility"].get("torch_threads")) for r in rows
                      if r.get("reproducibility")})
    out = ["## Reproducibility", "",
           f"The same command with the same seed gives bit-identical numbers on the same "
           f"machine with the same number of torch threads (this run: {', '.join(threads)}; "
           f"set with `OMP_NUM_THREADS`). Another CPU or thread count adds floats in another "
           f"order, and adaptation on noisy chips amplifies such differences: expect the "
           f"means to move within their 95 % interval below, in steps of one test sample "
           f"(a run on another CPU moved the BasicMotions BP-adapted mean by two samples).",
           ""]
    for r in rows:
        rep = r.get("reproducibility")
        if not rep:
            continue
        step = rep["accuracy_step_pct"]
        out += [f"{r['dataset']}: one test sample is {step:.2f} points ({rep['n_test']} test "
                f"samples).", "",
                "| accuracy | mean ± std over chips (%) | standard error (%) | "
                "95 % interval of the mean (%) | chips |", "|---|---|---|---|---|"]
        for key, label in _SPREAD_ROWS:
            s = rep["accuracy_spread_pct"].get(key)
            if s:
                out.append(f"| {label} | {s['mean']:.2f} ± {s['std']:.2f} | {s['sem']:.2f} | "
                           f"{s['ci95_low']:.2f}–{s['ci95_high']:.2f} | {s['chips']} |")
        out.append("")
    return out


def render_report(rows: list[dict], *, prefix: bool = False) -> str:
    """The markdown report: Table I rows, the paper's rows, cost breakdown, spread, figures.

    ``prefix``: the rows live in per-dataset sub-folders (``reproduce --all``), so file links
    start with ``DATASET/``.
    """
    out = ["# dfasim reproduce: online adaptation on noisy RRAM crossbars, BP vs DFA", ""]
    out += ["Accuracies are on the dataset's test split, mean ± std over chips; cost is per "
            "adaptation epoch (forward, backward and update phases of every training sample, "
            "DRAM apart) from the activity recorded during adaptation, priced with the "
            "component library (docs/cost-model.md).", ""]
    out += ["## Table I (measured)", "", table_markdown(rows)]
    paper = _paper_markdown(rows)
    if paper:
        out += ["## Table I of the paper (units of energy/latency/area not recoverable)", "",
                paper]
    out += _reproducibility_markdown(rows)
    for r in rows:
        base = f"{r['dataset']}/" if prefix else ""
        t = r["table1"]
        out += [f"## {r['dataset']}", "",
                f"- Network {t['network']}, T = {t['T']}, pre-trained with "
                f"{r['pretrain_rule'].upper()}; {r['chips']} chips, {r['epochs']} adaptation "
                f"epochs; noise: {r['noise']}.",
                f"- Data: {r['source']}.",
                f"- DFA/BP: energy {t['ratios_dfa_over_bp']['energy']:.3f}, latency "
                f"{t['ratios_dfa_over_bp']['latency']:.3f}, area "
                f"{t['ratios_dfa_over_bp']['area']:.3f} (paper range: {_paper_ranges()}).",
                f"- DRAM (same for both, not in the totals): "
                f"{t['dram_energy_uj_per_epoch']:.4g} µJ per epoch.", ""]
        if "rollup_ratios_dfa_over_bp" in t:
            parts = {rule: t[f"{rule}_energy_parts_uj"] for rule in ("bp", "dfa")}
            out[-1:-1] = [
                f"- Energy and latency from the architecture simulator (`{base}simulation/`): "
                f"BP {t['bp_energy_uj_per_epoch']:.4g} µJ (dynamic "
                f"{parts['bp']['dynamic']:.4g}, DRAM spills {parts['bp']['dram_spill']:.4g}, "
                f"leakage {parts['bp']['leakage']:.4g}), DFA {t['dfa_energy_uj_per_epoch']:.4g} "
                f"µJ (dynamic {parts['dfa']['dynamic']:.4g}, DRAM spills "
                f"{parts['dfa']['dram_spill']:.4g}, leakage {parts['dfa']['leakage']:.4g}).",
                f"- The analytical roll-up (no schedule, no spills, no leakage): energy "
                f"{t['rollup_bp_energy_uj_per_epoch']:.4g} / "
                f"{t['rollup_dfa_energy_uj_per_epoch']:.4g} µJ, latency "
                f"{t['rollup_bp_latency_ms_per_epoch']:.4g} / "
                f"{t['rollup_dfa_latency_ms_per_epoch']:.4g} ms (BP / DFA); DFA/BP "
                + ", ".join(f"{k} {v:.3f}" for k, v in t["rollup_ratios_dfa_over_bp"].items())
                + "."]
        acc = r["accuracy_per_epoch"]
        for rule, c in acc.items():
            if c["mean"]:
                out.append(f"- {rule.upper()} accuracy after epoch 1 / last: "
                           f"{c['mean'][0]:.2f} / {c['mean'][-1]:.2f} %")
        out.append("")
        for fig in r["files"]["figures"]:
            out.append(f"![{Path(fig).stem}]({base}{fig})")
        out += ["", f"Files: `{base}results.json`, `{base}cost/cost.json`, "
                    f"`{base}cost/cost.csv`, `{base}adapt/adapt.json`, `{base}reproduce.toml`.",
                ""]
    out += ["## Reproduce", "", "```", "dfasim reproduce --config "
            + ("DATASET/" if prefix else "") + "reproduce.toml --out NEW_DIR", "```", ""]
    return "\n".join(out)
