# SPDX-License-Identifier: MIT
"""Training rules behind one interface: BPTT, DFA and SDFA.

A rule fills ``.grad`` of the network's weights for one mini-batch; the optimiser then steps.
All three see the same forward dynamics (golden/lif.py); they differ only in how the error
reaches the hidden layers.

* **BPTT** - exact backpropagation through layers and time with the surrogate gradient.
* **DFA** (direct feedback alignment, DFA_Sim Sec. II) - a fixed random matrix ``B_l``
  (``n_l x C``) per hidden layer projects the output error straight to the layer:
  ``delta_l[t] = (B_l e[t]) * h(u_l[t] - theta)`` and ``dW_l = sum_t delta_l[t]^T s_{l-1}[t]``
  (summed over the batch). The output layer uses ``e[t]`` itself (``B_L = I``). No temporal
  credit assignment: this is what a GradLIF unit and a weight-gradient unit compute per timestep.
  ``error="average"`` gives every timestep ``e[t] = e / T`` with ``e = dL/d(mean_t out)``;
  ``error="timestep"`` gives ``e[t]`` from a loss on each timestep's own output, divided by T.
* **SDFA** (PipeSDFA, REFERENCE §2) - one Gaussian ``B ~ N(0, 1)`` of shape
  ``(C, max_l n_l)``; ``r = e B / sqrt(max_l n_l)``; hidden layer ``l`` receives the leading
  columns ``r[:, :n_l]`` as the gradient of every timestep's spikes (the same value for all t);
  layer inputs are detached (no backpropagation between layers) but BPTT runs inside each layer
  through its neuron dynamics; the output layer gets its true gradient.

The rules run on :class:`~dfasim.golden.network.SpikingMLP` and on
:class:`~dfasim.golden.conv.SpikingNetwork` (convolutional layers, batch norm, pooling, a voting
read-out). A hidden layer's neurons are its whole map, before pooling (``spec.hidden``): DFA's
``B_l`` and SDFA's columns project onto them. On a convolution DFA's ``delta_l[t]`` is the
gradient of the neurons' input current (after batch norm), carried to the kernel (and the batch
norm's affine parameters) by autograd; a dense layer keeps the closed form above. With a vote,
the output layer's error is each class's ``e[t]`` divided among its ``vote_group`` neurons.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import torch

from .architecture import ConvLayer
from .loss import output_error, output_loss
from .network import SpikingMLP
from .options import DFA_ERRORS, MSE_REDUCTIONS

__all__ = ["TrainingRule", "BPTT", "DFA", "SDFA", "RULES", "make_rule"]


class TrainingRule(ABC):
    """Base class: ``rule.gradients(x, y)`` writes ``.grad`` and returns ``(loss, output)``."""

    name: ClassVar[str] = ""

    def __init__(self, model: SpikingMLP, *, loss: str = "ce", mse_reduction: str = "sum"
                 ) -> None:
        self.model = model
        self.loss = loss
        if mse_reduction not in MSE_REDUCTIONS:
            raise ValueError(f"mse_reduction must be one of {MSE_REDUCTIONS}, "
                             f"not {mse_reduction!r}")
        self.mse_reduction = mse_reduction
        output_loss(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), loss)  # validate kind

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return output_loss(out, y, self.loss, self.mse_reduction)

    def _error(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return output_error(out, y, self.loss, self.mse_reduction)

    @abstractmethod
    def gradients(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
        """Fill ``.grad`` of every weight for the batch; return ``(loss, output)``."""

    # Feedback matrices are part of the trained state: a checkpoint stores them.
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if state:
            raise ValueError(f"rule {self.name!r} holds no state, got keys {sorted(state)}")

    def to(self, device: torch.device | str) -> "TrainingRule":
        return self

    def _set_grads(self, grads: list[torch.Tensor]) -> None:
        for w, g in zip(self.model.weights, grads):
            w.grad = g


class BPTT(TrainingRule):
    """Backpropagation through time with the surrogate gradient."""

    name = "bptt"

    def gradients(self, x, y):
        self.model.zero_grad(set_to_none=True)
        out, _ = self.model(x)
        loss = self._loss(out, y)
        loss.backward()
        return float(loss.detach()), out.detach()


def _surrogate_grads(model: SpikingMLP, membranes: list[torch.Tensor]) -> list[torch.Tensor]:
    cfg = model.spec.lif
    hs = [cfg.surrogate.grad(u - cfg.threshold) for u in membranes]
    if model.spec.readout == "membrane":
        hs[-1] = torch.ones_like(membranes[-1])  # the averaged membrane is the output itself
    return hs


class DFA(TrainingRule):
    """Direct feedback alignment with fixed random ``B_l`` per hidden layer."""

    name = "dfa"
    ERRORS = DFA_ERRORS

    def __init__(self, model: SpikingMLP, *, loss: str = "ce", error: str = "average",
                 generator: torch.Generator | None = None, mse_reduction: str = "sum") -> None:
        super().__init__(model, loss=loss, mse_reduction=mse_reduction)
        if error not in self.ERRORS:
            raise ValueError(f"DFA error mode must be one of {self.ERRORS}, not {error!r}")
        self.error = error
        c = model.spec.n_classes
        # N(0, 1/C) keeps |B_l e| comparable to |e| whatever the class count.
        self.feedback = [torch.randn(n, c, generator=generator) / math.sqrt(c)
                         for n in model.spec.hidden]

    def state_dict(self):
        return {f"B{l}": b for l, b in enumerate(self.feedback)}

    def load_state_dict(self, state):
        if sorted(state) != sorted(self.state_dict()):
            raise ValueError(f"DFA feedback expects keys {sorted(self.state_dict())}, "
                             f"got {sorted(state)}")
        self.feedback = [state[f"B{l}"].to(self.feedback[l]) for l in range(len(self.feedback))]

    def to(self, device):
        self.feedback = [b.to(device) for b in self.feedback]
        return self

    def output_errors(self, out: torch.Tensor, trace, y: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(loss, e_t)`` with ``e_t`` shaped ``(T, B, C)``."""
        loss, e = self._error(out, y)
        T = trace.spikes[-1].shape[0]
        if self.error == "average":
            return loss, (e / T).expand(T, *e.shape)
        last = trace.spikes[-1] if self.model.spec.readout == "spike" else trace.membranes[-1]
        vote = getattr(self.model, "readout", None)
        e_t = torch.stack([self._error(vote(last[t:t + 1]) if callable(vote) else last[t],
                                       y)[1] for t in range(T)]) / T
        return loss, e_t

    def gradients(self, x, y):
        if not isinstance(self.model, SpikingMLP):
            return self._network_gradients(x, y)
        with torch.no_grad():
            out, trace = self.model(x)
            loss, e_t = self.output_errors(out, trace, y)
            hs = _surrogate_grads(self.model, trace.membranes)
            grads = []
            for l in range(self.model.n_layers):
                proj = e_t if l == self.model.n_layers - 1 else e_t @ self.feedback[l].t()
                delta = proj * hs[l]
                grads.append(torch.einsum("tbo,tbi->oi", delta, trace.inputs[l]))
        self._set_grads(grads)
        return float(loss), out

    def _network_gradients(self, x, y):
        model = self.model
        model.zero_grad(set_to_none=True)
        with torch.enable_grad():
            out, trace = model(x, detach_inputs=True)
        out = out.detach()
        with torch.no_grad():
            loss, e_t = self.output_errors(out, trace, y)
            hs = _surrogate_grads(model, [u.detach() for u in trace.membranes])
            arch = model.architecture
            if arch.readout == "vote":
                e_out = (e_t.unsqueeze(-1) / arch.vote_group).expand(
                    *e_t.shape, arch.vote_group).reshape(*e_t.shape[:2], -1)
            else:
                e_out = e_t
        for l in range(model.n_layers):
            with torch.no_grad():
                proj = e_out if l == model.n_layers - 1 else e_t @ self.feedback[l].t()
                delta = proj.reshape(hs[l].shape) * hs[l]
            if not isinstance(model.architecture.layers[l], ConvLayer):
                with torch.no_grad():
                    model.weights[l].grad = torch.einsum("tbo,tbi->oi", delta,
                                                         trace.inputs[l].flatten(2))
            else:
                torch.autograd.backward(trace.currents[l], delta)
        return float(loss), out


