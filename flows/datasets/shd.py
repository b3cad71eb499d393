# SPDX-License-Identifier: MIT
"""Spiking Heidelberg Digits (Cramer et al. 2020): 700 cochlea channels, 20 spoken digits.

Files ``shd_train.h5`` and ``shd_test.h5`` (official split; in a data dir or ``SHD/`` inside
one) with ``spikes/times`` (seconds) and ``spikes/units`` (ragged, one row per sample) and
``labels``. Spikes are counted in ``T`` equal bins of ``[0, 1.4 s)`` (default ``T = 100``,
14 ms bins); later spikes are dropped. Read with h5py.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._validate import check_split
from .base import Dataset, DatasetError
from .paths import Search

__all__ = ["NAME", "CHANNELS", "N_CLASSES", "TIMESTEPS", "DURATION_S", "FILES", "load", "probe",
           "read_h5"]

NAME = "shd"
CHANNELS = 700
N_CLASSES = 20
TIMESTEPS = 100
DURATION_S = 1.4
FILES = {"train": "shd_train.h5", "test": "shd_test.h5"}
_DIRS = ("", "SHD/", "shd/", "events/SHD/")


def _find(search: Search, split: str) -> Path | None:
    return search.find(*(d + FILES[split] for d in _DIRS))


def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DatasetError(f"dataset {NAME}: reading SHD needs h5py; run `pip install h5py`") \
            from exc
    return h5py


def read_h5(path: Path, timesteps: int = TIMESTEPS, duration_s: float = DURATION_S
            ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    """``(x, y, keys)``: ``(N, T, 700)`` float32 spike counts, int64 labels, class names if the
    file has ``extra/keys``."""
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            for key in ("spikes/times", "spikes/units", "labels"):
                if key not in f:
                    raise DatasetError(f"dataset {NAME}: {path} has no '{key}'; not an SHD file")
            times, units = f["spikes/times"][()], f["spikes/units"][()]
            y = np.asarray(f["labels"][()])
            keys = None
            if "extra/keys" in f:
                keys = tuple(k.decode() if isinstance(k, bytes) else str(k)
                             for k in f["extra/keys"][()])
    except DatasetError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"dataset {NAME}: {path} is not a readable HDF5 file "
                           f"({type(exc).__name__}); replace it") from exc
    n = len(y)
    if len(times) != n or len(units) != n:
        raise DatasetError(f"dataset {NAME}: {path} has {len(times)} spike-time rows, "
                           f"{len(units)} unit rows and {n} labels")
    lengths = np.fromiter((len(t) for t in times), dtype=np.int64, count=n)
    if any(len(u) != k for u, k in zip(units, lengths)):
        raise DatasetError(f"dataset {NAME}: {path}: a sample's times and units differ in length")
    sample = np.repeat(np.arange(n, dtype=np.int64), lengths)
    t = np.concatenate([np.asarray(r, dtype=np.float64) for r in times]) if n else np.zeros(0)
    u = np.concatenate([np.asarray(r, dtype=np.int64) for r in units]) if n else np.zeros(0, int)
    if len(u) and (u.min() < 0 or u.max() >= CHANNELS):
        raise DatasetError(f"dataset {NAME}: {path} has units outside 0..{CHANNELS - 1}")
    if len(t) and (not np.all(np.isfinite(t)) or t.min() < 0):
        raise DatasetError(f"dataset {NAME}: {path} has negative or non-finite spike times")
    b = np.floor(t * timesteps / duration_s).astype(np.int64)
    keep = b < timesteps
    flat = (sample[keep] * timesteps + b[keep]) * CHANNELS + u[keep]
    x = np.bincount(flat, minlength=n * timesteps * CHANNELS).astype(np.float32)
    return x.reshape(n, timesteps, CHANNELS), y, keys


def load(search: Search, timesteps: int = TIMESTEPS) -> Dataset:
    """Load SHD as ``(N, T, 700)`` float32 spike counts (official train / test files)."""
    if not isinstance(timesteps, int) or timesteps < 1:
        raise DatasetError(f"dataset {NAME}: timesteps must be a positive integer")
    paths = {s: _find(search, s) for s in FILES}
    missing = [FILES[s] for s, p in paths.items() if p is None]
    if missing:
        raise DatasetError(f"dataset {NAME}: {' and '.join(missing)} not found in "
                           f"{search.searched()}; put the official SHD files in a data dir")
    parts, names = {}, None
    for split, path in paths.items():
        x, y, keys = read_h5(path, timesteps)
        names = names or keys
        parts[split] = check_split(NAME, split, x, y, N_CLASSES, str(path),
                                   (timesteps, CHANNELS))
    class_names = names if names and len(names) == N_CLASSES else \
        tuple(str(k) for k in range(N_CLASSES))
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts["test"]
    source = (f"SHD official split: train {len(x_tr)} ({paths['train']}), test {len(x_te)} "
              f"({paths['test']}); 700-channel spike counts in {timesteps} bins of "
              f"{DURATION_S} s")
    return Dataset(NAME, x_tr, y_tr, x_te, y_te, class_names, "sequence", source,
                   frame_shape=(1, CHANNELS))


def probe(search: Search) -> dict[str, Any]:
    """Where the two SHD files are (reads only the label counts)."""
    paths = {s: _find(search, s) for s in FILES}
    missing = [FILES[s] for s, p in paths.items() if p is None]
    if missing:
        return {"available": False, "where": None,
                "note": f"{' and '.join(missing)} missing; put the official SHD files in a "
                        f"data dir"}
    n = {}
    try:
        h5py = _h5py()
        for split, path in paths.items():
            with h5py.File(path, "r") as f:
                n[split] = int(f["labels"].shape[0])
    except (DatasetError, OSError, KeyError) as exc:
        return {"available": False, "where": str(paths["train"].parent),
                "note": f"unreadable: {' '.join(str(exc).split())[:100]}"}
    return {"available": True, "where": str(paths["train"].parent), "train": n["train"],
            "test": n["test"], "note": "official split"}
