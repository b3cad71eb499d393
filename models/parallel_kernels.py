# SPDX-License-Identifier: MIT
"""Running the compiled kernels' parallel loops on the threads torch uses.

The kernels (:mod:`models.neuron_kernels`, :mod:`models.crossbar.sparse_read`) are numba
functions with one ``prange`` loop over ``chunks`` independent slices of their work. Each
element (a read, a neuron) is computed by one thread in a fixed order, so results do not depend
on the thread count: same inputs, same bits, on one thread or many.
"""
from __future__ import annotations

import threading

import numba
import torch

__all__ = ["run_parallel", "chunk_count"]

_WORKQUEUE_LOCK = threading.Lock()


def chunk_count(items: int, per_chunk: int) -> int:
    """Slices of at most ``per_chunk`` items covering ``items`` (at least one)."""
    return max(1, -(-items // per_chunk))


def run_parallel(kernel, *args) -> None:
    """Call ``kernel(*args)`` on as many of numba's threads as torch uses for its own
    operations (``torch.get_num_threads``, so ``OMP_NUM_THREADS`` bounds both)."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
    try:
        layer = numba.threading_layer()
    except ValueError:                           # no parallel region has run yet
        layer = None
    if layer in ("omp", "tbb"):
        kernel(*args)
        return
    # numba's fallback thread pool ("workqueue") must not be entered from two threads at once.
    with _WORKQUEUE_LOCK:
        kernel(*args)
