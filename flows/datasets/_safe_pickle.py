# SPDX-License-Identifier: MIT
"""A restricted unpickler for third-party pickled datasets: numpy arrays and builtin containers.

``pickle.load`` runs whatever callable a file names. This unpickler admits only the handful of
globals numpy needs to rebuild arrays and scalars; anything else (``os.system``, ``eval``,
arbitrary classes) raises ``DatasetError`` before it is even imported.
"""
from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .base import DatasetError

__all__ = ["ALLOWED_GLOBALS", "safe_load"]

#: (module, name) pairs a file may reference; ``numpy.core`` is numpy 1's name of ``numpy._core``.
ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    # Protocol 2 pickles of bytes go through _codecs.encode(str, 'latin1').
    ("_codecs", "encode"),
})


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core."):]
        return super().find_class(module, name)


def safe_load(path: Path, dataset: str) -> Any:
    """Unpickle ``path`` (gzip-compressed when its name ends ``.gz``) with only numpy globals.

    Raises
    ------
    DatasetError
        One line naming the file: unreadable, truncated, or referencing a forbidden global.
    """
    try:
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        return _Restricted(io.BytesIO(raw), encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"dataset {dataset}: {path} cannot be unpickled safely "
                           f"({type(exc).__name__}: {' '.join(str(exc).split())[:100]}); "
                           f"replace the file") from exc
