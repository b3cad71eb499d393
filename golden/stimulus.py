# SPDX-License-Identifier: MIT
"""Seeded integer stimulus generators shared by the amaranth.sim and cocotb test tiers.

Every generator takes ``seed=`` explicitly and builds its own ``torch.Generator`` (CPU), so the
same call gives the same ``int64`` tensor in either tier and in any process. ``seed=None`` uses
:func:`default_seed`: the integer in the environment variable ``DFASIM_SEED`` if it is set
(read at each call, so a failing run can be replayed with ``DFASIM_SEED=<n> pytest ...``),
else :data:`FALLBACK_SEED` (0).
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from .params import MAX_WIDTH, check_int, check_width, int_range

__all__ = [
    "SEED_ENV", "FALLBACK_SEED", "default_seed", "make_rng", "uniform_ints", "random_ints",
    "random_currents",
    "random_errors", "random_adc_codes", "random_slice_codes", "random_spikes",
    "random_gradients", "saturation_corners", "threshold_corners", "all_ones_spikes",
]

SEED_ENV = "DFASIM_SEED"
FALLBACK_SEED = 0
_MAX_SEED = (1 << 63) - 1


def default_seed() -> int:
    """Return ``int(os.environ["DFASIM_SEED"])`` if set, else :data:`FALLBACK_SEED`.

    Raises ``ValueError`` naming the variable's value if it is not a non-negative integer.
    """
    raw = os.environ.get(SEED_ENV)
    if raw is None or raw.strip() == "":
        return FALLBACK_SEED
    try:
        seed = int(raw.strip(), 0)
    except ValueError:
        raise ValueError(f"{SEED_ENV}={raw!r} is not an integer") from None
    if not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"{SEED_ENV}={raw!r} is outside [0, 2**63 - 1]")
    return seed


def make_rng(seed: int | None = None) -> torch.Generator:
    """Return a CPU ``torch.Generator`` seeded with ``seed`` (``None``: :func:`default_seed`)."""
    seed = default_seed() if seed is None else check_int(seed, name="seed", minimum=0,
                                                         maximum=_MAX_SEED)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, Sequence) or isinstance(shape, str):
        raise TypeError(f"shape must be an int or a sequence of ints, not {shape!r}")
    return tuple(check_int(n, name="shape entry", minimum=0) for n in shape)


def uniform_ints(shape, low: int, high: int, *, seed: int | None = None) -> torch.Tensor:
    """Return integers uniform in ``[low, high]`` (inclusive); the bounds may be any values of
    a 63-bit signed word."""
    lo, hi = int_range(MAX_WIDTH)
    low = check_int(low, name="low", minimum=lo, maximum=hi)
    high = check_int(high, name="high", minimum=low, maximum=hi)
    return torch.randint(low, high + 1, _shape(shape), generator=make_rng(seed),
                         dtype=torch.int64)


def random_ints(shape, width: int, *, signed: bool = True, low: int | None = None,
                high: int | None = None, seed: int | None = None) -> torch.Tensor:
    """Return uniform integers in ``[low, high]`` (inclusive; defaults: the full range of
    ``width`` bits, ``width <= 62``)."""
    width = check_width(width, maximum=MAX_WIDTH - 1)
    lo, hi = int_range(width, signed=signed)
    low = lo if low is None else check_int(low, name="low", minimum=lo, maximum=hi)
    high = hi if high is None else check_int(high, name="high", minimum=low, maximum=hi)
    return uniform_ints(shape, low, high, seed=seed)


def random_currents(shape, *, width: int = 16, max_abs: int | None = None,
                    seed: int | None = None) -> torch.Tensor:
    """Return signed currents, uniform in ``[-max_abs, max_abs]`` (default: the full range).

    A ``max_abs`` of a few thresholds keeps the LIF out of saturation and spiking sometimes.
    """
    hi = int_range(check_width(width), signed=True)[1]
    if max_abs is None:
        return random_ints(shape, width, seed=seed)
    max_abs = check_int(max_abs, name="max_abs", minimum=0, maximum=hi)
    return random_ints(shape, width, low=-max_abs, high=max_abs, seed=seed)


def random_errors(shape, *, width: int = 8, seed: int | None = None) -> torch.Tensor:
    """Return signed errors uniform over the full ``width``-bit range."""
    return random_ints(shape, width, seed=seed)


def random_gradients(shape, *, width: int = 16, seed: int | None = None) -> torch.Tensor:
    """Return signed gradient words uniform over the full ``width``-bit range."""
    return random_ints(shape, width, seed=seed)


def random_adc_codes(shape, *, adc_bits: int = 4, seed: int | None = None) -> torch.Tensor:
    """Return unsigned ADC codes uniform in ``[0, 2**adc_bits - 1]``."""
    return random_ints(shape, adc_bits, signed=False, seed=seed)


def random_slice_codes(shape, *, adc_bits: int = 4, seed: int | None = None) -> torch.Tensor:
    """Return differential slice codes ``pos - neg`` of two independent ADC codes.

    Values lie in ``[-(2**adc_bits - 1), 2**adc_bits - 1]`` (``adc_bits + 1`` signed bits).
    """
    g = make_rng(seed)
    hi = (1 << check_width(adc_bits, name="adc_bits", maximum=MAX_WIDTH - 2)) - 1
    shape = _shape(shape)
    pos = torch.randint(0, hi + 1, shape, generator=g, dtype=torch.int64)
    neg = torch.randint(0, hi + 1, shape, generator=g, dtype=torch.int64)
    return pos - neg


def random_spikes(shape, *, rate: float = 0.5, seed: int | None = None) -> torch.Tensor:
    """Return Bernoulli(``rate``) spikes as ``int64`` 0/1."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be a number in [0, 1], not {rate!r}")
    u = torch.rand(_shape(shape), generator=make_rng(seed), dtype=torch.float64)
    return (u < rate).to(torch.int64)


def all_ones_spikes(shape) -> torch.Tensor:
    """Return spikes that are all 1 (every input row active: the largest column sums)."""
    return torch.ones(_shape(shape), dtype=torch.int64)


def saturation_corners(width: int, *, signed: bool = True) -> torch.Tensor:
    """Return the distinct corner values of a ``width``-bit word, ascending.

    Signed: ``min, min+1, -1, 0, 1, max-1, max``; unsigned: ``0, 1, max-1, max`` (values that
    coincide for tiny widths appear once).
    """
    lo, hi = int_range(check_width(width), signed=signed)
    cand = [lo, lo + 1, -1, 0, 1, hi - 1, hi]
    return torch.tensor(sorted({c for c in cand if lo <= c <= hi}), dtype=torch.int64)


def threshold_corners(threshold: int, *, width: int = 16, spread: int = 2) -> torch.Tensor:
    """Return ``threshold - spread .. threshold + spread`` (clipped to ``width`` signed bits).

    Used as membranes or currents just below, at and just above the firing threshold (the
    compare is strict, so ``threshold`` itself must not fire).
    """
    lo, hi = int_range(check_width(width), signed=True)
    threshold = check_int(threshold, name="threshold", minimum=lo, maximum=hi)
    spread = check_int(spread, name="spread", minimum=0)
    return torch.arange(max(lo, threshold - spread), min(hi, threshold + spread) + 1,
                        dtype=torch.int64)
