# SPDX-License-Identifier: MIT
"""Compiled neuron arithmetic of the deployed network, bit for bit the golden functions: the LIF
recurrence of the forward pass and the GradLIF unit's triangle surrogate ``h(u - theta)``.

:func:`golden.lif.lif_forward` runs the recurrence as a handful of tensor operations per
timestep: over 128 timesteps and four layers that is ~2,500 small kernels per batch, each a few
microseconds of dispatch for a few thousand elements (measured: 20.6 ms of a 46 ms UCI-HAR DFA
adaptation step on 2 threads, ``docs/benchmarks.md``). The recurrence is element-wise and
sequential only in time, so one compiled loop over ``(t, neuron)`` does the same work in one
pass without the dispatch.

Bit for bit: the loop performs the same IEEE-754 operations in the same order and precision as
:func:`golden.lif._lif_forward_no_grad` (itself bit for bit :func:`golden.lif.lif_step`):
``u = v * leak + I`` (or ``u = v + (I - v) * gain`` with ``decay_input``), the spike as the
comparison ``u > threshold`` (or ``>=``), the hard reset as the product ``u * [u <= threshold]``
(not a select, so NaN and infinity behave as there), the soft reset ``u - s * threshold``.
Numba compiles without ``fastmath``, so LLVM neither contracts ``v * leak + I`` into a fused
multiply-add nor reorders anything; ``tests/models/test_neuron_kernels.py`` checks equality on
random currents with NaN, infinities and signed zeros for every reset, firing rule and neuron.

The triangle surrogate (:func:`surrogate_fast`) is four tensor passes in
:func:`golden.surrogate.Surrogate.grad` (``u - theta``, ``abs``, ``g - a``, ``clamp``) over every
neuron-timestep of a batch; the kernel makes them one, with the same roundings: ``u - theta``
and ``g - |x|`` in the tensor's precision, the clamp as ``a < 0 ? 0 : a`` (NaN passes as
``torch.clamp`` passes it), and the division by ``g * g`` only when it is not 1, as there.
Given the error GradLIF multiplies it by (``scale``), the same pass writes the delta, each
surrogate value rounded as the surrogate tensor holds it and then multiplied, as
``h.mul_(error)`` does: one pass over every neuron-timestep instead of two.

Where a kernel does not apply (a GPU tensor, a tensor that needs a gradient, a half type, an
initial membrane, another surrogate) the golden function runs.
"""
from __future__ import annotations

import numba
import numpy as np
import torch

from ..golden.lif import LIFConfig, lif_forward
from ..golden.surrogate import Surrogate
from .parallel_kernels import chunk_count, run_parallel

__all__ = ["lif_forward_fast", "kernel_applies", "surrogate_fast"]

#: Reset modes as the small integers the compiled loop branches on.
_RESET_CODES = {"hard": 0, "soft": 1, "none": 2}


@numba.njit(cache=True, nogil=True, inline="always")
def _lif_default_step(current, spike, membrane, v, leak, theta, one, zero):
    """One timestep of the default neuron (leaky input, ``u > theta``, hard reset) over 1-D
    views, without a branch in the loop so that it vectorises: the operations of
    :func:`_lif_loop`'s general path for these flags."""
    for i in range(v.shape[0]):
        u = v[i] * leak + current[i]
        membrane[i] = u
        spike[i] = one if u > theta else zero
        v[i] = u * (one if u <= theta else zero)


@numba.njit(cache=True, nogil=True, parallel=True)
def _lif_loop(currents, spikes, membrane, leak, gain, threshold, decay, fire_ge, reset, chunks):
    """``currents (T, M)`` -> ``spikes``, ``membrane (T, M)`` written in place, the neurons in
    ``chunks`` parallel slices (each neuron's recurrence is its own).

    ``leak``, ``gain`` and ``threshold`` are rounded to the arrays' dtype first, so every
    product and sum is rounded to that precision exactly as the tensor operations (with 0-dim
    tensors of that dtype) round it. Each timestep works on 1-D views of the slice (indexing
    the 2-D arrays inside the parallel loop keeps LLVM from vectorising).
    """
    steps, width = currents.shape
    one = spikes.dtype.type(1.0)
    zero = spikes.dtype.type(0.0)
    leak_t = spikes.dtype.type(leak)
    gain_t = spikes.dtype.type(gain)
    theta = spikes.dtype.type(threshold)
    default = not decay and not fire_ge and reset == 0
    for chunk in numba.prange(chunks):
        first = width * chunk // chunks
        last = width * (chunk + 1) // chunks
        v = np.zeros(last - first, dtype=currents.dtype)
        for t in range(steps):
            cur = currents[t, first:last]
            mem = membrane[t, first:last]
            spk = spikes[t, first:last]
            if default:
                _lif_default_step(cur, spk, mem, v, leak_t, theta, one, zero)
                continue
            for i in range(v.shape[0]):
                if decay:
                    u = v[i] + (cur[i] - v[i]) * gain_t
                else:
                    u = v[i] * leak_t + cur[i]
                mem[i] = u
                if fire_ge:
                    s = one if u >= theta else zero
                else:
                    s = one if u > theta else zero
                spk[i] = s
                if reset == 0:
                    # a product with [u below threshold], not a select: NaN and inf as in torch
                    if fire_ge:
                        v[i] = u * (one if u < theta else zero)
                    else:
                        v[i] = u * (one if u <= theta else zero)
                elif reset == 1:
                    v[i] = u - s * theta
                else:
                    v[i] = u


#: Neurons (or elements) per parallel slice of the compiled loops.
_PER_CHUNK = 2048


