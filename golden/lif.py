# SPDX-License-Identifier: MIT
"""Floating-point leaky integrate-and-fire (LIF) neurons: the reference dynamics.

The update, per timestep ``t`` and neuron ``i`` (DFA_Sim, Sec. II):

    u[t] = leak * v[t-1] + I[t]          (I[t] = W s_in[t], computed by the caller)
    s[t] = H(u[t] - threshold)
    v[t] = u[t] * (1 - s[t])             reset="hard" (to zero, the paper's default)
         = u[t] - threshold * s[t]       reset="soft"
         = u[t]                          reset="none"

``neuron="if"`` forces ``leak = 1`` (integrate-and-fire).

Two options reproduce spikingjelly (0.0.0.0.14), which the PipeSDFA authors' code uses:

* ``decay_input=True``: the input is scaled by the decay too, spikingjelly's LIF with
  ``decay_input``: ``H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau`` with
  ``1 / tau = 1 - leak`` and ``V_reset = 0`` (the hard reset's target; a soft reset subtracts the
  threshold and spikingjelly then decays towards 0 as well), i.e. ``u = v + (I - v) / tau``.
  IF neurons are unaffected (``H = V + X``).
* ``fire="ge"``: a spike when ``u >= threshold`` (spikingjelly's ``heaviside(H - V_th)``)
  instead of dfasim's ``u > threshold`` (``fire="gt"``, the default). ``u[t]`` (before reset) is what a
GradLIF unit stores for the backward pass, since the surrogate gradient is ``h(u[t] - threshold)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .options import FIRE_MODES as _FIRE_MODES
from .options import NEURON_MODELS as _NEURONS
from .params import RESETS
from .surrogate import Surrogate, spike

__all__ = ["LIFConfig", "lif_step", "lif_forward"]


@dataclass(frozen=True)
class LIFConfig:
    """Neuron parameters shared by all layers of a network.

    Defaults follow the same lab's HAR code (REFERENCE §1): leak 0.75, threshold 0.5, triangle
    surrogate of width 1; the reset is to zero as in the DFA_Sim paper's equation.
    """

    leak: float = 0.75
    threshold: float = 0.5
    reset: str = "hard"
    neuron: str = "lif"
    surrogate: Surrogate = field(default_factory=Surrogate)
    #: Detach the reset term from the graph (common BPTT simplification); off by default.
    detach_reset: bool = False
    #: Scale the input by ``1 - leak`` as well (spikingjelly's ``decay_input``); LIF only.
    decay_input: bool = False
    #: ``"gt"``: fire on ``u > threshold``; ``"ge"``: on ``u >= threshold`` (spikingjelly).
    fire: str = "gt"

    def __post_init__(self) -> None:
        if self.fire not in _FIRE_MODES:
            raise ValueError(f"fire must be one of {_FIRE_MODES}, not {self.fire!r}")
        if not isinstance(self.decay_input, bool):
            raise ValueError(f"decay_input must be true or false, not {self.decay_input!r}")
        if self.reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, not {self.reset!r}")
        if self.neuron not in _NEURONS:
            raise ValueError(f"neuron must be one of {_NEURONS}, not {self.neuron!r}")
        if not (isinstance(self.leak, (int, float)) and 0.0 <= self.leak <= 1.0):
            raise ValueError(f"leak must be in [0, 1], not {self.leak!r}")
        if not (isinstance(self.threshold, (int, float)) and math.isfinite(self.threshold)
                and self.threshold > 0):
            raise ValueError(f"threshold must be a positive number, not {self.threshold!r}")

    @property
    def effective_leak(self) -> float:
        """The leak actually applied: 1 for IF neurons."""
        return 1.0 if self.neuron == "if" else float(self.leak)


def lif_step(v: torch.Tensor, current: torch.Tensor, cfg: LIFConfig
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Advance one timestep.

    Returns ``(s, u, v_next)``: spikes, membrane before reset, membrane after reset.
    """
    if cfg.decay_input and cfg.neuron == "lif":
        # spikingjelly: H = V + (X - (V - V_reset)) / tau, V_reset = 0.
        u = v + (current - v) * (1.0 - float(cfg.leak))
    else:
        u = cfg.effective_leak * v + current
    s = spike(u - cfg.threshold, cfg.surrogate, inclusive=cfg.fire == "ge")
    r = s.detach() if cfg.detach_reset else s
    if cfg.reset == "hard":
        v_next = u * (1.0 - r)
    elif cfg.reset == "soft":
        v_next = u - cfg.threshold * r
    else:
        v_next = u
    return s, u, v_next


