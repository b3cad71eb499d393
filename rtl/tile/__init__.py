# SPDX-License-Identifier: MIT
"""Training tile: the blocks of one layer around a crossbar port, with their controller."""
from .tile import STATES, Tile, TileParams

__all__ = ["STATES", "Tile", "TileParams"]
