# SPDX-License-Identifier: MIT
"""Behavioural analog neuron of the macro, integrated exactly over piecewise-constant input.

Per neuron, with ``I(t)`` the differential column current of its column pair (A):

    ``C dV/dt = -g V + a I(t)``,  ``V >= 0`` (ground rail),
    a spike when ``V`` reaches ``V_th``; then ``V = V_reset`` for the refractory time.

``C`` = ``c_mem_f``, ``g`` = ``g_leak_s``, ``a`` = ``tia_gain`` (:class:`NeuronConfig`). The input
is constant over each bin of width ``dt``, so within a bin (from time ``c`` with membrane ``V``)

    ``V(t) = V_inf + (V - V_inf) exp(-(t - c) / tau)``,  ``V_inf = a I / g``,  ``tau = C / g``,

and the threshold is reached, if at all, at the closed-form time

    ``t* = c + tau * ln((V_inf - V) / (V_inf - V_th))``.

:meth:`AnalogNeuron.simulate` applies these per bin (no time steps inside a bin): the membrane
at the bin's end is ``u = b V + (1 - b) (a / g) I`` with ``b = exp(-(end - c) / tau)``; a spike
happens in the bin iff ``u >= V_th`` (the trajectory is monotonic within a bin); the crossing
time comes from the logarithm; the refractory period is handled exactly (``"continuous"``: the
membrane is held for ``t_ref`` from ``t*``, which may end inside a later bin, and the
remainder of that bin is integrated in closed form, so several spikes per bin are possible;
``"aligned"``: held to the end of the crossing's bin and ``ceil(t_ref / dt)`` whole bins).
The floor at 0 V is applied at the bin's end, which equals clamping throughout the bin because
the trajectory is monotonic.

Time scaling. ``AnalogNeuron(cfg, time_scale=k)`` simulates the circuit ``cfg.at_scale(k)``
(``C / k``, ``t_ref / k``, spike width ``/ k``) on input bins ``dt / k``. Then ``tau`` and
every duration shrink by ``k`` while ``V_inf`` (currents and conductances) is unchanged, so
``b = exp(-(dt/k) / (tau/k))`` and the crossing times divided by ``k`` are the same numbers:
the spike train at scale ``k``, with its times multiplied by ``k``, is the spike train at
``k = 1``. Compressing the input without shrinking ``C`` leaves ``tau`` long against the bins:
the membrane then collects ``k`` times less charge per bin and the neuron falls silent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import NeuronConfig, check_time_scale

__all__ = ["SpikeTrains", "AnalogNeuron", "whole_bins"]

#: Iterations of the within-bin event loop after which :meth:`AnalogNeuron.simulate` gives up: a
#: neuron would have to fire this often in one bin (only possible with ``t_ref = 0`` and an
#: input many orders of magnitude above threshold). Chosen as a guard against a runaway loop.
_MAX_EVENTS_PER_BIN = 100_000
#: Tolerance of :func:`whole_bins` on ``t_ref / dt`` (relative), so that a ratio that is an
#: integer up to rounding is not rounded up to the next bin. Chosen (a few hundred ulps).
_BIN_RATIO_TOL = 1e-12


def whole_bins(t_ref_s: float, bin_s: float) -> int:
    """Whole bins covering a refractory time: ``ceil(t_ref / dt)`` (up to rounding)."""
    ratio = t_ref_s / bin_s
    return max(0, math.ceil(ratio * (1.0 - _BIN_RATIO_TOL)))


@dataclass
class SpikeTrains:
    """Result of :meth:`AnalogNeuron.simulate`.

    Members
    -------
    times_s : list of ndarray
        Spike times of each neuron (flattened neuron index), s, at the simulated time scale,
        from the start of the first bin.
    counts : ndarray of int, shape ``(N,)``
        Spikes per neuron.
    raster : ndarray of int, shape ``(T, *shape)``
        Spikes per bin and neuron.
    membrane_v : ndarray, shape ``(T, *shape)``
        Membrane at the end of each bin, V.
    bin_s : float
        Bin width at the simulated time scale, s.
    time_scale : float
        ``k``.
    """

    times_s: list
    counts: np.ndarray
    raster: np.ndarray
    membrane_v: np.ndarray
    bin_s: float
    time_scale: float

    def normalised_times(self) -> list:
        """Spike times multiplied by ``k``: on the data's time scale, s."""
        return [t * self.time_scale for t in self.times_s]


