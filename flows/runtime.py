# SPDX-License-Identifier: MIT
"""Where and how reproducibly a run computes: seeding, deterministic kernels, the torch device."""
from __future__ import annotations

import os

import torch

from .errors import DfasimError

__all__ = ["set_determinism", "resolve_device"]


def set_determinism(seed: int) -> None:
    """Seed torch and ask for deterministic kernels (same seed => same bits, same machine).

    Bit-identity holds for one machine and one thread count only: another CPU or another
    ``OMP_NUM_THREADS`` sums floats in another order.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by deterministic cuBLAS
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def resolve_device(name: str) -> torch.device:
    """``cpu`` or ``cuda[:k]``; asking for CUDA on a machine without it is an error."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DfasimError(f"device {name!r} requested but this torch build sees no CUDA GPU")
    return torch.device(name)
