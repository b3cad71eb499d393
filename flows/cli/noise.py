# SPDX-License-Identifier: MIT
"""``dfasim noise fit|show``: fit a GPR RRAM noise model from measured data, or describe one."""
from __future__ import annotations

from pathlib import Path

from .parsing import RegistryNames, common_options

__all__ = ["register"]

SOURCES = RegistryNames("dfasim.flows.noise", "SOURCES")


def register(sub) -> None:
    """Add ``noise`` and its actions to the subcommands ``sub``."""
    group = sub.add_parser("noise", help="fit or inspect a GPR RRAM noise model",
                           description="Gaussian-process models of RRAM conductance spread.")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION",
                                   title="actions")
    p = actions.add_parser(
        "fit", help="fit a noise model to measured (or published) conductance data",
        description="Fit a GPR noise model, check it on held-out data, write the model, a "
                    "JSON report and a plot.",
        parents=[common_options(data_dir=True, out="default runs/noise",
                                seed="seed of the fit (default 0)", quiet=True)])
    p.add_argument("source", choices=SOURCES, metavar="SOURCE", help="data: %(choices)s")
    p.add_argument("--epochs", type=int, default=100, help="optimiser epochs (default 100)")
    p.add_argument("--g-min", type=float, default=1.0, dest="g_min",
                   help="conductance window low (µS, default 1)")
    p.add_argument("--g-max", type=float, default=10.0, dest="g_max",
                   help="conductance window high (µS, default 10)")
    p.add_argument("--likelihood", choices=("gaussian", "student-t"), default="gaussian",
                   help="likelihood of the served model (default gaussian); the other one is "
                        "fitted too and compared in the report")
    p.add_argument("--no-loco", action="store_true", dest="no_loco",
                   help="skip the leave-one-condition-out fits (measured data: one per "
                        "experiment and likelihood)")
    p.add_argument("--loco-epochs", type=int, default=None, dest="loco_epochs",
                   help="epochs of each leave-one-condition-out fit (default: --epochs)")
    p.set_defaults(handler=run_fit)

    p = actions.add_parser("show", help="describe a fitted noise model file")
    p.add_argument("model", metavar="MODEL", help="model file written by dfasim noise fit")
    p.set_defaults(handler=run_show)


def run_fit(args) -> int:
    """``dfasim noise fit``: writes OUT/noise_SOURCE.pt with its .json report and .png plot."""
    from ..noise import noise_fit, noise_show

    out = Path(args.out or "runs/noise") / f"noise_{args.source}.pt"
    noise_fit(args.source, out, epochs=args.epochs, seed=args.seed or 0, g_min=args.g_min,
              g_max=args.g_max, data_dir=args.data_dir, progress=False if args.quiet else None,
              likelihood=args.likelihood.replace("-", "_"), compare_likelihoods=True,
              loco=not args.no_loco, loco_epochs=args.loco_epochs)
    print(noise_show(out))
    print(f"wrote {out} and its report {out.with_suffix('.json')}, plot "
          f"{out.with_suffix('.png')}")
    return 0


def run_show(args) -> int:
    """``dfasim noise show``: a summary of the model file."""
    from ..noise import noise_show

    print(noise_show(Path(args.model)))
    return 0
