# SPDX-License-Identifier: MIT
"""``dfasim reproduce``: train, noise model, adapt on noisy chips, cost, Table I row, report."""
from __future__ import annotations

from pathlib import Path

from ...golden.options import NOISE_CHOICES, TRAINING_RULES
from .parsing import RegistryNames, apply_options, common_options

__all__ = ["register"]

DATASETS = RegistryNames("dfasim.flows.datasets.registry", "DATASETS")
COST_MODES = RegistryNames("dfasim.flows.cost", "MODES")
DATAPATHS = RegistryNames("dfasim.models.integer_datapath", "DATAPATHS")


def register(sub) -> None:
    """Add ``reproduce`` to the subcommands ``sub``."""
    p = sub.add_parser(
        "reproduce", help="train → noise model → adapt on noisy chips (BP, DFA) → cost roll-up "
                          "→ Table I row, report and figures",
        description="The whole pipeline of one dataset (or all found offline); a finished "
                    "stage is reused when the run is repeated into the same folder.",
        parents=[common_options(data_dir=True,
                                out="default runs/reproduce/DATASET or runs/reproduce/all",
                                seed="seed of every stage (default 0)",
                                device="cpu (default), cuda or cuda:N for training and "
                                       "adaptation (chips are programmed on the CPU and moved)",
                                quiet=True)])
    which = p.add_mutually_exclusive_group()
    which.add_argument("--dataset", choices=DATASETS, metavar="NAME",
                       help="dataset: %(choices)s (default basic_motions)")
    which.add_argument("--all", action="store_true",
                       help="every Table I dataset found offline, plus BasicMotions")
    p.add_argument("--config", metavar="TOML",
                   help="file with a [reproduce] table (e.g. the reproduce.toml of an earlier "
                        "run); options given here override it")
    p.add_argument("--chips", type=int, help="noisy chip instances (default 5)")
    p.add_argument("--epochs", type=int, help="adaptation epochs (default 25)")
    p.add_argument("--train-epochs", type=int, dest="train_epochs",
                   help="pre-training epochs (default 30)")
    p.add_argument("--noise", metavar="NOISE",
                   help=f"RRAM noise: {', '.join(NOISE_CHOICES)} (default {NOISE_CHOICES[0]}), "
                        f"or a model file from dfasim noise fit")
    p.add_argument("--pretrain-rule", choices=TRAINING_RULES, dest="pretrain_rule",
                   help="rule of the pre-training stage")
    p.add_argument("--cost-mode", choices=COST_MODES, metavar="MODE", dest="cost_mode",
                   help="cost roll-up from measured activity or the dense workload: "
                        "%(choices)s")
    p.add_argument("--datapath", choices=DATAPATHS, metavar="DATAPATH",
                   help="digital side of the chip during adaptation: %(choices)s (default "
                        "float)")
    p.add_argument("--overwrite", action="store_true", help="start again from scratch")
    p.set_defaults(handler=run_reproduce)


def run_reproduce(args) -> int:
    """``dfasim reproduce``: print the Table I rows and where the report is."""
    from .. import reproduce as flow

    cfg = flow.load_reproduce_config(args.config) if args.config else flow.ReproduceConfig()
    if args.dataset:
        cfg.dataset = args.dataset
    apply_options(args, cfg, ("pretrain_rule", "cost_mode"))
    # One option can set a field of both stages (seed, data directory).
    apply_options(args, cfg.train, {"train_epochs": "epochs", "seed": "seed",
                                    "device": "device", "data_dir": "data_dir"})
    apply_options(args, cfg.adapt, {"chips": "chips", "epochs": "epochs", "noise": "noise",
                                    "seed": "seed", "data_dir": "data_dir",
                                    "datapath": "datapath", "device": "device"})
    progress = False if args.quiet else None
    if args.all:
        out = Path(args.out or "runs/reproduce/all")
        rows = flow.reproduce_all(cfg, out, flow.available_datasets(cfg.train.data_dir),
                                  overwrite=args.overwrite, progress=progress)
    else:
        out = Path(args.out or f"runs/reproduce/{cfg.dataset}")
        rows = [flow.reproduce(cfg, out, overwrite=args.overwrite, progress=progress)]
    print(flow.table_markdown(rows), end="")
    print(f"report: {out / 'report.md'}")
    return 0
