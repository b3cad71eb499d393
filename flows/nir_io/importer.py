# SPDX-License-Identifier: MIT
"""Import: a NIR graph (from dfasim or another framework) as a dfasim network and checkpoint."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DfasimError
from .mapping import DT, META_PREFIX, tau_to_leak, nir_module as _nir

__all__ = ["read_graph", "ImportedNetwork", "import_graph", "to_checkpoint", "import_file"]


def read_graph(path: str | Path):
    """Read a ``.nir`` file; a missing or unreadable file is a one-line :class:`DfasimError`."""
    path = Path(path)
    if not path.is_file():
        raise DfasimError(f"NIR graph {path} does not exist")
    nir = _nir()
    try:
        return nir.read(path, type_check=False)   # shapes are checked on import
    except Exception as exc:  # h5py and nir raise many types for a foreign file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DfasimError(f"{path} is not a readable NIR graph ({reason[:120]})") from None


@dataclass
class ImportedNetwork:
    """What an imported graph gives: input shape, layers (``golden.architecture`` layers),
    weights (gains, thresholds and sum-pool factors folded in), neuron parameters."""

    input_shape: tuple[int, ...]
    layers: list
    weights: list[np.ndarray]
    neuron: str
    leak: float
    threshold: float
    metadata: dict[str, Any]


def _meta(graph) -> dict[str, Any]:
    out = {}
    for key, value in (getattr(graph, "metadata", None) or {}).items():
        if isinstance(value, bytes):
            value = value.decode("utf8")
        elif isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
            if isinstance(value, bytes):
                value = value.decode("utf8")
        out[str(key)] = value
    return out


def _chain(graph) -> list[str]:
    """The node names from the one Input to the one Output; anything else is one line."""
    nir = _nir()
    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    outputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise DfasimError(f"dfasim imports graphs with one Input and one Output node, not "
                          f"{len(inputs)} and {len(outputs)}")
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        for name in (src, dst):
            if name not in graph.nodes:
                raise DfasimError(f"edge {src} -> {dst} names a node {name!r} the graph lacks")
        succ.setdefault(src, []).append(dst)
        pred.setdefault(dst, []).append(src)
    order = [inputs[0]]
    seen = {inputs[0]}
    while order[-1] != outputs[0]:
        here = order[-1]
        nxt = succ.get(here, [])
        if len(nxt) != 1:
            raise DfasimError(f"node {here!r} has {len(nxt)} outgoing edges; dfasim imports "
                              f"a chain of layers")
        node = nxt[0]
        if node in seen:
            raise DfasimError(f"node {node!r} closes a recurrent loop; dfasim networks are "
                              f"feed-forward")
        if len(pred.get(node, [])) != 1:
            raise DfasimError(f"node {node!r} has {len(pred.get(node, []))} incoming edges "
                              f"(a recurrent or skip connection); dfasim imports a chain")
        order.append(node)
        seen.add(node)
    extra = sorted(set(graph.nodes) - seen)
    if extra:
        raise DfasimError(f"node {extra[0]!r} is off the input-to-output chain; dfasim imports "
                          f"a chain of layers")
    return order


def _vector(node_name: str, field: str, value, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    try:
        arr = np.broadcast_to(arr.reshape(-1) if arr.size == n else arr, (n,))
    except ValueError:
        raise DfasimError(f"node {node_name!r}: {field} has shape {arr.shape}, its layer has "
                          f"{n} neurons") from None
    if not np.isfinite(arr).all() and field != "tau":
        raise DfasimError(f"node {node_name!r}: {field} contains NaN or inf")
    return arr


def _pair(node_name: str, field: str, value, allow_str: bool = False) -> int | str:
    """One int of a square kernel / equal stride / symmetric padding (``'valid'`` is 0)."""
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("utf8")
    if isinstance(value, np.ndarray) and value.dtype.kind in "SU":
        value = str(value.item() if value.ndim == 0 else value[0])
        value = value.decode("utf8") if isinstance(value, bytes) else value
    if isinstance(value, str):
        if allow_str and value in ("valid", "same"):
            return value
        raise DfasimError(f"node {node_name!r}: {field} {value!r} has no dfasim form")
    arr = np.asarray(value).reshape(-1)
    if arr.size == 0 or np.any(arr != arr[0]) or arr[0] != int(arr[0]):
        raise DfasimError(f"node {node_name!r}: {field} {arr.tolist()} is not one integer on "
                          f"both axes; dfasim layers are square")
    return int(arr[0])


def _conv_layer(name: str, node, shape):
    """ConvLayer and weight of a NIR Conv2d node seeing maps of ``shape``."""
    from ...golden.architecture import ConvLayer

    weight = np.asarray(node.weight)
    if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise DfasimError(f"node {name!r}: weight of shape {weight.shape} is not a square "
                          f"2-D kernel")
    if _pair(name, "groups", node.groups) != 1 or _pair(name, "dilation", node.dilation) != 1:
        raise DfasimError(f"node {name!r}: grouped or dilated convolutions have no dfasim "
                          f"form")
    if node.bias is not None and np.any(np.asarray(node.bias) != 0):
        raise DfasimError(f"node {name!r} has a non-zero bias; a crossbar layer has none")
    k = weight.shape[2]
    stride = _pair(name, "stride", node.stride)
    padding = _pair(name, "padding", node.padding, allow_str=True)
    if padding == "valid":
        padding = 0
    elif padding == "same":
        if stride != 1 or k % 2 == 0:
            raise DfasimError(f"node {name!r}: padding 'same' needs stride 1 and an odd kernel")
        padding = (k - 1) // 2
    if shape is None or len(shape) != 3:
        raise DfasimError(f"node {name!r}: a convolution needs a (C, H, W) input, the graph "
                          f"gives {shape}")
    try:
        layer = ConvLayer(weight.shape[1], weight.shape[0], k, stride, padding)
        out = layer.conv_shape(shape)
    except ValueError as exc:
        raise DfasimError(f"node {name!r}: {exc}") from None
    return layer, weight, out


def import_graph(graph, dt: float | None = None) -> ImportedNetwork:
    """The dfasim network of a NIR graph (module docstring); unsupported parts are one line."""
    import dataclasses

    from ...golden.architecture import ConvLayer, DenseLayer

    nir = _nir()
    meta = _meta(graph)
    if dt is None:
        dt = float(meta.get(f"{META_PREFIX}dt", DT))
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise DfasimError(f"dt must be a positive number, not {dt!r}")
    order = _chain(graph)
    weights: list[np.ndarray] = []
    layers: list = []
    input_shape: tuple[int, ...] | None = None
    shape: tuple[int, ...] | None = None            # what the next node sees
    prev_shape = None                               # what the last convolution saw
    pending = None          # (node name, layer, weight, neuron shape) awaiting its neurons
    carry = 1.0             # a sum pool's k * k, folded into the next weights
    kinds: set[str] = set()
    leak: float | None = None
    leak_node = ""
    threshold: float | None = None

    def _float(weight):
        return weight.astype(np.float64 if weight.dtype == np.float64 else np.float32)

    for name in order:
        node = graph.nodes[name]
        if isinstance(node, nir.Input):
            given = node.input_type.get("input")
            if given is not None and np.asarray(given).size:
                shape = tuple(int(n) for n in np.asarray(given).reshape(-1))
                input_shape = shape
            continue
        if isinstance(node, nir.Output):
            if pending is not None:
                raise DfasimError(f"node {pending[0]!r} feeds the output without spiking "
                                  f"neurons; dfasim's output layer is spiking")
            continue
        if pending is not None and not isinstance(node, (nir.LIF, nir.IF)):
            if isinstance(node, (nir.Linear, nir.Affine, nir.Conv2d)):
                raise DfasimError(f"node {name!r} follows {pending[0]!r} with no neurons "
                                  f"between them; dfasim layers are weights then neurons")
            if isinstance(node, (nir.Flatten, nir.AvgPool2d, nir.SumPool2d)):
                raise DfasimError(f"node {name!r}: a {type(node).__name__} between weights and "
                                  f"neurons has no dfasim form")
        if isinstance(node, nir.Flatten):
            if shape is not None:
                shape = (int(np.prod(shape)),)
            continue
        if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
            if not layers or not isinstance(layers[-1], ConvLayer) or layers[-1].pool:
                raise DfasimError(f"node {name!r}: dfasim pools only the spikes of a "
                                  f"convolution, once")
            k = _pair(name, "kernel_size", node.kernel_size)
            if _pair(name, "stride", node.stride) != k or \
                    _pair(name, "padding", node.padding) != 0:
                raise DfasimError(f"node {name!r}: dfasim pools with stride = window and no "
                                  f"padding")
            layers[-1] = dataclasses.replace(layers[-1], pool="avg", pool_size=k)
            try:
                shape = layers[-1].output_shape(prev_shape)
            except ValueError as exc:
                raise DfasimError(f"node {name!r}: {exc}") from None
            if isinstance(node, nir.SumPool2d):
                carry *= k * k
            continue
        if isinstance(node, nir.Conv2d):
            layer, weight, out = _conv_layer(name, node, shape)
            if not np.isfinite(weight).all():
                raise DfasimError(f"node {name!r}: weight contains NaN or inf")
            if input_shape is None:
                input_shape = shape
            prev_shape = shape
            pending = (name, layer, _float(weight * carry if carry != 1.0 else weight), out)
            carry = 1.0
            continue
        if isinstance(node, (nir.Linear, nir.Affine)):
            weight = np.asarray(node.weight)
            if weight.ndim != 2:
                raise DfasimError(f"node {name!r}: weight of shape {weight.shape} is not a "
                                  f"matrix")
            if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
                raise DfasimError(f"node {name!r} has a non-zero bias; a crossbar layer has "
                                  f"none")
            if not np.isfinite(weight).all():
                raise DfasimError(f"node {name!r}: weight contains NaN or inf")
            n_in = weight.shape[1]
            if shape is None:
                shape = input_shape = (n_in,)
            if int(np.prod(shape)) != n_in:
                raise DfasimError(f"node {name!r} takes {n_in} inputs, the layer before gives "
                                  f"{int(np.prod(shape))}")
            pending = (name, DenseLayer(n_in, weight.shape[0]),
                       _float(weight * carry if carry != 1.0 else weight), (weight.shape[0],))
            carry = 1.0
            continue
        if isinstance(node, (nir.LIF, nir.IF)):
            if pending is None:
                raise DfasimError(f"node {name!r}: neurons without a weight matrix before them")
            wname, layer, weight, nshape = pending
            n = int(np.prod(nshape))
            theta = _vector(name, "v_threshold", node.v_threshold, n)
            reset = _vector(name, "v_reset", node.v_reset, n)
            r = _vector(name, "r", node.r, n)
            if np.any(reset != 0):
                raise DfasimError(f"node {name!r}: v_reset other than 0; dfasim resets to 0")
            if np.any(theta <= 0):
                raise DfasimError(f"node {name!r}: v_threshold must be positive")
            if isinstance(node, nir.LIF):
                if np.any(_vector(name, "v_leak", node.v_leak, n) != 0):
                    raise DfasimError(f"node {name!r}: v_leak other than 0; dfasim leaks to 0")
                tau = _vector(name, "tau", node.tau, n)
                if np.any(~(tau > 0)):
                    raise DfasimError(f"node {name!r}: tau must be positive")
                leaks = np.array([tau_to_leak(float(t), dt) for t in tau])
                if np.any(leaks < 0):
                    raise DfasimError(f"node {name!r}: tau {float(tau.min()):g} < dt {dt:g} "
                                      f"gives a negative leak; give the dt the graph was "
                                      f"written with (snnTorch uses 1e-4)")
                gain = r * dt / tau
                kind = "if" if np.all(leaks == 1.0) else "lif"
            else:
                leaks = np.ones(n)
                gain = r * dt
                kind = "if"
            if np.any(leaks != leaks[0]):
                raise DfasimError(f"node {name!r}: its neurons have different leaks; dfasim "
                                  f"has one leak per network")
            if leak is None:
                leak, leak_node = float(leaks[0]), name
            elif float(leaks[0]) != leak:
                raise DfasimError(f"node {name!r}: leak {float(leaks[0])!r} differs from "
                                  f"{leak!r} of node {leak_node!r}; dfasim has one leak per "
                                  f"network")
            kinds.add(kind)
            if not (np.all(np.isfinite(gain)) and np.all(gain > 0)):
                raise DfasimError(f"node {name!r}: the input gain r dt / tau must be positive")
            if threshold is None:
                threshold = float(theta[0])
            scale = gain * (threshold / theta)
            if isinstance(layer, ConvLayer):
                per_channel = scale.reshape(nshape[0], -1)
                if np.any(per_channel != per_channel[:, :1]):
                    raise DfasimError(f"node {name!r}: gains or thresholds differ within a "
                                      f"channel; a convolution can fold only one per channel")
                scale = per_channel[:, 0]
            if np.any(scale != 1.0):
                weight = (weight * scale.reshape(-1, *([1] * (weight.ndim - 1)))
                          ).astype(weight.dtype)
            weights.append(weight)
            layers.append(layer)
            shape = nshape
            pending = None
            continue
        if isinstance(node, nir.NIRGraph):
            raise DfasimError(f"node {name!r} is a subgraph (a recurrent layer?); dfasim "
                              f"imports flat feed-forward graphs")
        raise DfasimError(f"node {name!r}: NIR {type(node).__name__} has no dfasim form "
                          f"(supported: Input, Linear, Affine and Conv2d without bias, LIF, "
                          f"IF, AvgPool2d, SumPool2d, Flatten, Output)")
    if not weights:
        raise DfasimError("the graph has no layer of weights and neurons")
    if carry != 1.0 or not isinstance(layers[-1], DenseLayer):
        raise DfasimError("dfasim's output layer is dense and spiking; the graph ends with "
                          "a convolution or a pool")
    neuron = "if" if kinds == {"if"} else "lif"
    return ImportedNetwork(tuple(input_shape), layers, weights, neuron,
                           1.0 if neuron == "if" else leak, threshold, meta)


def to_checkpoint(net: ImportedNetwork, *, timesteps: int | None = None, dataset: str = "",
                  source: str = ""):
    """A :class:`~dfasim.flows.checkpoint.Checkpoint` of an imported network: a
    :class:`~dfasim.golden.network.SpikingMLP` for a dense chain, else a
    :class:`~dfasim.golden.conv.SpikingNetwork`."""
    import torch

    from ...golden.architecture import Architecture
    from ...golden.network import NetworkSpec, SpikingMLP
    from ..checkpoint import Checkpoint
    from ..config import NeuronConfig

    meta = net.metadata
    if timesteps is None:
        timesteps = meta.get(f"{META_PREFIX}timesteps")
    if timesteps is None:
        raise DfasimError("the graph does not say its timesteps (NIR has none); give "
                          "--timesteps")
    timesteps = int(timesteps)
    if timesteps < 1:
        raise DfasimError(f"timesteps must be a positive integer, not {timesteps}")
    leak = float(net.leak)
    if net.neuron == "if" and f"{META_PREFIX}if_leak" in meta:
        leak = float(meta[f"{META_PREFIX}if_leak"])
    neuron = NeuronConfig(neuron=net.neuron, leak=leak,
                          threshold=float(net.threshold), reset="hard")
    if f"{META_PREFIX}surrogate" in meta:
        neuron.surrogate = str(meta[f"{META_PREFIX}surrogate"])
        neuron.surrogate_width = float(meta[f"{META_PREFIX}surrogate_width"])
    outputs = net.layers[-1].n_out
    vote = int(meta.get(f"{META_PREFIX}vote_group", 1))
    try:
        if vote > 1:
            arch = Architecture(str(meta.get(f"{META_PREFIX}name", "")) or "nir",
                                net.input_shape, tuple(net.layers), timesteps, outputs // vote,
                                "vote", vote)
        else:
            arch = Architecture(str(meta.get(f"{META_PREFIX}name", "")) or "nir",
                                net.input_shape, tuple(net.layers), timesteps, outputs)
        if arch.is_convolutional or len(arch.input_shape) > 1 or vote > 1:
            from ...golden.conv import ArchitectureSpec, SpikingNetwork

            model = SpikingNetwork(ArchitectureSpec(arch, neuron.to_lif(), "spike"))
            model.eval()
        else:
            sizes = (arch.input_shape[0], *(layer.n_out for layer in arch.layers))
            model = SpikingMLP(NetworkSpec(sizes, timesteps, neuron.to_lif(), "spike"))
    except ValueError as exc:
        raise DfasimError(f"the imported network is not a dfasim network: {exc}") from None
    with torch.no_grad():
        for w, saved in zip(model.weights, net.weights):
            w.copy_(torch.from_numpy(np.ascontiguousarray(saved)).to(w.dtype))
    norm_mean = norm_std = None
    if f"{META_PREFIX}norm_mean" in meta:
        norm_mean = torch.as_tensor(np.asarray(meta[f"{META_PREFIX}norm_mean"]))
        norm_std = torch.as_tensor(np.asarray(meta[f"{META_PREFIX}norm_std"]))
    rule = str(meta.get(f"{META_PREFIX}rule", "")) or "nir"
    prefix = f"{META_PREFIX}feedback."
    feedback = {key[len(prefix):]: torch.as_tensor(np.asarray(value))
                for key, value in meta.items() if key.startswith(prefix)}
    return Checkpoint(model, neuron, rule, feedback, norm_mean, norm_std,
                      dataset or str(meta.get(f"{META_PREFIX}dataset", "")),
                      {"source": "nir", "graph": source})


def import_file(path: str | Path, out: str | Path, *, timesteps: int | None = None,
                dt: float | None = None, dataset: str = "") -> Path:
    """``dfasim nir import``: read a ``.nir`` graph, write ``out/checkpoint.pt``."""
    from ..checkpoint import save_checkpoint

    from .. import checkpoint as checkpoints

    ckpt = to_checkpoint(import_graph(read_graph(path), dt), timesteps=timesteps,
                         dataset=dataset, source=str(path))
    if not isinstance(ckpt.model, checkpoints.SpikingMLP) and \
            not hasattr(checkpoints, "SpikingNetwork"):
        raise DfasimError("this dfasim's checkpoints hold spiking MLPs only; the graph is a "
                          "convolutional network")
    target = Path(out) / "checkpoint.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(target, ckpt)
    return target
