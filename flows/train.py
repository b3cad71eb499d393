# SPDX-License-Identifier: MIT
"""``dfasim train``: train a spiking MLP from scratch with BPTT, DFA or SDFA.

A run directory holds ``config.toml`` (every setting), ``train_state.pt`` (written after every
epoch: weights, optimiser, scheduler and RNG state), and at the end ``checkpoint.pt`` and
``metrics.json``. Running the same command again continues from the last finished epoch, and
the result is bit-identical to an uninterrupted run.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..golden.network import NetworkSpec, SpikingMLP, parse_layers
from ..golden.rules import make_rule
from .checkpoint import Checkpoint, save_checkpoint
from .config import TrainConfig, dump_toml, from_dict, to_dict
from .datasets import Dataset, DatasetError, load_dataset
from .errors import DfasimError
from .fileio import atomic_torch_save, write_json

__all__ = ["DEFAULT_NETWORKS", "PreparedData", "prepare_data", "network_spec", "evaluate",
           "set_determinism", "resolve_device", "train", "DEFAULT_BATCH", "batch_size_for"]

#: Default network and timesteps per dataset: Table I's where the paper has one; BasicMotions
#: (6 channels x 100, like HHAR) uses the HHAR network with 4 outputs.
DEFAULT_NETWORKS: dict[str, tuple[str, int]] = {
    "uci_har": ("9-128-64-32-6", 128),
    "hhar": ("6-256-128-64-6", 100),
    "fashion_mnist": ("784-512-256-128-64-10", 5),
    "basic_motions": ("6-256-128-64-4", 100),
    "digits": ("64-256-128-10", 5),
}

#: Mini-batch size per dataset (default 50, the paper's). BasicMotions has only 40 training
#: windows: batch 50 would mean one update per epoch, which DFA cannot learn from in 30 epochs.
DEFAULT_BATCH: dict[str, int] = {"basic_motions": 10}


def batch_size_for(cfg: TrainConfig, ds_name: str) -> int:
    """The configured batch size, or the dataset's default when it is 0."""
    return cfg.batch_size or DEFAULT_BATCH.get(ds_name, 50)


@dataclass
class PreparedData:
    """Tensors ready for the network: sequences standardised with training-set statistics."""

    dataset: Dataset
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: torch.Tensor | None
    std: torch.Tensor | None


def prepare_data(name: str, data_dir: str | None = None) -> PreparedData:
    """Load a dataset and standardise sequence channels with the training split's statistics."""
    try:
        ds = load_dataset(name, data_dir=data_dir or None)
    except DatasetError as exc:
        raise DfasimError(str(exc)) from None
    x_train = torch.from_numpy(ds.x_train).float()
    x_test = torch.from_numpy(ds.x_test).float()
    mean = std = None
    if ds.kind == "sequence":
        mean = x_train.mean(dim=(0, 1))
        # A constant channel would divide by zero; leave it centred but unscaled.
        std = x_train.std(dim=(0, 1)).clamp_min(1e-6)
        x_train = (x_train - mean) / std
        x_test = (x_test - mean) / std
    return PreparedData(ds, x_train, torch.from_numpy(ds.y_train).long(), x_test,
                        torch.from_numpy(ds.y_test).long(), mean, std)


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


def set_determinism(seed: int) -> None:
    """Seed torch and ask for deterministic kernels (same seed => same bits, same machine)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by deterministic cuBLAS
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def resolve_device(name: str) -> torch.device:
    """``cpu`` or ``cuda[:k]``; asking for CUDA on a machine without it is an error."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DfasimError(f"device {name!r} requested but this torch build sees no CUDA GPU")
    return torch.device(name)


@torch.no_grad()
def evaluate(model: SpikingMLP, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256,
             device: torch.device | None = None) -> float:
    """Classification accuracy (fraction) of ``model`` on ``(x, y)``."""
    device = device or next(model.parameters()).device
    correct = 0
    for i in range(0, len(x), batch_size):
        out, _ = model(x[i:i + batch_size].to(device))
        correct += int((out.argmax(dim=1).cpu() == y[i:i + batch_size]).sum())
    return correct / max(len(x), 1)


def _make_state(cfg, epoch, model, rule, opt, sched, gen, history) -> dict[str, Any]:
    return {"config": to_dict(cfg), "epoch": epoch,
            "weights": [w.detach().cpu().clone() for w in model.weights],
            "feedback": {k: v.cpu().clone() for k, v in rule.state_dict().items()},
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "generator": gen.get_state(), "history": history}


