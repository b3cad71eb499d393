# SPDX-License-Identifier: MIT
"""Networks in and out through NIR, the Neuromorphic Intermediate Representation.

Export turns a dfasim checkpoint (a bias-free spiking MLP) into a ``nir.NIRGraph``
(``Input -> Linear -> LIF -> ... -> Linear -> LIF -> Output``) written by ``nir.write``; import
turns a NIR graph written by dfasim or another framework into a :class:`Checkpoint` that
``dfasim adapt`` deploys on noisy crossbars like one trained here.

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
``R = tau / dt``) write; the export nudges ``tau`` by a few ulps where needed so that
``1 - dt/tau`` gives back the very same float ``leak``, so a round trip is bit for bit. IF
neurons (``leak = 1``) are NIR's IF, ``dv/dt = R I``, with ``R = 1 / dt``.

On import the input gain ``R dt / tau`` (``R dt`` for IF) and a per-neuron threshold are folded
into the rows of the weight matrix before the neurons (``W_i * gain_i * threshold /
threshold_i``): with ``v_leak = v_reset = 0`` a neuron's dynamics are linear in its input, so
scaling a row by ``c > 0`` scales its membrane by ``c`` and leaves its spikes unchanged. A graph
whose gains and thresholds are already 1 and uniform is copied unchanged. What dfasim cannot
represent is refused in one line naming the node: a bias, a leak or reset voltage other than 0,
leaks that differ between neurons or layers, recurrent edges, subgraphs, synaptic-current
neurons (CubaLIF), a non-spiking read-out, anything but a chain.

NIR carries no timestep count, training data or normalisation: the export stores them in the
graph's metadata (``dfasim.*`` keys); an imported foreign graph needs ``timesteps`` (and, for
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

def export_graph(ckpt, dt: float = DT):
    """The NIR graph of a :class:`~dfasim.flows.checkpoint.Checkpoint` (module docstring)."""
    nir = _nir()
    spec = ckpt.model.spec
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
    decay_input = bool(getattr(lif, "decay_input", False)) and lif.neuron == "lif"
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([spec.n_inputs])})}
    edges = []
    prev = "input"
    for l, w in enumerate(ckpt.model.weights):
        weight = w.detach().cpu().numpy().copy()
        n = weight.shape[0]
        ones = np.ones(n, dtype=np.float64)
        theta = ones * float(lif.threshold)
        if lif.neuron == "if" or lif.effective_leak == 1.0:
            neuron = nir.IF(r=ones / dt, v_threshold=theta, v_reset=np.zeros(n))
        else:
            tau = leak_to_tau(lif.effective_leak, dt)
            # decay_input scales the input by 1 - leak = dt / tau: R = 1 instead of tau / dt.
            r = 1.0 if decay_input else tau / dt
            neuron = nir.LIF(tau=ones * tau, r=ones * r, v_leak=np.zeros(n),
                             v_threshold=theta, v_reset=np.zeros(n))
        nodes[f"fc{l}"] = nir.Linear(weight=weight)
        nodes[f"lif{l}"] = neuron
        edges += [(prev, f"fc{l}"), (f"fc{l}", f"lif{l}")]
        prev = f"lif{l}"
    nodes["output"] = nir.Output(output_type={"output": np.array([spec.n_classes])})
    edges.append((prev, "output"))
    meta = {f"{META_PREFIX}dt": float(dt), f"{META_PREFIX}timesteps": int(spec.timesteps),
            f"{META_PREFIX}dataset": ckpt.dataset or "", f"{META_PREFIX}rule": ckpt.rule or "",
            f"{META_PREFIX}surrogate": lif.surrogate.name,
            f"{META_PREFIX}surrogate_width": float(lif.surrogate.width)}
    if lif.neuron == "if":   # the unused leak field, so that the checkpoint comes back equal
        meta[f"{META_PREFIX}if_leak"] = float(lif.leak)
    if ckpt.norm_mean is not None:
        meta[f"{META_PREFIX}norm_mean"] = ckpt.norm_mean.detach().cpu().numpy()
        meta[f"{META_PREFIX}norm_std"] = ckpt.norm_std.detach().cpu().numpy()
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


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
    """What an imported graph gives: layer sizes, weights (folded), neuron parameters."""

    layers: tuple[int, ...]
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


def import_graph(graph, dt: float | None = None) -> ImportedNetwork:
    """The dfasim network of a NIR graph (module docstring); unsupported parts are one line."""
    nir = _nir()
    meta = _meta(graph)
    if dt is None:
        dt = float(meta.get(f"{META_PREFIX}dt", DT))
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise DfasimError(f"dt must be a positive number, not {dt!r}")
    order = _chain(graph)
    weights: list[np.ndarray] = []
    layers: list[int] = []
    pending: tuple[str, np.ndarray] | None = None   # a weight still waiting for its neurons
    kinds: set[str] = set()
    leak: float | None = None
    leak_node = ""
    threshold: float | None = None
    for name in order:
        node = graph.nodes[name]
        if isinstance(node, nir.Input):
            shape = node.input_type.get("input")
            if shape is not None:
                layers.append(int(np.prod(np.asarray(shape))))
            continue
        if isinstance(node, nir.Output):
            if pending is not None:
                raise DfasimError(f"node {pending[0]!r} feeds the output without spiking "
                                  f"neurons; dfasim's output layer is spiking")
            continue
        if isinstance(node, nir.Flatten):
            if weights or pending is not None:
                raise DfasimError(f"node {name!r}: a Flatten between dense layers is not a "
                                  f"dfasim network")
            continue
        if isinstance(node, (nir.Linear, nir.Affine)):
            if pending is not None:
                raise DfasimError(f"node {name!r} follows {pending[0]!r} with no neurons "
                                  f"between them; dfasim layers are weights then neurons")
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
            if not layers:
                layers.append(n_in)
            elif layers[-1] != n_in:
                raise DfasimError(f"node {name!r} takes {n_in} inputs, the layer before gives "
                                  f"{layers[-1]}")
            pending = (name, weight.astype(np.float64 if weight.dtype == np.float64
                                           else np.float32))
            continue
        if isinstance(node, (nir.LIF, nir.IF)):
            if pending is None:
                raise DfasimError(f"node {name!r}: neurons without a weight matrix before them")
            wname, weight = pending
            n = weight.shape[0]
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
            if np.any(scale != 1.0):
                weight = (weight * scale[:, None]).astype(weight.dtype)
            weights.append(weight)
            layers.append(n)
            pending = None
            continue
        if isinstance(node, nir.NIRGraph):
            raise DfasimError(f"node {name!r} is a subgraph (a recurrent layer?); dfasim "
                              f"imports flat feed-forward graphs")
        raise DfasimError(f"node {name!r}: NIR {type(node).__name__} has no dfasim form "
                          f"(supported: Input, Linear, Affine without bias, LIF, IF, Flatten, "
                          f"Output)")
    if not weights:
        raise DfasimError("the graph has no layer of weights and neurons")
    neuron = "if" if kinds == {"if"} else "lif"
    return ImportedNetwork(tuple(layers), weights, neuron, 1.0 if neuron == "if" else leak,
                           threshold, meta)


def to_checkpoint(net: ImportedNetwork, *, timesteps: int | None = None, dataset: str = "",
                  source: str = ""):
    """A :class:`~dfasim.flows.checkpoint.Checkpoint` of an imported network."""
    import torch

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
    try:
        spec = NetworkSpec(net.layers, timesteps, neuron.to_lif(), "spike")
    except ValueError as exc:
        raise DfasimError(f"the imported network is not a dfasim network: {exc}") from None
    model = SpikingMLP(spec)
    with torch.no_grad():
        for w, saved in zip(model.weights, net.weights):
            w.copy_(torch.from_numpy(np.ascontiguousarray(saved)).to(w.dtype))
    norm_mean = norm_std = None
    if f"{META_PREFIX}norm_mean" in meta:
        norm_mean = torch.as_tensor(np.asarray(meta[f"{META_PREFIX}norm_mean"]))
        norm_std = torch.as_tensor(np.asarray(meta[f"{META_PREFIX}norm_std"]))
    rule = str(meta.get(f"{META_PREFIX}rule", "")) or "nir"
    return Checkpoint(model, neuron, rule, {}, norm_mean, norm_std,
                      dataset or str(meta.get(f"{META_PREFIX}dataset", "")),
                      {"source": "nir", "graph": source})


def import_file(path: str | Path, out: str | Path, *, timesteps: int | None = None,
                dt: float | None = None, dataset: str = "") -> Path:
    """``dfasim nir import``: read a ``.nir`` graph, write ``out/checkpoint.pt``."""
    from .checkpoint import save_checkpoint

    ckpt = to_checkpoint(import_graph(read_graph(path), dt), timesteps=timesteps,
                         dataset=dataset, source=str(path))
    target = Path(out) / "checkpoint.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(target, ckpt)
    return target
