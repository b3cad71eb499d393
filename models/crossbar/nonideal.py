# SPDX-License-Identifier: MIT
"""Physics of the device and array non-idealities of ``chip.nonideal``, as pure functions.

Every function works on conductances in µS and resistances in Ω; the crossbar model
(:mod:`.programming`, :mod:`.matrix`) decides where they apply. ``docs/device-nonidealities.md``
gives each equation with its constants and their sources.

Read noise (:func:`read_noise_std`)
    One read of a column that drives lines with amplitudes ``d_i`` through devices whose
    conductances each carry an independent Gaussian ``N(0, sigma^2)`` sees the column current
    ``sum_i d_i G_i + sigma * sqrt(sum_i d_i^2) * eps``, ``eps ~ N(0, 1)``: exact in
    distribution, so a fresh per-device draw on every read costs one draw per column.

Drift (:func:`drift_sigma`)
    aihwkit's NeuRRAM fit (``ReRamWan2022NoiseModel``) gives the spread ``sigma(g, t)`` of the
    conductance around its target at t = 1 s, 1 day and 2 days after programming, a quartic in
    ``g / 40 µS``. The spread at 1 s is the programming noise the noise model already draws;
    relaxation adds an independent part ``sqrt(max(sigma(g, t)^2 - sigma(g, 1 s)^2, 0))``.
    Between the fitted times ``sigma^2`` is interpolated linearly in ``log10 t``; past 2 days it
    is held at the 2-day value (no extrapolation); before 1 s there is no relaxation. A device
    re-written by an update starts relaxing again from its write (its own age and a fresh draw).

Stuck devices (:func:`stuck_masks`)
    Each device is independently stuck off with probability ``p_off`` or stuck on with
    ``p_on`` (one uniform draw per device).

IR drop (:func:`ir_attenuation`, first order; :func:`ir_nodal`, exact)
    A crossbar's word line ``i`` is driven from the column-0 end, each cell pitch adds
    ``r_row`` Ω; bit line ``j`` is held at virtual ground by its ADC at the end of the last
    row, each pitch adds ``r_col`` Ω. With every device drawing its ideal current (first
    order), the voltage lost before device ``(i, j)`` is, relative to the drive,

    ``delta_row(i, j) = r_row * sum_{k <= j} sum_{j' >= k} G[i, j']``
    ``delta_col(i, j) = a * r_col * sum_{k >= i} sum_{i' <= k} G[i', j]``

    (``a``: fraction of rows driven, scaling the bit-line current), and the device passes
    ``G / (1 + delta_row + delta_col)``: first order in ``delta`` (``1 - delta``), written so
    that it stays positive. For one uniform line of ``n`` cells (``alpha^2 = r G n^2``) the
    exact far-end factor is ``1 / cosh(alpha) = 1 - alpha^2/2 + 5 alpha^4/24 - ...``; ``1 - delta``
    misses ``5 alpha^4/24``, ``1 / (1 + delta)`` only ``alpha^4/24``. :func:`ir_nodal` solves the
    resistive network exactly (Kirchhoff's current law at every node) for small arrays to
    check it.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["WAN2022_SIGMA", "WAN2022_G_REF_US", "read_noise_std", "wan_sigma", "drift_sigma",
           "stuck_masks", "ir_attenuation", "ir_nodal"]

#: aihwkit ``ReRamWan2022NoiseModel`` (``src/aihwkit/inference/noise/reram.py``), its fit of
#: Wan et al., Nature 2022: spread sigma in µS as ``sum_i c_i (g / 40 µS)^i``, coefficients low
#: -> high order, at t = 1 s, 1 day (86400 s) and 2 days (172800 s) after programming.
WAN2022_SIGMA = {
    1.0: (0.348, 16.030, -43.853, 45.393, -16.815),
    86400.0: (0.701, 22.086, -50.773, 47.095, -16.458),
    172800.0: (0.782, 20.274, -43.507, 37.062, -11.934),
}
#: Conductance the aihwkit coefficients are normalised to, µS (same source).
WAN2022_G_REF_US = 40.0


def read_noise_std(sigma_us: float, drive_sq_sum: torch.Tensor) -> torch.Tensor:
    """Standard deviation (µS x drive) of one column's read current: ``sigma * sqrt(sum d^2)``.

    ``drive_sq_sum`` is the sum of the squared drive amplitudes of the lines the column sees.
    """
    return sigma_us * torch.sqrt(drive_sq_sum)


def wan_sigma(g_us: torch.Tensor, t_s: float) -> torch.Tensor:
    """aihwkit's NeuRRAM spread ``sigma(g, t)`` (µS) at one of its fitted times ``t_s``."""
    coeffs = WAN2022_SIGMA[float(t_s)]
    x = g_us / WAN2022_G_REF_US
    sigma = torch.zeros_like(g_us)
    for c in reversed(coeffs):
        sigma = sigma * x + c
    return sigma.clamp(min=0.0)