def train(cfg: TrainConfig, out_dir: str | Path, *, overwrite: bool = False,
          progress: bool | None = None) -> dict[str, Any]:
    """Train, evaluate every epoch, checkpoint; return the metrics that go to ``metrics.json``."""
    cfg.validate()
    out = Path(out_dir)
    state_path, ckpt_path = out / "train_state.pt", out / "checkpoint.pt"
    device = resolve_device(cfg.device)
    set_determinism(cfg.seed)
    data = prepare_data(cfg.dataset, cfg.data_dir)
    spec = network_spec(cfg, data.dataset)

    gen = torch.Generator().manual_seed(cfg.seed)
    model = SpikingMLP(spec, generator=gen)
    rule = make_rule(cfg.rule, model, loss=cfg.loss, dfa_error=cfg.dfa_error, generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    history: list[dict[str, float]] = []
    start_epoch = 0

    if state_path.exists() and not overwrite:
        try:
            state = torch.load(state_path, map_location="cpu", weights_only=True)
            saved_cfg = from_dict(TrainConfig, state["config"])
        except Exception as exc:
            raise DfasimError(f"cannot resume from {state_path} ({type(exc).__name__}); "
                              f"pass --overwrite to start again") from None
        if to_dict(saved_cfg) != to_dict(cfg):
            raise DfasimError(f"{out} holds a run with a different configuration; choose "
                              f"another --out or pass --overwrite")
        with torch.no_grad():
            for w, saved in zip(model.weights, state["weights"]):
                w.copy_(saved)
        rule.load_state_dict(state["feedback"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        history, start_epoch = state["history"], state["epoch"]
    out.mkdir(parents=True, exist_ok=True)
    dump_toml(out / "config.toml", {"train": cfg})

    model.to(device)
    rule.to(device)
    n = len(data.x_train)
    batch_size = batch_size_for(cfg, data.dataset.name)
    train_seconds = sum(h["seconds"] for h in history)
    bar = tqdm(range(start_epoch, cfg.epochs), initial=start_epoch, total=cfg.epochs,
               desc=f"train {cfg.dataset}/{cfg.rule}", unit="epoch", disable=progress is False)
    for epoch in bar:
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            x, y = data.x_train[idx].to(device), data.y_train[idx].to(device)
            loss, out_b = rule.gradients(x, y)
            if not math.isfinite(loss):
                raise DfasimError(f"training diverged: loss is {loss} in epoch {epoch + 1}; "
                                  f"the last good epoch is kept in {state_path}")
            opt.step()
            loss_sum += loss * len(idx)
            correct += int((out_b.argmax(dim=1) == y).sum())
        sched.step()
        seconds = time.perf_counter() - t0
        test_acc = evaluate(model, data.x_test, data.y_test, device=device)
        history.append({"epoch": epoch + 1, "loss": loss_sum / n, "train_acc": correct / n,
                        "test_acc": test_acc, "seconds": seconds})
        train_seconds += seconds
        bar.set_postfix(loss=f"{loss_sum / n:.4f}", test_acc=f"{100 * test_acc:.2f}%")
        atomic_torch_save(_make_state(cfg, epoch + 1, model, rule, opt, sched, gen, history),
                          state_path)

    meta = {"seed": cfg.seed, "epochs": cfg.epochs, "source": data.dataset.source}
    save_checkpoint(ckpt_path, Checkpoint(model, cfg.neuron, cfg.rule, rule.state_dict(),
                                          data.mean, data.std, data.dataset.name, meta))
    final = history[-1]["test_acc"] if history else evaluate(model, data.x_test, data.y_test)
    metrics = {
        "dataset": data.dataset.name,
        "source": data.dataset.source,
        "rule": cfg.rule,
        "layers": list(spec.layers),
        "timesteps": spec.timesteps,
        "n_train": n,
        "batch_size": batch_size,
        "n_test": len(data.x_test),
        "test_accuracy": final,
        "best_test_accuracy": max((h["test_acc"] for h in history), default=final),
        "train_seconds": train_seconds,
        "sample_timesteps_per_second": (n * spec.timesteps * len(history) / train_seconds
                                        if train_seconds else None),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "history": history,
        "config": dataclasses.asdict(cfg),
        "checkpoint": str(ckpt_path),
    }
    write_json(out / "metrics.json", metrics)
    return metrics
