# SPDX-License-Identifier: MIT
"""The training tile's measured cycles beside what the architecture model gives the same work.

The architecture simulator (:mod:`models.archsim.durations`) times a layer's operations from
the chip description: LIF and GradLIF take ``ceil(neurons / neuron_lanes)`` cycles per
timestep, the WGU ``outputs * ceil(inputs / wgu_lanes)`` cycles per timestep, a forward read
one crossbar read per timestep (the row tiles of a layer are separate crossbars read in
parallel), a transposed read ``2 (error_bits - 1)`` phase reads per timestep. :func:`model_chip`
describes a chip with the tile's own parallelism (``n_out`` GradLIF lanes, one WGU row of
``n_in`` columns per cycle, one ADC per column, 1 GHz so one cycle is one nanosecond) and
:func:`model_cycles` takes the durations of that chip's ``op_times`` for the tile's sequence of
one training step, with the crossbar answering in ``read_cycles`` per request as the
testbench's crossbar does. :func:`compare` puts them beside the RTL's cycles per controller
state (``cosim.tile.LayerTrace.state_cycles``); ``docs/rtl-tile.md`` explains the differences.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..golden.tile import TileParams
from ..models.archsim.durations import LayerTimes, op_times
from ..models.chip import ChipConfig
from ..models.cost.area import area_model
from ..models.cost.energy import unit_costs
from ..models.cost.mapping import map_network, matrix_uses

__all__ = ["TESTBENCH_READ_CYCLES", "model_chip", "layer_times", "model_cycles", "PhaseRow",
           "compare"]

#: Cycles the co-simulation's crossbar takes per request: it takes the request in one cycle
#: and offers the response in the next (``cosim.tile``, ``responder``).
TESTBENCH_READ_CYCLES = 2


def model_chip(params: Sequence[TileParams]) -> ChipConfig:
    """A chip whose digital units have the tiles' parallelism (one tile per layer).

    Crossbar rows = the first layer's ``rows`` (its row group), columns = a differential pair
    per output of the widest layer, one ADC per column (the tile's response carries every
    code at once), ``n_out`` neuron lanes and ``n_in`` WGU lanes of the widest layer, spikes as
    1-plane inputs (``input_bits = 0``: one read per timestep), ``error_bits = K + 1`` so a
    transposed read is the tile's ``K`` magnitude planes in two sign phases, 1 GHz.
    """
    rows = max(p.rows or p.n_in for p in params)
    cols = 2 * max(p.n_out for p in params)
    return ChipConfig().updated({
        "tech.clock_ghz": 1.0,
        "crossbar.rows": rows, "crossbar.cols": cols, "crossbar.lines_per_adc": 1,
        "crossbar.adc_bits": max(p.adc_bits for p in params),
        "hierarchy.neuron_lanes": max(p.n_out for p in params),
        "hierarchy.wgu_lanes": max(p.n_in for p in params),
        "datapath.input_bits": 0,
        "datapath.error_bits": max(p.planes for p in params) + 1,
        "device.mapping": "differential"})


def layer_times(params: Sequence[TileParams]) -> tuple[LayerTimes, ...]:
    """``op_times`` of the network of ``params`` on :func:`model_chip` (durations in ns)."""
    chip = model_chip(params)
    layers = [params[0].n_in, *(p.n_out for p in params)]
    mapping = map_network(layers, chip, "bp")
    prices = unit_costs(chip, mapping, area_model(chip, mapping)["floorplan"])
    uses = matrix_uses(layers, None)
    pulses = [float(p.n_in * p.n_out) for p in params]
    return op_times(chip, mapping, prices, uses, sample_bytes=0.0, classes=layers[-1],
                    write_pulses=pulses).layers


def model_cycles(params: Sequence[TileParams], layer: int, *, batch: int, propagate: bool,
                 read_cycles: int = TESTBENCH_READ_CYCLES) -> dict[str, float]:
    """Cycles of one training step of ``layer`` as the model times its digital units.

    Per sample-timestep: forward one read (``read_cycles``) and one LIF update; backward one
    GradLIF step and the WGU; with ``propagate`` the transposed reads, two sign phases per
    request of the tile, so ``2 (error_bits - 1) / 2`` requests of ``read_cycles`` each.
    """
    times = layer_times(params)[layer]
    p = params[layer]
    steps = batch * p.timesteps
    phase_reads = 2 * p.planes                  # 2 (error_bits - 1), error_bits = K + 1
    return {
        "forward_read": steps * read_cycles,
        "lif": steps * times.lif_ns,
        "glif": steps * times.glif_ns,
        "wgu": steps * times.wgu_ns,
        "transposed_read": steps * (phase_reads // 2) * read_cycles if propagate else 0.0,
    }


@dataclass(frozen=True)
class PhaseRow:
    """One line of the comparison.

    Members
    -------
    work : str
        What is timed.
    rtl_states : tuple of str
        Controller states whose cycles the RTL spends on it.
    rtl : int
        Cycles the RTL spent in those states.
    model : float
        Cycles the model gives the same work.
    """

    work: str
    rtl_states: tuple[str, ...]
    rtl: int
    model: float

    @property
    def ratio(self) -> float:
        """RTL over model (``inf`` where the model gives the work no time)."""
        return self.rtl / self.model if self.model else math.inf


def compare(trace, params: Sequence[TileParams], layer: int, *, batch: int, propagate: bool,
            read_cycles: int = TESTBENCH_READ_CYCLES) -> list[PhaseRow]:
    """RTL cycles per unit of work (from ``trace.state_cycles``) beside :func:`model_cycles`."""
    model = model_cycles(params, layer, batch=batch, propagate=propagate,
                         read_cycles=read_cycles)
    cyc = trace.state_cycles

    def row(work, states, model_value):
        return PhaseRow(work, states, sum(cyc[s] for s in states), model_value)

    return [
        row("forward: buffer word, reads, LIF", ("FWD_LOAD", "FWD_REQ", "FWD_WAIT"),
            model["forward_read"] + model["lif"]),
        row("backward: GradLIF", ("BWD_ERR", "BWD_DELTA"), model["glif"]),
        row("backward: WGU accumulation", ("BWD_WGU",), model["wgu"]),
        row("backward: transposed reads", ("BWD_TREQ", "BWD_TWAIT"), model["transposed_read"]),
    ]
