# SPDX-License-Identifier: MIT
"""Export: a dfasim checkpoint (MLP or convolutional) as a NIR graph written to ``.nir``."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DfasimError
from .mapping import DT, META_PREFIX, leak_to_tau, nir_module as _nir

__all__ = ["export_graph", "write_graph", "export_checkpoint"]


def _neuron_node(nir, lif, shape: tuple[int, ...], dt: float):
    """NIR LIF (or IF) node of a layer of ``shape`` neurons (module docstring)."""
    ones = np.ones(shape, dtype=np.float64)
    theta = ones * float(lif.threshold)
    if lif.neuron == "if" or lif.effective_leak == 1.0:
        return nir.IF(r=ones / dt, v_threshold=theta, v_reset=np.zeros(shape))
    tau = leak_to_tau(lif.effective_leak, dt)
    # decay_input scales the input by 1 - leak = dt / tau: R = 1 instead of tau / dt.
    r = 1.0 if (getattr(lif, "decay_input", False) and lif.neuron == "lif") else tau / dt
    return nir.LIF(tau=ones * tau, r=ones * r, v_leak=np.zeros(shape), v_threshold=theta,
                   v_reset=np.zeros(shape))


def export_graph(ckpt, dt: float = DT):
    """The NIR graph of a :class:`~dfasim.flows.checkpoint.Checkpoint` (module docstring):
    a spiking MLP, or a convolutional network (``golden/conv.py``) whose convolutions have
    no batch norm and no or average pooling."""
    nir = _nir()
    model = ckpt.model
    spec = model.spec
    lif = spec.lif
    if lif.reset != "hard":
        raise DfasimError(f"reset {lif.reset!r} has no NIR form (NIR's LIF and IF reset to "
                          f"v_reset); only reset 'hard' exports")
    if spec.readout != "spike":
        raise DfasimError(f"read-out {spec.readout!r} has no NIR form (NIR nodes pass spikes); "
                          f"only read-out 'spike' exports")
    if getattr(lif, "fire", "gt") != "gt":
        raise DfasimError("fire 'ge' (spike when u >= threshold) has no NIR form (NIR fires on "
                          "v > v_threshold)")
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise DfasimError(f"dt must be a positive number, not {dt!r}")
    arch = getattr(model, "architecture", None)
    if arch is None:
        from ...golden.architecture import Architecture

        arch = Architecture.mlp(spec.layers, spec.timesteps)
    from ...golden.architecture import ConvLayer

    nodes: dict[str, Any] = {
        "input": nir.Input(input_type={"input": np.array(arch.input_shape)})}
    edges = []
    prev = "input"

    def add(name, node):
        nonlocal prev
        nodes[name] = node
        edges.append((prev, name))
        prev = name

    for l, (layer, w, (shape, out_shape)) in enumerate(zip(arch.layers, model.weights,
                                                          arch.shapes())):
        weight = w.detach().cpu().numpy().copy()
        if isinstance(layer, ConvLayer):
            if layer.batch_norm:
                raise DfasimError(f"layer {l}: batch norm (a per-channel scale and bias) has "
                                  f"no bias-free NIR form")
            if layer.pool == "max":
                raise DfasimError(f"layer {l}: max pooling has no NIR node (NIR has SumPool2d "
                                  f"and AvgPool2d)")
            add(f"conv{l}", nir.Conv2d(input_shape=tuple(shape[1:]), weight=weight,
                                       stride=layer.stride, padding=layer.padding, dilation=1,
                                       groups=1, bias=np.zeros(layer.out_channels,
                                                               dtype=weight.dtype)))
            add(f"lif{l}", _neuron_node(nir, lif, layer.conv_shape(shape), dt))
            if layer.pool == "avg":
                size = np.array([layer.pool_size] * 2)
                add(f"pool{l}", nir.AvgPool2d(kernel_size=size, stride=size,
                                              padding=np.zeros(2, dtype=int)))
        else:
            if len(shape) > 1:
                add(f"flatten{l}", nir.Flatten(input_type={"input": np.array(shape)},
                                               start_dim=0, end_dim=-1))
            add(f"fc{l}", nir.Linear(weight=weight))
            add(f"lif{l}", _neuron_node(nir, lif, (layer.n_out,), dt))
    add("output", nir.Output(output_type={"output": np.array([arch.neurons()[-1]])}))
    meta = {f"{META_PREFIX}dt": float(dt), f"{META_PREFIX}timesteps": int(spec.timesteps),
            f"{META_PREFIX}dataset": ckpt.dataset or "", f"{META_PREFIX}rule": ckpt.rule or "",
            f"{META_PREFIX}surrogate": lif.surrogate.name,
            f"{META_PREFIX}surrogate_width": float(lif.surrogate.width),
            f"{META_PREFIX}n_classes": int(arch.n_classes),
            f"{META_PREFIX}vote_group": int(arch.vote_group if arch.readout == "vote" else 1),
            f"{META_PREFIX}name": arch.name}
    if lif.neuron == "if":   # the unused leak field, so that the checkpoint comes back equal
        meta[f"{META_PREFIX}if_leak"] = float(lif.leak)
    for key, matrix in (ckpt.feedback or {}).items():   # DFA's B matrices, for dfasim adapt
        meta[f"{META_PREFIX}feedback.{key}"] = matrix.detach().cpu().numpy()
    if ckpt.norm_mean is not None:
        meta[f"{META_PREFIX}norm_mean"] = ckpt.norm_mean.detach().cpu().numpy()
        meta[f"{META_PREFIX}norm_std"] = ckpt.norm_std.detach().cpu().numpy()
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)


def write_graph(graph, path: str | Path) -> Path:
    """Write ``graph`` to ``path`` (HDF5, ``nir.write``), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _nir().write(path, graph)
    return path


def export_checkpoint(checkpoint: str | Path, out: str | Path, dt: float = DT) -> Path:
    """``dfasim nir export``: read a checkpoint, write ``out/network.nir``."""
    from ..checkpoint import load_checkpoint

    return write_graph(export_graph(load_checkpoint(checkpoint), dt), Path(out) / "network.nir")


