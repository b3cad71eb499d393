# SPDX-License-Identifier: MIT
"""``dfasim nir export|import``: networks in and out through NIR (``flows/nir_io/` (mapping, export, importer)`).

Building the parser imports neither nir nor torch; the handlers do.
"""
from __future__ import annotations

import argparse
import math

from .parsing import common_options, positive_int

__all__ = ["register"]

_DT_HELP = ("Euler step of one dfasim timestep in the graph's time unit; the leak is "
            "1 - dt/tau")


def _dt(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def register(sub) -> None:
    """Add ``nir`` and its actions to the subcommands ``sub``."""
    group = sub.add_parser(
        "nir", help="bring networks in and out through NIR (the Neuromorphic Intermediate "
                    "Representation)",
        description="Export a dfasim checkpoint to a NIR graph, or import a NIR graph written "
                    "by dfasim or another framework as a checkpoint for dfasim adapt.")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION",
                                   title="actions")

    p = actions.add_parser(
        "export", help="write a checkpoint as a NIR graph (network.nir)",
        parents=[common_options(out="default: the checkpoint's folder")])
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint.pt of dfasim train")
    p.add_argument("--dt", type=_dt, default=1.0, help=_DT_HELP + " (default %(default)s)")
    p.set_defaults(handler=run_export)

    p = actions.add_parser(
        "import", help="read a NIR graph as a dfasim checkpoint (checkpoint.pt)",
        parents=[common_options(out="default runs/nir/GRAPH_NAME")])
    p.add_argument("graph", metavar="GRAPH", help="a .nir file (HDF5, written by nir.write)")
    p.add_argument("--timesteps", type=positive_int, metavar="T",
                   help="timesteps per sample (default: the graph's dfasim.timesteps; a "
                        "foreign graph needs it)")
    p.add_argument("--dt", type=_dt,
                   help=_DT_HELP + " (default: the graph's dfasim.dt, else 1; snnTorch "
                                   "writes graphs with dt 1e-4)")
    p.add_argument("--dataset", metavar="NAME",
                   help="dataset the network is adapted on (default: the graph's "
                        "dfasim.dataset; dfasim adapt --dataset can also give it)")
    p.set_defaults(handler=run_import)


def run_export(args) -> int:
    """``dfasim nir export``: CHECKPOINT -> OUT/network.nir."""
    from pathlib import Path

    from ..nir_io import export_checkpoint

    out = Path(args.out) if args.out else Path(args.checkpoint).parent
    path = export_checkpoint(args.checkpoint, out, dt=args.dt)
    print(f"wrote {path}")
    return 0


def run_import(args) -> int:
    """``dfasim nir import``: GRAPH -> OUT/checkpoint.pt."""
    from pathlib import Path

    from ..nir_io import import_file

    out = Path(args.out) if args.out else Path("runs/nir") / Path(args.graph).stem
    path = import_file(args.graph, out, timesteps=args.timesteps, dt=args.dt,
                       dataset=args.dataset or "")
    print(f"wrote {path}")
    return 0
