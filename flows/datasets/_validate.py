# SPDX-License-Identifier: MIT
"""Checks every loader applies before handing arrays out: readable, finite, consistent."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .base import DatasetError
from .checksums import check_bundled

__all__ = ["read_npz", "check_split"]


def read_npz(dataset: str, path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Read named arrays from an npz, verifying bundled files' sha256 first.

    Raises
    ------
    DatasetError
        Wrong hash, unreadable/truncated archive, pickled content, or a missing array.
    """
    problem = check_bundled(path)
    if problem is not None:
        raise DatasetError(f"dataset {dataset}: {problem}")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise DatasetError(f"dataset {dataset}: {path} has no array {missing[0]!r} "
                                   f"(has {', '.join(z.files) or 'none'}); replace the file")
            return {k: z[k] for k in keys}
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"dataset {dataset}: {path} is corrupt or truncated "
                           f"({type(exc).__name__}); replace the file") from exc


def check_split(dataset: str, split: str, x: np.ndarray, y: np.ndarray, n_classes: int,
                origin: str, sample_shape: tuple[int | None, ...] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Validate and normalise dtypes of one split.

    Parameters
    ----------
    dataset, split : str
        For messages (``"train"``/``"test"``).
    x, y : ndarray
        Samples (any real dtype) and integer labels, already 0-based.
    n_classes : int
    origin : str
        The file(s) the split came from, named in messages.
    sample_shape : tuple, optional
        Expected ``x.shape[1:]``; ``None`` entries match any size.

    Returns
    -------
    x : ndarray of float32
    y : ndarray of int64
    """
    where = f"dataset {dataset}: {split} split from {origin}"
    x = np.asarray(x)
    y = np.asarray(y)
    if x.dtype.kind not in "fiu":
        raise DatasetError(f"{where}: samples have non-numeric dtype {x.dtype}")
    if sample_shape is not None and (
            x.ndim != len(sample_shape) + 1
            or any(e is not None and e != s for e, s in zip(sample_shape, x.shape[1:]))):
        want = "x".join("*" if e is None else str(e) for e in sample_shape)
        raise DatasetError(f"{where}: samples have shape {x.shape[1:]}, expected {want}")
    if y.ndim != 1 or len(y) != len(x):
        raise DatasetError(f"{where}: {len(x)} samples but labels of shape {y.shape}")
    if len(x) == 0:
        raise DatasetError(f"{where}: no samples")
    if y.dtype.kind not in "iu":
        if y.dtype.kind != "f" or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DatasetError(f"{where}: labels are not integers")
    x = x.astype(np.float32, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        raise DatasetError(f"{where}: {int(bad.sum())} NaN/inf values (first in sample "
                           f"{int(np.argwhere(bad)[0][0])}); the file is corrupt, replace it")
    y = y.astype(np.int64, copy=False)
    if y.min() < 0 or y.max() >= n_classes:
        raise DatasetError(f"{where}: labels span [{y.min()}, {y.max()}], expected 0-based "
                           f"labels in [0, {n_classes - 1}]")
    return x, y
