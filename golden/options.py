# SPDX-License-Identifier: MIT
"""Names of the golden models' options (rules, neurons, losses, ...), torch-free for the CLI.

The torch modules (``rules``, ``surrogate``, ``lif``, ``loss``, ``network``) validate against
these tuples, and the command line offers them as choices without importing torch. The reset
modes live with the digital blocks' parameters in :mod:`.params` (the RTL GradLIF shares them)
and are re-exported here.
"""
from __future__ import annotations

from .params import RESETS

__all__ = ["TRAINING_RULES", "SURROGATE_NAMES", "RESETS", "NEURON_MODELS", "LOSSES",
           "READOUTS", "DFA_ERRORS", "FIRE_MODES", "MSE_REDUCTIONS", "ADAPT_RULES", "NOISE_CHOICES", "LR_SCHEDULES"]

#: Off-chip training rules of the golden SNN: backprop through time, (sparse) DFA.
TRAINING_RULES = ("bptt", "dfa", "sdfa")

#: Surrogate gradients of the spike function (each has one width parameter).
SURROGATE_NAMES = ("triangle", "rectangular", "atan", "fast_sigmoid")

#: Neuron models: leaky (``lif``) or non-leaky integrate-and-fire (``if``).
NEURON_MODELS = ("lif", "if")

#: Output losses: cross-entropy or mean squared error against one-hot targets.
LOSSES = ("ce", "mse")

#: When a neuron fires: ``"gt"`` on ``u > threshold`` (dfasim's default), ``"ge"`` on
#: ``u >= threshold`` (spikingjelly, the PipeSDFA authors' code).
FIRE_MODES = ("gt", "ge")

#: How the MSE loss reduces over classes: ``"sum"`` (dfasim's default: summed over classes,
#: averaged over the batch) or ``"mean"`` (PyTorch ``nn.MSELoss``: averaged over both).
MSE_REDUCTIONS = ("sum", "mean")

#: What the output layer is read as: spike counts or the membrane potential.
READOUTS = ("spike", "membrane")

#: DFA output error: averaged over the timesteps, or one error per timestep.
DFA_ERRORS = ("average", "timestep")

#: On-chip adaptation rules of the analog SNN: backprop or DFA.
ADAPT_RULES = ("bp", "dfa")

#: Built-in RRAM noise models (``dfasim adapt --noise`` also takes a fitted model file).
NOISE_CHOICES = ("neurram", "radar", "crosssim", "ideal")

#: Learning-rate schedules of adaptation: cosine decay to zero, or constant.
LR_SCHEDULES = ("cosine", "constant")
