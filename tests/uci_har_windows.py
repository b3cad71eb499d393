# SPDX-License-Identifier: MIT
"""The offline UCI-HAR test windows for the tile tests (cosim takes them from its caller)."""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["UCI_HAR_MISSING", "uci_har_windows"]

UCI_HAR_MISSING = "UCI-HAR offline copy (shared/datasets/uci_har_test.npz) is absent"


@functools.cache
def uci_har_windows():
    """``(x_test, y_test)`` of the offline copy, or ``None`` when it is absent."""
    from dfasim.flows.datasets import resolve_data_dirs, uci_har

    for folder in resolve_data_dirs():
        if (folder / uci_har.NPZ_TEST).is_file():
            with np.load(folder / uci_har.NPZ_TEST) as data:
                return data["x_test"], data["y_test"]
    return None