def drift_sigma(g_us: torch.Tensor, age_s: float | torch.Tensor) -> torch.Tensor:
    """Spread (µS) that relaxation adds to a device programmed to ``g_us``, ``age_s`` seconds
    after programming (a number, or a tensor broadcasting against ``g_us``: one age per
    device); module docstring: interpolated in ``log10 t``, held past 2 days."""
    if not torch.is_tensor(age_s) and not (math.isfinite(age_s) and age_s > 0):
        raise ValueError(f"age_s must be a positive number of seconds, not {age_s!r}")
    times = sorted(WAN2022_SIGMA)
    age = torch.as_tensor(age_s, dtype=g_us.dtype, device=g_us.device).clamp(min=times[0],
                                                                              max=times[-1])
    var = [wan_sigma(g_us, t) ** 2 for t in times]
    lt = torch.log10(age)
    out = torch.zeros(torch.broadcast_shapes(g_us.shape, age.shape), dtype=g_us.dtype,
                      device=g_us.device)
    for i, (lo, hi) in enumerate(zip(times, times[1:])):
        f = (lt - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        inside = (age >= lo) & (age <= hi) if i == 0 else (age > lo) & (age <= hi)
        out = torch.where(inside, (1 - f) * var[i] + f * var[i + 1], out)
    return torch.sqrt((out - var[0]).clamp(min=0.0))


def stuck_masks(shape: tuple[int, ...], p_off: float, p_on: float,
                generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean masks ``(stuck_off, stuck_on)``: one uniform ``u`` per device, off if
    ``u < p_off``, on if ``p_off <= u < p_off + p_on``."""
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    return u < p_off, (u >= p_off) & (u < p_off + p_on)


def ir_attenuation(g_us: torch.Tensor, r_row_ohm: float, r_col_ohm: float,
                   activity: float = 1.0) -> torch.Tensor:
    """IR-drop factor ``1 / (1 + delta_row + delta_col)`` of every device (module docstring).

    ``g_us`` is ``(..., rows, cols)`` in the physical layout of a crossbar (row 0 farthest from
    the ADCs, column 0 next to the word-line drivers).
    """
    g = g_us * 1e-6                                                     # S
    # Word line: segment k (driver side of cell k) carries the current of cells j' >= k.
    seg_row = g.flip(-1).cumsum(-1).flip(-1)
    d_row = r_row_ohm * seg_row.cumsum(-1)
    # Bit line: segment k (ADC side of cell k) carries the current of cells i' <= k.
    seg_col = activity * g.cumsum(-2)
    d_col = r_col_ohm * seg_col.flip(-2).cumsum(-2).flip(-2)
    return 1.0 / (1.0 + d_row + d_col)


def ir_nodal(g_us: np.ndarray, r_row_ohm: float, r_col_ohm: float,
             v_drive: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact DC solution of one crossbar's resistive network (small arrays: a dense solve).

    Parameters
    ----------
    g_us : array ``(rows, cols)``
        Device conductances, µS.
    r_row_ohm, r_col_ohm : float
        Wire resistance per cell pitch, Ω (both > 0).
    v_drive : array ``(rows,)``, optional
        Driver voltages, V (default all 1 V).

    Returns
    -------
    device_current : array ``(rows, cols)``
        Current through every device, A.
    column_current : array ``(cols,)``
        Current into every ADC (virtual ground), A.
    """
    g = np.asarray(g_us, dtype=np.float64) * 1e-6
    rows, cols = g.shape
    v = np.ones(rows) if v_drive is None else np.asarray(v_drive, dtype=np.float64)
    if r_row_ohm <= 0 or r_col_ohm <= 0:
        raise ValueError("ir_nodal needs positive wire resistances")
    gr, gc = 1.0 / r_row_ohm, 1.0 / r_col_ohm
    n = rows * cols
    # Unknowns: word-line nodes u[i, j] (index i*cols + j), then bit-line nodes w[i, j] (+ n).
    a = np.zeros((2 * n, 2 * n))
    b = np.zeros(2 * n)

    def u(i, j):
        return i * cols + j

    def w(i, j):
        return n + i * cols + j

    def link(p, q, cond):
        a[p, p] += cond
        a[q, q] += cond
        a[p, q] -= cond
        a[q, p] -= cond

    for i in range(rows):
        a[u(i, 0), u(i, 0)] += gr                       # driver -> first cell of the row
        b[u(i, 0)] += gr * v[i]
        for j in range(cols):
            link(u(i, j), w(i, j), g[i, j])             # the device
            if j + 1 < cols:
                link(u(i, j), u(i, j + 1), gr)
            if i + 1 < rows:
                link(w(i, j), w(i + 1, j), gc)
    for j in range(cols):
        a[w(rows - 1, j), w(rows - 1, j)] += gc         # last cell -> ADC at 0 V
    x = np.linalg.solve(a, b)
    uu, ww = x[:n].reshape(rows, cols), x[n:].reshape(rows, cols)
    return g * (uu - ww), gc * ww[rows - 1]
