# SPDX-License-Identifier: MIT
"""Spiking networks built from an :class:`~dfasim.golden.architecture.Architecture`:
convolutional (PipeSDFA's DVS-Gesture ConvNet, VGG11) as well as fully connected.

A :class:`ConvLayer` is a bias-free ``Conv2d``, optionally ``BatchNorm2d`` (applied to all
``T x B`` frames at once, as spikingjelly's multi-step containers do), the layer's spiking
neurons (:mod:`.lif`, over the whole ``C x H x W`` map), then optional max or average pooling
of the spikes. A :class:`DenseLayer` is a bias-free ``Linear`` and its neurons; the first dense
layer after a convolution sees the flattened (channel-major) map. The output is the last
layer's spikes (or membrane) averaged over ``T``; with ``readout="vote"`` each class is the mean
of its ``vote_group`` consecutive output neurons (PipeSDFA's voting layer, an ``AvgPool1d`` of
``vote_group``).

The network follows :class:`~dfasim.golden.network.SpikingMLP`'s interface, so every training
rule of :mod:`.rules` runs on it: ``.weights`` (conv ``(C_out, C_in, k, k)``, dense
``(out, in)``), ``.spec`` (timesteps, neuron model, read-out, ``n_classes``, ``hidden``: the
neurons per hidden layer, a convolution's whole map before pooling) and
``forward(x, detach_inputs=...) -> (output, trace)``. The trace's ``inputs[l]`` drive layer
``l`` (pooled spikes of the layer before, or the encoded input), ``membranes[l]`` and
``spikes[l]`` are the layer's neurons (shaped ``(T, B, C, H, W)`` for a convolution, before
pooling), and ``currents[l]`` the input current of the neurons (after batch norm) still attached
to the weights' graph, which the DFA rule differentiates.

An MLP architecture gives exactly the numbers of :class:`SpikingMLP` with the same weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .architecture import Architecture, ConvLayer
from .lif import LIFConfig, lif_forward
from .network import Trace
from .options import READOUTS as _READOUTS

__all__ = ["ArchitectureSpec", "SpikingNetwork", "encode_frames"]


@dataclass(frozen=True)
class ArchitectureSpec:
    """An architecture with its neuron model and the output read-out (spike or membrane)."""

    architecture: Architecture
    lif: LIFConfig = field(default_factory=LIFConfig)
    readout: str = "spike"

    def __post_init__(self) -> None:
        if not isinstance(self.architecture, Architecture):
            raise ValueError(f"architecture must be an Architecture, not "
                             f"{type(self.architecture).__name__}")
        if self.readout not in _READOUTS:
            raise ValueError(f"readout must be one of {_READOUTS}, not {self.readout!r}")

    @property
    def timesteps(self) -> int:
        return self.architecture.timesteps

    @property
    def n_classes(self) -> int:
        return self.architecture.n_classes

    @property
    def n_inputs(self) -> int:
        n = 1
        for d in self.architecture.input_shape:
            n *= d
        return n

    @property
    def hidden(self) -> tuple[int, ...]:
        """Neurons of every hidden layer (a convolution's map before pooling)."""
        return tuple(self.architecture.hidden_sizes)

    @property
    def n_outputs(self) -> int:
        """Neurons of the output layer (``n_classes * vote_group`` with a vote)."""
        return self.architecture.neurons()[-1]


def encode_frames(x: torch.Tensor, input_shape: tuple[int, ...], timesteps: int
                  ) -> torch.Tensor:
    """Direct encoding to ``(T, B, *input_shape)``.

    Sequences are ``(B, T, *input_shape)`` or flattened ``(B, T, prod(input_shape))``; static
    inputs ``(B, *input_shape)`` or ``(B, prod(input_shape))`` are repeated over ``T``.
    """
    n = 1
    for d in input_shape:
        n *= d
    d = len(input_shape)
    if x.dim() == d + 2 or (d > 1 and x.dim() == 3):
        if x.shape[1] != timesteps:
            raise ValueError(f"sequence has {x.shape[1]} timesteps, the network expects "
                             f"{timesteps}")
        if x[0, 0].numel() != n:
            raise ValueError(f"each timestep has {x[0, 0].numel()} values, the network expects "
                             f"{'x'.join(map(str, input_shape))}")
        return x.reshape(x.shape[0], timesteps, *input_shape).transpose(0, 1)
    if x.dim() == d + 1 or x.dim() == 2:
        if x[0].numel() != n:
            raise ValueError(f"each sample has {x[0].numel()} values, the network expects "
                             f"{'x'.join(map(str, input_shape))}")
        x = x.reshape(x.shape[0], *input_shape)
        return x.unsqueeze(0).expand(timesteps, *x.shape)
    raise ValueError(f"input shape {tuple(x.shape)} does not fit a network with input "
                     f"{'x'.join(map(str, input_shape))} and T = {timesteps}")


class SpikingNetwork(nn.Module):
    """A bias-free spiking network (convolutional or fully connected) of an Architecture.

    Parameters
    ----------
    architecture : Architecture or ArchitectureSpec
    lif : LIFConfig, optional
        Neuron model of every layer (ignored when an ArchitectureSpec is given).
    readout : str
        ``"spike"`` or ``"membrane"`` (ignored when an ArchitectureSpec is given).
    generator : torch.Generator, optional
        Initialisation: Kaiming-uniform ``U(-g/sqrt(fan_in), g/sqrt(fan_in))`` per layer in layer
        order (for an MLP and ``g = 1`` the same draws as :class:`SpikingMLP`).
    init_gain : float
        ``g`` above, 1 by default (PyTorch's ``nn.Conv2d`` / ``nn.Linear`` default bound).
        Deep networks without batch norm fall silent at 1 with threshold-1 neurons: VGG11 on
        standardised 2 x 128 x 128 event frames with the authors' LIF settings needs about 6
        for spikes to reach its last layers (``docs/golden-spec.md``).

    Members
    -------
    weights : nn.ParameterList
        Conv ``(C_out, C_in, k, k)``, dense ``(n_out, n_in)``.
    norms : nn.ModuleList
        ``BatchNorm2d`` of a convolution with ``batch_norm``, else ``nn.Identity``.
    """

    def __init__(self, architecture: Architecture | ArchitectureSpec,
                 lif: LIFConfig | None = None, readout: str = "spike", *,
                 generator: torch.Generator | None = None, init_gain: float = 1.0) -> None:
        super().__init__()
        if not (isinstance(init_gain, (int, float)) and init_gain > 0):
            raise ValueError(f"init_gain must be a positive number, not {init_gain!r}")
        if isinstance(architecture, ArchitectureSpec):
            spec = architecture
        else:
            spec = ArchitectureSpec(architecture, lif or LIFConfig(), readout)
        self.spec = spec
        arch = spec.architecture
        params, norms = [], []
        for layer in arch.layers:
            if isinstance(layer, ConvLayer):
                shape = (layer.out_channels, layer.in_channels, layer.kernel_size,
                         layer.kernel_size)
                fan_in = layer.in_channels * layer.kernel_size ** 2
                norms.append(nn.BatchNorm2d(layer.out_channels) if layer.batch_norm
                             else nn.Identity())
            else:
                shape, fan_in = (layer.n_out, layer.n_in), layer.n_in
                norms.append(nn.Identity())
            bound = float(init_gain) / fan_in ** 0.5
            params.append(nn.Parameter((torch.rand(*shape, generator=generator) * 2.0 - 1.0)
                                       * bound))
        self.weights = nn.ParameterList(params)
        self.norms = nn.ModuleList(norms)

    @property
    def architecture(self) -> Architecture:
        return self.spec.architecture

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def currents(self, l: int, inputs: torch.Tensor) -> torch.Tensor:
        """Input current of layer ``l``'s neurons for ``inputs (T, B, ...)``."""
        layer = self.architecture.layers[l]
        T, B = inputs.shape[:2]
        if isinstance(layer, ConvLayer):
            z = F.conv2d(inputs.reshape(T * B, *inputs.shape[2:]), self.weights[l],
                         stride=layer.stride, padding=layer.padding)
            z = self.norms[l](z)
            return z.reshape(T, B, *z.shape[1:])
        return inputs.reshape(T, B, -1) @ self.weights[l].t()

    def pool(self, l: int, spikes: torch.Tensor) -> torch.Tensor:
        """Layer ``l``'s pooling of its spikes ``(T, B, C, H, W)`` (identity without one)."""
        layer = self.architecture.layers[l]
        if not isinstance(layer, ConvLayer) or layer.pool is None:
            return spikes
        T, B = spikes.shape[:2]
        flat = spikes.reshape(T * B, *spikes.shape[2:])
        fn = F.max_pool2d if layer.pool == "max" else F.avg_pool2d
        out = fn(flat, layer.pool_size)
        return out.reshape(T, B, *out.shape[1:])

    def layer(self, l: int, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run layer ``l`` over all timesteps: spikes and membrane (before pooling)."""
        return lif_forward(self.currents(l, inputs), self.spec.lif)

    def readout(self, last: torch.Tensor) -> torch.Tensor:
        """``(T, B, n_outputs)`` -> ``(B, n_classes)``: mean over T, then the vote."""
        out = last.mean(dim=0)
        arch = self.architecture
        if arch.readout == "vote":
            out = out.reshape(out.shape[0], arch.n_classes, arch.vote_group).mean(dim=-1)
        return out

    def forward(self, x: torch.Tensor, *, detach_inputs: bool = False
                ) -> tuple[torch.Tensor, Trace]:
        """Return the output ``(B, n_classes)`` and the per-layer trace (module docstring).

        ``detach_inputs`` cuts the graph between layers, as SDFA and DFA need.
        """
        arch = self.architecture
        h = encode_frames(x, arch.input_shape, arch.timesteps)
        trace = Trace([], [], [])
        for l in range(self.n_layers):
            inp = h.detach() if detach_inputs else h
            cur = self.currents(l, inp)
            s, u = lif_forward(cur, self.spec.lif)
            trace.inputs.append(inp)
            trace.currents.append(cur)
            trace.membranes.append(u)
            trace.spikes.append(s)
            h = self.pool(l, s)
        last = trace.spikes[-1] if self.spec.readout == "spike" else trace.membranes[-1]
        return self.readout(last), trace
