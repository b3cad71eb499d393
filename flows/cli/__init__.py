# SPDX-License-Identifier: MIT
"""The ``dfasim`` command line: one parser tree, one error boundary.

Every command is ``dfasim GROUP [ACTION] ...`` with only its own options; the options several
commands share (``--data-dir``, ``--out`` (a folder), ``--seed``, ``--device``, ``--quiet``)
come from one parent parser. Building the parser imports neither torch nor the datasets nor
amaranth, so ``dfasim --help`` answers at once; each handler imports what it needs.
"""
from __future__ import annotations

import argparse
import os
import sys

from ..errors import DfasimError
from . import (adapt, bench, cost, data, explore, macro, nir, noise, reproduce, rtl, simulate,
               train)
from .parsing import CommandParser

__all__ = ["main", "build_parser", "is_user_error"]

#: Command modules in the order ``dfasim --help`` lists them; each has ``register(sub)``.
COMMAND_MODULES = (train, data, adapt, noise, rtl, bench, cost, simulate, reproduce, nir,
                   macro, explore)

#: Error classes of layers the command line may never have imported, as (module, class): an
#: instance can exist only if its module is loaded, so they are looked up in ``sys.modules``
#: instead of imported (which would cost the start-up time this package avoids).
_LAZY_USER_ERRORS = (("dfasim.flows.datasets.base", "DatasetError"),
                     ("dfasim.cosim.errors", "CosimError"))

DESCRIPTION = ("SNN training accelerators on RRAM crossbars: train, adapt on noisy chips (BP vs "
               "DFA), price the epoch, emit and check the RTL.")

_INTERRUPTED = "dfasim: interrupted; finished epochs are kept and the run resumes"


class _VersionAction(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="print the dfasim version and exit"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import version

        print(f"dfasim {version('dfasim')}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The whole ``dfasim`` parser tree; each leaf parser's defaults hold its ``handler``."""
    parser = CommandParser(prog="dfasim", description=DESCRIPTION)
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                title="commands")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is bad input or a failed run to report in one line (not a bug)."""
    if isinstance(exc, (ValueError, TypeError, OSError, DfasimError)):
        return True
    for module, name in _LAZY_USER_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status.

    Bad input from any layer (``ValueError``, ``TypeError``, ``OSError``, :class:`DfasimError`,
    dataset and co-simulation errors, a command line that does not parse) prints the one line
    ``dfasim: error: <first line>`` on stderr and returns 2; with ``DFASIM_DEBUG=1`` it raises
    instead, for the full traceback. Ctrl-C returns 130.
    """
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return exc.code if isinstance(exc.code, int) else 0
        return args.handler(args)
    except KeyboardInterrupt:
        print(_INTERRUPTED, file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``dfasim ... | head``): not an error of the
        # command; stop quietly, and keep Python from complaining while flushing at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if not is_user_error(exc) or os.environ.get("DFASIM_DEBUG", "") not in ("", "0"):
            raise
        lines = str(exc).strip().splitlines()
        print(f"dfasim: error: {lines[0] if lines else type(exc).__name__}", file=sys.stderr)
        return 2

