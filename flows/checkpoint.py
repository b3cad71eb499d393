# SPDX-License-Identifier: MIT
"""Saving and loading trained SNNs: weights, neuron model, feedback matrices, normalisation.

The file is a ``torch.save`` archive of plain tensors and dicts only (loaded with
``weights_only=True``), written atomically; the same training run gives identical bytes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..golden.architecture import Architecture
from ..golden.conv import ArchitectureSpec, SpikingNetwork
from ..golden.network import NetworkSpec, SpikingMLP
from .config import NeuronConfig, from_dict
from .errors import DfasimError
from .fileio import atomic_torch_save

__all__ = ["FORMAT", "VERSION", "Checkpoint", "save_checkpoint", "load_checkpoint"]

FORMAT = "dfasim.snn"
VERSION = 1


@dataclass
class Checkpoint:
    """A trained network and what is needed to feed it data the way it was trained."""

    model: SpikingMLP | SpikingNetwork
    neuron: NeuronConfig
    rule: str
    feedback: dict[str, torch.Tensor]
    norm_mean: torch.Tensor | None
    norm_std: torch.Tensor | None
    dataset: str
    meta: dict[str, Any]

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the training-set standardisation (sequences only)."""
        if self.norm_mean is None:
            return x
        return (x - self.norm_mean.to(x)) / self.norm_std.to(x)


def save_checkpoint(path: str | Path, ckpt: Checkpoint) -> None:
    spec = ckpt.model.spec
    conv = isinstance(ckpt.model, SpikingNetwork)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "layers": ([spec.n_inputs, *spec.architecture.neurons()] if conv
                   else list(spec.layers)),
        "timesteps": spec.timesteps,
        "readout": spec.readout,
        "neuron": dataclasses.asdict(ckpt.neuron),
        "weights": [w.detach().cpu().clone() for w in ckpt.model.weights],
        "rule": ckpt.rule,
        "feedback": {k: v.detach().cpu().clone() for k, v in ckpt.feedback.items()},
        "norm_mean": None if ckpt.norm_mean is None else ckpt.norm_mean.cpu().clone(),
        "norm_std": None if ckpt.norm_std is None else ckpt.norm_std.cpu().clone(),
        "dataset": ckpt.dataset,
        "meta": ckpt.meta,
    }
    if conv:
        # a convolutional network: its architecture and batch-norm state
        payload["architecture"] = spec.architecture.to_dict()
        payload["norms"] = {k: v.detach().cpu().clone()
                            for k, v in ckpt.model.norms.state_dict().items()}
    atomic_torch_save(payload, path)


def load_checkpoint(path: str | Path, device: str = "cpu") -> Checkpoint:
    """Load a checkpoint; any unreadable, foreign or inconsistent file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise DfasimError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged archive
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DfasimError(f"checkpoint {path} is corrupt or not a dfasim checkpoint "
                          f"({reason[:120]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DfasimError(f"checkpoint {path} is not a dfasim SNN checkpoint")
    if data.get("version") != VERSION:
        raise DfasimError(f"checkpoint {path} has format version {data.get('version')!r}, "
                          f"this dfasim reads version {VERSION}")
    try:
        neuron = from_dict(NeuronConfig, data["neuron"], f"{path.name} neuron")
        if "architecture" in data:
            model = SpikingNetwork(ArchitectureSpec(
                Architecture.from_dict(data["architecture"]), neuron.to_lif(), data["readout"]))
            model.norms.load_state_dict(data["norms"])
            model.eval()
        else:
            spec = NetworkSpec(tuple(data["layers"]), int(data["timesteps"]), neuron.to_lif(),
                               data["readout"])
            model = SpikingMLP(spec)
        weights = data["weights"]
        if len(weights) != model.n_layers:
            raise ValueError(f"{len(weights)} weight matrices for {model.n_layers} layers")
        with torch.no_grad():
            for w, saved in zip(model.weights, weights):
                if saved.shape != w.shape:
                    raise ValueError(f"weight shape {tuple(saved.shape)} != {tuple(w.shape)}")
                if not torch.isfinite(saved).all():
                    raise ValueError("weights contain NaN or inf")
                w.copy_(saved)
    except (KeyError, TypeError, ValueError, RuntimeError, DfasimError) as exc:
        raise DfasimError(f"checkpoint {path} is inconsistent: {exc}") from None
    model.to(device)
    return Checkpoint(model, neuron, data.get("rule", ""), data.get("feedback", {}),
                      data.get("norm_mean"), data.get("norm_std"), data.get("dataset", ""),
                      data.get("meta", {}))
