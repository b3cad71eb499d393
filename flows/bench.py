# SPDX-License-Identifier: MIT
"""``dfasim bench``: measured speed figures (never asserted in tests, recorded in docs)."""
from __future__ import annotations

import platform
import time
from typing import Any

import torch
from tqdm.auto import tqdm

from ..golden.network import SpikingMLP
from ..golden.rules import make_rule
from .config import TrainConfig
from .train import network_spec, prepare_data, resolve_device, set_determinism

__all__ = ["bench_train"]


def bench_train(dataset: str, rules: list[str], *, batches: int = 10, batch_size: int = 50,
                repeats: int = 3, device: str = "cpu", data_dir: str | None = None,
                progress: bool | None = None) -> dict[str, Any]:
    """Training throughput per rule, in sample-timesteps per second (forward + gradients + step).

    Each rule runs ``batches`` mini-batches after one warm-up batch; the best of ``repeats``
    timings is reported, which is the least disturbed by other load on the machine.
    """
    dev = resolve_device(device)
    data = prepare_data(dataset, data_dir)
    results: dict[str, Any] = {
        "dataset": data.dataset.name, "batch_size": batch_size, "batches": batches,
        "repeats": repeats, "device": str(dev), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(), "rules": {},
    }
    for name in tqdm(rules, desc="bench train", unit="rule", disable=progress is False):
        cfg = TrainConfig(dataset=dataset, rule=name, batch_size=batch_size, device=device)
        set_determinism(0)
        spec = network_spec(cfg, data.dataset)
        gen = torch.Generator().manual_seed(0)
        model = SpikingMLP(spec, generator=gen).to(dev)
        rule = make_rule(name, model, loss=cfg.loss, generator=gen).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        x = data.x_train[:batch_size].to(dev)
        y = data.y_train[:batch_size].to(dev)
        rule.gradients(x, y)  # warm-up: allocator, first-call overheads
        opt.step()
        best = float("inf")
        for _ in range(repeats):
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            for _ in range(batches):
                rule.gradients(x, y)
                opt.step()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            best = min(best, time.perf_counter() - t0)
        st = batches * len(x) * spec.timesteps
        results["rules"][name] = {"layers": list(spec.layers), "timesteps": spec.timesteps,
                                  "seconds": best, "sample_timesteps_per_second": st / best,
                                  "samples_per_second": batches * len(x) / best}
    return results
