# SPDX-License-Identifier: MIT
"""Latency of one epoch, by phase and component.

The forward pass is pipelined across layers (the slowest layer sets the rate, the others add
their fill); BP's backward pass runs layer after layer through the transposed crossbars; DFA's
reads all ``B_l`` at once (copies of B serve several samples) and then runs every layer's GradLIF
in parallel; updates run through the WGU layer by layer (BP) or in all layers at once (DFA),
then program the changed devices. Within a layer's stage the crossbar reads, the neuron unit and
the H-tree transfer add up (no overlap assumed); the H-tree carries the tile-to-tile words
(``tile_bytes``) and the words to and from the global LIF/GradLIF units (``unit_traffic_bits``).
A read takes the read pulse (``crossbar.read_pulse_ns``) plus its conversions.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..chip import ChipConfig
from .energy import UnitCosts, matrix_placement, safe_divide
from .mapping import Mapping
from .workload import TRAINING_PHASES, Cells, Workload

__all__ = ["LATENCY_COMPONENTS", "latency_model"]

LATENCY_COMPONENTS = ("tile", "neuron", "htree", "wgu", "rram_write")


def _stage(counts: dict, chip: ChipConfig, mapping: Mapping, prices: UnitCosts, name: str,
           phase: str) -> dict[str, Any]:
    """Latency components (ns) of one ``(matrix, phase)`` cell run as a single stage."""
    get = lambda counter: counts.get(counter, 0.0)  # noqa: E731
    _, crossbars, copies = matrix_placement(mapping, name)
    transposed = phase == "backward" and name[0] == "L"
    xbar, hierarchy = chip.crossbar, chip.hierarchy
    # A transposed read converts rows, a forward read columns.
    lines = np.asarray(xbar.rows if transposed else xbar.cols, float)
    adcs = np.ceil(lines / xbar.lines_per_adc)
    conversions_per_read = safe_divide(get("adc_conversions"), get("reads"))
    read_ns = prices.cell_read_ns + np.ceil(conversions_per_read / adcs) * prices.adc_ns
    # Reads of one stage run on all crossbars of all copies in parallel.
    read_slots = safe_divide(get("reads"), np.asarray(crossbars, float) * copies)
    clock_ns = prices.clock_ns
    return {"tile": read_slots * read_ns,
            "neuron": (get("lif_ops") + get("gradlif_ops")) / hierarchy.neuron_lanes * clock_ns,
            "htree": (get("tile_bytes") * 8.0 + get("unit_traffic_bits"))
            / hierarchy.htree_bits * clock_ns}


def _first_max(values: list) -> list:
    """Masks selecting, elementwise, the first of ``values`` that equals their maximum."""
    top = np.maximum.reduce([np.asarray(v, float) for v in values])
    taken = np.zeros(np.shape(top), dtype=bool)
    masks = []
    for v in values:
        mask = (np.asarray(v, float) >= top) & ~taken
        taken = taken | mask
        masks.append(mask)
    return masks


def latency_model(cells: Cells, chip: ChipConfig, mapping: Mapping, prices: UnitCosts,
                  workload: Workload) -> dict[tuple[str, str], Any]:
    """Latency (ns) of one epoch per ``(phase, component)`` (module docstring)."""
    out = {(ph, c): 0.0 for ph in TRAINING_PHASES for c in LATENCY_COMPONENTS}
    names = [f"L{l}" for l in range(len(mapping.shapes))]
    # Forward: layers pipelined over the T x B vectors of a batch.
    items = float(workload.timesteps * workload.batch_size)
    stages = [_stage(cells.get((n, "forward"), {}), chip, mapping, prices, n, "forward")
              for n in names]
    totals = [sum(s.values()) for s in stages]
    for stage, slowest in zip(stages, _first_max(totals)):
        for component, value in stage.items():
            out[("forward", component)] = out[("forward", component)] + value / items \
                + np.where(slowest, value * (items - 1) / items, 0.0)
    # Backward.
    backward = [(n, _stage(c, chip, mapping, prices, n, "backward"))
                for (n, ph), c in sorted(cells.items()) if ph == "backward"]
    if mapping.scheme == "bp":       # layer after layer through the transposed crossbars
        for _, stage in backward:
            for component, value in stage.items():
                out[("backward", component)] = out[("backward", component)] + value
    elif backward:                   # all B_l at once, then every layer's GradLIF in parallel
        for component in ("tile", "neuron"):
            out[("backward", component)] = np.maximum.reduce(
                [np.asarray(stage[component], float) for _, stage in backward])
        # One shared bus.
        out[("backward", "htree")] = sum(stage["htree"] for _, stage in backward)
    # Update: WGU streams one row chunk of G per cycle per (timestep, sample), then the
    # changed devices are programmed (one pulse at a time per crossbar, crossbars in parallel).
    # The deltas and inputs reaching the WGU over the global H-tree (unit_traffic_bits) move
    # while it streams (fewer bits per vector than its beats), so they add no time; every WGU
    # design is timed by the same streaming rule (docs/cost-model.md).
    updates = []
    for l, (n_out, n_in) in enumerate(mapping.shapes):
        counts = cells.get((f"L{l}", "update"), {})
        # A convolution's WGU streams every output position's outer product.
        positions = float(mapping.positions[l]) if mapping.positions else 1.0
        beats = workload.samples * workload.timesteps * positions * n_out * np.ceil(
            n_in / np.asarray(chip.hierarchy.wgu_lanes, float))
        crossbars = np.asarray(mapping.crossbars[l], float)
        write = (safe_divide(counts.get("write_pulses", 0.0), crossbars) * prices.write_pulse_ns
                 + safe_divide(counts.get("verify_reads", 0.0), crossbars)
                 * (prices.cell_read_ns + prices.adc_ns))
        updates.append({"wgu": beats * prices.clock_ns, "rram_write": write})
    if mapping.scheme == "bp":
        for stage in updates:
            for component, value in stage.items():
                out[("update", component)] = out[("update", component)] + value
    else:
        for stage, slowest in zip(updates, _first_max([sum(s.values()) for s in updates])):
            for component, value in stage.items():
                out[("update", component)] = out[("update", component)] + np.where(slowest,
                                                                                    value, 0.0)
    return out
