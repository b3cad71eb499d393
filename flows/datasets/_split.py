# SPDX-License-Identifier: MIT
"""Deterministic stratified train/test splitting for datasets without an official split."""
from __future__ import annotations

import numpy as np

__all__ = ["stratified_split"]


def stratified_split(y: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices so each class keeps its share, with exactly ``n_test`` test samples.

    Per-class test quotas use largest-remainder rounding of ``count * n_test / N``, so the
    total is exact; which samples go to test is drawn per class with ``seed``.

    Returns
    -------
    train_idx, test_idx : ndarray of int64
        Sorted (the original order is kept within each part).
    """
    y = np.asarray(y)
    if not 0 < n_test < len(y):
        raise ValueError(f"n_test must be in (0, {len(y)}), not {n_test}")
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * n_test / len(y)
    quota = np.floor(exact).astype(np.int64)
    # Ties in the remainder go to the smaller class label (stable sort), keeping it seedless.
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[: n_test - int(quota.sum())]] += 1
    rng = np.random.default_rng(seed)
    test = [rng.permutation(np.flatnonzero(y == c))[:q] for c, q in zip(classes, quota)]
    test_idx = np.sort(np.concatenate(test)).astype(np.int64)
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx).astype(np.int64)
    return train_idx, test_idx
