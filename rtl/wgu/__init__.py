# SPDX-License-Identifier: MIT
"""Weight-gradient unit: SRAM read-modify-write accumulation of ``delta (x) spikes``."""
from .wgu import ROUNDINGS, WGU

__all__ = ["ROUNDINGS", "WGU"]
