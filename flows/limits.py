# SPDX-License-Identifier: MIT
"""What a run will need (memory, compute time) before it starts, and the refusal of one that
cannot fit: a 10⁹-neuron layer or 10¹² timesteps is a one-line error, not an allocation
traceback minutes later.

The estimates are deliberately generous upper bounds (every saved tensor of a training step,
the copies made for checkpointing) so that no run the machine can do is refused; they are not
predictions of the peak.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from ..golden.network import NetworkSpec
from .errors import DfasimError

__all__ = ["ResourceEstimate", "train_estimate", "adapt_estimate", "available_memory_bytes",
           "check_fits", "MAX_RUN_SECONDS", "OPTIMISTIC_FLOPS"]

#: Bytes of a float32 value.
_F32 = 4
#: Parameter-sized float32 copies while training: weights, gradients, two Adam moments, and the
#: state dict plus its serialised buffer written after every epoch.
_TRAIN_PARAM_COPIES = 8
#: Saved float32 values per neuron and timestep of one sample in a training step: membrane,
#: spike, surrogate gradient and autograd's own saved tensors (the layer input counts apart).
_TRAIN_SAVED_PER_NEURON = 5
#: Per neuron and timestep when only evaluating: membrane and spike of the trace.
_EVAL_SAVED_PER_NEURON = 3
#: Evaluation batch of :func:`dfasim.flows.evaluation.evaluate` and of the analog chips.
_EVAL_BATCH = 256
#: Bytes per crossbar cell of one simulated chip: two conductances, two device personalities,
#: the level (int64) and read-time temporaries, in float64 at worst.
_CELL_BYTES = 64
#: Chip copies alive at once during adaptation: the programmed chip, the copy being adapted,
#: the pickled state written after every epoch.
_CHIP_COPIES = 4
#: Multiply-accumulates of a training step relative to the forward pass (forward, error
#: propagation, weight update).
_TRAIN_PASSES = 3
#: Slow-down of the crossbar simulation over a plain matrix product (quantisation, ADC, noise).
_CROSSBAR_OVERHEAD = 4
#: A compute rate no machine this runs on exceeds (FLOP/s): time estimates use it so that they
#: are lower bounds, and a refusal on time is certain.
OPTIMISTIC_FLOPS = {"cpu": 1e12, "cuda": 1e15}
#: Runs estimated to need more than this even at :data:`OPTIMISTIC_FLOPS` are refused.
MAX_RUN_SECONDS = 30 * 24 * 3600.0


@dataclass(frozen=True)
class ResourceEstimate:
    """What one run needs: peak memory (upper bound) and compute (lower bound on time)."""

    #: What is estimated, for the message: e.g. ``training network 6-256-4 (T=100, batch 10)``.
    what: str
    memory_bytes: float
    flops: float


def _params(spec: NetworkSpec) -> int:
    return sum(a * b for a, b in zip(spec.layers[:-1], spec.layers[1:]))


def _activation_values(spec: NetworkSpec, batch: int, per_neuron: int) -> int:
    """Float values the per-timestep trace of one batch holds (inputs plus per-neuron state)."""
    per_step = sum(n_in + per_neuron * n_out for n_in, n_out in zip(spec.layers[:-1],
                                                                     spec.layers[1:]))
    return batch * spec.timesteps * per_step


def _describe(spec: NetworkSpec, batch: int) -> str:
    return (f"network {'-'.join(map(str, spec.layers))} (T={spec.timesteps}, "
            f"batch {batch})")


def train_estimate(spec: NetworkSpec, *, n_train: int, n_test: int, batch_size: int,
                   epochs: int) -> ResourceEstimate:
    """Memory and compute of ``dfasim train`` (any rule; BPTT's saved graph is the bound).

    Parameters
    ----------
    spec : NetworkSpec
        The network, its timesteps included.
    n_train, n_test : int
        Samples of the two splits.
    batch_size : int
        Training mini-batch.
    epochs : int
        Training epochs (each also evaluates the test split once).
    """
    batch = max(1, min(batch_size, n_train))
    params = _params(spec)
    # DFA's B matrices: classes x hidden width per hidden layer.
    feedback = spec.layers[-1] * sum(spec.layers[1:-1])
    activations = max(_activation_values(spec, batch, _TRAIN_SAVED_PER_NEURON),
                      _activation_values(spec, max(1, min(_EVAL_BATCH, n_test)),
                                         _EVAL_SAVED_PER_NEURON))
    memory = _F32 * (_TRAIN_PARAM_COPIES * params + feedback + activations)
    macs = spec.timesteps * params * (_TRAIN_PASSES * n_train + n_test)
    return ResourceEstimate(f"training {_describe(spec, batch)}", float(memory),
                            2.0 * epochs * macs)


def adapt_estimate(spec: NetworkSpec, *, n_train: int, n_test: int, batch_size: int,
                   epochs: int, chips: int, rules: int) -> ResourceEstimate:
    """Memory and compute of ``dfasim adapt`` on simulated crossbar chips.

    Parameters
    ----------
    spec : NetworkSpec
        The deployed network.
    n_train, n_test : int
        Samples of the two splits.
    batch_size : int
        Adaptation mini-batch.
    epochs, chips, rules : int
        Adaptation epochs per chip and rule, chip instances, rules adapted (one chip copy each,
        one after the other).
    """
    batch = max(1, min(batch_size, n_train))
    cells = _params(spec) + spec.layers[-1] * sum(spec.layers[1:-1])
    activations = max(_activation_values(spec, batch, _TRAIN_SAVED_PER_NEURON),
                      _activation_values(spec, max(1, min(_EVAL_BATCH, n_test)),
                                         _EVAL_SAVED_PER_NEURON))
    memory = _CHIP_COPIES * _CELL_BYTES * cells + 2 * _F32 * activations
    macs_per_epoch = spec.timesteps * cells * (_TRAIN_PASSES * n_train + n_test)
    flops = 2.0 * _CROSSBAR_OVERHEAD * chips * (rules * epochs + 1) * macs_per_epoch
    return ResourceEstimate(f"adapting {_describe(spec, batch)} on {chips} chips",
                            float(memory), flops)


def available_memory_bytes(device: torch.device | str = "cpu") -> int:
    """Memory a run can still allocate: free GPU memory, or the host's available memory.

    The host figure is ``MemAvailable`` of ``/proc/meminfo`` (page cache that can be dropped
    included) where there is one, else the physical memory.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: do not refuse on memory


def _bytes(n: float) -> str:
    for unit, scale in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n / 1024:.3g} KiB"


