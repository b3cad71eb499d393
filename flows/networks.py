# SPDX-License-Identifier: MIT
"""The spiking network a run uses: per-dataset defaults, and the check that it fits the data.

A fully connected network is a :class:`NetworkSpec`; a convolutional one named in
:data:`dfasim.golden.networks.ARCHITECTURES` is an
:class:`~dfasim.golden.conv.ArchitectureSpec`, which needs a dataset whose samples flatten its
``(C, H, W)`` input (an event dataset's ``frame_shape``).
"""
from __future__ import annotations

from ..golden.conv import ArchitectureSpec
from ..golden.network import NetworkSpec, parse_layers
from ..golden.networks import ARCHITECTURES, NETWORKS, architecture_of, format_layers
from .config import TrainConfig
from .datasets import Dataset
from .errors import DfasimError
from .limits import ResourceEstimate, train_estimate

__all__ = ["DEFAULT_NETWORKS", "network_spec", "check_network_fits", "describe_network",
           "estimate_training"]

#: Default network and timesteps per dataset: the first network of
#: :data:`dfasim.golden.networks.NETWORKS` made for it (the one named after the dataset where
#: there is one). Table I's where the paper has one; BasicMotions (6 channels x 100, like HHAR)
#: uses the HHAR network with 4 outputs; N-MNIST, Braille and SHD PipeSDFA's (N-MNIST: 2 FC).
DEFAULT_NETWORKS: dict[str, tuple[str, int]] = {}
for _net in sorted(NETWORKS.values(), key=lambda net: net.name != net.dataset):
    DEFAULT_NETWORKS.setdefault(_net.dataset, (format_layers(_net.layers), _net.timesteps))
del _net


def _timesteps(cfg: TrainConfig, ds: Dataset, default: int) -> int:
    """``T`` of a run: a sequence dataset fixes it (one sample per timestep); a static one
    takes the configured value, else ``default``."""
    if ds.kind != "sequence":
        return cfg.timesteps or default
    timesteps = cfg.timesteps or ds.timesteps
    if timesteps != ds.timesteps:
        raise DfasimError(f"timesteps {timesteps}: dataset {ds.name} is a sequence of "
                          f"{ds.timesteps} samples, one per timestep")
    return timesteps


def network_spec(cfg: TrainConfig, ds: Dataset) -> NetworkSpec:
    """The network for ``cfg`` on ``ds``; a shape that does not fit the data is an error."""
    if cfg.layers.strip() in ARCHITECTURES:
        return _architecture_spec(cfg, ds)
    default_layers, default_t = DEFAULT_NETWORKS.get(ds.name, ("", 0))
    try:
        layers = parse_layers(cfg.layers or default_layers or f"{ds.n_features}-128-{ds.n_classes}")
    except ValueError as exc:
        raise DfasimError(str(exc)) from None
    if layers[0] != ds.n_features:
        raise DfasimError(f"layers {'-'.join(map(str, layers))}: the first layer has {layers[0]} "
                          f"inputs but dataset {ds.name} has {ds.n_features} features")
    if layers[-1] != ds.n_classes:
        raise DfasimError(f"layers {'-'.join(map(str, layers))}: the last layer has {layers[-1]} "
                          f"outputs but dataset {ds.name} has {ds.n_classes} classes")
    timesteps = _timesteps(cfg, ds, default_t or 5)
    try:
        return NetworkSpec(layers, timesteps, cfg.neuron.to_lif(), cfg.readout)
    except ValueError as exc:
        raise DfasimError(str(exc)) from None


def _architecture_spec(cfg: TrainConfig, ds: Dataset) -> ArchitectureSpec:
    name = cfg.layers.strip()
    arch = architecture_of(name)
    frame = getattr(ds, "frame_shape", None)
    shape = tuple(arch.input_shape)
    if frame is not None and tuple(frame) != shape:
        raise DfasimError(f"network {name} takes {'x'.join(map(str, shape))} frames but dataset "
                          f"{ds.name} has {'x'.join(map(str, frame))}")
    n_in = ArchitectureSpec(arch).n_inputs
    if ds.n_features != n_in:
        raise DfasimError(f"network {name} takes {'x'.join(map(str, shape))} = {n_in} inputs "
                          f"but dataset {ds.name} has {ds.n_features} features")
    if ds.n_classes != arch.n_classes:
        raise DfasimError(f"network {name} has {arch.n_classes} classes but dataset {ds.name} "
                          f"has {ds.n_classes}")
    timesteps = _timesteps(cfg, ds, arch.timesteps)
    try:
        return ArchitectureSpec(architecture_of(name, timesteps), cfg.neuron.to_lif(),
                                cfg.readout)
    except ValueError as exc:
        raise DfasimError(str(exc)) from None


def describe_network(spec: NetworkSpec | ArchitectureSpec) -> str:
    """The dash form of an MLP, the name of a convolutional network."""
    if isinstance(spec, ArchitectureSpec):
        return spec.architecture.name
    return format_layers(spec.layers)


def estimate_training(spec: NetworkSpec | ArchitectureSpec, *, n_train: int, n_test: int,
                      batch_size: int, epochs: int) -> ResourceEstimate:
    """:func:`~dfasim.flows.limits.train_estimate` for either kind of network; a convolutional
    one counts its kernels once for memory and once per output position for compute, and every
    neuron of its maps (before pooling) for the saved activations."""
    if isinstance(spec, NetworkSpec):
        return train_estimate(spec, n_train=n_train, n_test=n_test, batch_size=batch_size,
                              epochs=epochs)
    arch = spec.architecture
    matrices = arch.matrices()
    params = sum(m.rows * m.cols for m in matrices)
    macs_per_step = sum(m.rows * m.cols * m.reads_per_timestep for m in matrices)
    inputs = [spec.n_inputs]
    for shape_in, _ in arch.shapes()[1:]:
        n = 1
        for d in shape_in:
            n *= d
        inputs.append(n)
    per_step = sum(inputs) + sum(arch.neurons())
    batch = max(1, min(batch_size, n_train))
    eval_batch = max(1, min(256, n_test))
    # weights, grads, Adam moments, checkpoint copies (8); 5 values saved per neuron in training
    memory = 4 * (8 * params + arch.n_classes * sum(arch.hidden_sizes)
                  + 5 * max(batch, eval_batch) * spec.timesteps * per_step)
    flops = 2.0 * epochs * spec.timesteps * macs_per_step * (3 * n_train + n_test)
    return ResourceEstimate(f"training network {arch.name} (T={spec.timesteps}, batch {batch})",
                            float(memory), flops)


def check_network_fits(spec: NetworkSpec | ArchitectureSpec, ds: Dataset) -> None:
    """Refuse a trained network whose input or output width does not match dataset ``ds``."""
    if ds.n_features != spec.n_inputs or ds.n_classes != spec.n_classes:
        raise DfasimError(f"checkpoint network {describe_network(spec)} does not fit "
                          f"dataset {ds.name} ({ds.n_features} features, {ds.n_classes} "
                          f"classes)")
