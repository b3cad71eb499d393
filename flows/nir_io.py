# SPDX-License-Identifier: MIT
"""Networks in and out through NIR, the Neuromorphic Intermediate Representation.

Export turns a dfasim checkpoint into a ``nir.NIRGraph`` written by ``nir.write``: a spiking MLP
is ``Input -> Linear -> LIF -> ... -> Linear -> LIF -> Output``; a convolutional network
(``golden/conv.py``) is ``Conv2d`` (zero bias) ``-> LIF`` over the whole map ``-> AvgPool2d``
(window = stride, when the layer pools) per convolution, then ``Flatten -> Linear -> LIF`` (max
pooling and batch norm have no NIR form and are refused). Import turns a NIR graph written by
dfasim or another framework into a :class:`Checkpoint` that ``dfasim adapt`` deploys on noisy
crossbars like one trained here (a convolutional one where the checkpoint format holds
convolutional networks). A ``SumPool2d`` of a ``k x k`` window is dfasim's average pool with the
next layer's weights times ``k * k``; a ``Conv2d`` needs a square kernel, one stride and one
padding (or ``'valid'`` / ``'same'``) on both axes, no dilation, no groups.

Neuron mapping (one timestep of dfasim is one forward-Euler step of length ``dt``)
------------------------------------------------------------------------------------
NIR's LIF is continuous: ``tau dv/dt = (v_leak - v) + R I``, a spike when ``v > v_threshold``,
then ``v = v_reset``. One Euler step of length ``dt`` with ``v_leak = 0`` gives

    v[t] = v[t-1] + dt/tau (-v[t-1] + R I[t]) = (1 - dt/tau) v[t-1] + (R dt / tau) I[t]

and dfasim's LIF (``golden/lif.py``) is ``u[t] = leak * v[t-1] + I[t]``, a spike when
``u > threshold``, hard reset to 0. They agree for

    leak = 1 - dt/tau        tau = dt / (1 - leak)        R = tau / dt      (R dt / tau = 1)
    v_threshold = threshold  v_leak = 0                   v_reset = 0

With ``dt = 1`` (dfasim's default, stored in the graph's metadata as ``dfasim.dt``) a leak of
0.75 is ``tau = 4``, ``R = 4``. ``leak = 1 - dt/tau`` is chosen over ``leak = exp(-dt/tau)``
because it is the exact Euler step that other frameworks (snnTorch: ``tau = dt / (1 - beta)``,
``R = tau / dt``) write. The import works ``1 - dt/tau`` in exact rational arithmetic and
rounds once; the export nudges ``tau`` by a few ulps where needed so that this gives back the
very same float64 ``leak``: exact for every leak in [0.5, 1] and for 0 (there ``dt/tau`` moves by
less than an ulp of ``leak`` per ulp of ``tau``); below 0.5 at worst one float64 ulp off, which
rounds to the same float32 the network computes with. So an exported and re-imported network
gives the same outputs bit for bit. IF neurons (``leak = 1``) are NIR's IF, ``dv/dt = R I``,
with ``R = 1 / dt``.

On import the input gain ``R dt / tau`` (``R dt`` for IF) and a per-neuron threshold are folded
into the rows of the weight matrix before the neurons (``W_i * gain_i * threshold /
threshold_i``): with ``v_leak = v_reset = 0`` a neuron's dynamics are linear in its input, so
scaling a row by ``c > 0`` scales its membrane by ``c`` and leaves its spikes unchanged (for a
convolution the factor must be one per output channel). A graph
whose gains and thresholds are already 1 and uniform is copied unchanged (folding other
factors rounds the weights once, so a foreign graph runs as its framework runs it up to float32
rounding; exactly where the factors are powers of two). What dfasim cannot
represent is refused in one line naming the node: a bias, a leak or reset voltage other than 0,
leaks that differ between neurons or layers, recurrent edges, subgraphs, synaptic-current
neurons (CubaLIF), a non-spiking read-out, anything but a chain.

NIR carries no timestep count, training data, normalisation or DFA feedback matrices: the export
stores them in the
graph's metadata (``dfasim.*`` keys, with a vote read-out's group size: the graph's output is
the voting layer's spikes); an imported foreign graph needs ``timesteps`` (and, for
``dfasim adapt``, a dataset) from the caller.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DfasimError

__all__ = ["DT", "leak_to_tau", "tau_to_leak", "export_graph", "write_graph", "read_graph",
           "import_graph", "export_checkpoint", "import_file", "ImportedNetwork"]

#: Default Euler step of one dfasim timestep, in NIR's time unit.
DT = 1.0

#: Graph metadata keys the export writes and the import reads.
META_PREFIX = "dfasim."


def _nir():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a dependency
        raise DfasimError("NIR support needs the nir package (pip install nir)") from None
    return nir


def tau_to_leak(tau: float, dt: float = DT) -> float:
    """dfasim's leak of a NIR time constant: ``1 - dt / tau`` (one Euler step), worked in
    exact rational arithmetic and rounded once (``inf`` gives 1)."""
    if math.isinf(tau):
        return 1.0
    return float(1 - Fraction(dt) / Fraction(tau))


def leak_to_tau(leak: float, dt: float = DT) -> float:
    """The NIR time constant ``tau = dt / (1 - leak)``, nudged by ulps until
    :func:`tau_to_leak` gives back exactly ``leak`` (``inf`` for ``leak = 1``).

    Exact for every leak in [0.5, 1] and 0: there ``dt / tau`` moves by less than an ulp of
    ``leak`` per ulp of ``tau``. Below 0.5 the nearest is returned (off by at most an ulp of
    float64, which rounds to the same float32 the network computes with)."""
    leak = float(leak)
    if not 0.0 <= leak < 1.0:
        if leak == 1.0:
            return math.inf
        raise ValueError(f"leak must be in [0, 1], not {leak!r}")
    tau = dt / (1.0 - leak)
    if tau_to_leak(tau, dt) == leak:
        return tau
    best, down, up = tau, tau, tau
    for _ in range(64):
        down, up = math.nextafter(down, 0.0), math.nextafter(up, math.inf)
        for cand in (down, up):
            if tau_to_leak(cand, dt) == leak:
                return cand
            if abs(tau_to_leak(cand, dt) - leak) < abs(tau_to_leak(best, dt) - leak):
                best = cand
    return best   # leak < 0.5: within an ulp of float64 (module docstring)


# ---------------------------------------------------------------------------------- export ---

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
        from ..golden.architecture import Architecture

        arch = Architecture.mlp(spec.layers, spec.timesteps)
    from ..golden.architecture import ConvLayer

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
    from .checkpoint import load_checkpoint

    return write_graph(export_graph(load_checkpoint(checkpoint), dt), Path(out) / "network.nir")


# ---------------------------------------------------------------------------------- import ---

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
    from ..golden.architecture import ConvLayer

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

    from ..golden.architecture import ConvLayer, DenseLayer

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

    from ..golden.architecture import Architecture
    from ..golden.network import NetworkSpec, SpikingMLP
    from .checkpoint import Checkpoint
    from .config import NeuronConfig

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
            from ..golden.conv import ArchitectureSpec, SpikingNetwork

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
    from .checkpoint import save_checkpoint

    from . import checkpoint as checkpoints

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
