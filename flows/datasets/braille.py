# SPDX-License-Identifier: MIT
"""Braille letters read by an iCub fingertip (Müller-Cleve et al. 2022), 27 classes.

``braille``: the analog recording (``tutorial5_braille_spiking_data.pkl.gz``, 1,350 samples of
76-77 steps x 12 taxels at 40 Hz, values 55-255) in PipeSDFA's setting: taxels 1, 2, 6 and 10
(0-based), every sample cut to the shortest length (76 steps), standardised per taxel with the
training split's mean and standard deviation, upsampled x2 by linear interpolation (152 steps),
and a seeded random stratified 80/20 split (1,080 / 270).

The pickle is read with a restricted unpickler (numpy arrays and builtin containers only).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._safe_pickle import safe_load
from ._split import stratified_split
from .base import Dataset, DatasetError
from .paths import Search

__all__ = ["NAME", "FILE", "CLASS_NAMES", "TAXELS", "UPSAMPLE", "TEST_FRACTION", "SEED",
           "N_SAMPLES", "find", "class_index", "load", "probe", "probe_file"]

NAME = "braille"
FILE = "tutorial5_braille_spiking_data.pkl.gz"
#: Class ``k`` is ``CLASS_NAMES[k]``: Space, then A-Z.
CLASS_NAMES = ("Space",) + tuple(chr(c) for c in range(ord("A"), ord("Z") + 1))
TAXELS = (1, 2, 6, 10)
UPSAMPLE = 2
TEST_FRACTION = 0.2
SEED = 0
N_SAMPLES = 1350
_RELDIRS = ("events/braille", "braille", "")


def find(search: Search, filename: str) -> Path | None:
    """The first ``[events/]braille/<filename>`` (or ``<filename>``) in the data dirs."""
    return search.find(*(f"{d}/{filename}" if d else filename for d in _RELDIRS))


def class_index(dataset: str, letter: object, path: Path) -> int:
    """0-based class of a letter name (``'Space'``, ``'A'`` ... ``'Z'``)."""
    try:
        return CLASS_NAMES.index(str(letter))
    except ValueError:
        raise DatasetError(f"dataset {dataset}: {path} has a sample of unknown letter "
                           f"{letter!r}") from None


def _records(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    data = safe_load(path, NAME)
    if not isinstance(data, list) or not data:
        raise DatasetError(f"dataset {NAME}: {path} does not hold a list of samples")
    traces, labels = [], []
    for i, rec in enumerate(data):
        a = rec.get("taxel_data") if isinstance(rec, dict) else None
        if not isinstance(a, np.ndarray) or a.ndim != 2 or a.shape[1] != 12 or len(a) < 2:
            raise DatasetError(f"dataset {NAME}: {path} sample {i} has no 'taxel_data' array "
                               f"of shape (T, 12)")
        traces.append(a)
        labels.append(class_index(NAME, rec.get("letter"), path))
    return traces, np.asarray(labels, dtype=np.int64)


def _upsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Linear interpolation of ``(N, T, C)`` onto ``factor * T`` points spanning the same time
    (``T >= 2``; the first and last points are the original first and last samples)."""
    steps = x.shape[1]
    new = np.linspace(0.0, steps - 1, factor * steps)
    lo = np.minimum(np.floor(new).astype(np.int64), steps - 2)
    w = (new - lo)[None, :, None]
    return x[:, lo] * (1 - w) + x[:, lo + 1] * w


def load(search: Search, seed: int = SEED, taxels: tuple[int, ...] = TAXELS,
         upsample: int = UPSAMPLE) -> Dataset:
    """Load the analog Braille recording as ``(N, 152, 4)`` float32 (default options)."""
    path = find(search, FILE)
    if path is None:
        raise DatasetError(f"dataset {NAME}: {FILE} not found in {search.searched()} (it is "
                           f"in shared/datasets/events/braille/ beside the checkout)")
    taxels = tuple(int(t) for t in taxels)
    if not taxels or min(taxels) < 0 or max(taxels) > 11:
        raise DatasetError(f"dataset {NAME}: taxels must be in 0..11, not {taxels}")
    if int(upsample) < 1:
        raise DatasetError(f"dataset {NAME}: upsample must be >= 1, not {upsample}")
    traces, y = _records(path)
    steps = min(len(a) for a in traces)
    x = np.stack([a[:steps, list(taxels)] for a in traces]).astype(np.float64)
    tr, te = stratified_split(y, int(round(TEST_FRACTION * len(y))), seed)
    mean = x[tr].mean(axis=(0, 1))
    std = x[tr].std(axis=(0, 1))
    std[std == 0] = 1.0
    x = (x - mean) / std
    if upsample > 1:
        x = _upsample(x, int(upsample))
    x = x.astype(np.float32)
    source = (f"Braille letters, analog iCub fingertip recording {path}: taxels "
              f"{list(taxels)} of 12, cut to {steps} steps, standardised with the training "
              f"split's per-taxel mean/std, upsampled x{upsample} (linear) to {x.shape[1]} "
              f"steps; stratified random 80/20 split (seed {seed}): train {len(tr)}, test "
              f"{len(te)}")
    return Dataset(NAME, x[tr], y[tr], x[te], y[te], CLASS_NAMES, "sequence", source)


def probe_file(search: Search, filename: str, n_samples: int, note: str) -> dict[str, Any]:
    """Availability of one of the Braille pickles (no unpickling), with its split sizes."""
    path = find(search, filename)
    if path is None:
        return {"available": False, "where": None,
                "note": f"{filename} missing; put it in a data dir (or braille/ inside one)"}
    n_test = int(round(TEST_FRACTION * n_samples))
    return {"available": True, "where": str(path), "train": n_samples - n_test, "test": n_test,
            "note": note}


def probe(search: Search) -> dict[str, Any]:
    """Availability of the analog pickle (no unpickling)."""
    return probe_file(search, FILE, N_SAMPLES,
                      "analog taxels 1, 2, 6, 10, x2 upsampled, seeded 80/20 split")