class SDFA(TrainingRule):
    """Spiking DFA as in PipeSDFA: one sliced ``B``, in-layer BPTT, true output gradient."""

    name = "sdfa"

    def __init__(self, model: SpikingMLP, *, loss: str = "ce",
                 generator: torch.Generator | None = None, mse_reduction: str = "sum") -> None:
        super().__init__(model, loss=loss, mse_reduction=mse_reduction)
        hidden = model.spec.hidden
        self.width = max(hidden) if hidden else 0
        self.feedback = torch.randn(model.spec.n_classes, self.width, generator=generator)

    def state_dict(self):
        return {"B": self.feedback}

    def load_state_dict(self, state):
        if sorted(state) != ["B"] or state["B"].shape != self.feedback.shape:
            raise ValueError(f"SDFA feedback expects B of shape {tuple(self.feedback.shape)}")
        self.feedback = state["B"].to(self.feedback)

    def to(self, device):
        self.feedback = self.feedback.to(device)
        return self

    def gradients(self, x, y):
        self.model.zero_grad(set_to_none=True)
        out, trace = self.model(x, detach_inputs=True)
        loss, e = self._error(out, y)
        objective = self._loss(out, y)
        if self.width:
            r = (e @ self.feedback) / math.sqrt(self.width)
            for l, n in enumerate(self.model.spec.hidden):
                # d(objective)/d(s_l[t]) = r[:, :n_l] at every timestep (a convolution's map
                # flattened channel-major).
                objective = objective + (trace.spikes[l].flatten(2) * r[:, :n]).sum()
        objective.backward()
        return float(loss.detach()), out.detach()


RULES: dict[str, type[TrainingRule]] = {"bptt": BPTT, "dfa": DFA, "sdfa": SDFA}


def make_rule(name: str, model: SpikingMLP, *, loss: str = "ce", dfa_error: str = "average",
              generator: torch.Generator | None = None, mse_reduction: str = "sum"
              ) -> TrainingRule:
    """Build a rule by name (``bptt``, ``dfa`` or ``sdfa``) for a :class:`SpikingMLP` or a
    :class:`~dfasim.golden.conv.SpikingNetwork`."""
    if name == "bptt":
        return BPTT(model, loss=loss, mse_reduction=mse_reduction)
    if name == "dfa":
        return DFA(model, loss=loss, error=dfa_error, generator=generator,
                   mse_reduction=mse_reduction)
    if name == "sdfa":
        return SDFA(model, loss=loss, generator=generator, mse_reduction=mse_reduction)
    raise ValueError(f"rule must be one of {sorted(RULES)}, not {name!r}")
