# SPDX-License-Identifier: MIT
"""``dfasim train``: train a spiking network from scratch with BPTT, DFA or SDFA.

The network is a spiking MLP, or a convolutional network named in
:data:`dfasim.golden.networks.ARCHITECTURES` on a dataset of frames (its flattened samples are
reshaped to the architecture's ``(C, H, W)`` input).

A run directory holds ``config.toml`` (every setting), ``train_state.pt`` (written after every
epoch: weights, optimiser, scheduler and RNG state), and at the end ``checkpoint.pt`` and
``metrics.json``. Running the same command again continues from the last finished epoch, and
the result is bit-identical to an uninterrupted run.
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..golden.conv import ArchitectureSpec, SpikingNetwork
from ..golden.network import NetworkSpec, SpikingMLP
from ..golden.rules import make_rule
from .checkpoint import Checkpoint, save_checkpoint
from .config import TrainConfig, dump_toml, from_dict, to_dict
from .data_prep import PreparedData, batch_size_for, prepare_data
from .errors import DfasimError
from .evaluation import evaluate
from .fileio import atomic_torch_save, relative_to_run, remove_stale_temporaries, write_json
from .limits import check_fits
from .networks import estimate_training, network_spec
from .runtime import resolve_device, set_determinism

__all__ = ["train", "check_train_input"]


def check_train_input(cfg: TrainConfig
                      ) -> tuple[torch.device, PreparedData, NetworkSpec | ArchitectureSpec]:
    """Everything about a training request that can be wrong, checked before any file is written.

    Returns
    -------
    device, data, spec
        The torch device, the prepared dataset and the :class:`NetworkSpec` (an
        :class:`~dfasim.golden.conv.ArchitectureSpec` for a convolutional network).

    Raises
    ------
    DfasimError
        Bad settings, a dataset that cannot be loaded, a network that does not fit the data, or
        a network this machine cannot hold or finish (:func:`~dfasim.flows.limits.check_fits`).
    """
    cfg.validate()
    device = resolve_device(cfg.device)
    data = prepare_data(cfg.dataset, cfg.data_dir)
    spec = network_spec(cfg, data.dataset)
    check_fits(estimate_training(spec, n_train=len(data.x_train), n_test=len(data.x_test),
                              batch_size=batch_size_for(cfg, data.dataset.name),
                              epochs=cfg.epochs), device)
    return device, data, spec


def _make_state(cfg, epoch, model, rule, opt, sched, gen, history) -> dict[str, Any]:
    state = {"config": to_dict(cfg), "epoch": epoch,
             "weights": [w.detach().cpu().clone() for w in model.weights],
             "feedback": {k: v.cpu().clone() for k, v in rule.state_dict().items()},
             "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "generator": gen.get_state(), "history": history}
    if isinstance(model, SpikingNetwork):
        # batch-norm parameters and running statistics
        state["norms"] = {k: v.detach().cpu().clone() for k, v in model.norms.state_dict().items()}
    return state


def make_model(spec: NetworkSpec | ArchitectureSpec, generator: torch.Generator,
               init_gain: float = 1.0) -> SpikingMLP | SpikingNetwork:
    """The untrained network of ``spec``, initialised from ``generator``, its weights scaled by
    ``init_gain``."""
    if isinstance(spec, ArchitectureSpec):
        return SpikingNetwork(spec, generator=generator, init_gain=init_gain)
    model = SpikingMLP(spec, generator=generator)
    if init_gain != 1.0:
        with torch.no_grad():
            for w in model.weights:
                w.mul_(init_gain)
    return model


def train(cfg: TrainConfig, out_dir: str | Path, *, overwrite: bool = False,
          progress: bool | None = None) -> dict[str, Any]:
    """Train, evaluate every epoch, checkpoint; return the metrics that go to ``metrics.json``."""
    # Validate everything first: a refused request must leave no trace in the run folder.
    device, data, spec = check_train_input(cfg)
    out = Path(out_dir)
    state_path, ckpt_path = out / "train_state.pt", out / "checkpoint.pt"
    set_determinism(cfg.seed)

    gen = torch.Generator().manual_seed(cfg.seed)
    model = make_model(spec, gen, cfg.init_gain)
    rule = make_rule(cfg.rule, model, loss=cfg.loss, dfa_error=cfg.dfa_error, generator=gen,
                     mse_reduction=cfg.mse_reduction)
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
        if isinstance(model, SpikingNetwork):
            model.norms.load_state_dict(state["norms"])
        rule.load_state_dict(state["feedback"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        history, start_epoch = state["history"], state["epoch"]
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
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
        "layers": (list(spec.layers) if isinstance(spec, NetworkSpec)
                   else [spec.n_inputs, *spec.architecture.neurons()]),
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
        "checkpoint": relative_to_run(ckpt_path, out),
    }
    if isinstance(spec, ArchitectureSpec):
        metrics["architecture"] = spec.architecture.to_dict()
    write_json(out / "metrics.json", metrics)
    return metrics
