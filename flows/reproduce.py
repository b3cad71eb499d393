# SPDX-License-Identifier: MIT
"""``dfasim reproduce``: train → noise model → deploy on N noisy chips → adapt with BP and DFA
→ cost roll-up from the recorded activity → one results folder (Table I row, report, figures).

Every stage writes into its own sub-folder and resumes on its own (training per epoch,
adaptation per chip, rule and epoch), so an interrupted run, even one killed with SIGKILL,
continues where it stopped when the same command is given again. The resolved settings are
written to ``reproduce.toml`` first; ``dfasim reproduce --config DIR/reproduce.toml`` repeats
the run bit for bit on the same machine with the same thread count (elsewhere, within the spread
the report states).

This module runs the stages; :mod:`.reproduce_report` builds the Table I row, the spread over
chips and report.md, :mod:`.reproduce_figures` the figures.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .adapt import AdaptConfig
from .config import TrainConfig, dump_toml, from_dict, load_toml, to_dict
from .data_prep import DEFAULT_BATCH, prepare_data
from .datasets import DATASETS, describe_datasets
from .errors import DfasimError
from .fileio import atomic_write_bytes, relative_to_run, remove_stale_temporaries, write_json
from .limits import adapt_estimate, check_fits
from .reproduce_figures import write_figures
from .reproduce_report import (PAPER_TABLE1, accuracy_curves, render_report, reproducibility,
                               table1_row, table_markdown, write_table)

__all__ = ["ReproduceConfig", "TABLE1_DATASETS", "PAPER_TABLE1", "reproduce", "reproduce_all",
           "available_datasets", "load_reproduce_config", "check_reproduce_input",
           "table_markdown"]

#: Datasets of the paper's Table I in its row order, then the embedded default.
TABLE1_DATASETS = ("fashion_mnist", "uci_har", "hhar", "basic_motions")

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
    path = folder / "metrics.json"
    if not (path.is_file() and (folder / "checkpoint.pt").is_file()):
        return None
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return metrics if metrics.get("config") == to_dict(cfg) else None


def check_reproduce_input(cfg: ReproduceConfig) -> None:
    """Every check a reproduce run can fail, made before its folder is created or written.

    Settings, the dataset (loaded), the network against the data, and the memory and time the
    training and adaptation stages need: a rejected request then leaves nothing behind that
    would refuse the corrected command, and the real error is not hidden behind the folder's
    "different configuration" check.

    Raises
    ------
    DfasimError
        One line naming the problem.
    """
    from .train import check_train_input

    cfg.resolve().validate()
    _, data, spec = check_train_input(cfg.train)
    if cfg.adapt.data_dir != cfg.train.data_dir:
        data = prepare_data(cfg.dataset, cfg.adapt.data_dir)
    check_fits(adapt_estimate(spec, n_train=len(data.x_train), n_test=len(data.x_test),
                              batch_size=cfg.adapt.batch_size
                              or DEFAULT_BATCH.get(data.dataset.name, 50),
                              epochs=cfg.adapt.epochs, chips=cfg.adapt.chips,
                              rules=len(cfg.adapt.rules)))


def _relative_paths(obj: Any, path: Path, run_dir: Path) -> Any:
    """``obj`` with every mention of file ``path`` made relative to ``run_dir``."""
    if isinstance(obj, str):
        return obj.replace(str(path), relative_to_run(path, run_dir))
    if isinstance(obj, dict):
        return {k: _relative_paths(v, path, run_dir) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relative_paths(v, path, run_dir) for v in obj]
    return obj


def reproduce(cfg: ReproduceConfig, out_dir: str | Path, *, overwrite: bool = False,
              progress: bool | None = None) -> dict[str, Any]:
    """Run the whole path for one dataset into ``out_dir``; return the ``results.json`` dict."""
    from .adapt import adapt
    from .cost import cost_report, write_cost_outputs
    from .simulate import adapt_simulation_input, run_simulations, write_simulation_outputs
    from .train import train

    check_reproduce_input(cfg)
    out = Path(out_dir)
    cfg_path = out / "reproduce.toml"
    if cfg_path.exists() and not overwrite:
        _check_saved(cfg_path, cfg, out)
    if overwrite:
        for sub in ("train", "adapt", "cost", "simulation", "figures"):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    dump_toml(cfg_path, {"reproduce": cfg})

    metrics = _finished_training(out / "train", cfg.train)
    if metrics is None:
        metrics = train(cfg.train, out / "train", progress=progress)
    adapt_cfg = from_dict(AdaptConfig, {**to_dict(cfg.adapt),
                                        "checkpoint": str(out / "train" / "checkpoint.pt")})
    results = adapt(adapt_cfg, out / "adapt", progress=progress)
    adapt_json = out / "adapt" / "adapt.json"
    report = cost_report(adapt_json, cfg.adapt.chip, mode=cfg.cost_mode)
    # cost.json names its input relative to its own folder, as every result of the run does.
    report = _relative_paths(report, adapt_json, out / "cost")
    write_cost_outputs(report, out / "cost")

    # Energy and latency of the Table I row come from the architecture simulator, run on the
    # same activity and chip as the roll-up (which stays in cost/ as the fast mode).
    workload, sim_chip, _ = adapt_simulation_input(adapt_json, cfg.adapt.chip)
    simulations = run_simulations(workload, sim_chip, ["bp", "dfa"])
    write_simulation_outputs(simulations, out / "simulation",
                             f"{results['dataset']} adaptation epoch")
    row = table1_row(results, report, metrics,
                     {rule: sim.to_dict() for rule, sim in simulations.items()})
    figures = write_figures(results, out)
    summary = {"format": "dfasim.reproduce", "version": 1, "dataset": results["dataset"],
               "source": results["source"], "layers": results["layers"],
               "timesteps": results["timesteps"], "noise": results["noise"],
               "chips": cfg.adapt.chips, "epochs": cfg.adapt.epochs,
               "datapath": cfg.adapt.datapath, "pretrain_rule": cfg.pretrain_rule, "table1": row,
               "paper": PAPER_TABLE1.get(results["dataset"]),
               "accuracy_per_epoch": accuracy_curves(results),
               "reproducibility": reproducibility(results, metrics),
               "cost": {"mode": report["mode"], "ratios": report["ratios"],
                        "simulated_ratios": row["ratios_dfa_over_bp"],
                        "paper_ratios": report["paper_ratios"]},
               "files": {"config": "reproduce.toml", "train": "train/metrics.json",
                         "adapt": "adapt/adapt.json", "cost": "cost/cost.json",
                         "simulation": "simulation/summary.md",
                         "figures": figures}}
    write_json(out / "results.json", summary)
    write_table(out / "table1.csv", out / "table1.md", [summary])
    atomic_write_bytes(out / "report.md", render_report([summary]).encode())
    return summary


def reproduce_all(cfg: ReproduceConfig, out_dir: str | Path, datasets: list[str], *,
                  overwrite: bool = False, progress: bool | None = None) -> list[dict]:
    """:func:`reproduce` for each dataset into ``out_dir/<dataset>``, plus combined tables."""
    if not datasets:
        raise DfasimError("no Table I dataset was found offline; see `dfasim data list`")
    out = Path(out_dir)
    # Per-dataset defaults (network, T, batch) come from the dataset, as in `dfasim train`.
    each = [from_dict(ReproduceConfig, {**to_dict(cfg), "dataset": name}) for name in datasets]
    for one in each:  # all checked before the first hour-long stage starts
        check_reproduce_input(one)
    rows = [reproduce(one, out / one.dataset, overwrite=overwrite, progress=progress)
            for one in each]
    write_table(out / "table1.csv", out / "table1.md", rows)
    write_json(out / "results.json", {"format": "dfasim.reproduce.all", "version": 1,
                                      "datasets": datasets, "rows": rows})
    atomic_write_bytes(out / "report.md", render_report(rows, prefix=True).encode())
    return rows
