# SPDX-License-Identifier: MIT
"""The macro's 128 x 24 1T1R processing elements: mapping FC layers onto them, programming with
device non-idealities, and the differential column currents of a deployed layer.

A PE (:class:`PEConfig`) is ``rows`` word lines by ``cols`` bit lines; column ``2j`` holds the
positive device and column ``2j + 1`` the negative device of neuron ``j``'s weights, so a PE
feeds ``cols // 2`` neurons (12 for the paper's 128 x 24, REFERENCE.md §3).

Mapping (:func:`place_layer`). A layer with ``n_in`` inputs and ``n_out`` neurons takes
``ceil(n_in / rows)`` PEs stacked along the rows times ``ceil(n_out / neurons)`` PEs side by
side: ``ceil(n_in / 128) * ceil(n_out / 12)`` PE-equivalents. For 800-480-120-11 that is
``7 * 40 + 4 * 10 + 1 * 1 = 321``, the paper's count.

Partial sums: analog current summation. The ``ceil(n_in / rows)`` row-stacked PEs of one
column block join their column pairs on shared summing nodes, so the currents add by
Kirchhoff's law before one TIA pair per neuron; the stacked PEs' other neurons stay idle. We
choose this over digital combination because the macro has no ADCs -- its neuron integrates
the column current directly -- and a threshold, reset and leak cannot be applied to partial sums
and combined afterwards; summing currents keeps the neuron's input exactly the full dot
product. The cost is a TIA input range that must take the sum of up to ``n_in`` rows.

Programming (:class:`ProgrammedLayer`). A layer's weights ``W`` (``n_out x n_in``) are scaled
by ``w_max = max |W|`` to signed states ``q = round(W / w_max * (levels - 1))`` in
``[-(levels-1), levels-1]``; ``q > 0`` programs the positive device to state ``q`` (nominal
``q * step``) and leaves the negative one off, ``q < 0`` the reverse. A programmed device reads
``q * step + N(0, sigma)`` (clipped at 0); an off device (state 0, unused cell, or any device
stuck off with probability ``stuck_off_fraction``) reads ``U[0, g_off)``.

Currents. A row driven for the fraction ``x`` of a bin at ``read_v`` passes ``x * read_v * G``
through each device (the bin-average current); a neuron sees ``I = read_v * sum x (G+ - G-)``
summed over its row-stacked PEs (:meth:`ProgrammedLayer.current`). The ideal is
``read_v * g_max / w_max * x @ W.T`` (:meth:`ProgrammedLayer.ideal_current`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...golden.params import check_int
from .config import PEConfig

__all__ = ["LayerPlacement", "NetworkMapping", "place_layer", "map_network", "weight_levels",
           "program_pe", "ProgrammedLayer", "hardware_aware"]

_US = 1e-6  # S per µS


@dataclass(frozen=True)
class LayerPlacement:
    """Where one FC layer sits on PEs.

    Members
    -------
    in_features, out_features : int
    row_pes : int
        PEs stacked along the rows (their column currents summed): ``ceil(in / rows)``.
    col_pes : int
        PEs side by side: ``ceil(out / neurons_per_pe)``.
    rows, neurons_per_pe : int
        Of the PE used.
    """

    in_features: int
    out_features: int
    row_pes: int
    col_pes: int
    rows: int
    neurons_per_pe: int

    @property
    def pes(self) -> int:
        """PE-equivalents the layer occupies: ``row_pes * col_pes``."""
        return self.row_pes * self.col_pes

    @property
    def device_utilisation(self) -> float:
        """Devices holding weights over devices occupied: ``2 in out / (pes rows 2 npe)``."""
        return (self.in_features * self.out_features) / (
            self.pes * self.rows * self.neurons_per_pe)


@dataclass(frozen=True)
class NetworkMapping:
    """A network's layers on PEs.

    Members
    -------
    sizes : tuple of int
        ``(in, hidden..., out)``.
    layers : tuple of LayerPlacement
    """

    sizes: tuple
    layers: tuple

    @property
    def pes(self) -> int:
        """Total PE-equivalents."""
        return sum(layer.pes for layer in self.layers)


def place_layer(in_features: int, out_features: int, pe: PEConfig) -> LayerPlacement:
    """PEs for an ``in_features -> out_features`` layer (see the module's mapping rule)."""
    check_int(in_features, name="in_features", minimum=1)
    check_int(out_features, name="out_features", minimum=1)
    pe.validate()
    return LayerPlacement(in_features, out_features, math.ceil(in_features / pe.rows),
                          math.ceil(out_features / pe.neurons), pe.rows, pe.neurons)


def map_network(sizes: Sequence[int], pe: PEConfig | None = None) -> NetworkMapping:
    """Place every layer of an FC network ``sizes = (in, hidden..., out)`` on PEs."""
    pe = PEConfig() if pe is None else pe
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"a network needs at least an input and an output size, not {sizes}")
    for i, s in enumerate(sizes):
        check_int(s, name=f"sizes[{i}]", minimum=1)
    return NetworkMapping(sizes, tuple(place_layer(a, b, pe)
                                       for a, b in zip(sizes[:-1], sizes[1:])))


