# SPDX-License-Identifier: MIT
"""``dfasim bench simulate``: wall time of one simulated training epoch per dataflow, and the
speed of the list scheduler and buffer placement (figures for docs/benchmarks.md)."""
from __future__ import annotations

import os
import platform
import time
from typing import Any

from ..golden.networks import NETWORKS, format_layers, parse_network
from ..models.archsim import DATAFLOWS, TaskGraph, simulate
from ..models.chip import ChipConfig
from ..models.cost import DenseSpec, dense_workload

__all__ = ["bench_simulate", "measure_engine_speed", "UCI_HAR_EPOCH"]

#: UCI-HAR's training split: 7,352 windows (the epoch the issue's speed target names).
UCI_HAR_EPOCH = 7352


def bench_simulate(network: str = "uci_har", dataflows=DATAFLOWS, *,
                   samples: int = UCI_HAR_EPOCH, batch_size: int = 50,
                   timesteps: int | None = None, chip: ChipConfig | None = None,
                   engine_ops: int = 200_000) -> dict[str, Any]:
    """Seconds to simulate one epoch of ``network`` under each dataflow (graph building,
    scheduling, placement and extrapolation together), plus the engine's own speed."""
    chip = (chip or ChipConfig()).validate()
    layers = list(parse_network(network))
    named = NETWORKS.get(network)
    steps = timesteps or (named.timesteps if named is not None else 128)
    spec = DenseSpec(layers=layers, timesteps=steps, samples_per_epoch=samples,
                     batch_size=batch_size, name=network)
    workload = dense_workload(spec, chip)
    out: dict[str, Any] = {"network": format_layers(layers), "timesteps": steps,
                           "samples": samples, "batch_size": batch_size,
                           "machine": platform.machine(), "cpus": os.cpu_count(),
                           "load_average": list(os.getloadavg()), "dataflows": {}}
    for flow in dataflows:
        start = time.perf_counter()
        sim = simulate(workload, chip, flow)
        seconds = time.perf_counter() - start
        out["dataflows"][flow] = {
            "seconds": seconds, "operations": int(len(sim.schedule.start)),
            "simulated_batches": sim.simulated_batches, "batches": sim.batches,
            "makespan_s": sim.makespan_ns * 1e-9,
            "energy_j": sim.energy_total_pj * 1e-12}
    out["engine"] = measure_engine_speed(engine_ops)
    return out


def measure_engine_speed(n_ops: int = 200_000) -> dict:
    """Time the engine on a representative graph of about ``n_ops`` ops (for the benchmarks).

    The graph is a timestep-level forward pipeline: per sample a DRAM load, then per timestep
    and layer ``fwd`` on the layer's tile (two copies for layer 0) followed by ``lif`` on its
    neuron unit, ``lif`` chained over timesteps and feeding the next layer's ``fwd``; every
    ``fwd`` stores partial sums in a PE buffer and every ``lif`` a membrane in a tile buffer,
    both small enough that some of them spill.

    Returns ``ops``, ``tensors``, ``build_s``, ``schedule_s``, ``place_s``, ``ops_per_s``
    (scheduling) and ``tensors_per_s`` (placement).
    """
    layers, steps = 4, 64
    per_sample = 1 + 2 * layers * steps
    samples = max(1, n_ops // per_sample)
    t0 = time.perf_counter()
    g = TaskGraph()
    dram = g.resource("dram", "dram")
    tile = [g.resource(f"tile:L{l}", "tile", 2 if l == 0 else 1) for l in range(layers)]
    neuron = [g.resource(f"neuron:L{l}", "neuron") for l in range(layers)]
    g.buffer("global", 2048.0)
    for l in range(layers):
        g.buffer(f"tile:L{l}", 1024.0, "global")
        g.buffer(f"pe:L{l}", 32.0, f"tile:L{l}")
    for s in range(samples):
        load = g.op("load", 50.0, resources=(dram,), priority=(s, -1, -1, 0), sample=s)
        below = [load] * steps
        for l in range(layers):
            prev_lif = -1
            out = []
            for t in range(steps):
                deps = (below[t],) if prev_lif < 0 else (below[t], prev_lif)
                fwd = g.op("fwd", 10.0 + l, resources=(tile[l],), deps=deps,
                           priority=(s, t, l, 0), layer=l, sample=s, timestep=t)
                lif = g.op("lif", 4.0, resources=(neuron[l],), deps=(fwd,) if prev_lif < 0
                           else (fwd, prev_lif), priority=(s, t, l, 1), layer=l, sample=s,
                           timestep=t)
                g.tensor(64.0, f"pe:L{l}", fwd, (lif,), "psum")
                out.append(lif)
                prev_lif = lif
            # Membranes kept for the backward pass: live until the layer's last timestep.
            for lif in out[:-1]:
                g.tensor(32.0, f"tile:L{l}", lif, (out[-1],), "membrane")
            below = out
    t1 = time.perf_counter()
    sched = g.schedule()
    t2 = time.perf_counter()
    sched.occupancy()
    t3 = time.perf_counter()
    return {"ops": g.n_ops, "tensors": g.n_tensors, "build_s": t1 - t0, "schedule_s": t2 - t1,
            "place_s": t3 - t2, "ops_per_s": g.n_ops / (t2 - t1),
            "tensors_per_s": g.n_tensors / (t3 - t2)}
