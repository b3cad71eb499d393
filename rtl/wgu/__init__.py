# SPDX-License-Identifier: MIT
"""Weight-gradient unit: SRAM read-modify-write accumulation of ``delta (x) spikes``."""
from .wgu import READOUT_ROUNDINGS, WGU

__all__ = ["READOUT_ROUNDINGS", "WGU"]