class AnalogNeuron:
    """Analog neurons of one configuration at a time scale ``k``.

    Parameters
    ----------
    config : NeuronConfig
        The neuron at the data's time scale (validated here).
    time_scale : float
        ``k > 0``: input compressed ``k``-fold, ``C``, ``t_ref`` and spike width divided by
        ``k``.

    Members
    -------
    config : NeuronConfig
        As given (``k = 1``).
    circuit : NeuronConfig
        The circuit simulated, ``config.at_scale(k)``.
    time_scale : float
    """

    def __init__(self, config: NeuronConfig, time_scale: float = 1.0) -> None:
        if not isinstance(config, NeuronConfig):
            raise TypeError(f"config must be a NeuronConfig, not {config!r}")
        config.validate()
        self.time_scale = check_time_scale(time_scale)
        self.config = config
        self.circuit = config.at_scale(self.time_scale)

    @property
    def tau_s(self) -> float:
        """Membrane time constant of the simulated circuit, s."""
        return self.circuit.tau_s

    def beta(self, bin_s: float) -> float:
        """Decay over one bin (``bin_s`` at ``k = 1``): ``exp(-(bin_s / k) / tau)``."""
        return float(np.exp(-(bin_s / self.time_scale) / self.tau_s))

    def input_gain_v_per_a(self, bin_s: float) -> float:
        """Membrane step per A of differential current held for one bin:
        ``(1 - beta) * tia_gain / g_leak``, V/A."""
        return (1.0 - self.beta(bin_s)) * self.circuit.tia_gain / self.circuit.g_leak_s

    def spike_period_s(self, current_a: float) -> float:
        """Inter-spike interval under a constant differential current, s (``inf`` if the
        asymptote ``a I / g`` does not exceed the threshold): ``tau * ln((V_inf - V_reset) /
        (V_inf - V_th)) + t_ref``, at the simulated time scale."""
        c = self.circuit
        v_inf = c.tia_gain * current_a / c.g_leak_s
        if v_inf <= c.v_th_v:
            return math.inf
        return self.tau_s * math.log((v_inf - c.v_reset_v) / (v_inf - c.v_th_v)) + c.t_ref_s

    def golden_params(self, bin_s: float, surrogate=None):
        """The golden layer's per-bin constants (``golden.analog_lif.AnalogLIFParams``) for
        bins of ``bin_s`` (at ``k = 1``); exact against ``refractory="aligned"``."""
        from ...golden.analog_lif import AnalogLIFParams  # torch only when asked for
        c = self.circuit
        extra = {} if surrogate is None else {"surrogate": surrogate}
        return AnalogLIFParams(beta=self.beta(bin_s),
                               input_gain_v_per_a=self.input_gain_v_per_a(bin_s),
                               v_th=c.v_th_v, v_reset=c.v_reset_v, v_floor=0.0,
                               refractory_bins=whole_bins(self.config.t_ref_s, bin_s), **extra)

    def simulate(self, current_a, bin_s: float, v0_v=None) -> SpikeTrains:
        """Integrate the neurons exactly over piecewise-constant input.

        Parameters
        ----------
        current_a : array_like, shape ``(T, *shape)``
            Differential column current of each neuron in each bin, A.
        bin_s : float
            Bin width at the data's time scale (``k = 1``), s; simulated as ``bin_s / k``.
        v0_v : array_like, optional
            Initial membrane, V, in ``[0, V_th)`` (0 V by default).

        Returns
        -------
        SpikeTrains
        """
        cur = np.asarray(current_a, dtype=np.float64)
        if cur.ndim < 1 or cur.shape[0] < 1:
            raise ValueError(f"current_a must have a leading time axis, not shape {cur.shape}")
        if not np.all(np.isfinite(cur)):
            raise ValueError("current_a must be finite")
        if isinstance(bin_s, bool) or not isinstance(bin_s, (int, float)) or not (
                math.isfinite(bin_s) and bin_s > 0):
            raise ValueError(f"bin_s must be a positive number, not {bin_s!r}")
        shape = cur.shape[1:]
        cur = cur.reshape(cur.shape[0], -1)
        n_bins, n = cur.shape
        c = self.circuit
        if v0_v is None:
            v = np.zeros(n)
        else:
            v = np.broadcast_to(np.asarray(v0_v, dtype=np.float64), shape).reshape(-1).copy()
            if np.any(~np.isfinite(v)) or np.any(v < 0) or np.any(v >= c.v_th_v):
                raise ValueError(f"v0_v must lie in [0, {c.v_th_v}) V")
        dt = bin_s / self.time_scale
        beta = self.beta(bin_s)
        r_full = self.input_gain_v_per_a(bin_s)
        gain_over_g = c.tia_gain / c.g_leak_s
        aligned = c.refractory == "aligned"
        n_ref = whole_bins(self.config.t_ref_s, bin_s)
        raster = np.zeros((n_bins, n), dtype=np.int64)
        membrane = np.empty((n_bins, n))
        who: list[np.ndarray] = []
        when: list[np.ndarray] = []
        hold = np.zeros(n, dtype=np.int64)   # aligned: whole bins still held at reset
        refr = np.zeros(n)                   # continuous: refractory time still to serve, s
        for b in range(n_bins):
            t0, end = b * dt, (b + 1) * dt
            i_b = cur[b]
            v_inf = gain_over_g * i_b
            if aligned:
                held = hold > 0
                u = beta * v + r_full * i_b
                fire = ~held & (u >= c.v_th_v)
                if fire.any():
                    idx = np.flatnonzero(fire)
                    who.append(idx)
                    when.append(self._crossing(np.full(idx.size, t0), v[idx], v_inf[idx], end))
                    raster[b, idx] += 1
                v = np.where(held | fire, c.v_reset_v, np.maximum(u, 0.0))
                hold = np.where(fire, n_ref, np.maximum(hold - 1, 0))
            else:
                v, refr = self._continuous_bin(b, t0, end, v, refr, i_b, v_inf, beta, r_full,
                                               raster, who, when)
            membrane[b] = v
        times = self._per_neuron(n, who, when)
        return SpikeTrains(times_s=times, counts=raster.sum(axis=0),
                           raster=raster.reshape((n_bins,) + shape),
                           membrane_v=membrane.reshape((n_bins,) + shape), bin_s=dt,
                           time_scale=self.time_scale)

    # ---------------------------------------------------------------- internals
    def _crossing(self, start, v, v_inf, end) -> np.ndarray:
        """Threshold-crossing times from ``start`` (membrane ``v``, asymptote ``v_inf``),
        clipped to ``[start, end]`` (rounding can put a crossing a hair past the bin's end)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (v_inf - v) / (v_inf - self.circuit.v_th_v)
            t = start + self.tau_s * np.log(ratio)
        t = np.where(np.isfinite(t), t, end)
        return np.clip(t, start, end)

    def _continuous_bin(self, b, t0, end, v, refr, i_b, v_inf, beta, r_full, raster, who,
                        when):
        """One bin of the free-running neuron: serve refractory time, integrate the rest in
        closed form, fire at the analytic crossing, repeat until the bin's end."""
        c = self.circuit
        cursor = np.full(v.shape, t0)
        active = np.ones(v.shape, dtype=bool)
        for _ in range(_MAX_EVENTS_PER_BIN):
            served = np.where(active, np.minimum(refr, end - cursor), 0.0)
            refr = refr - served
            # A refractory period that ends inside the bin starts integration there.
            cursor = np.where(served > 0, np.minimum(cursor + served, end), cursor)
            run = active & (refr <= 0) & (cursor < end)
            full = run & (cursor == t0)
            with np.errstate(over="ignore"):
                b_rem = np.where(full, beta, np.exp(-(end - cursor) / self.tau_s))
                r_rem = np.where(full, r_full, (1.0 - b_rem) * c.tia_gain / c.g_leak_s)
            u = b_rem * v + r_rem * i_b
            fire = run & (u >= c.v_th_v)
            settle = run & ~fire
            v = np.where(settle, np.maximum(u, 0.0), v)
            if not fire.any():
                return v, refr
            idx = np.flatnonzero(fire)
            t_star = self._crossing(cursor[idx], v[idx], v_inf[idx], end)
            who.append(idx)
            when.append(t_star)
            raster[b, idx] += 1
            v[idx] = c.v_reset_v
            refr[idx] = c.t_ref_s
            cursor[idx] = t_star
            active = fire
        raise ValueError(f"a neuron fired more than {_MAX_EVENTS_PER_BIN} times in bin {b}: "
                         f"the input is far above threshold for t_ref = {c.t_ref_s!r} s")

    @staticmethod
    def _per_neuron(n: int, who: list, when: list) -> list:
        if not who:
            return [np.empty(0) for _ in range(n)]
        idx = np.concatenate(who)
        t = np.concatenate(when)
        order = np.lexsort((t, idx))
        idx, t = idx[order], t[order]
        bounds = np.searchsorted(idx, np.arange(n + 1))
        return [t[bounds[i]:bounds[i + 1]] for i in range(n)]
