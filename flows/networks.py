# SPDX-License-Identifier: MIT
"""The spiking network a run uses: per-dataset defaults, and the check that it fits the data."""
from __future__ import annotations

from ..golden.network import NetworkSpec, parse_layers
from ..golden.networks import NETWORKS, format_layers
from .config import TrainConfig
from .datasets import Dataset
from .errors import DfasimError

__all__ = ["DEFAULT_NETWORKS", "network_spec", "check_network_fits"]

#: Default network and timesteps per dataset, from :data:`dfasim.golden.networks.NETWORKS`
#: (where a dataset's name names the network ``dfasim train`` uses for it): Table I's where the
#: paper has one; BasicMotions (6 channels x 100, like HHAR) uses the HHAR network, 4 outputs.
DEFAULT_NETWORKS: dict[str, tuple[str, int]] = {
    net.dataset: (format_layers(net.layers), net.timesteps)
    for net in NETWORKS.values() if net.name == net.dataset}


def network_spec(cfg: TrainConfig, ds: Dataset) -> NetworkSpec:
    """The network for ``cfg`` on ``ds``; a shape that does not fit the data is an error."""
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
    if ds.kind == "sequence":
        timesteps = cfg.timesteps or ds.timesteps
        if timesteps != ds.timesteps:
            raise DfasimError(f"timesteps {timesteps}: dataset {ds.name} is a sequence of "
                              f"{ds.timesteps} samples, one per timestep")
    else:
        timesteps = cfg.timesteps or default_t or 5
    try:
        return NetworkSpec(layers, timesteps, cfg.neuron.to_lif(), cfg.readout)
    except ValueError as exc:
        raise DfasimError(str(exc)) from None


def check_network_fits(spec: NetworkSpec, ds: Dataset) -> None:
    """Refuse a trained network whose input or output width does not match dataset ``ds``."""
    if ds.n_features != spec.n_inputs or ds.n_classes != spec.n_classes:
        raise DfasimError(f"checkpoint network {format_layers(spec.layers)} does not fit "
                          f"dataset {ds.name} ({ds.n_features} features, {ds.n_classes} "
                          f"classes)")