def weight_levels(weights, pe: PEConfig, w_max: float | None = None) -> tuple[np.ndarray, float]:
    """Signed states ``q`` (int) of ``weights`` and the scale ``w_max`` used.

    ``q = round(W / w_max * (levels - 1))`` clipped to ``±(levels - 1)``; ``w_max`` defaults to
    ``max |W|`` (1.0 for an all-zero matrix).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D (out, in) matrix, not shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite")
    if w_max is None:
        m = float(np.abs(w).max()) if w.size else 0.0
        w_max = m if m > 0 else 1.0
    elif isinstance(w_max, bool) or not isinstance(w_max, (int, float)) or not (
            math.isfinite(w_max) and w_max > 0):
        raise ValueError(f"w_max must be a positive number, not {w_max!r}")
    unit = pe.levels - 1
    q = np.clip(np.rint(w / w_max * unit), -unit, unit).astype(np.int64)
    return q, float(w_max)


def program_pe(q_block, pe: PEConfig, rng: np.random.Generator) -> np.ndarray:
    """Read conductances, S, of one PE programmed with signed states ``q_block``.

    Parameters
    ----------
    q_block : array_like of int, shape ``(r, n)``
        States of ``r <= rows`` inputs (rows) by ``n <= cols // 2`` neurons.
    pe : PEConfig
    rng : numpy Generator
        Device spread, off-state and stuck-off draws.

    Returns
    -------
    ndarray, shape ``(rows, cols)``
        Column ``2j`` the positive, ``2j + 1`` the negative device of neuron ``j``; cells
        outside the block are off.
    """
    q = np.asarray(q_block)
    if q.ndim != 2:
        raise ValueError(f"a PE block must be 2-D (rows, neurons), not shape {q.shape}")
    if q.shape[0] > pe.rows or q.shape[1] > pe.neurons:
        raise ValueError(f"a weight block of {q.shape[0]} rows x {q.shape[1]} neurons does not "
                         f"fit a PE of {pe.rows} rows x {pe.neurons} neurons")
    unit = pe.levels - 1
    if q.size and (np.abs(q).max() > unit or not np.issubdtype(q.dtype, np.integer)):
        raise ValueError(f"PE states must be integers in [-{unit}, {unit}]")
    state = np.zeros((pe.rows, pe.cols), dtype=np.int64)
    state[:q.shape[0], 0:2 * q.shape[1]:2] = np.maximum(q, 0)
    state[:q.shape[0], 1:2 * q.shape[1]:2] = np.maximum(-q, 0)
    on = np.maximum(state * pe.step_us + rng.normal(0.0, pe.sigma_us, state.shape), 0.0)
    off = rng.uniform(0.0, pe.g_off_us, state.shape) if pe.g_off_us > 0 else np.zeros(
        state.shape)
    stuck = rng.random(state.shape) < pe.stuck_off_fraction
    return np.where((state > 0) & ~stuck, on, off) * _US


class ProgrammedLayer:
    """An FC layer deployed on PEs with device non-idealities.

    Parameters
    ----------
    weights : array_like, shape ``(out, in)``
    pe : PEConfig
    rng : numpy Generator or int or None
        Source of the device draws (a seed is accepted).
    w_max : float, optional
        Deployment scale (``max |W|`` by default).

    Members
    -------
    placement : LayerPlacement
    levels : ndarray of int, shape ``(out, in)``
        Signed states ``q``.
    w_max : float
    conductance_s : ndarray, shape ``(row_pes, col_pes, rows, cols)``
        Read conductance of every device of every PE, S.
    """

    def __init__(self, weights, pe: PEConfig, rng=None, w_max: float | None = None) -> None:
        pe.validate()
        self.pe = pe
        self.weights = np.asarray(weights, dtype=np.float64)
        self.levels, self.w_max = weight_levels(self.weights, pe, w_max)
        n_out, n_in = self.levels.shape
        self.placement = place_layer(n_in, n_out, pe)
        rng = np.random.default_rng(rng)
        p = self.placement
        qt = self.levels.T   # (in, out): rows are inputs
        self.conductance_s = np.empty((p.row_pes, p.col_pes, pe.rows, pe.cols))
        for r in range(p.row_pes):
            for c in range(p.col_pes):
                block = qt[r * pe.rows:(r + 1) * pe.rows, c * pe.neurons:(c + 1) * pe.neurons]
                self.conductance_s[r, c] = program_pe(block, pe, rng)

    def _drive(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n_in = self.placement.in_features
        if x.ndim < 1 or x.shape[-1] != n_in:
            raise ValueError(f"input has shape {x.shape}, the layer takes {n_in} features "
                             f"on its last axis")
        if not np.all((x >= 0) & (x <= 1)):
            raise ValueError("row drive must lie in [0, 1] (fraction of a bin a row is driven)")
        return x

    def pe_currents(self, x) -> np.ndarray:
        """Differential current of every neuron of every PE before summation, A.

        ``x`` of shape ``(..., in)``; returns ``(..., row_pes, col_pes, neurons_per_pe)``.
        """
        x = self._drive(x)
        p, pe = self.placement, self.pe
        pad = p.row_pes * pe.rows - p.in_features
        xr = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, pad)]).reshape(
            x.shape[:-1] + (p.row_pes, pe.rows))
        cols = np.einsum("...rk,rckj->...rcj", xr, self.conductance_s) * pe.read_v
        return cols[..., 0::2] - cols[..., 1::2]

    def current(self, x) -> np.ndarray:
        """Neuron input currents, A, shape ``(..., out)``: the row-stacked PEs' differential
        currents summed in analog, then the column blocks laid side by side."""
        per_pe = self.pe_currents(x).sum(axis=-3)          # (..., col_pes, neurons_per_pe)
        flat = per_pe.reshape(per_pe.shape[:-2] + (-1,))
        return flat[..., :self.placement.out_features]

    def ideal_current(self, x) -> np.ndarray:
        """The ideal matrix product as a current, A: ``read_v * g_max / w_max * x @ W.T``."""
        x = self._drive(x)
        return self.pe.read_v * self.pe.g_max_us * _US / self.w_max * (x @ self.weights.T)


def hardware_aware(pe: PEConfig):
    """The golden layer's device description (``golden.analog_lif.HardwareAwareConfig``) of a
    PE, for hardware-aware training."""
    from ...golden.analog_lif import HardwareAwareConfig  # torch only when asked for
    pe.validate()
    return HardwareAwareConfig(levels=pe.levels, g_max_us=pe.g_max_us, g_off_us=pe.g_off_us,
                               sigma_us=pe.sigma_us, stuck_off_fraction=pe.stuck_off_fraction)
