# SPDX-License-Identifier: MIT
"""Neuron blocks: the GradLIF forward/backward unit."""
from .grad_lif import GradLIF

__all__ = ["GradLIF"]