def _duration(seconds: float) -> str:
    days = seconds / 86400
    return f"{days / 365.25:.2g} years" if days >= 365.25 else f"{days:.3g} days"


def check_fits(estimate: ResourceEstimate, device: torch.device | str = "cpu") -> None:
    """Refuse, with a one-line :class:`DfasimError`, a run this machine cannot do.

    Raises
    ------
    DfasimError
        ``estimate.memory_bytes`` exceeds :func:`available_memory_bytes`, or the compute would
        take more than :data:`MAX_RUN_SECONDS` even at :data:`OPTIMISTIC_FLOPS`.
    """
    device = torch.device(device)
    have = available_memory_bytes(device)
    where = "free GPU memory" if device.type == "cuda" else "available memory"
    if estimate.memory_bytes > have:
        raise DfasimError(f"{estimate.what} is too big: it needs about "
                          f"{_bytes(estimate.memory_bytes)} of memory, this machine has "
                          f"{_bytes(have)} of {where}; use fewer neurons, timesteps or a "
                          f"smaller batch")
    rate = OPTIMISTIC_FLOPS["cuda" if device.type == "cuda" else "cpu"]
    seconds = estimate.flops / rate
    if not math.isfinite(seconds) or seconds > MAX_RUN_SECONDS:
        raise DfasimError(f"{estimate.what} is too long: it needs about {estimate.flops:.2g} "
                          f"floating-point operations, at least {_duration(seconds)} at "
                          f"{rate:.0e} FLOP/s, more than the {_duration(MAX_RUN_SECONDS)} "
                          f"a run may take; use fewer neurons, timesteps, epochs or chips")
