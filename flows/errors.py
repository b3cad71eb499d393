# SPDX-License-Identifier: MIT
"""The error type for bad user input: the command line prints it as one line and exits non-zero."""
from __future__ import annotations

__all__ = ["DfasimError"]


class DfasimError(Exception):
    """A problem with the user's input (config, data, checkpoint); the message is one line."""
