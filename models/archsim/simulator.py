# SPDX-License-Identifier: MIT
"""One training epoch of a network on a chip under a dataflow: schedule, buffers, energy.

:func:`simulate` maps the network (``models/cost/mapping.py``), prices its events
(``models/cost/energy.py``), builds the task graph of a few batches of the dataflow
(``dataflows.py``) with durations from ``durations.py``, schedules it (``engine.py``), places
every stored tensor in the buffers, and extrapolates the epoch (``docs/simulator.md``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..chip import BITS_PER_KB, ChipConfig
from ..cost.area import area_model
from ..cost.energy import ENERGY_COMPONENTS, dram_energy, energy_model, unit_costs
from ..cost.leakage import LEAKAGE_COMPONENTS, leakage_energy_pj, leakage_power_uw
from ..cost.mapping import Mapping, map_network, matrix_uses
from ..cost.workload import Workload
from .dataflows import DATAFLOWS, SCHEME_OF, BuiltGraph, GraphPlan, build_graph
from .durations import OpTimes, op_times, scalar
from .engine import Schedule
from .placement import Occupancy

__all__ = ["Simulation", "simulate", "simulation_plan", "feedback_fold", "SIMULATED_BATCHES"]

#: Batches scheduled exactly before the epoch is extrapolated (docs/simulator.md): two give
#: the period of the dataflows whose batches are separated by the update barrier (each batch
#: repeats the first); PipeSDFA's overlapping batches settle after the first.
SIMULATED_BATCHES = {"bp": 2, "dfa": 2, "pipelayer": 2, "pipesdfa": 3}


@dataclass
class Simulation:
    """The simulated epoch.

    Members
    -------
    dataflow : str
    layers : list of int
    timesteps, batch_size, batches, simulated_batches : int
    samples : float
        Samples per epoch.
    batch_end_ns : list of float
        End of each simulated batch.
    makespan_ns : float
        The epoch (extrapolated; at least the DRAM time).
    schedule_makespan_ns : float
        The epoch from the schedule alone, before the DRAM bound.
    dram_ns : float
        Time the epoch's DRAM traffic needs at the chip's bandwidth.
    energy_pj : dict
        By component: the roll-up's components (dynamic, from the workload's counts),
        ``dram_dataset`` (loading the training set), ``dram_spill`` (spills written and
        read back) and ``leakage`` (standby power of the allocated chip over the makespan).
    leakage_pj : dict
        The ``leakage`` line by component (``models/cost/leakage.py``).
    dram_bytes : dict
        ``dataset`` and ``spill`` (written plus read back) bytes of the epoch.
    spill_bytes_per_batch : float
        Bytes spilled to DRAM per batch (the simulated window's mean).
    spilled_bytes_by_kind : dict
        Spilled bytes of the simulated window by tensor kind.
    buffer_peak_bytes, buffer_capacity_bytes : dict
        Per buffer of the simulated window.
    onchip_demand_bytes : float
        Peak of the bytes live at once over the window if nothing spilled: the on-chip
        capacity at which spills stop (buffers placed freely).
    utilisation : dict
        Busy fraction per resource kind over the simulated window.
    link_bytes : dict
        Bytes over each H-tree link per epoch.
    mapping : Mapping
    times : OpTimes
    schedule : Schedule
        The simulated window (for Gantt charts).
    occupancy : Occupancy
    """

    dataflow: str
    layers: list[int]
    timesteps: int
    batch_size: int
    batches: int
    simulated_batches: int
    samples: float
    batch_end_ns: list[float]
    makespan_ns: float
    schedule_makespan_ns: float
    dram_ns: float
    energy_pj: dict[str, float]
    leakage_pj: dict[str, float]
    dram_bytes: dict[str, float]
    spill_bytes_per_batch: float
    spilled_bytes_by_kind: dict[str, float]
    buffer_peak_bytes: dict[str, float]
    buffer_capacity_bytes: dict[str, float]
    onchip_demand_bytes: float
    utilisation: dict[str, float]
    link_bytes: dict[str, float]
    mapping: Mapping = field(repr=False)
    times: OpTimes = field(repr=False)
    schedule: Schedule = field(repr=False)
    occupancy: Occupancy = field(repr=False)

    @property
    def energy_total_pj(self) -> float:
        return float(sum(self.energy_pj.values()))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able summary (``simulation.json``)."""
        energy_j = {k: v * 1e-12 for k, v in self.energy_pj.items()}
        energy_j["total"] = self.energy_total_pj * 1e-12
        return {
            "dataflow": self.dataflow, "network": "-".join(map(str, self.layers)),
            "timesteps": self.timesteps, "batch_size": self.batch_size,
            "samples": self.samples, "batches": self.batches,
            "simulated_batches": self.simulated_batches,
            "makespan_s": self.makespan_ns * 1e-9,
            "schedule_makespan_s": self.schedule_makespan_ns * 1e-9,
            "dram_time_s": self.dram_ns * 1e-9,
            "batch_end_s": [t * 1e-9 for t in self.batch_end_ns],
            "energy_j": energy_j,
            "leakage_j": {k: v * 1e-12 for k, v in self.leakage_pj.items()},
            "dram_bytes": dict(self.dram_bytes, total=sum(self.dram_bytes.values())),
            "spill_bytes_per_batch": self.spill_bytes_per_batch,
            "spilled_bytes_by_kind": dict(self.spilled_bytes_by_kind),
            "buffer_peak_bytes": dict(self.buffer_peak_bytes),
            "buffer_capacity_bytes": dict(self.buffer_capacity_bytes),
            "onchip_demand_bytes": self.onchip_demand_bytes,
            "utilisation": dict(self.utilisation),
            "link_bytes": dict(self.link_bytes),
            "mapping": self.mapping.to_dict(),
            "op_times_ns": dataclasses.asdict(self.times),
        }


def feedback_fold(widest: int, classes: int, chip: ChipConfig) -> int:
    """Column blocks of SDFA's ``B`` stacked on the rows of one crossbar.

    ``B e`` drives only ``classes`` rows of a crossbar, so ``rows // classes`` column blocks of
    ``B`` fit one crossbar on disjoint row groups; a projection reads the groups one after
    the other (*chosen* mapping: fewer B tiles for more reads, which matters where a
    convolutional map makes ``B`` thousands of columns wide)."""
    rows = int(scalar(chip.crossbar.rows))
    outputs = int(scalar(chip.outputs_per_crossbar))
    blocks = math.ceil(widest / outputs)
    return max(1, min(rows // classes, blocks)) if classes <= rows else 1


def _shared_feedback(mapping: Mapping, chip: ChipConfig) -> Mapping:
    """SDFA's one feedback matrix: ``B`` of ``max_l n_l x classes``, layer l taking the leading
    ``n_l`` entries of the one projection (REFERENCE.md §2, the authors' code) instead of one
    ``B_l`` per hidden layer, its column blocks folded onto the rows (:func:`feedback_fold`)."""
    widest = max(n for n, _ in mapping.b_shapes)
    classes = mapping.b_shapes[0][1]
    rows = scalar(chip.crossbar.rows)
    outputs = scalar(chip.outputs_per_crossbar)
    fold = feedback_fold(widest, classes, chip)
    need = math.ceil(classes / rows) * math.ceil(math.ceil(widest / outputs) / fold)
    capacity = scalar(chip.mapping.b_tiles) * scalar(chip.hierarchy.crossbars_per_tile)
    requested = int(scalar(chip.mapping.b_duplication))
    copies = int(capacity // need) if requested == 0 else requested
    if copies < 1 or need * copies > capacity:
        raise ValueError(f"the SDFA feedback matrix needs {need} crossbars x {max(copies, 1)} "
                         f"copies, the B tile(s) hold {int(capacity)} (mapping.b_tiles, "
                         f"mapping.b_duplication)")
    return dataclasses.replace(mapping, b_shapes=[(widest, classes)],
                               b_crossbars=[float(need)], b_dup=float(copies))


def _mapping_for(dataflow: str, workload: Workload, chip: ChipConfig) -> Mapping:
    if dataflow == "pipesdfa":
        # One shared B (checked below), so skip the per-layer B_l feasibility of the roll-up.
        mapping = map_network(workload.layers, chip, "dfa",
                              architecture=workload.architecture)
        if not mapping.b_shapes:
            return mapping.check()
        max_tiles, n_tiles = scalar(chip.hierarchy.max_tiles), scalar(mapping.n_tiles)
        if 0 < max_tiles < n_tiles:
            raise ValueError(f"network {'-'.join(map(str, mapping.layers))} needs "
                             f"{int(n_tiles)} tiles for PipeSDFA (layers "
                             f"{[int(scalar(t)) for t in mapping.tiles]} + B), the chip has "
                             f"hierarchy.max_tiles={int(max_tiles)}")
        return _shared_feedback(mapping, chip)
    mapping = map_network(workload.layers, chip, SCHEME_OF[dataflow],
                          architecture=workload.architecture).check()
    if dataflow == "pipelayer":
        # PipeLayer's layers update in their own stages: one gradient bank per layer.
        words = [float(o * i) for o, i in mapping.shapes]
        mapping = dataclasses.replace(mapping, wgu_words=sum(words), wgu_banks=len(words))
    return mapping


def _shared_feedback_cells(cells: dict, mapping: Mapping) -> dict:
    """Counts with one read of the shared B per sample: the widest ``B_l``'s reads (the same
    size as the shared B's) kept as ``B0``, the other ``B_l`` dropped."""
    b_cells = {name: cell for (name, phase), cell in cells.items() if name.startswith("B")}
    if not b_cells:
        return cells
    widest = max(b_cells, key=lambda name: (b_cells[name].get("adc_conversions", 0.0), name))
    out = {key: cell for key, cell in cells.items() if not key[0].startswith("B")}
    for (name, phase), cell in cells.items():
        if name == widest:
            out[("B0", phase)] = cell
    return out


def simulation_plan(dataflow: str, workload: Workload, chip: ChipConfig, mapping: Mapping,
                    batches: int) -> GraphPlan:
    """The :class:`GraphPlan` of ``batches`` batches of ``workload`` on ``chip``."""
    uses = matrix_uses(workload.layers, workload.architecture)
    n_layers = len(uses)
    width = chip.datapath
    kb = lambda value: scalar(value) * BITS_PER_KB / 8  # noqa: E731  (KB to bytes)
    pes_per_tile = scalar(chip.hierarchy.pes_per_tile)
    buffers: list[tuple[str, float, str | None]] = [("global", kb(chip.buffers.global_kb),
                                                     None)]
    for l in range(n_layers):
        tiles = scalar(mapping.tiles[l])
        buffers.append((f"tile:L{l}", kb(chip.buffers.tile_kb) * tiles, "global"))
        buffers.append((f"pe:L{l}", kb(chip.buffers.pe_kb) * pes_per_tile * tiles,
                        f"tile:L{l}"))
    bank_of = [0] * n_layers if scalar(mapping.wgu_banks) == 1 else list(range(n_layers))
    grad_bytes = scalar(width.grad_bits) / 8
    for bank in sorted(set(bank_of)):
        words = scalar(mapping.wgu_words) if len(set(bank_of)) == 1 else \
            float(uses[bank].rows * uses[bank].cols)
        buffers.append((f"wgu:{bank}", words * grad_bytes, None))
    classes = workload.architecture.n_classes if workload.architecture is not None \
        else workload.layers[-1]
    dram = chip.dram
    values = uses[0].in_size * (workload.timesteps if workload.sequence else 1)
    sample_bytes = math.ceil(values * scalar(dram.bits_per_value) / 8) \
        + math.ceil(scalar(dram.label_bits) / 8)
    return GraphPlan(
        uses=uses, timesteps=workload.timesteps, batch_size=workload.batch_size,
        batches=batches, classes=classes,
        copies=[int(scalar(d)) for d in mapping.dup],
        b_copies=int(scalar(mapping.b_dup)) if mapping.b_shapes else 0,
        wgu_bank=bank_of, buffers=buffers, datapath=width, sample_bytes=float(sample_bytes))


def simulate(workload: Workload, chip: ChipConfig, dataflow: str, *,
             simulated_batches: int | None = None, times: OpTimes | None = None
             ) -> Simulation:
    """Simulate one epoch of ``workload`` on ``chip`` under ``dataflow``.

    ``simulated_batches`` are scheduled exactly (default :data:`SIMULATED_BATCHES`), the rest
    of the epoch extrapolated from the last two. ``times`` replaces the durations derived from
    the chip (the hand-worked tests use it).
    Raises ``ValueError`` (one line) for an unknown dataflow, a chip that does not validate or
    a network that does not fit it.
    """
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}")
    if simulated_batches is None:
        simulated_batches = SIMULATED_BATCHES[dataflow]
    if isinstance(simulated_batches, bool) or not isinstance(simulated_batches, int) \
            or simulated_batches < 1:
        raise ValueError(f"simulated_batches must be a positive integer, not "
                         f"{simulated_batches!r}")
    chip.validate()
    scheme = SCHEME_OF[dataflow]
    mapping = _mapping_for(dataflow, workload, chip)
    area = area_model(chip, mapping)
    prices = unit_costs(chip, mapping, area["floorplan"])
    batches = int(workload.batches)
    window = min(simulated_batches, batches)
    cells = workload.counts[scheme]
    if dataflow == "pipesdfa":
        cells = _shared_feedback_cells(cells, mapping)
    plan = simulation_plan(dataflow, workload, chip, mapping, window)
    if times is None:
        per_batch = lambda counter: [  # noqa: E731
            float(scalar(cells.get((f"L{l}", "update"), {}).get(counter, 0.0))) / batches
            for l in range(plan.n_layers)]
        # SDFA's shared B is folded onto the crossbar rows (_shared_feedback).
        fold = feedback_fold(*mapping.b_shapes[0], chip) \
            if dataflow == "pipesdfa" and mapping.b_shapes else 1
        times = op_times(chip, mapping, prices, plan.uses, sample_bytes=plan.sample_bytes,
                         classes=plan.classes, write_pulses=per_batch("write_pulses"),
                         verify_reads=per_batch("verify_reads"), b_fold=fold)
    built: BuiltGraph = build_graph(dataflow, plan, times)
    schedule = built.graph.schedule()
    occupancy = schedule.occupancy()
    ends = [float(schedule.end[op]) for op in built.batch_end]
    period = ends[-1] - ends[-2] if window >= 2 else ends[-1]
    schedule_makespan = ends[-1] + (batches - window) * period
    # Spills: the window's mean per batch, for every batch of the epoch; written and read back.
    spill_per_batch = float(occupancy.spilled_bytes) / window
    spill_bytes = 2.0 * spill_per_batch * batches
    dram = chip.dram
    dataset_pj = float(scalar(dram_energy(workload, chip)))
    dataset_bytes = dataset_pj / scalar(dram.pj_per_bit) / 8.0
    dram_ns = (dataset_bytes + spill_bytes) / scalar(dram.bandwidth_gbs)
    energy: dict[str, float] = {c: 0.0 for c in ENERGY_COMPONENTS}
    for (_, _, component), value in energy_model(cells, mapping, prices).items():
        energy[component] = energy.get(component, 0.0) + float(scalar(value))
    energy["dram_dataset"] = dataset_pj
    energy["dram_spill"] = spill_bytes * 8.0 * scalar(dram.pj_per_bit)
    makespan = max(schedule_makespan, dram_ns)
    power = leakage_power_uw(chip, mapping, area)
    leakage = {c: float(scalar(leakage_energy_pj(power[c], makespan)))
               for c in LEAKAGE_COMPONENTS}
    energy["leakage"] = sum(leakage.values())
    scale = batches / window
    link_bytes = {name: value * scale for name, value in schedule.bytes_by_resource().items()
                  if name.startswith("link:")}
    return Simulation(
        dataflow=dataflow, layers=list(workload.layers), timesteps=workload.timesteps,
        batch_size=workload.batch_size, batches=batches, simulated_batches=window,
        samples=float(workload.samples), batch_end_ns=ends,
        makespan_ns=makespan, schedule_makespan_ns=schedule_makespan,
        dram_ns=dram_ns, energy_pj=energy, leakage_pj=leakage,
        dram_bytes={"dataset": dataset_bytes, "spill": spill_bytes},
        spill_bytes_per_batch=spill_per_batch,
        spilled_bytes_by_kind={k: float(v) for k, v in occupancy.spilled_bytes_by_kind.items()},
        buffer_peak_bytes={k: float(v) for k, v in occupancy.peak_bytes.items()},
        buffer_capacity_bytes={k: float(v) for k, v in occupancy.capacity_bytes.items()},
        onchip_demand_bytes=float(occupancy.peak_demand_bytes["total"]),
        utilisation={k: float(v) for k, v in schedule.utilisation_by_kind().items()},
        link_bytes=link_bytes, mapping=mapping, times=times, schedule=schedule,
        occupancy=occupancy)
