# SPDX-License-Identifier: MIT
"""Atomic file writes, so an interrupted run never leaves a half-written result behind."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["atomic_write_bytes", "atomic_torch_save", "write_json", "read_text"]


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through an in-memory buffer and an atomic rename."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def write_json(path: str | Path, obj: Any) -> None:
    """Write indented, key-sorted JSON atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_text(path: str | Path, what: str) -> str:
    """The text of input file ``path``; :class:`DfasimError` ``cannot read WHAT PATH: reason``."""
    from .errors import DfasimError

    try:
        return Path(path).read_text()
    except OSError as exc:
        raise DfasimError(f"cannot read {what} {path}: {exc.strerror}") from None