def kernel_applies(currents: torch.Tensor, v0: torch.Tensor | None = None) -> bool:
    """Whether :func:`lif_forward_fast` runs the compiled loop for these arguments."""
    return (v0 is None and currents.device.type == "cpu" and currents.dim() >= 1
            and currents.shape[0] > 0 and currents.dtype in (torch.float32, torch.float64)
            and not (torch.is_grad_enabled() and currents.requires_grad))


def lif_forward_fast(currents: torch.Tensor, cfg: LIFConfig,
                     v0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`golden.lif.lif_forward` (same arguments, same bits), compiled on the CPU.

    Returns ``spikes, membrane`` of ``currents``' shape ``(T, ..., N)``.
    """
    if not kernel_applies(currents, v0):
        return lif_forward(currents, cfg, v0)
    flat = currents.detach().reshape(currents.shape[0], -1).contiguous()
    spikes = torch.empty_like(flat)
    membrane = torch.empty_like(flat)
    decay = bool(cfg.decay_input and cfg.neuron == "lif")
    run_parallel(_lif_loop, flat.numpy(), spikes.numpy(), membrane.numpy(),
                 float(cfg.effective_leak), 1.0 - float(cfg.leak), float(cfg.threshold), decay,
                 cfg.fire == "ge", _RESET_CODES[cfg.reset],
                 chunk_count(flat.shape[1], _PER_CHUNK))
    return spikes.reshape(currents.shape), membrane.reshape(currents.shape)


@numba.njit(cache=True, nogil=True, inline="always")
def _triangle_segment(src, dst, scale, scaled, divide, theta, g, g_sq, zero):
    """:func:`_triangle_loop` on 1-D views of equal length (``scale`` too, when ``scaled``):
    the flags decided outside the element loops, so that each loop vectorises."""
    if scaled:
        if divide:
            for i in range(src.shape[0]):
                a = g - abs(src[i] - theta)
                dst[i] = ((zero if a < zero else a) / g_sq) * scale[i]
        else:
            for i in range(src.shape[0]):
                a = g - abs(src[i] - theta)
                dst[i] = (zero if a < zero else a) * scale[i]
    elif divide:
        for i in range(src.shape[0]):
            a = g - abs(src[i] - theta)
            dst[i] = (zero if a < zero else a) / g_sq
    else:
        for i in range(src.shape[0]):
            a = g - abs(src[i] - theta)
            dst[i] = zero if a < zero else a


@numba.njit(cache=True, nogil=True, parallel=True)
def _triangle_loop(membrane, out, scale, threshold, width, width_sq, divide, chunks):
    """``out = max(width - |membrane - threshold|, 0) [/ width_sq] [* scale]``, element-wise
    in ``chunks`` parallel slices, the scalars rounded to the arrays' dtype first.

    ``scale`` (empty: none) repeats along the flat arrays with its own length as the period:
    the whole shape, or one timestep of a time-independent error. Each value is rounded as the
    surrogate tensor would hold it before the product, as ``h.mul_(scale)`` rounds it.
    """
    flat_in = membrane.reshape(-1)
    flat_out = out.reshape(-1)
    size = flat_in.size
    period = scale.size
    scaled = period > 0
    zero = out.dtype.type(0.0)
    theta = out.dtype.type(threshold)
    g = out.dtype.type(width)
    g_sq = out.dtype.type(width_sq)
    for chunk in numba.prange(chunks):
        start = size * chunk // chunks
        end = size * (chunk + 1) // chunks
        # 1-D views of the slice, cut where the scale's period restarts.
        while start < end:
            offset = start % period if scaled else 0
            stop = min(end, start + period - offset) if scaled else end
            _triangle_segment(flat_in[start:stop], flat_out[start:stop],
                              scale[offset:offset + stop - start], scaled, divide, theta, g,
                              g_sq, zero)
            start = stop


def surrogate_fast(membrane: torch.Tensor, threshold: float, surrogate: Surrogate,
                   scale: torch.Tensor | None = None) -> torch.Tensor:
    """``surrogate.grad(membrane - threshold)`` (same bits), one compiled pass for the triangle
    surrogate on a CPU float tensor; the golden tensor operations otherwise.

    ``scale`` (optional) multiplies the surrogate, broadcast as ``h * scale`` broadcasts: of
    ``membrane``'s shape, or of its shape with a leading 1 (one timestep's values for every
    timestep). The product is the surrogate tensor's values times ``scale``, rounded once, as
    ``h.mul_(scale)``: GradLIF's delta without a second pass.
    """
    if surrogate.name != "triangle" or not kernel_applies(membrane):
        h = surrogate.grad(membrane - threshold)
        return h if scale is None else _scaled(h, scale)
    periodic = scale is not None and (
        tuple(scale.shape) == tuple(membrane.shape)
        or (scale.dim() == membrane.dim() and scale.shape[0] == 1
            and tuple(scale.shape[1:]) == tuple(membrane.shape[1:])))
    if scale is not None and not (periodic and kernel_applies(scale)
                                  and scale.dtype == membrane.dtype):
        return _scaled(surrogate_fast(membrane, threshold, surrogate), scale)
    src = membrane.detach().contiguous()
    out = torch.empty_like(src)
    factor = (scale.detach().contiguous().reshape(-1) if scale is not None
              else torch.empty(0, dtype=src.dtype, device="cpu"))
    width = float(surrogate.width)
    run_parallel(_triangle_loop, src.numpy(), out.numpy(), factor.numpy(), float(threshold),
                 width, width * width, width * width != 1.0,
                 chunk_count(src.numel(), 16 * _PER_CHUNK))
    return out


def _scaled(h: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``h * scale``, in place where ``h`` keeps its shape (``h`` is a fresh tensor)."""
    if scale.dim() == h.dim() and all(p in (1, q) for p, q in zip(scale.shape, h.shape)):
        return h.mul_(scale)
    return scale * h
