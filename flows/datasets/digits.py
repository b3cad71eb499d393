# SPDX-License-Identifier: MIT
"""scikit-learn's 8x8 handwritten digits (UCI optdigits test part) as static samples."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._split import stratified_split
from ._validate import check_split
from .base import Dataset, DatasetError
from .paths import Search

__all__ = ["NAME", "CLASS_NAMES", "TEST_FRACTION", "SEED", "load", "probe"]

NAME = "digits"
CLASS_NAMES = tuple(str(d) for d in range(10))
TEST_FRACTION = 0.25
SEED = 0


def load(search: Search) -> Dataset:
    """Load ``sklearn.datasets.load_digits``: 64 features / 16, stratified 75/25 split.

    ``search`` is unused (the data ships with scikit-learn) but keeps the loader signature.
    """
    try:
        # Imported here: scikit-learn is slow to import and only this loader needs it.
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DatasetError(f"dataset {NAME}: scikit-learn is not installed; run "
                           f"`pip install scikit-learn`") from exc
    bunch = load_digits()
    origin = "sklearn.datasets.load_digits"
    # Pixel counts are 0..16; dividing by 16 maps them onto [0, 1].
    x, y = check_split(NAME, "all", np.asarray(bunch.data) / np.float32(16), bunch.target,
                       len(CLASS_NAMES), origin, (64,))
    n_test = int(round(TEST_FRACTION * len(y)))
    train_idx, test_idx = stratified_split(y, n_test, SEED)
    source = (f"{origin} (scikit-learn's bundled copy of UCI optdigits, 8x8, 0..16 / 16): "
              f"stratified split {len(train_idx)} train / {len(test_idx)} test, seed {SEED}")
    return Dataset(NAME, x[train_idx], y[train_idx], x[test_idx], y[test_idx], CLASS_NAMES,
                   "static", source)


def probe(search: Search) -> dict[str, Any]:
    """Availability report."""
    try:
        ds = load(search)
    except DatasetError as exc:
        return {"available": False, "where": None, "note": str(exc)}
    return {"available": True, "where": "scikit-learn", "train": len(ds.x_train),
            "test": len(ds.x_test), "note": "bundled with scikit-learn, stratified 75/25 split"}
