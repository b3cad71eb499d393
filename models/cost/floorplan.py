# SPDX-License-Identifier: MIT
"""A floorplan good enough for H-tree wire lengths: square blocks on square grids.

Every block is a square of its area. ``n`` equal leaves of pitch ``d`` sit on a square grid of
side ``D = sqrt(n) * d`` fed by an H-tree from the centre. For ``n = 4**k`` an H-tree's path from
the root to a leaf is ``D * (1 - 2**-k) = d * (sqrt(n) - 1)`` and its total wire, summed over the
``4**(i-1)`` H shapes of each level ``i`` (each ``1.5`` times its span), is
``1.5 * D * (2**k - 1) = 1.5 * d * (n - sqrt(n))``; we use the same expressions for any ``n``
(a continuous interpolation between powers of four) and add the last half pitch from a leaf's
corner into its centre: root-to-leaf ``d * (sqrt(n) - 1/2)``, total
``d * (1.5 * (n - sqrt(n)) + n / 2)``.

Three levels (Sec. III): the global H-tree joins the tiles and the global buffer (at the root),
a tile's local H-tree joins its PEs and tile buffer, a PE's joins its crossbars and PE buffer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["htree_root_to_leaf", "htree_total_length", "Floorplan", "floorplan"]


def htree_root_to_leaf(n_leaves, pitch):
    """Wire from the root to the centre of one of ``n_leaves`` leaves of ``pitch`` (same unit)."""
    return np.asarray(pitch, float) * (np.sqrt(np.asarray(n_leaves, float)) - 0.5)


def htree_total_length(n_leaves, pitch):
    """Total wire of the H-tree over ``n_leaves`` leaves of ``pitch`` (same unit)."""
    n = np.asarray(n_leaves, float)
    return np.asarray(pitch, float) * (1.5 * (n - np.sqrt(n)) + n / 2)


@dataclass
class Floorplan:
    """Block sides and H-tree lengths of one scheme (numbers or arrays over configurations).

    Members
    -------
    crossbar_pitch_mm, pe_side_mm, tile_side_mm, array_side_mm : float or array
        Side of a crossbar with its peripherals, of a PE, of a tile and of the tile array.
    global_mm, tile_mm, pe_mm : float or array
        Root-to-leaf length of the global, tile and PE H-trees.
    global_wire_mm, tile_wire_mm : float or array
        Total wire of the global and of one tile's H-tree (sets the global H-tree's area).
    """

    crossbar_pitch_mm: Any
    pe_side_mm: Any
    tile_side_mm: Any
    array_side_mm: Any
    global_mm: Any
    tile_mm: Any
    pe_mm: Any
    global_wire_mm: Any
    tile_wire_mm: Any

    @property
    def local_mm(self):
        """Path from a tile buffer to a crossbar: tile plus PE H-tree."""
        return self.tile_mm + self.pe_mm

    def to_dict(self) -> dict:
        return {k: float(np.asarray(v).reshape(-1)[0]) for k, v in vars(self).items()}


def floorplan(pe_area_um2, tile_area_um2, n_tiles, pes_per_tile, crossbars_per_pe
              ) -> Floorplan:
    """Sides and H-tree lengths from block areas (µm²) and counts; lengths in mm."""
    pe_side = np.sqrt(np.asarray(pe_area_um2, float)) * 1e-3
    tile_side = np.sqrt(np.asarray(tile_area_um2, float)) * 1e-3
    xbar_pitch = pe_side / np.sqrt(np.asarray(crossbars_per_pe, float))
    n = np.asarray(n_tiles, float)
    return Floorplan(
        crossbar_pitch_mm=xbar_pitch, pe_side_mm=pe_side, tile_side_mm=tile_side,
        array_side_mm=np.sqrt(n) * tile_side,
        global_mm=htree_root_to_leaf(n, tile_side),
        tile_mm=htree_root_to_leaf(pes_per_tile, pe_side),
        pe_mm=htree_root_to_leaf(crossbars_per_pe, xbar_pitch),
        global_wire_mm=htree_total_length(n, tile_side),
        tile_wire_mm=htree_total_length(pes_per_tile, pe_side))
