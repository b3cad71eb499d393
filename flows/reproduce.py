# SPDX-License-Identifier: MIT
"""``dfasim reproduce``: train → noise model → deploy on N noisy chips → adapt with BP and DFA
→ cost roll-up from the recorded activity → one results folder (Table I row, report, figures).

Every stage writes into its own sub-folder and resumes on its own (training per epoch,
adaptation per chip, rule and epoch), so an interrupted run, even one killed with SIGKILL,
continues where it stopped when the same command is given again. The resolved settings are
written to ``reproduce.toml`` first; ``dfasim reproduce --config DIR/reproduce.toml`` repeats
the run bit for bit.
"""
from __future__ import annotations

import csv
import io
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models.cost import HardwareConfig
from .adapt import AdaptConfig
from .config import TrainConfig, dump_toml, from_dict, load_toml, to_dict
from .datasets import DATASETS, describe_datasets
from .errors import DfasimError
from .fileio import atomic_write_bytes, write_json

__all__ = ["ReproduceConfig", "TABLE1_DATASETS", "PAPER_TABLE1", "reproduce", "reproduce_all",
           "available_datasets", "load_reproduce_config", "table_markdown",
           "add_reproduce_parser", "run_reproduce"]

#: Datasets of the paper's Table I in its row order, then the embedded default.
TABLE1_DATASETS = ("fashion_mnist", "uci_har", "hhar", "basic_motions")

#: Table I of the DFA paper (REFERENCE.md §1): accuracies in %, energy/latency/area in the
#: paper's unrecoverable units (only their DFA/BP ratios are comparable).
PAPER_TABLE1: dict[str, dict[str, Any]] = {
    "fashion_mnist": dict(T=5, layers="784-512-256-128-64-10", fp32=88.55, nonideal=61.92,
                          bp=83.55, dfa=85.12, energy=(0.0181, 0.0072), latency=(1.9, 0.947),
                          area=(23.1, 20.1)),
    "uci_har": dict(T=128, layers="9-128-64-32-6", fp32=89.68, nonideal=57.22, bp=84.93,
                    dfa=85.61, energy=(0.0979, 0.0316), latency=(15.7, 8.24),
                    area=(21.7, 19.5)),
    "hhar": dict(T=100, layers="6-256-128-64-6", fp32=90.77, nonideal=39.6, bp=75.0,
                 dfa=82.55, energy=(0.132, 0.0474), latency=(18.1, 8.67), area=(21.7, 19.5)),
}


@dataclass
class ReproduceConfig:
    """Every setting of one ``dfasim reproduce`` run (the ``[reproduce]`` table).

    ``train.dataset``/``adapt.dataset`` follow ``dataset``; ``adapt.checkpoint`` is left empty
    and means the checkpoint of this run's own training stage.
    """

    dataset: str = "basic_motions"
    #: The rule the FP32 network is pre-trained with; DFA adaptation reuses its B matrices
    #: when it is ``dfa`` (the error they were aligned under), as in docs/benchmarks.md.
    pretrain_rule: str = "dfa"
    #: ``"activity"``: price the counters recorded during adaptation; ``"dense"``: analytical.
    cost_mode: str = "activity"
    train: TrainConfig = field(default_factory=TrainConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)

    def resolve(self) -> "ReproduceConfig":
        """Make the stage settings agree with the top-level ones; return ``self``."""
        self.train.dataset = self.dataset
        self.train.rule = self.pretrain_rule
        self.adapt.dataset = self.dataset
        self.adapt.checkpoint = ""
        if self.adapt.data_dir == "":
            self.adapt.data_dir = self.train.data_dir
        return self

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise DfasimError(f"unknown dataset {self.dataset!r}; choose one of "
                              f"{', '.join(DATASETS)}")
        if self.pretrain_rule not in ("bptt", "dfa", "sdfa"):
            raise DfasimError(f"pretrain_rule must be bptt, dfa or sdfa, not "
                              f"{self.pretrain_rule!r}")
        if self.cost_mode not in ("activity", "dense"):
            raise DfasimError(f"cost_mode must be activity or dense, not {self.cost_mode!r}")
        self.train.validate()
        probe = AdaptConfig(**{**vars(self.adapt), "checkpoint": "<train stage>"})
        probe.validate()
        try:
            self.hardware.validate()
        except ValueError as exc:
            raise DfasimError(f"[hardware] {str(exc).splitlines()[0]}") from None


def load_reproduce_config(path: str | Path) -> ReproduceConfig:
    """Read the ``[reproduce]`` table of a TOML file; one-line errors for any problem."""
    return load_toml(path, ReproduceConfig, "reproduce")


def available_datasets(data_dir: str | None = None) -> list[str]:
    """The Table I datasets (and the embedded default) whose data can be found offline."""
    have = {d["name"] for d in describe_datasets(data_dir or None) if d["available"]}
    return [name for name in TABLE1_DATASETS if name in have]


# --- the run ------------------------------------------------------------------------------------

