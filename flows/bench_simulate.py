# SPDX-License-Identifier: MIT
"""``dfasim bench simulate``: wall time of one simulated training epoch per dataflow, and the
speed of the list scheduler and buffer placement (figures for docs/benchmarks.md)."""
from __future__ import annotations

import os
import platform
import time
from typing import Any

from ..golden.networks import NETWORKS, format_layers, parse_network
from ..models.archsim import DATAFLOWS, measure_engine_speed, simulate
from ..models.chip import ChipConfig
from ..models.cost import DenseSpec, dense_workload

__all__ = ["bench_simulate", "UCI_HAR_EPOCH"]

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
