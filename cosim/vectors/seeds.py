# SPDX-License-Identifier: MIT
"""Derived seeds and chunking of long seeded runs, shared by every block's test vectors."""
from __future__ import annotations

__all__ = ["sub_seed", "chunks"]

_SEED_MASK = (1 << 63) - 1


def sub_seed(seed: int, k: int) -> int:
    """Return the ``k``-th derived seed of ``seed`` (independent streams for one test seed)."""
    return (seed * 0x9E3779B97F4A7C15 + k * 0xBF58476D1CE4E5B9 + k) & _SEED_MASK


def chunks(seed: int, total: int, size: int):
    """Yield ``(chunk_seed, n)`` that split ``total`` vectors into chunks of at most ``size``.

    Chunk 0 uses ``seed`` itself, so a short run replays with the test seed directly; later
    chunks derive theirs with :func:`sub_seed`. Chunking bounds the memory of long runs.
    """
    for k, first in enumerate(range(0, total, size)):
        yield (seed if k == 0 else sub_seed(seed, 1000 + k)), min(size, total - first)
