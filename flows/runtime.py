# SPDX-License-Identifier: MIT
"""Where and how reproducibly a run computes: seeding, deterministic kernels, the torch device."""
from __future__ import annotations

import os
import re
import subprocess

import torch

from .errors import DfasimError

__all__ = ["set_determinism", "resolve_device", "first_output_line"]


def set_determinism(seed: int) -> None:
    """Seed torch and ask for deterministic kernels (same seed => same bits, same machine).

    Bit-identity holds for one machine and one thread count only: another CPU or another
    ``OMP_NUM_THREADS`` sums floats in another order.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by deterministic cuBLAS
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def check_device_name(name) -> None:
    """Refuse a device name other than ``cpu``, ``cuda`` or ``cuda:N`` with one line."""
    if not isinstance(name, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", name):
        raise DfasimError(f"device must be cpu, cuda or cuda:N, not {name!r}")


def resolve_device(name: str) -> torch.device:
    """``cpu`` or ``cuda[:k]``; asking for CUDA on a machine without it is an error."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DfasimError(f"device {name!r} requested but this torch build sees no CUDA GPU")
    return torch.device(name)


def first_output_line(cmd: list[str]) -> str | None:
    """Return the first non-empty output line of ``cmd`` (stdout, else stderr), or ``None``
    when it cannot run: how a tool's version is reported."""
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    for text in (res.stdout, res.stderr):
        for line in text.splitlines():
            if line.strip():
                return line.strip()
    return None
