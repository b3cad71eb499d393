# SPDX-License-Identifier: MIT
"""Fully connected spiking MLPs: the reference network the hardware maps onto crossbars.

Each layer is a bias-free weight matrix (a crossbar has no bias) followed by LIF neurons. Inputs
are directly encoded: sequence data drives the first layer with sample ``x[:, t]`` at timestep
``t``; static data drives it with the same vector at every timestep. The prediction is the
output layer's spike count averaged over ``T`` (``readout="spike"``) or its membrane averaged
over ``T`` (``readout="membrane"``, a non-spiking read-out option).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .lif import LIFConfig, lif_forward
from .networks import parse_network
from .options import READOUTS as _READOUTS

__all__ = ["NetworkSpec", "SpikingMLP", "Trace", "parse_layers", "encode"]


def parse_layers(spec: str | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Layer sizes of ``"9-128-64-6"``, a network name, or a sequence of ints
    (:func:`dfasim.golden.networks.parse_network`)."""
    return parse_network(spec)


@dataclass(frozen=True)
class NetworkSpec:
    """Shape and neuron model of a spiking MLP."""

    layers: tuple[int, ...]
    timesteps: int
    lif: LIFConfig = field(default_factory=LIFConfig)
    readout: str = "spike"

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", parse_layers(self.layers))
        if not isinstance(self.timesteps, int) or self.timesteps <= 0:
            raise ValueError(f"timesteps must be a positive integer, not {self.timesteps!r}")
        if self.readout not in _READOUTS:
            raise ValueError(f"readout must be one of {_READOUTS}, not {self.readout!r}")

    @property
    def n_inputs(self) -> int:
        return self.layers[0]

    @property
    def n_classes(self) -> int:
        return self.layers[-1]

    @property
    def hidden(self) -> tuple[int, ...]:
        """Sizes of the hidden (non-input, non-output) layers."""
        return self.layers[1:-1]


@dataclass
class Trace:
    """Per-layer activity of one forward pass, each tensor shaped ``(T, B, N)``.

    ``inputs[l]`` are the spikes (or encoded input for ``l = 0``) that drive layer ``l``;
    ``membranes[l]`` the membrane before reset; ``spikes[l]`` the layer's output spikes.
    ``currents[l]`` (filled by :class:`dfasim.golden.conv.SpikingNetwork` only, where a
    convolution's maps are ``(T, B, C, H, W)``) the neurons' input current, attached to the
    weights' graph.
    """

    inputs: list[torch.Tensor]
    membranes: list[torch.Tensor]
    spikes: list[torch.Tensor]
    currents: list[torch.Tensor] = field(default_factory=list)


def encode(x: torch.Tensor, timesteps: int) -> torch.Tensor:
    """Direct encoding: ``(B, T, C)`` sequences become ``(T, B, C)``; ``(B, F)`` is repeated."""
    if x.dim() == 3:
        if x.shape[1] != timesteps:
            raise ValueError(f"sequence has {x.shape[1]} timesteps, the network expects "
                             f"{timesteps}")
        return x.transpose(0, 1)
    if x.dim() == 2:
        return x.unsqueeze(0).expand(timesteps, *x.shape)
    raise ValueError(f"input must be (B, T, C) or (B, F), not shape {tuple(x.shape)}")


class SpikingMLP(nn.Module):
    """A bias-free spiking MLP built from a :class:`NetworkSpec`.

    Members
    -------
    weights : nn.ParameterList
        ``weights[l]`` has shape ``(layers[l+1], layers[l])``, the crossbar's logical matrix.
    """

    def __init__(self, spec: NetworkSpec, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.spec = spec
        params = []
        for n_in, n_out in zip(spec.layers[:-1], spec.layers[1:]):
            # Kaiming-uniform, as nn.Linear, but from an explicit generator for reproducibility.
            bound = 1.0 / n_in ** 0.5
            w = (torch.rand(n_out, n_in, generator=generator) * 2.0 - 1.0) * bound
            params.append(nn.Parameter(w))
        self.weights = nn.ParameterList(params)

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def layer(self, l: int, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run layer ``l`` over all timesteps: ``inputs (T, B, n_in)`` -> spikes, membrane."""
        currents = inputs @ self.weights[l].t()
        return lif_forward(currents, self.spec.lif)

    def forward(self, x: torch.Tensor, *, detach_inputs: bool = False
                ) -> tuple[torch.Tensor, Trace]:
        """Return the time-averaged output ``(B, C)`` and the per-layer :class:`Trace`.

        ``detach_inputs`` cuts the graph between layers (each layer sees a constant input), which
        the SDFA rule needs; BPTT keeps it.
        """
        h = encode(x, self.spec.timesteps)
        trace = Trace([], [], [])
        for l in range(self.n_layers):
            inp = h.detach() if detach_inputs else h
            s, u = self.layer(l, inp)
            trace.inputs.append(inp)
            trace.membranes.append(u)
            trace.spikes.append(s)
            h = s
        last = trace.spikes[-1] if self.spec.readout == "spike" else trace.membranes[-1]
        return last.mean(dim=0), trace
