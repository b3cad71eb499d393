# SPDX-License-Identifier: MIT
"""Parser pieces shared by the commands: usage errors, lazy choices, common options, arg types.

Nothing here imports torch, numpy or amaranth: ``dfasim --help`` builds the whole parser tree,
so registries behind those imports are offered through :class:`RegistryNames`, which imports
its module only when a command's own help, or a value given for that option, needs the names.
"""
from __future__ import annotations

import argparse
import importlib
from collections.abc import Iterator, Mapping, Sequence

from ...golden.networks import NETWORKS, parse_network
from ..errors import DfasimError

__all__ = ["UsageError", "CommandParser", "RegistryNames", "common_options", "network_arg",
           "NameList", "positive_int", "NETWORK_HELP", "apply_options"]

#: How ``--layers`` / ``--network`` / ``NETWORK`` are written, for their help texts.
NETWORK_HELP = (f"layer sizes joined by dashes, input first (e.g. 9-128-64-32-6), or a named "
                f"network: {', '.join(NETWORKS)}")


class UsageError(DfasimError):
    """A command line that does not parse (unknown option, bad value, missing argument)."""


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose usage errors go through ``main``'s one error boundary.

    argparse would print the usage and exit; raising instead keeps every failure of the command
    line one line on stderr with status 2, and lets tests call ``main`` without ``SystemExit``.
    """

    def error(self, message: str):  # noqa: D102 - argparse's hook
        raise UsageError(f"{message} (see '{self.prog} --help')")


class RegistryNames(Sequence[str]):
    """The keys of ``module.attribute``, imported on first use.

    Used as ``choices=`` with an explicit ``metavar`` (argparse then never lists the choices
    while building the parser), so the registry's heavy imports happen only when a value is
    checked or the command's help is shown.
    """

    def __init__(self, module: str, attribute: str) -> None:
        self.module, self.attribute = module, attribute
        self._names: tuple[str, ...] | None = None

    def _load(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(getattr(importlib.import_module(self.module), self.attribute))
        return self._names

    def __getitem__(self, index):
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __contains__(self, name: object) -> bool:
        return name in self._load()

    def __repr__(self) -> str:
        return f"RegistryNames({self.module}.{self.attribute})"


def common_options(*, data_dir: bool = False, out: str | None = None, seed: str | None = None,
                   device: str | None = None, quiet: bool = False) -> argparse.ArgumentParser:
    """A parent parser with the shared options one command uses, and only those.

    ``out``, ``seed`` and ``device`` are the command's own help texts (their defaults differ
    from command to command); the option is left out when its text is ``None``. Every option
    defaults to ``None`` / ``False`` so a handler can tell "not given" from a value.
    """
    parent = argparse.ArgumentParser(add_help=False)
    if data_dir:
        parent.add_argument("--data-dir", dest="data_dir", metavar="DIR",
                            help="folder searched first for the dataset files (see dfasim data "
                                 "list)")
    if out is not None:
        parent.add_argument("--out", metavar="DIR", help=f"output folder ({out})")
    if seed is not None:
        parent.add_argument("--seed", type=int, help=seed)
    if device is not None:
        parent.add_argument("--device", help=device)
    if quiet:
        parent.add_argument("--quiet", action="store_true", help="no progress bars")
    return parent


def network_arg(text: str) -> str:
    """argparse type of a network: checked with :func:`parse_network`, returned as written."""
    try:
        parse_network(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


class NameList:
    """argparse type of a comma-separated, non-empty subset of ``names`` (e.g. ``bp,dfa``).

    ``str()`` gives the names joined by commas, so a help text can say ``%(type)s`` and stay
    derived from the registry (argparse formats ``type`` with ``str`` when it has no
    ``__name__``).
    """

    def __init__(self, names: Sequence[str], what: str) -> None:
        self.names, self.what = names, what

    def __call__(self, text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"give at least one {self.what}: {self}")
        for item in items:
            if item not in self.names:
                raise argparse.ArgumentTypeError(f"unknown {self.what} {item!r}; choose from "
                                                 f"{self}")
        return items

    def __str__(self) -> str:
        return ",".join(self.names)


def positive_int(text: str) -> int:
    """argparse type of an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def apply_options(args: argparse.Namespace, target: object,
                  fields: Sequence[str] | Mapping[str, str]) -> None:
    """Copy the options the user gave (not None) onto the config ``target``.

    ``fields`` names options whose dest is also the field's name, or maps an option's dest to
    the field it sets (``{"g_min": "g_min_us"}``).
    """
    pairs = fields.items() if isinstance(fields, Mapping) else ((f, f) for f in fields)
    for option, name in pairs:
        value = getattr(args, option)
        if value is not None:
            setattr(target, name, value)
