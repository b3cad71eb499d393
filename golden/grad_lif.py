# SPDX-License-Identifier: MIT
"""Bit-exact reference of the GradLIF unit: integer LIF forward step and surrogate backward.

The GradLIF unit (DFA_Sim Sec. III, the digital "global LIF activation unit") holds one membrane
register per lane. In the forward pass it leaks, integrates the partial-sum current, fires and
resets; it stores the pre-reset membrane ``u`` for the backward pass. In the backward pass it
multiplies the (DFA-projected) error by the triangle surrogate ``h(u - theta)``.

Number formats (all two's complement, defaults in brackets):

=========  ===========================  ================================================
signal     width                        meaning
=========  ===========================  ================================================
``v``      ``mem_width`` [16] signed    membrane after reset, ``frac_bits`` [8] fraction
``I``      ``current_width`` [16] s.    input current, same binary point as ``v``
``u``      ``mem_width`` signed         membrane before reset (saturated)
``s``      1 bit unsigned               spike
``theta``  ``mem_width`` (positive)     threshold code [``round(0.5 * 2**frac_bits)`` = 128]
``err``    ``err_width`` [8] signed     error input of the backward pass
``h``      ``sg_width.bit_length()`` u  triangle surrogate code, ``0 <= h <= sg_width``
``delta``  ``delta_width`` [8] signed   output ``h * err >> grad_shift``, saturated
=========  ===========================  ================================================

With the defaults the integer unit is the float LIF of :mod:`golden.lif` with ``LIFConfig()``
(leak 0.75, threshold 0.5, hard reset, triangle surrogate of width 1) on a 2**-8 grid.
"""
from __future__ import annotations

import math

import torch

from .fixed import asr, check_int, check_range, int_range, saturate
from .lif import LIFConfig
from .params import RESETS, GradLIFParams

__all__ = [
    "RESETS", "GradLIFParams", "lif_forward_int", "lif_forward_int_seq",
    "triangle_surrogate_int", "grad_lif_backward_int", "float_to_int_params",
]


