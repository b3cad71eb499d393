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

__all__ = ["bench_train", "bench_adapt", "peak_flops", "adapt_epoch_flops"]


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


def peak_flops(n: int = 2048, repeats: int = 5) -> float:
    """Measured float32 matrix-multiply rate (FLOP/s) of this machine with torch's threads.

    The best of ``repeats`` ``n x n`` products: the practical arithmetic limit that the
    simulator's dense kernels could reach.
    """
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best


def adapt_epoch_flops(layers: list[int], timesteps: int, samples: int, rule: str) -> float:
    """FLOPs of the float computation one adaptation epoch stands for.

    Forward: ``2 T N n_in n_out`` per layer; DFA: ``B_l e`` once per sample plus the WGU outer
    products ``2 T N n_in n_out``; BP: the transposed products ``2 T N n_in n_out`` for every
    layer above the first, plus the same WGU products. Element-wise LIF/GradLIF work is left
    out (it is a few percent). The simulator does more than this (bit planes, two columns per
    weight, ADC quantisation), so the ratio to the machine's peak is a lower bound of its
    efficiency, which is the point: it says how far from the arithmetic limit the model runs.
    """
    mvm = sum(2.0 * timesteps * samples * i * o for i, o in zip(layers[:-1], layers[1:]))
    if rule == "dfa":
        feedback = sum(2.0 * samples * n * layers[-1] for n in layers[1:-1])
        return 2 * mvm + feedback
    back = sum(2.0 * timesteps * samples * i * o for i, o in zip(layers[1:-1], layers[2:]))
    return 2 * mvm + back


def bench_adapt(checkpoint: str, rules: list[str], *, batch_size: int = 50,
                data_dir: str | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Seconds per on-chip adaptation epoch over the whole training split, per rule.

    The checkpoint is deployed on one chip (CrossSim NeuRRAM spread, Table II crossbars, 4-bit
    ADC) and adapted for one epoch; the test split is not evaluated (it is not part of an epoch).
    """
    import copy

    from ..models.analog_network import AnalogSNN, deploy_feedback
    from ..models.crossbar import CrossbarConfig
    from ..models.rram.noise import PolynomialSpread
    from .checkpoint import load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    data = prepare_data(ckpt.dataset, data_dir)
    x = ckpt.normalise(torch.from_numpy(data.dataset.x_train).float())
    y = data.y_train
    spec = ckpt.model.spec
    gen = torch.Generator().manual_seed(0)
    cfg = CrossbarConfig()
    chip = AnalogSNN.deploy(ckpt.model, cfg, PolynomialSpread(), gen, calibration=x[:256])
    fbw = ([ckpt.feedback[f"B{l}"] for l in range(len(spec.hidden))]
           if ckpt.rule == "dfa" and ckpt.feedback else None)
    fb = deploy_feedback(spec, cfg, PolynomialSpread(), gen, matrices=fbw,
                         counters=chip.counters)
    peak = peak_flops()
    res: dict[str, Any] = {"checkpoint": checkpoint, "dataset": data.dataset.name,
                           "samples": len(x), "timesteps": spec.timesteps,
                           "layers": list(spec.layers), "batch_size": batch_size,
                           "torch_threads": torch.get_num_threads(),
                           "peak_flops": peak, "rules": {}}
    for rule in tqdm(rules, desc="bench adapt", unit="rule", disable=progress is False):
        snn, fbr = copy.deepcopy((chip, fb))
        t0 = time.perf_counter()
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            if rule == "dfa":
                snn.dfa_step(xb, yb, fbr, 0.1)
            else:
                snn.bp_step(xb, yb, 0.3)
        seconds = time.perf_counter() - t0
        flops = adapt_epoch_flops(list(spec.layers), spec.timesteps, len(x), rule)
        res["rules"][rule] = {"seconds_per_epoch": seconds, "epoch_flops": flops,
                              "achieved_flops": flops / seconds,
                              "fraction_of_peak": flops / seconds / peak}
    return res
