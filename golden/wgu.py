# SPDX-License-Identifier: MIT
"""Bit-exact reference of the SRAM-based weight-gradient unit (WGU).

The WGU (DFA_Sim Sec. III) keeps one signed gradient word per weight, ``G[out, in]``, in SRAM
and updates it by read-modify-write. The update for one (timestep, sample) is the outer product
``delta (x) s`` of the layer's ``delta`` (from the GradLIF backward pass) and its binary input
spikes ``s``, so no multiplier is needed: ``G[i, j] += delta[i]`` wherever ``s[j] = 1``.

The SRAM itself has no reset: the controller must clear ``G`` (a clear-on-read
:func:`wgu_readout` or an explicit zero fill) before the first accumulation window.
"""
from __future__ import annotations

import torch

from .fixed import asr, check_int, check_range, check_width, round_shift, saturate_flag
from .params import MAX_WIDTH, READOUT_ROUNDINGS, WGUParams, check_bool, check_readout

__all__ = ["READOUT_ROUNDINGS", "WGUParams", "wgu_accumulate", "wgu_readout"]


def wgu_accumulate(G: torch.Tensor, delta: torch.Tensor, spikes: torch.Tensor, *,
                   grad_width: int = 16, delta_width: int = 8
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Accumulate ``delta (x) s`` into the gradient memory, saturating after every update.

    The ``(t, b)`` pairs are applied one at a time in row-major order of the leading two axes
    (``t`` outer, ``b`` inner: ``(0,0), (0,1), ..., (1,0), ...``); this is the order of the RTL
    update stream, which sees the same tensors flattened to ``T * B`` beats. For each beat and
    each element::

        s_sum       = G[i, j] + (delta[t, b, i] if spikes[t, b, j] else 0)   # grad_width+1 bits
        G[i, j]     = clamp(s_sum, -2**(grad_width-1), 2**(grad_width-1) - 1)
        overflow[i, j] |= (s_sum != G[i, j])

    Saturation after each add makes the result order-dependent (8-bit ``G = 120``, deltas
    ``+10`` then ``-10`` give 117, ``-10`` then ``+10`` give 120); for sample-major order pass
    ``delta.transpose(0, 1)`` and ``spikes.transpose(0, 1)``. Without any clamping the result
    equals ``G + einsum("tbi,tbj->ij", delta, spikes)``.

    Parameters
    ----------
    G : Tensor, int64, shape ``(out, in)``
        Gradient memory contents, ``grad_width`` signed bits (zeros after a clear or reset).
    delta : Tensor, int64, shape ``(T, B, out)``
        Output-side deltas, ``delta_width`` signed bits.
    spikes : Tensor, int64, shape ``(T, B, in)``
        Input spikes, 0 or 1.
    grad_width : int
        Signed width of a gradient word. Default 16.
    delta_width : int
        Signed width of ``delta``. Default 8 (``GradLIFParams.delta_width``).

    Returns
    -------
    G : Tensor, int64, shape ``(out, in)``
        Updated gradient memory.
    overflow : Tensor, bool, shape ``(out, in)``
        True for words that clamped at least once during this call.
    """
    grad_width = check_width(grad_width, name="grad_width")
    delta_width = check_int(delta_width, name="delta_width", minimum=1, maximum=MAX_WIDTH - 1)
    check_range(G, grad_width, name="G")
    check_range(delta, delta_width, name="delta")
    check_range(spikes, 1, signed=False, name="spikes")
    if G.dim() != 2 or delta.dim() != 3 or spikes.dim() != 3:
        raise ValueError(f"expected G (out, in), delta (T, B, out), spikes (T, B, in); got "
                         f"{tuple(G.shape)}, {tuple(delta.shape)}, {tuple(spikes.shape)}")
    n_out, n_in = G.shape
    if delta.shape[:2] != spikes.shape[:2] or delta.shape[2] != n_out or spikes.shape[2] != n_in:
        raise ValueError(f"shape mismatch: G {tuple(G.shape)}, delta {tuple(delta.shape)}, "
                         f"spikes {tuple(spikes.shape)}")
    d = delta.reshape(-1, n_out)
    s = spikes.reshape(-1, n_in).bool()
    overflow = torch.zeros(G.shape, dtype=torch.bool)
    G = G.clone()
    for beat in range(d.shape[0]):
        add = torch.where(s[beat][None, :], d[beat][:, None], 0)
        G, clamped = saturate_flag(G + add, grad_width)
        overflow |= clamped
    return G, overflow


def wgu_readout(G: torch.Tensor, *, grad_width: int = 16, shift: int = 0,
                out_width: int | None = None, rounding: str = "floor",
                clear: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Read the gradient memory out as weight-update words.

    The parameters are those of :class:`golden.params.WGUParams` (checked the same way).
    Each word is shifted right by ``shift`` with ``rounding`` (``"floor"``: arithmetic shift;
    ``"half_up"``: ``(G + 2**(shift-1)) >> shift``, ties toward plus infinity, one extra adder
    bit) and then saturated to ``out_width`` signed bits (``None``: ``grad_width``). With
    ``clear=True`` the memory is zeroed by the same read (clear-on-read), ready for the next
    accumulation window. The sign and learning rate of the weight write are applied downstream.

    Returns
    -------
    update : Tensor, int64, shape of ``G``
        ``out_width``-bit signed update words.
    G_next : Tensor, int64, shape of ``G``
        The memory after the read: zeros if ``clear`` else an unchanged copy.
    """
    grad_width, shift, out_width, rounding = check_readout(
        grad_width=grad_width, shift=shift, out_width=out_width, rounding=rounding)
    check_bool(clear, name="clear")
    check_range(G, grad_width, name="G")
    shifted = asr(G, shift) if rounding == "floor" else round_shift(G, shift)
    update, _ = saturate_flag(shifted, out_width)
    return update, (torch.zeros_like(G) if clear else G.clone())
