# SPDX-License-Identifier: MIT
"""Seeded GradLIF test vectors and their golden forward and backward results."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...golden.grad_lif import GradLIFParams, grad_lif_backward_int, lif_forward_int_seq
from ...golden.stimulus import random_currents, random_errors, random_ints
from .seeds import sub_seed

__all__ = ["GradLIFVectors", "grad_lif_vectors", "grad_lif_corner_vectors", "reference_forward",
           "reference_backward"]


@dataclass(frozen=True)
class GradLIFVectors:
    """``samples`` x ``steps`` forward beats of ``lanes`` lanes plus one backward beat per step.

    Members
    -------
    seed, lanes, samples, steps : int
        Generation arguments; ``(seed, sample, step)`` identifies a vector for replay.
    params : GradLIFParams
    currents, errs : list, ``[sample][step][lane]``
        Forward currents (a sample starts with ``first = 1``) and backward errors.
    order : list, ``[sample][j]``
        The order in which the backward beats of a sample are sent (a permutation of steps).
    spikes, u, delta : list, ``[sample][step][lane]``
        Golden spike, pre-reset membrane and ``delta`` for ``errs[sample][step]``.
    """

    seed: int
    lanes: int
    samples: int
    steps: int
    params: GradLIFParams
    currents: list
    errs: list
    order: list
    spikes: list
    u: list
    delta: list

    def replay(self, sample: int, step: int) -> str:
        """Describe vector ``(sample, step)`` so that it can be regenerated and rerun."""
        return (f"seed={self.seed} sample={sample} step={step} "
                f"index={sample * self.steps + step} lanes={self.lanes} "
                f"samples={self.samples} steps={self.steps} params={self.params} "
                f"first={int(step == 0)} current={self.currents[sample][step]} "
                f"err={self.errs[sample][step]} expected: spike={self.spikes[sample][step]} "
                f"u={self.u[sample][step]} delta={self.delta[sample][step]}")


def grad_lif_vectors(params: GradLIFParams, *, lanes: int, samples: int, steps: int,
                     seed: int) -> GradLIFVectors:
    """Generate seeded GradLIF vectors and their golden results.

    Each sample draws its currents from one of three mixes, so that both the spiking regime
    and saturation get exercised: currents within ``+-2*threshold`` (two samples in four),
    the full ``current_width`` range (saturation at both ends) and small positive currents
    (slow integration up to the threshold). Errors span the full ``err_width`` range.
    """
    p = params
    shape = (samples, steps, lanes)
    hi = (1 << (p.current_width - 1)) - 1
    small = random_currents(shape, width=p.current_width, max_abs=min(hi, max(4, 2 * p.threshold)),
                            seed=sub_seed(seed, 0))
    full = random_currents(shape, width=p.current_width, seed=sub_seed(seed, 1))
    creep = random_ints(shape, p.current_width, low=0, high=min(hi, max(1, p.threshold // 4)),
                        seed=sub_seed(seed, 2))
    mix = random_ints((samples, 1, 1), 2, signed=False, seed=sub_seed(seed, 3))
    currents = torch.where(mix <= 1, small, torch.where(mix == 2, full, creep))
    errs = random_errors(shape, width=p.err_width, seed=sub_seed(seed, 4))
    return _golden(p, currents, errs, seed)


def _golden(p: GradLIFParams, currents: torch.Tensor, errs: torch.Tensor,
            seed: int) -> GradLIFVectors:
    """Complete ``currents`` and ``errs`` (``(samples, steps, lanes)``) into vectors: a
    seeded backward order and the golden forward and backward results."""
    samples, steps, lanes = currents.shape
    keys = random_ints((samples, steps), 31, signed=False, seed=sub_seed(seed, 5))
    order = torch.argsort(keys, dim=1, stable=True)
    spikes, u = lif_forward_int_seq(currents.transpose(0, 1), p)
    spikes, u = spikes.transpose(0, 1), u.transpose(0, 1)
    delta = grad_lif_backward_int(u, errs, p)
    return GradLIFVectors(seed=seed, lanes=lanes, samples=samples, steps=steps, params=p,
                          currents=currents.tolist(), errs=errs.tolist(),
                          order=order.tolist(), spikes=spikes.tolist(), u=u.tolist(),
                          delta=delta.tolist())


def grad_lif_corner_vectors(params: GradLIFParams, *, lanes: int, steps: int,
                            seed: int) -> GradLIFVectors:
    """Directed corner samples of GradLIF with their golden results (three samples).

    Sample 0 starts every lane with ``current = threshold``, so ``u == threshold`` at step 0
    (no spike: the compare is strict; the surrogate is at its peak) and the largest and
    smallest errors there give the largest ``|delta|`` (saturated with the default widths);
    samples 1 and 2 drive the largest and the smallest current at every step, which saturates
    ``u`` at the top and at the bottom of ``mem_width``. Later steps of sample 0 and the errors
    elsewhere are seeded random.
    """
    p = params
    shape = (3, steps, lanes)
    lo, hi = -(1 << (p.current_width - 1)), (1 << (p.current_width - 1)) - 1
    currents = random_currents(shape, width=p.current_width,
                               max_abs=min(hi, max(4, 2 * p.threshold)), seed=sub_seed(seed, 0))
    currents[0, 0] = min(hi, p.threshold)
    currents[1] = hi
    currents[2] = lo
    errs = random_errors(shape, width=p.err_width, seed=sub_seed(seed, 4))
    e_lo, e_hi = -(1 << (p.err_width - 1)), (1 << (p.err_width - 1)) - 1
    errs[0, 0] = torch.where(torch.arange(lanes) % 2 == 0, e_hi, e_lo)
    return _golden(p, currents, errs, seed)


def reference_forward(currents: list, first: list, params: GradLIFParams, *,
                      max_timesteps: int) -> tuple[list, list, list]:
    """Return golden ``(spikes, u, steps)`` for a beat sequence with arbitrary ``first`` flags.

    ``currents`` is ``[beat][lane]``; the membranes start from 0 at beat 0 (after ``rst``) and
    at every beat with ``first`` set. ``steps`` is the store address of each beat: 0 at those
    beats, then counting up modulo ``max_timesteps``.
    """
    spikes, us, steps = [], [], []
    start = 0
    bounds = [b for b in range(1, len(currents)) if first[b]] + [len(currents)]
    for end in bounds:
        if end > start:
            s, u = lif_forward_int_seq(torch.tensor(currents[start:end], dtype=torch.int64),
                                       params)
            spikes += s.tolist()
            us += u.tolist()
            steps += [t % max_timesteps for t in range(end - start)]
        start = end
    return spikes, us, steps


def reference_backward(u: list, errs: list, params: GradLIFParams) -> list:
    """Return golden ``delta`` (``[beat][lane]``) for stored membranes and errors."""
    return grad_lif_backward_int(torch.tensor(u, dtype=torch.int64),
                                 torch.tensor(errs, dtype=torch.int64), params).tolist()