def lif_forward(currents: torch.Tensor, cfg: LIFConfig,
                v0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a layer of LIF neurons over ``T`` timesteps.

    Parameters
    ----------
    currents : Tensor, shape ``(T, ..., N)``
        Synaptic input current per timestep.
    cfg : LIFConfig
    v0 : Tensor, optional
        Initial membrane (zeros by default).

    Returns
    -------
    spikes, membrane : Tensor, shape ``(T, ..., N)``
        Output spikes and the membrane ``u[t]`` before reset.
    """
    if currents.shape[0] and _fast_path_applies(currents, v0):
        return _lif_forward_no_grad(currents, cfg, v0)
    v = torch.zeros_like(currents[0]) if v0 is None else v0
    spikes, membrane = [], []
    for t in range(currents.shape[0]):
        s, u, v = lif_step(v, currents[t], cfg)
        spikes.append(s)
        membrane.append(u)
    return torch.stack(spikes), torch.stack(membrane)


def _fast_path_applies(currents: torch.Tensor, v0: torch.Tensor | None) -> bool:
    """Whether no gradient can flow, so :func:`_lif_forward_no_grad` may run instead."""
    if currents.dtype not in (torch.float32, torch.float64):
        # (half types compute scalar products in float, which a 0-dim tensor would not)
        return False
    if v0 is not None and (v0.dtype != currents.dtype or v0.shape != currents.shape[1:]
                           or v0.device != currents.device):
        return False
    if torch.is_grad_enabled() and (currents.requires_grad
                                    or (v0 is not None and v0.requires_grad)):
        return False
    return True


def _lif_forward_no_grad(currents: torch.Tensor, cfg: LIFConfig, v0: torch.Tensor | None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`lif_forward` without autograd, bit for bit the same.

    The recurrence is element-wise but sequential in ``t``, so it stays one small step per
    timestep; what this saves is the per-step overhead: no autograd function, outputs written
    in place into preallocated ``(T, ...)`` tensors instead of stacked at the end, and the
    same floating-point operations in the same order as :func:`lif_step` (``u > theta`` equals
    ``u - theta > 0`` exactly in IEEE arithmetic, and ``u * [u <= theta]`` equals
    ``u * (1 - s)``, NaN and infinity included).
    """
    spikes = torch.empty_like(currents)
    membrane = torch.empty_like(currents)
    thr = torch.tensor(cfg.threshold, dtype=currents.dtype, device=currents.device)
    fire, keep_fn = (torch.ge, torch.lt) if cfg.fire == "ge" else (torch.gt, torch.le)
    decay = cfg.decay_input and cfg.neuron == "lif"
    # Scalars as 0-dim tensors of the same dtype: the same products, without wrapping a Python
    # number on every call.
    leak = torch.tensor(cfg.effective_leak, dtype=currents.dtype, device=currents.device)
    gain = torch.tensor(1.0 - float(cfg.leak), dtype=currents.dtype, device=currents.device)
    v = torch.zeros_like(currents[0]) if v0 is None else v0.clone()
    tmp = torch.empty_like(v)
    for cur, u, s in zip(currents.unbind(0), membrane.unbind(0), spikes.unbind(0)):
        if decay:
            # spikingjelly: H = V + (X - (V - V_reset)) / tau, V_reset = 0.
            torch.sub(cur, v, out=tmp)
            tmp.mul_(gain)
            torch.add(v, tmp, out=u)
        else:
            torch.mul(v, leak, out=tmp)
            torch.add(tmp, cur, out=u)
        fire(u, thr, out=s)
        if cfg.reset == "hard":
            keep_fn(u, thr, out=tmp)
            torch.mul(u, tmp, out=v)
        elif cfg.reset == "soft":
            torch.mul(s, thr, out=tmp)
            torch.sub(u, tmp, out=v)
        else:
            v.copy_(u)
    return spikes, membrane
