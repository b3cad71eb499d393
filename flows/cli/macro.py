# SPDX-License-Identifier: MIT
"""``dfasim macro run``: train the golden analog-LIF network, deploy it on the analog-neuron
macro, price every sample, run the DVS clips and write the report (``docs/macro.md``).

The handler imports torch, numpy and matplotlib (through ``flows.macro``) only when it runs.
"""
from __future__ import annotations

import math
from pathlib import Path

from .parsing import common_options, positive_int

__all__ = ["register", "run_macro_command"]


def _positive_float(text: str) -> float:
    """argparse type: a number (range checked by the configuration, one line)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, not {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, not {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer, not {text!r}") from None


def _sizes(text: str) -> tuple:
    try:
        sizes = tuple(int(s) for s in text.replace(",", "-").split("-") if s.strip())
    except ValueError:
        raise ValueError(f"--hidden takes sizes like 128 or 256-64, not {text!r}") from None
    if not sizes:
        raise ValueError(f"--hidden takes sizes like 128 or 256-64, not {text!r}")
    return sizes


def register(sub) -> None:
    """Add ``macro`` and its action to the subcommands ``sub``."""
    p = sub.add_parser("macro", help="the analog-neuron memristive macro (third paper): train, "
                                     "deploy, energy per sample",
                       description="The 128x24 RRAM macro with analog neurons and proportional "
                                   "time scaling (docs/macro.md).")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", title="actions")
    run = actions.add_parser(
        "run", help="train on N-MNIST (or DVS128 Gesture), deploy on the macro, price the "
                    "samples, run the DVS clips, write macro.json, report.md, raster.png",
        description="Train the golden analog-LIF network (software and hardware-aware), deploy "
                    "both on the macro with device non-idealities, report accuracy, energy, "
                    "latency and TSOPS/W per sample beside the paper's, and run the ten real "
                    "128x128 DVS clips through 800-480-120-11.",
        parents=[common_options(data_dir=True, out="default runs/macro/DATASET",
                                seed="seed of training, device draws and clip weights "
                                     "(default 0)", quiet=True)])
    run.add_argument("--dataset", choices=("nmnist", "dvs_gesture"), default="nmnist",
                     help="dataset to train on (default %(default)s; dvs_gesture needs the full "
                          "DVS128 Gesture release in a data dir and trains 800-480-120-11)")
    run.add_argument("--hidden", type=_sizes, metavar="SIZES",
                     help="N-MNIST hidden layers, e.g. 128 or 256-64 (default 128)")
    run.add_argument("--bins", type=positive_int, metavar="T",
                     help="input bins per sample (default 60 for N-MNIST, 300 for DVS)")
    run.add_argument("--epochs", type=positive_int, metavar="N",
                     help="training epochs per network (default 8)")
    run.add_argument("--train-limit", type=positive_int, dest="train_limit", metavar="N",
                     help="at most N training samples (default all)")
    run.add_argument("--test-limit", type=positive_int, dest="test_limit", metavar="N",
                     help="at most N test samples (default all)")
    run.add_argument("--no-hardware-aware", action="store_false", dest="hardware_aware",
                     help="train only the software network")
    run.add_argument("--clips", type=_int, metavar="N",
                     help="DVS clips to run through 800-480-120-11, 0-10 (default 10)")
    run.add_argument("--config", metavar="TOML",
                     help="TOML file with a [chip] table; its [chip.macro.*] tables set the "
                          "macro (default: the documented design point)")
    run.add_argument("--time-scale", type=_positive_float, dest="time_scale", metavar="K",
                     help="input acceleration k > 0 (default 50000; the data's 5 ms bin "
                          "becomes 5 ms / k on chip)")
    run.add_argument("--c-mem", type=_positive_float, dest="c_mem_f", metavar="FARAD",
                     help="membrane capacitor at k = 1, F (> 0; default 5e-8, 1 pF on chip)")
    run.add_argument("--levels", type=_int, metavar="N",
                     help="conductance states per device (default 15; their spacing must "
                          "exceed the off-state bound)")
    run.set_defaults(handler=run_macro_command)


def run_macro_command(args) -> int:
    """``dfasim macro run``."""
    from dataclasses import fields

    from .. import macro as flow
    from ..config import load_chip

    if args.dataset == "dvs_gesture" and args.hidden is not None:
        raise ValueError("--hidden sets the N-MNIST network; dvs_gesture trains the paper's "
                         "800-480-120-11")
    macro = load_chip(args.config).macro
    macro = flow.apply_overrides(macro, args.time_scale, args.c_mem_f, args.levels)
    known = {f.name for f in fields(flow.MacroRunConfig)}
    given = {k: v for k, v in vars(args).items() if k in known and v is not None}
    given.pop("dataset", None)
    if args.seed is not None:
        given["seed"] = args.seed
    cfg = flow.MacroRunConfig(dataset=args.dataset, **given).validate()
    out = Path(args.out or f"runs/macro/{args.dataset}")
    res = flow.run_macro(cfg, macro, out, data_dir=args.data_dir,
                         progress=False if args.quiet else None)
    if not args.quiet:
        acc = ", ".join(f"{k} {100 * v:.2f} %" for k, v in res["accuracy"].items())
        e = res["energy"]
        print(f"{args.dataset} {'-'.join(map(str, res['sizes']))}: {acc}")
        print(f"energy {e['energy_j'] * 1e9:.1f} nJ/sample, latency {e['latency_s'] * 1e6:.2f} "
              f"µs, TSOPS/W {e['tsops_w']:.2f}")
        if "clips" in res:
            s = res["clips"]["summary"]
            print(f"DVS clips: {s['energy_j'] * 1e6:.3f} µJ, {s['latency_s'] * 1e6:.2f} µs per "
                  f"clip")
        print(f"wrote macro.json, report.md, raster.png under {out}")
    return 0