def _same_shape(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")


def _check_params(p) -> GradLIFParams:
    if not isinstance(p, GradLIFParams):
        raise TypeError(f"p must be a GradLIFParams, not {type(p).__name__}")
    return p


def lif_forward_int(v: torch.Tensor, current: torch.Tensor, p: GradLIFParams
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Advance every lane by one timestep (the forward datapath of the GradLIF unit).

    Per lane, in this order (``k = leak_shift``, ``M = mem_width``, ``theta = threshold``):

    1. Leak: ``vl = v - (v >> k)`` with ``>>`` arithmetic; ``vl = v`` when ``k = 0``.
       This equals ``ceil(v * (1 - 2**-k))``: the product is rounded toward plus infinity, so a
       positive membrane keeps up to one LSB more than the exact product and a negative one
       decays up to one LSB faster (e.g. ``k = 2``: ``v = 1 -> 1``, ``v = -1 -> 0``,
       ``v = 5 -> 4``, ``v = -5 -> -3``). ``vl`` lies between 0 and ``v``, so it fits ``M`` bits.
    2. Integrate: ``s = vl + current`` in ``sum_width = max(M, current_width) + 1`` bits (exact).
    3. Saturate: ``u = clamp(s, -2**(M-1), 2**(M-1) - 1)``.
    4. Fire: ``spike = 1 if u > theta else 0`` (strict, signed compare).
    5. Reset: ``v_next = 0`` (hard), ``u - theta`` (soft; ``0 < u - theta < 2**(M-1)``, no
       saturation needed) or ``u`` (none) where ``spike = 1``; ``v_next = u`` where ``spike = 0``.

    The RTL register reset (``rst``) clears every ``v`` to 0.

    Parameters
    ----------
    v : Tensor, int64, any shape
        Membrane after the previous reset; each value fits ``mem_width`` signed bits.
    current : Tensor, int64, same shape as ``v``
        Input current; each value fits ``current_width`` signed bits.
    p : GradLIFParams

    Returns
    -------
    spike, u, v_next : Tensor, int64, shape of ``v``
        Spike (0/1), membrane before reset (``mem_width`` signed) and after reset.

    Raises
    ------
    TypeError, ValueError
        Wrong dtype, shape mismatch, or an input out of its declared width.
    """
    p = _check_params(p)
    check_range(v, p.mem_width, name="v")
    check_range(current, p.current_width, name="current")
    _same_shape(v, current, "v and current")
    vl = v - asr(v, p.leak_shift) if p.leak_shift else v
    u = saturate(vl + current, p.mem_width)
    fire = u > p.threshold
    spike = fire.to(torch.int64)
    if p.reset == "hard":
        v_next = torch.where(fire, torch.zeros_like(u), u)
    elif p.reset == "soft":
        v_next = torch.where(fire, u - p.threshold, u)
    else:
        v_next = u.clone()
    return spike, u, v_next


def lif_forward_int_seq(currents: torch.Tensor, p: GradLIFParams, *,
                        v0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run :func:`lif_forward_int` over ``T`` timesteps from ``v0`` (zeros, i.e. after reset).

    Parameters
    ----------
    currents : Tensor, int64, shape ``(T, ..., N)``
        One current per timestep and lane, ``current_width`` signed bits.
    p : GradLIFParams
    v0 : Tensor, int64, shape ``currents.shape[1:]``, optional
        Initial membrane; defaults to zeros (the register's reset value).

    Returns
    -------
    spikes, membranes : Tensor, int64, shape ``(T, ..., N)``
        Spikes and the pre-reset membranes ``u[t]`` (what the unit stores for the backward
        pass).
    """
    p = _check_params(p)
    check_range(currents, p.current_width, name="currents")
    if currents.dim() < 1:
        raise ValueError("currents needs a leading time axis")
    v = torch.zeros_like(currents[0]) if v0 is None else v0
    spikes, membranes = [], []
    for t in range(currents.shape[0]):
        s, u, v = lif_forward_int(v, currents[t], p)
        spikes.append(s)
        membranes.append(u)
    if not spikes:
        return currents.clone(), currents.clone()
    return torch.stack(spikes), torch.stack(membranes)


def triangle_surrogate_int(u: torch.Tensor, p: GradLIFParams) -> torch.Tensor:
    """Return the triangle surrogate code ``h = max(0, g - |u - theta|)``.

    ``x = u - theta`` is exact in ``mem_width + 1`` signed bits and ``|x| <= 2**mem_width - 1``
    fits ``mem_width`` unsigned bits; ``h`` is unsigned, ``0 <= h <= g``
    (``h_width = g.bit_length()`` bits), with ``g = sg_width``.

    Relation to :func:`golden.surrogate` ``triangle`` (``(1/G**2) * max(0, G - |X|)``): with
    ``X = x * 2**-frac_bits`` and ``G = g * 2**-frac_bits``, the real surrogate is exactly
    ``h * 2**frac_bits / g**2``; for ``g = 2**m`` that is ``h * 2**(frac_bits - 2*m)``, i.e.
    the same piecewise-linear shape scaled by a power of two (``h * 2**-8`` by default).
    """
    p = _check_params(p)
    check_range(u, p.mem_width, name="u")
    return torch.clamp(p.sg_width - (u - p.threshold).abs(), min=0)


def grad_lif_backward_int(u: torch.Tensor, err: torch.Tensor, p: GradLIFParams) -> torch.Tensor:
    """Surrogate-gradient backward step: ``delta = sat((h(u - theta) * err) >> grad_shift)``.

    Per lane, in this order:

    1. ``h = triangle_surrogate_int(u, p)``: unsigned, ``h_width`` bits.
    2. ``prod = h * err``: exact, signed, ``product_width = h_width + err_width`` bits (an
       unsigned-by-signed multiplier; ``h = 0`` outside the window gives 0).
    3. ``q = prod >> grad_shift``: arithmetic shift, i.e. floor (a negative product rounds away
       from zero).
    4. ``delta = clamp(q, -2**(delta_width-1), 2**(delta_width-1) - 1)``.

    Float meaning: if ``err`` has ``e`` fraction bits and ``delta`` has ``d``, then
    ``delta = floor(h_real * err_real * 2**d)`` exactly (before saturation) when
    ``2**grad_shift = g**2 * 2**(e - d - frac_bits)``; the default ``grad_shift`` is this
    with ``e = d`` and ``g = 2**frac_bits`` (8). The result is then within one delta LSB
    below the float ``triangle(u - theta) * err``.

    Parameters
    ----------
    u : Tensor, int64
        Stored pre-reset membranes, ``mem_width`` signed bits.
    err : Tensor, int64, same shape as ``u``
        Error for each lane, ``err_width`` signed bits.
    p : GradLIFParams

    Returns
    -------
    Tensor, int64, shape of ``u``
        ``delta``, ``delta_width`` signed bits.
    """
    p = _check_params(p)
    check_range(err, p.err_width, name="err")
    _same_shape(u, err, "u and err")
    h = triangle_surrogate_int(u, p)
    return saturate(asr(h * err, p.grad_shift), p.delta_width)


def float_to_int_params(cfg: LIFConfig, *, mem_width: int = 16, frac_bits: int = 8,
                        current_width: int | None = None, err_width: int = 8,
                        delta_width: int = 8, err_frac_bits: int = 7,
                        delta_frac_bits: int = 7) -> GradLIFParams:
    """Map a float :class:`golden.lif.LIFConfig` to :class:`GradLIFParams`.

    * leak: ``cfg.effective_leak`` must be exactly ``1 - 2**-k`` for ``1 <= k < mem_width``
      (``k = leak_shift``) or 1.0 (``neuron="if"`` or leak 1; ``leak_shift = 0``).
    * threshold: ``round(threshold * 2**frac_bits)``, ties to even; it must land in
      ``[1, 2**(mem_width-1) - 1]``. (Thresholds off the grid are rounded, so they no longer
      match the float neuron exactly.)
    * reset: copied. ``detach_reset`` only affects autograd and is ignored.
    * surrogate: must be ``"triangle"`` with ``G * 2**frac_bits`` an exact power of two ``g``;
      ``grad_shift = 2*log2(g) - frac_bits + err_frac_bits - delta_frac_bits`` (must be >= 0),
      which makes ``delta`` the float ``h * err`` on the ``delta`` grid (see
      :func:`grad_lif_backward_int`). Default error and delta formats: 8 bits, 7 fraction
      bits (``[-1, 1)``, LSB 1/128).

    Raises
    ------
    TypeError
        ``cfg`` is not a ``LIFConfig``.
    ValueError
        The leak is not ``1 - 2**-k``, the threshold rounds out of range, the surrogate is not
        a triangle whose width is a power of two on the grid, or the shift would be negative.
    """
    if not isinstance(cfg, LIFConfig):
        raise TypeError(f"cfg must be a LIFConfig, not {type(cfg).__name__}")
    mem_width = check_int(mem_width, name="mem_width", minimum=2, maximum=62)
    frac_bits = check_int(frac_bits, name="frac_bits", minimum=0, maximum=62)
    err_frac_bits = check_int(err_frac_bits, name="err_frac_bits", minimum=0, maximum=62)
    delta_frac_bits = check_int(delta_frac_bits, name="delta_frac_bits", minimum=0, maximum=62)
    leak = cfg.effective_leak
    if leak == 1.0:
        k = 0
    else:
        k = next((k for k in range(1, mem_width) if 1.0 - math.ldexp(1.0, -k) == leak), None)
        if k is None:
            raise ValueError(f"leak {leak!r} is not 1 - 2**-k for 1 <= k < {mem_width}; "
                             f"a shift-only leak cannot represent it")
    theta = round(math.ldexp(float(cfg.threshold), frac_bits))
    if not 1 <= theta <= int_range(mem_width)[1]:
        raise ValueError(f"threshold {cfg.threshold!r} rounds to code {theta}, outside "
                         f"[1, {int_range(mem_width)[1]}] for mem_width={mem_width}")
    sg = cfg.surrogate
    if sg.name != "triangle":
        raise ValueError(f"only the triangle surrogate has an integer form, not {sg.name!r}")
    g_real = math.ldexp(float(sg.width), frac_bits)
    g = int(g_real)
    if g != g_real or g < 1 or g & (g - 1):
        raise ValueError(f"surrogate width {sg.width!r} is not a power of two on the "
                         f"2**-{frac_bits} grid")
    shift = 2 * (g.bit_length() - 1) - frac_bits + err_frac_bits - delta_frac_bits
    if shift < 0:
        raise ValueError(f"grad_shift would be {shift} (< 0) for surrogate width "
                         f"{sg.width!r}, err_frac_bits={err_frac_bits!r}, "
                         f"delta_frac_bits={delta_frac_bits!r}")
    return GradLIFParams(mem_width=mem_width, frac_bits=frac_bits, leak_shift=k,
                         threshold=theta, reset=cfg.reset, current_width=current_width,
                         sg_width=g, grad_shift=shift, err_width=err_width,
                         delta_width=delta_width)
