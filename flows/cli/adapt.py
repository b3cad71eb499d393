# SPDX-License-Identifier: MIT
"""``dfasim adapt``: deploy a trained SNN on noisy RRAM crossbars and adapt it with BP / DFA."""
from __future__ import annotations

from pathlib import Path

from ...golden.networks import format_layers
from ...golden.options import ADAPT_RULES, LR_SCHEDULES, NOISE_CHOICES
from .parsing import NameList, RegistryNames, apply_options, common_options

__all__ = ["register"]

DATASETS = RegistryNames("dfasim.flows.datasets.registry", "DATASETS")
DATAPATHS = RegistryNames("dfasim.models.integer_datapath", "DATAPATHS")

#: ``dfasim adapt`` options copied onto the ``[adapt]`` table when given (dest names).
_ADAPT_KEYS = ("checkpoint", "dataset", "rules", "epochs", "batch_size", "lr_bp", "lr_dfa",
               "lr_schedule", "chips", "seed", "noise", "data_dir", "age_per_epoch_s",
               "datapath", "device")
#: ... and onto its ``[adapt.chip]`` description: option dest -> field, per part.
_HIERARCHY_KEYS = {"max_tiles": "max_tiles"}
_DEVICE_KEYS = {"g_min": "g_min_us", "g_max": "g_max_us"}


def register(sub) -> None:
    """Add ``adapt`` to the subcommands ``sub``."""
    p = sub.add_parser(
        "adapt", help="deploy a trained SNN on noisy crossbars, adapt with BP/DFA",
        description="Deploy a pre-trained checkpoint on Monte Carlo instances of a noisy RRAM "
                    "chip and adapt it on-chip with backprop and/or DFA.",
        parents=[common_options(data_dir=True, out="default runs/adapt/DATASET-sSEED",
                                seed="seed of chips, noise and batches (default 0)",
                                device="cpu (default), cuda or cuda:N: where the deployed "
                                       "arrays and the adaptation run", quiet=True)])
    p.add_argument("--config", metavar="TOML",
                   help="file with an [adapt] table; options given here override it")
    p.add_argument("--checkpoint", metavar="CHECKPOINT",
                   help="pre-trained FP32 checkpoint.pt (from dfasim train)")
    p.add_argument("--dataset", choices=DATASETS, metavar="NAME",
                   help="dataset: %(choices)s (default: the checkpoint's)")
    p.add_argument("--rules", type=NameList(ADAPT_RULES, "adaptation rule"), metavar="RULES",
                   help="comma-separated subset of %(type)s (default all)")
    p.add_argument("--epochs", type=int, help="adaptation epochs (default 25)")
    p.add_argument("--batch-size", type=int, dest="batch_size",
                   help="samples per batch (default: the dataset's)")
    p.add_argument("--lr-bp", type=float, dest="lr_bp", help="SGD rate of BP (default 0.15)")
    p.add_argument("--lr-dfa", type=float, dest="lr_dfa", help="SGD rate of DFA (default 0.05)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, dest="lr_schedule",
                   help="learning-rate schedule over the epochs (default cosine)")
    p.add_argument("--chips", type=int, help="Monte Carlo chip instances (mean ± std; default 5)")
    p.add_argument("--noise", metavar="NOISE",
                   help=f"RRAM noise: {', '.join(NOISE_CHOICES)} (default {NOISE_CHOICES[0]}), "
                        f"or a model file from dfasim noise fit")
    p.add_argument("--max-tiles", type=int, dest="max_tiles",
                   help="tile budget of the chip (0: as many as the network needs)")
    p.add_argument("--g-min", type=float, dest="g_min", help="conductance window low (µS)")
    p.add_argument("--g-max", type=float, dest="g_max", help="conductance window high (µS)")
    p.add_argument("--age-per-epoch", type=float, dest="age_per_epoch_s", metavar="SECONDS",
                   help="age the chip by SECONDS after every epoch (switches drift on; writes "
                        "aging.png: accuracy vs time since programming)")
    p.add_argument("--datapath", choices=DATAPATHS, metavar="DATAPATH",
                   help="digital side of the chip: %(choices)s (default float; integer: the "
                        "RTL's bit-exact integer partial sums, LIF, GradLIF and WGU)")
    p.add_argument("--overwrite", action="store_true",
                   help="start again even if the run folder holds an unfinished run")
    p.set_defaults(handler=run_adapt)


def run_adapt(args) -> int:
    """``dfasim adapt``: adapt, print accuracies (mean ± std over chips), say what was written."""
    from ..adapt import AdaptConfig, adapt
    from ..config import load_toml

    cfg = load_toml(args.config, AdaptConfig, "adapt") if args.config else AdaptConfig()
    apply_options(args, cfg, _ADAPT_KEYS)
    apply_options(args, cfg.chip.hierarchy, _HIERARCHY_KEYS)
    apply_options(args, cfg.chip.device, _DEVICE_KEYS)
    if cfg.age_per_epoch_s:
        cfg.chip.nonideal.drift = True
    run_name = cfg.dataset or Path(cfg.checkpoint).parent.name
    out = Path(args.out or f"runs/adapt/{run_name}-s{cfg.seed}")
    res = adapt(cfg, out, overwrite=args.overwrite, progress=False if args.quiet else None)
    s = res["summary"]

    def pct(d):
        return f"{100 * d['mean']:.2f} ± {100 * d['std']:.2f} %"

    print(f"{res['dataset']} {format_layers(res['layers'])}, {len(res['chips'])} chips, "
          f"{res['epochs']} epochs, {res['datapath']} datapath: FP32 {100 * s['fp32']:.2f} %, "
          f"non-ideal {pct(s['nonideal'])}"
          + "".join(f", {r.upper()} {pct(s[r])}" for r in res["rules"] if r in s))
    print(f"wrote {out / 'adapt.json'}")
    if res.get("age_per_epoch_s"):
        print(f"wrote {out / 'aging.png'}")
    return 0
