# SPDX-License-Identifier: MIT
"""Shared input for the macro tests: real N-MNIST events as row drive."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def nmnist_root() -> Path:
    """``shared/datasets/events/nmnist_slayer/NMNISTsmall``, or skip the test."""
    from dfasim.flows.datasets import paths
    for d in paths.resolve_data_dirs():
        root = d / "events" / "nmnist_slayer" / "NMNISTsmall"
        if (root / "1.bs2").is_file():
            return root
    pytest.skip("shared/datasets/events (N-MNIST subset) is not beside this checkout")


def nmnist_drive(sample: int = 1, bins: int = 300) -> tuple[np.ndarray, float]:
    """Binary row drive ``(bins, 2 * 34 * 34)`` of one real N-MNIST sample and its bin width, s.

    A row (pixel and polarity) is driven for a whole bin when it had at least one event in it,
    as an input spike one bin wide. The recording (~300 ms) is cut into ``bins`` equal bins.
    """
    from dfasim.flows.datasets.events import events_to_frames, read_atis_bin
    ev = read_atis_bin(nmnist_root() / f"{sample}.bs2")
    frames = events_to_frames(ev, (34, 34), bins, "time")
    span_us = int(ev["t"].max()) - int(ev["t"].min())
    bin_s = (span_us // bins) * 1e-6    # events_to_frames' bin: span // T µs
    return (frames.reshape(bins, -1) > 0).astype(np.float64), bin_s