def _check_saved(cfg_path: Path, cfg: ReproduceConfig, out: Path) -> None:
    """Refuse to resume a folder that holds a run with other settings."""
    try:
        saved = load_reproduce_config(cfg_path)
    except DfasimError:
        raise DfasimError(f"{cfg_path} is unreadable; pass --overwrite to start again") from None
    if to_dict(saved.resolve()) != to_dict(cfg):
        raise DfasimError(f"{out} holds a reproduce run with a different configuration; choose "
                          f"another --out or pass --overwrite")


def _finished_training(folder: Path, cfg: TrainConfig) -> dict[str, Any] | None:
    """The metrics of a finished training stage with these settings, else ``None``.

    ``metrics.json`` is written after the checkpoint, so its presence means the stage ended;
    it is not run again (a rerun would rewrite the checkpoint and evaluate once more).
    """
    import json

    path = folder / "metrics.json"
    if not (path.is_file() and (folder / "checkpoint.pt").is_file()):
        return None
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return metrics if metrics.get("config") == to_dict(cfg) else None


def reproduce(cfg: ReproduceConfig, out_dir: str | Path, *, overwrite: bool = False,
              progress: bool | None = None) -> dict[str, Any]:
    """Run the whole path for one dataset into ``out_dir``; return the ``results.json`` dict."""
    from .adapt import adapt
    from .cost import cost_report, write_cost_outputs
    from .train import train

    cfg.resolve().validate()
    out = Path(out_dir)
    cfg_path = out / "reproduce.toml"
    if cfg_path.exists() and not overwrite:
        _check_saved(cfg_path, cfg, out)
    if overwrite:
        for sub in ("train", "adapt", "cost", "figures"):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    dump_toml(cfg_path, {"reproduce": cfg})

    metrics = _finished_training(out / "train", cfg.train)
    if metrics is None:
        metrics = train(cfg.train, out / "train", progress=progress)
    adapt_cfg = from_dict(AdaptConfig, {**to_dict(cfg.adapt),
                                        "checkpoint": str(out / "train" / "checkpoint.pt")})
    results = adapt(adapt_cfg, out / "adapt", progress=progress)
    report = cost_report(out / "adapt" / "adapt.json", cfg.hardware, mode=cfg.cost_mode)
    write_cost_outputs(report, out / "cost")

    row = table1_row(results, report, metrics)
    figures = _figures(results, out)
    summary = {"format": "dfasim.reproduce", "version": 1, "dataset": results["dataset"],
               "source": results["source"], "layers": results["layers"],
               "timesteps": results["timesteps"], "noise": results["noise"],
               "chips": cfg.adapt.chips, "epochs": cfg.adapt.epochs,
               "pretrain_rule": cfg.pretrain_rule, "table1": row,
               "paper": PAPER_TABLE1.get(results["dataset"]),
               "accuracy_per_epoch": accuracy_curves(results),
               "cost": {"mode": report["mode"], "ratios": report["ratios"],
                        "paper_ratios": report["paper_ratios"]},
               "files": {"config": "reproduce.toml", "train": "train/metrics.json",
                         "adapt": "adapt/adapt.json", "cost": "cost/cost.json",
                         "figures": figures}}
    write_json(out / "results.json", summary)
    _write_table(out / "table1.csv", out / "table1.md", [summary])
    atomic_write_bytes(out / "report.md", render_report([summary], cfg).encode())
    return summary


def reproduce_all(cfg: ReproduceConfig, out_dir: str | Path, datasets: list[str], *,
                  overwrite: bool = False, progress: bool | None = None) -> list[dict]:
    """:func:`reproduce` for each dataset into ``out_dir/<dataset>``, plus combined tables."""
    if not datasets:
        raise DfasimError("no Table I dataset was found offline; see `dfasim data list`")
    out = Path(out_dir)
    rows = []
    for name in datasets:
        one = from_dict(ReproduceConfig, {**to_dict(cfg), "dataset": name})
        # Per-dataset defaults (network, T, batch) come from the dataset, as in `dfasim train`.
        rows.append(reproduce(one, out / name, overwrite=overwrite, progress=progress))
    _write_table(out / "table1.csv", out / "table1.md", rows)
    write_json(out / "results.json", {"format": "dfasim.reproduce.all", "version": 1,
                                      "datasets": datasets, "rows": rows})
    atomic_write_bytes(out / "report.md", render_report(rows, cfg, prefix=True).encode())
    return rows


# --- results ------------------------------------------------------------------------------------

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


def table1_row(results: dict, report: dict, metrics: dict) -> dict[str, Any]:
    """One Table I row: accuracies (%, mean ± std over chips) and cost per epoch per scheme."""
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
    return row


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
    head = "| " + " | ".join(c for c, _ in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    body = ["| " + " | ".join(_cell(r["table1"], k) for _, k in COLUMNS) + " |" for r in rows]
    return "\n".join([head, rule, *body]) + "\n"


def _write_table(csv_path: Path, md_path: Path, rows: list[dict]) -> None:
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


def render_report(rows: list[dict], cfg: ReproduceConfig, *, prefix: bool = False) -> str:
    """The markdown report: Table I rows, the paper's rows, cost breakdown, figures."""
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
                f"{t['ratios_dfa_over_bp']['area']:.3f} (paper range: energy 0.32–0.40, "
                f"latency 0.48–0.52, area 0.87–0.90).",
                f"- DRAM (same for both, not in the totals): "
                f"{t['dram_energy_uj_per_epoch']:.4g} µJ per epoch.", ""]
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


