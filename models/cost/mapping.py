# SPDX-License-Identifier: MIT
"""Mapping of an SNN's matrices onto tiles, PEs and crossbars, per training scheme.

As in the paper (Sec. III, after SpikeSim): a weight matrix ``W_l`` (``n_out x n_in``) is cut
into ``R = ceil(n_in / rows)`` row tiles and ``C = ceil(n_out / outputs_per_crossbar)`` column
tiles (the tiling of ``models/crossbar.py``: differential pairs give ``cols // 2`` outputs per
crossbar); the ``R * C`` crossbars of one layer, times its duplication factor, fill whole tiles
and no two layers share a tile. DFA adds ``b_tiles`` tiles (one in the paper) holding the
feedback matrices ``B_l`` (``n_l x n_classes``, one per hidden layer, tiled the same way),
duplicated as often as they fit for batch parallelism. The WGU holds one gradient word per
weight it serves (``golden/wgu.py``): BP updates layer by layer, so one bank sized for the
largest layer serves all; DFA updates all layers at once, one bank per layer.

All arithmetic is numpy broadcasting, so fields of the chip description may hold arrays (one
entry per configuration of a sweep, ``sweep.py``); :func:`map_network` reports infeasible
entries in ``feasible`` and ``reason`` instead of raising, and :meth:`Mapping.check` raises for
a single configuration.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ...golden.architecture import Architecture, ConvLayer
from ...golden.networks import check_layers as check_network_layers
from ..chip import ChipConfig

__all__ = ["SCHEMES", "Mapping", "MatrixUse", "map_network", "check_layers",
           "outputs_per_crossbar", "matrix_uses", "architecture_layers"]

SCHEMES = ("bp", "dfa")


def check_layers(layers: Sequence[int]) -> list[int]:
    """Layer sizes as a list of positive ints (at least input and output)."""
    return list(check_network_layers(layers))


@dataclass(frozen=True)
class MatrixUse:
    """How one weight matrix is used per timestep of one sample.

    Members
    -------
    rows, cols : int
        Crossbar inputs and outputs (``k * k * C_in`` and ``C_out`` for a convolution unrolled
        as im2col, ``n_in`` and ``n_out`` for a dense layer).
    positions : int
        Input vectors (reads) per timestep: output positions of a convolution, 1 if dense.
    in_size : int
        Values of the layer's input map or vector (what the H-tree brings to the layer).
    neurons : int
        Spiking neurons after the matrix (a convolution's whole map, before pooling).
    """

    rows: int
    cols: int
    positions: int
    in_size: int
    neurons: int


def architecture_layers(architecture: Architecture) -> list[int]:
    """The layer-size list the cost model keys on: input values, then every layer's neurons
    (``[n_in, n_1, ..., n_classes]`` for an MLP)."""
    size = 1
    for n in architecture.input_shape:
        size *= n
    return [size] + list(architecture.neurons())


def matrix_uses(layers: Sequence[int], architecture: Architecture | None = None
                ) -> list[MatrixUse]:
    """:class:`MatrixUse` of every layer of ``architecture``, or of the MLP ``layers``."""
    if architecture is None:
        layers = check_layers(layers)
        return [MatrixUse(a, b, 1, a, b) for a, b in zip(layers[:-1], layers[1:])]
    out = []
    for matrix, layer, (shape, _), neurons in zip(architecture.matrices(), architecture.layers,
                                                  architecture.shapes(),
                                                  architecture.neurons()):
        size = 1
        for n in shape:
            size *= n
        out.append(MatrixUse(matrix.rows, matrix.cols, matrix.reads_per_timestep, size,
                             neurons))
    return out


def outputs_per_crossbar(chip: ChipConfig):
    """Logical outputs per crossbar (:attr:`ChipConfig.outputs_per_crossbar`), as an array."""
    cols = np.asarray(chip.crossbar.cols)
    return np.where(chip.device.differential, cols // 2, cols - 1)


@dataclass
class Mapping:
    """Where every matrix of one scheme lives. Array members broadcast over configurations.

    Members
    -------
    scheme : str
        ``"bp"`` or ``"dfa"``.
    layers : list of int
        Network layer sizes.
    shapes : list of (int, int)
        ``(n_out, n_in)`` of ``W_0 .. W_{L-1}``.
    row_tiles, col_tiles, crossbars, dup, tiles : list of array
        Per layer: ``R``, ``C``, ``R * C`` (one copy), copies, tiles occupied.
    positions : list of int
        Reads per timestep of every layer (output positions of a convolution, 1 if dense).
    utilisation, tile_utilisation : list of array
        Per layer: devices holding weights over the devices of its ``R * C`` crossbars (one
        copy), and over the devices of all crossbars of the tiles it occupies (all copies).
    tile_start : list of array
        Index of each layer's first tile (layers occupy consecutive, disjoint tile ranges).
    b_shapes : list of (int, int)
        DFA feedback matrices ``B_l`` (``n_l x n_classes``); empty for BP.
    b_crossbars : list of array
        Crossbars of one copy of each ``B_l``.
    b_dup : array
        Copies of the feedback matrices (0 for BP).
    b_tiles : array
        Tiles reserved for them (0 for BP).
    layer_tiles, n_tiles : array
        Tiles holding layers; all tiles.
    wgu_words, wgu_banks : array
        Gradient words the WGU holds and how many independently working banks it has.
    feasible : array of bool
    reason : str
        Why the first infeasible configuration fails ("" if all fit).
    """

    scheme: str
    layers: list[int]
    shapes: list[tuple[int, int]]
    row_tiles: list[Any]
    col_tiles: list[Any]
    crossbars: list[Any]
    dup: list[Any]
    tiles: list[Any]
    tile_start: list[Any]
    b_shapes: list[tuple[int, int]] = field(default_factory=list)
    b_crossbars: list[Any] = field(default_factory=list)
    b_dup: Any = 0
    b_tiles: Any = 0
    layer_tiles: Any = 0
    n_tiles: Any = 0
    wgu_words: Any = 0
    wgu_banks: Any = 1
    feasible: Any = True
    reason: str = ""
    positions: list[Any] = field(default_factory=list)
    utilisation: list[Any] = field(default_factory=list)
    tile_utilisation: list[Any] = field(default_factory=list)

    def check(self) -> "Mapping":
        """Raise ``ValueError`` with :attr:`reason` unless every configuration fits."""
        if not bool(np.all(self.feasible)):
            raise ValueError(self.reason)
        return self

    def layer_names(self) -> list[str]:
        return [f"L{l}" for l in range(len(self.shapes))]

    def to_dict(self) -> dict:
        """JSON-able summary of a single configuration."""
        f = lambda v: int(np.asarray(v).reshape(-1)[0])  # noqa: E731
        out = {"scheme": self.scheme, "n_tiles": f(self.n_tiles),
               "layer_tiles": f(self.layer_tiles), "b_tiles": f(self.b_tiles),
               "b_duplication": f(self.b_dup), "wgu_words": f(self.wgu_words),
               "wgu_banks": f(self.wgu_banks), "layers": {}}
        for l, (shape, r, c, x, d, t, s) in enumerate(zip(
                self.shapes, self.row_tiles, self.col_tiles, self.crossbars, self.dup,
                self.tiles, self.tile_start)):
            out["layers"][f"L{l}"] = {"shape": list(shape), "row_tiles": f(r),
                                      "col_tiles": f(c), "crossbars": f(x), "copies": f(d),
                                      "tiles": f(t), "first_tile": f(s)}
            if l < len(self.positions):
                g = lambda v: float(np.asarray(v, float).reshape(-1)[0])  # noqa: E731
                out["layers"][f"L{l}"].update(
                    reads_per_timestep=int(self.positions[l]),
                    utilisation=g(self.utilisation[l]),
                    tile_utilisation=g(self.tile_utilisation[l]))
        for l, (shape, x) in enumerate(zip(self.b_shapes, self.b_crossbars)):
            out["layers"][f"B{l}"] = {"shape": list(shape), "crossbars": f(x),
                                      "copies": f(self.b_dup)}
        return out


def map_network(layers: Sequence[int], chip: ChipConfig, scheme: str, *,
                architecture: Architecture | None = None) -> Mapping:
    """Place the network ``layers`` on ``chip``.

    With an ``architecture`` (convolutions), ``layers`` is ignored and taken from it
    (:func:`architecture_layers`); each convolution is one im2col matrix (``k * k * C_in`` rows,
    ``C_out`` columns) tiled like a dense one, and DFA's ``B_l`` project onto whole neuron maps.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, not {scheme!r}")
    if architecture is not None:
        layers = architecture_layers(architecture)
    layers = check_layers(layers)
    uses = matrix_uses(layers, architecture)
    rows = np.asarray(chip.crossbar.rows, float)
    outputs = outputs_per_crossbar(chip).astype(float)
    crossbars_per_tile = (np.asarray(chip.hierarchy.pes_per_tile)
                          * np.asarray(chip.hierarchy.crossbars_per_pe))
    placement = chip.mapping
    shapes = [(u.cols, u.rows) for u in uses]
    row_tiles, col_tiles, crossbars, copies, tiles, first_tile = [], [], [], [], [], []
    start = np.zeros_like(crossbars_per_tile)
    for n_out, n_in in shapes:
        layer_row_tiles = np.ceil(n_in / rows)
        layer_col_tiles = np.ceil(n_out / outputs)
        layer_crossbars = layer_row_tiles * layer_col_tiles
        # Duplication 0: copies fill the crossbars left free in the layer's own tiles.
        fill = np.maximum(1.0, np.floor(np.ceil(layer_crossbars / crossbars_per_tile)
                                        * crossbars_per_tile / layer_crossbars))
        layer_copies = np.where(np.asarray(placement.weight_duplication) == 0, fill,
                                placement.weight_duplication)
        layer_tile_count = np.ceil(layer_crossbars * layer_copies / crossbars_per_tile)
        row_tiles.append(layer_row_tiles)
        col_tiles.append(layer_col_tiles)
        crossbars.append(layer_crossbars)
        copies.append(layer_copies)
        tiles.append(layer_tile_count)
        first_tile.append(start)
        start = start + layer_tile_count
    layer_tiles = start
    feasible = np.ones(np.broadcast(layer_tiles, crossbars_per_tile).shape, dtype=bool)
    reason = ""
    b_shapes: list[tuple[int, int]] = []
    b_crossbars: list[Any] = []
    b_dup = np.zeros_like(layer_tiles)
    b_tiles = np.zeros_like(layer_tiles)
    if scheme == "dfa" and len(layers) > 2:
        # B_l projects the class error (a vote read-out has more output neurons than classes).
        n_cls = architecture.n_classes if architecture is not None else layers[-1]
        b_shapes = [(n, n_cls) for n in layers[1:-1]]
        for n_out, n_in in b_shapes:
            b_crossbars.append(np.ceil(n_in / rows) * np.ceil(n_out / outputs))
        need = sum(b_crossbars)
        cap = np.asarray(placement.b_tiles) * crossbars_per_tile
        b_dup = np.where(np.asarray(placement.b_duplication) == 0, np.floor(cap / need),
                         placement.b_duplication)
        ok = (b_dup >= 1) & (need * np.maximum(b_dup, 1) <= cap)
        if not bool(np.all(ok)):
            i = int(np.argmin(np.broadcast_to(ok, np.broadcast(ok, need).shape).reshape(-1)))
            pick = lambda v: int(np.broadcast_to(v, np.broadcast(ok, v).shape)  # noqa: E731
                                 .reshape(-1)[i])
            reason = (f"DFA feedback matrices need {pick(need)} crossbars x "
                      f"{max(1, pick(b_dup))} copies, the B tile(s) hold {pick(cap)} "
                      f"(mapping.b_tiles={pick(placement.b_tiles)}, "
                      f"mapping.b_duplication={pick(placement.b_duplication)})")
        feasible = feasible & ok
        b_tiles = np.asarray(placement.b_tiles) + np.zeros_like(layer_tiles)
    n_tiles = layer_tiles + b_tiles
    max_t = np.asarray(chip.hierarchy.max_tiles)
    ok_t = (max_t == 0) | (n_tiles <= max_t)
    if not bool(np.all(ok_t)) and not reason:
        i = int(np.argmin(np.broadcast_to(ok_t, np.broadcast(ok_t, n_tiles).shape)
                          .reshape(-1)))
        nt = int(np.broadcast_to(n_tiles, np.broadcast(ok_t, n_tiles).shape).reshape(-1)[i])
        per = [int(np.broadcast_to(t, np.broadcast(ok_t, t).shape).reshape(-1)[i]) for t in tiles]
        mt = int(np.broadcast_to(max_t, np.broadcast(ok_t, max_t).shape).reshape(-1)[i])
        reason = (f"network {'-'.join(map(str, layers))} needs {nt} tiles for {scheme.upper()} "
                  f"(layers {per}{' + B' if scheme == 'dfa' and b_shapes else ''}), the chip "
                  f"has hierarchy.max_tiles={mt}")
    feasible = feasible & ok_t
    # Devices holding weights: two per weight (differential pair) or one (offset mapping).
    devices_per_weight = np.where(chip.device.differential, 2.0, 1.0)
    cells = np.asarray(chip.crossbar.rows, float) * np.asarray(chip.crossbar.cols, float)
    utilisation = [n_out * n_in * devices_per_weight / (x * cells)
                   for (n_out, n_in), x in zip(shapes, crossbars)]
    tile_utilisation = [n_out * n_in * devices_per_weight * d / (t * crossbars_per_tile * cells)
                        for (n_out, n_in), d, t in zip(shapes, copies, tiles)]
    words = [float(o * i) for o, i in shapes]
    if scheme == "bp":
        wgu_words, wgu_banks = max(words), 1
    else:
        wgu_words, wgu_banks = sum(words), len(words)
    return Mapping(scheme=scheme, layers=layers, shapes=shapes, row_tiles=row_tiles,
                   col_tiles=col_tiles, crossbars=crossbars, dup=copies, tiles=tiles,
                   tile_start=first_tile, b_shapes=b_shapes, b_crossbars=b_crossbars,
                   b_dup=b_dup, b_tiles=b_tiles, layer_tiles=layer_tiles,
                   n_tiles=n_tiles, wgu_words=wgu_words, wgu_banks=wgu_banks,
                   feasible=feasible, reason=reason, positions=[u.positions for u in uses],
                   utilisation=utilisation, tile_utilisation=tile_utilisation)
