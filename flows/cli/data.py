# SPDX-License-Identifier: MIT
"""``dfasim data list``: which datasets are available offline, and where."""
from __future__ import annotations

from .parsing import common_options

__all__ = ["register"]


def register(sub) -> None:
    """Add ``data`` and its actions to the subcommands ``sub``."""
    group = sub.add_parser("data", help="datasets: where they are, which are available",
                           description="Datasets of dfasim and where their files are found.")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION",
                                   title="actions")
    p = actions.add_parser("list", help="every dataset, available or missing, with its folder",
                           parents=[common_options(data_dir=True)])
    p.set_defaults(handler=run_list)


def run_list(args) -> int:
    """``dfasim data list``: one line per dataset."""
    from ..datasets import describe_datasets

    for d in describe_datasets(args.data_dir):
        state = "available" if d["available"] else "missing  "
        print(f"{d['name']:<14} {state} {d.get('where') or ''}  {d.get('note') or ''}".rstrip())
    return 0