def _figures(results: dict, out: Path) -> list[str]:
    """Accuracy per epoch with bands over chips; the cost bars; the GPR fit; return paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    curves = accuracy_curves(results)
    summary = results["summary"]
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = {"bp": "tab:blue", "dfa": "tab:orange"}
    for rule, c in curves.items():
        lo = [m - s for m, s in zip(c["mean"], c["std"])]
        hi = [m + s for m, s in zip(c["mean"], c["std"])]
        ax.plot(c["epoch"], c["mean"], label=f"{rule.upper()} (mean over chips)",
                color=colours.get(rule))
        ax.fill_between(c["epoch"], lo, hi, alpha=0.25, color=colours.get(rule))
    ax.axhline(100 * summary["fp32"], ls="--", color="k", lw=1, label="FP32")
    ax.axhline(100 * summary["nonideal"]["mean"], ls=":", color="tab:red", lw=1,
               label="non-ideal, no adaptation")
    ax.set_xlabel("adaptation epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{results['dataset']}: online adaptation, ±1 std over "
                 f"{len(results['chips'])} chips")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(fig_dir / "accuracy_per_epoch.png", buf.getvalue())
    figures = ["figures/accuracy_per_epoch.png"]
    for name in ("energy_by_component.png", "latency_by_phase.png", "area_by_component.png"):
        if (out / "cost" / name).is_file():
            figures.append(f"cost/{name}")
    for png in sorted((out / "adapt").glob("noise_*.png")):
        figures.append(f"adapt/{png.name}")        # the GPR fit of the noise model
    return figures


# --- command line -------------------------------------------------------------------------------

def add_reproduce_parser(sub) -> None:
    """Register ``dfasim reproduce``."""
    p = sub.add_parser("reproduce", help="train → noise model → adapt on noisy chips (BP, DFA) "
                                         "→ cost roll-up → Table I row, report and figures")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--dataset", help=f"one of {', '.join(DATASETS)} (default basic_motions)")
    which.add_argument("--all", action="store_true",
                       help="every Table I dataset found offline, plus BasicMotions")
    p.add_argument("--config", help="TOML file with a [reproduce] table (e.g. the "
                                    "reproduce.toml of an earlier run); flags override it")
    p.add_argument("--chips", type=int, help="noisy chip instances (default 5)")
    p.add_argument("--epochs", type=int, help="adaptation epochs (default 25)")
    p.add_argument("--train-epochs", type=int, dest="train_epochs",
                   help="pre-training epochs (default 30)")
    p.add_argument("--noise", help="neurram (default), radar, crosssim, ideal or a model file")
    p.add_argument("--pretrain-rule", choices=["bptt", "dfa", "sdfa"], dest="pretrain_rule")
    p.add_argument("--cost-mode", choices=["activity", "dense"], dest="cost_mode")
    p.add_argument("--seed", type=int, help="seed of every stage")
    p.add_argument("--device", help="cpu (default) or cuda for the training stage (the "
                                    "crossbar simulation of adaptation runs on the CPU)")
    p.add_argument("--data-dir", dest="data_dir")
    p.add_argument("--out", help="results folder (default runs/reproduce/DATASET or "
                                 "runs/reproduce/all)")
    p.add_argument("--overwrite", action="store_true", help="start again from scratch")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run_reproduce(args) -> int:
    """Run ``dfasim reproduce``; print the Table I rows and where the report is."""
    cfg = load_reproduce_config(args.config) if args.config else ReproduceConfig()
    if args.dataset:
        cfg.dataset = args.dataset
    for key in ("pretrain_rule", "cost_mode"):
        if getattr(args, key) is not None:
            setattr(cfg, key, getattr(args, key))
    if args.chips is not None:
        cfg.adapt.chips = args.chips
    if args.epochs is not None:
        cfg.adapt.epochs = args.epochs
    if args.train_epochs is not None:
        cfg.train.epochs = args.train_epochs
    if args.noise is not None:
        cfg.adapt.noise = args.noise
    if args.seed is not None:
        cfg.train.seed = cfg.adapt.seed = args.seed
    if args.device is not None:
        cfg.train.device = args.device
    if args.data_dir is not None:
        cfg.train.data_dir = cfg.adapt.data_dir = args.data_dir
    progress = False if args.quiet else None
    if args.all:
        out = Path(args.out or "runs/reproduce/all")
        rows = reproduce_all(cfg, out, available_datasets(cfg.train.data_dir),
                             overwrite=args.overwrite, progress=progress)
    else:
        out = Path(args.out or f"runs/reproduce/{cfg.dataset}")
        rows = [reproduce(cfg, out, overwrite=args.overwrite, progress=progress)]
    print(table_markdown(rows), end="")
    print(f"report: {out / 'report.md'}")
    return 0
