# SPDX-License-Identifier: MIT
"""``dfasim simulate``: a scheduled training epoch under one dataflow or all four, with its report.

:func:`run_simulations` runs :func:`dfasim.models.archsim.simulator.simulate` for each dataflow
on a dense workload (:func:`dense_simulation_workload`) or the activity an adapt run recorded
(:func:`adapt_simulation_input`); :func:`write_simulation_outputs` writes, per dataflow,
``simulation.json``, ``gantt.png`` (one batch on every resource), ``buffers.png`` (occupancy of
every buffer against its capacity) and ``summary.md``, and for several dataflows one comparison
``summary.md`` above their folders. Every file is rendered in memory before the first one is
written, so a failure leaves no half-written folder behind.
"""
from __future__ import annotations

import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..models.archsim.dataflows import DATAFLOWS
from ..models.archsim.simulator import Simulation, simulate
from ..models.chip import ChipConfig
from ..models.cost.energy import ENERGY_COMPONENTS
from ..models.cost.workload import DenseSpec, Workload, dense_workload
from .cost import _adapt_workload, _chip_of_adapt, read_adapt
from .errors import DfasimError
from .fileio import atomic_write_bytes

__all__ = ["DATAFLOWS", "DATAFLOW_LABELS", "dense_simulation_workload", "adapt_simulation_input",
           "run_simulations", "simulation_files", "write_simulation_outputs",
           "summary_markdown", "comparison_markdown", "format_text", "gantt_png", "buffers_png",
           "gantt_batch"]

#: How the dataflows are written in tables and titles.
DATAFLOW_LABELS = {"bp": "BP", "dfa": "DFA", "pipelayer": "PipeLayer", "pipesdfa": "PipeSDFA"}

#: Distinct colours for the operation kinds (tab20 order, then dark accents).
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
            "#c5b0d5", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]

#: A buffer whose capacity exceeds its peak this many times is drawn to its peak only.
_OFF_SCALE = 20.0

#: Lanes drawn per Gantt row at most (a resource with more servers folds them onto these).
_MAX_LANES = 8

_SI_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"),
                (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


# --- inputs -----------------------------------------------------------------------------------

def dense_simulation_workload(spec: DenseSpec, chip: ChipConfig) -> Workload:
    """The dense workload of ``spec`` on ``chip``; a bad spec is a one-line error.

    Raises
    ------
    DfasimError
        A spec no epoch could have, or a chip that does not validate.
    """
    try:
        return dense_workload(spec.validate(), chip.validate())
    except (ValueError, TypeError) as exc:
        raise DfasimError(f"dense workload: {exc}") from None


def adapt_simulation_input(source, chip: ChipConfig | None = None
                           ) -> tuple[Workload, ChipConfig, str]:
    """The activity workload of an ``adapt.json``, the chip to simulate it on, and a name.

    Parameters
    ----------
    source : path or dict
        The ``adapt.json`` of a ``dfasim adapt`` run (or its loaded dict).
    chip : ChipConfig, optional
        Default: the chip the adapt run simulated; one given here must agree with it on every
        field the recorded counts depend on.

    Returns
    -------
    workload : Workload
    chip : ChipConfig
    name : str
        The adapt run's dataset, else its folder's name.

    Raises
    ------
    DfasimError
        A missing, unreadable or malformed ``adapt.json``, or a chip that disagrees with it.
    """
    data, where = read_adapt(source)
    chip = _chip_of_adapt(data, chip, where)
    workload = _adapt_workload(data, where)
    name = str(data.get("dataset") or "") or \
        (Path(source).parent.name if isinstance(source, (str, Path)) else "adapt")
    return workload, chip, name


def run_simulations(workload: Workload, chip: ChipConfig, dataflows: Sequence[str], *,
                    simulated_batches: int | None = None) -> dict[str, Simulation]:
    """One :class:`Simulation` per dataflow, in the order given (``simulated_batches``: the
    simulator's default per dataflow when None).

    Raises
    ------
    DfasimError
        An unknown dataflow, a chip that does not validate, a network that does not fit it, or
        a simulation whose makespan or energy is not a finite number.
    """
    unknown = [d for d in dataflows if d not in DATAFLOWS]
    if unknown or not dataflows:
        raise DfasimError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not "
                          f"{', '.join(map(repr, unknown)) or 'none'}")
    simulations = {}
    for dataflow in dataflows:
        try:
            sim = simulate(workload, chip, dataflow, simulated_batches=simulated_batches)
        except (ValueError, TypeError) as exc:
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            raise DfasimError(f"{DATAFLOW_LABELS[dataflow]}: {lines[0]}") from None
        bad = [name for name, value in (("makespan", sim.makespan_ns),
                                        ("energy", sim.energy_total_pj))
               if not math.isfinite(value) or value < 0]
        if bad:
            raise DfasimError(f"{DATAFLOW_LABELS[dataflow]}: the simulated {' and '.join(bad)} "
                              f"is not a finite non-negative number (check the chip config)")
        simulations[dataflow] = sim
    return simulations


# --- numbers as text --------------------------------------------------------------------------

def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix: ``1.234 ms``."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    for factor, prefix in _SI_PREFIXES:
        if abs(value) >= factor:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


def _bytes(value: float) -> str:
    """Bytes in B, KB, MB or GB (1 KB = 1024 B, as the chip config counts buffer sizes)."""
    for factor, unit in ((1024.0 ** 3, "GB"), (1024.0 ** 2, "MB"), (1024.0, "KB")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {unit}"
    return f"{value:.4g} B"


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.3f}" if denominator > 0 else "-"


def _energy_rows(sim: Simulation) -> list[tuple[str, float]]:
    """``(component, pJ)`` of the epoch: the roll-up's components, then DRAM."""
    keys = [c for c in ENERGY_COMPONENTS if c in sim.energy_pj]
    keys += [c for c in sim.energy_pj if c not in keys]
    return [(c, float(sim.energy_pj[c])) for c in keys]


def _headline(sims: Sequence[Simulation], title: str) -> str:
    """The network and epoch of ``sims`` (one workload) and the batches each one scheduled."""
    sim = sims[0]
    layers = "-".join(map(str, sim.layers))
    name = title if title == layers else f"{title} ({layers})"
    scheduled = sorted({s.simulated_batches for s in sims})
    if len(scheduled) == 1:
        count = scheduled[0]
        window = f"{count} batch{'es' if count != 1 else ''} scheduled"
    else:
        window = "batches scheduled: " + ", ".join(f"{DATAFLOW_LABELS[s.dataflow]} "
                                           f"{s.simulated_batches}" for s in sims)
    return (f"{name}, T={sim.timesteps}, {sim.samples:,.0f} samples per epoch in "
            f"{sim.batches} batches of {sim.batch_size}; {window}, the rest extrapolated")


# --- summary.md -------------------------------------------------------------------------------

def summary_markdown(sim: Simulation, title: str) -> str:
    """The ``summary.md`` of one dataflow: epoch totals, buffers, utilisation."""
    label = DATAFLOW_LABELS[sim.dataflow]
    lines = [f"# Simulated training epoch: {title}, {label}", "", _headline([sim], title) + ".",
             "", "| quantity | value |", "|---|---|",
             f"| makespan per epoch | {_si(sim.makespan_ns * 1e-9, 's')} |",
             f"| makespan from the schedule alone | "
             f"{_si(sim.schedule_makespan_ns * 1e-9, 's')} |",
             f"| time of the epoch's DRAM traffic | {_si(sim.dram_ns * 1e-9, 's')} |",
             f"| energy per epoch, total | {_si(sim.energy_total_pj * 1e-12, 'J')} |"]
    lines += [f"| energy per epoch, {c} | {_si(v * 1e-12, 'J')} |" for c, v in _energy_rows(sim)]
    lines += [f"| DRAM bytes per epoch, {k} | {_bytes(v)} |" for k, v in sim.dram_bytes.items()]
    lines += [f"| DRAM spill per batch (simulated batches' mean) | "
              f"{_bytes(sim.spill_bytes_per_batch)} |",
              f"| on-chip capacity at which spills stop | {_bytes(sim.onchip_demand_bytes)} |",
              "", "Spill bytes are written once and read back once; the on-chip capacity at "
              "which spills stop is the peak of the bytes live at once had nothing spilled "
              "(buffers shared freely).", "",
              "## Buffers (simulated batches)", "",
              "| buffer | peak | capacity | peak / capacity |", "|---|---|---|---|"]
    for name, capacity in sim.buffer_capacity_bytes.items():
        peak = sim.buffer_peak_bytes.get(name, 0.0)
        lines.append(f"| {name} | {_bytes(peak)} | {_bytes(capacity)} | "
                     f"{_ratio(peak, capacity)} |")
    if sim.spilled_bytes_by_kind:
        lines += ["", "Spilled to DRAM in the simulated batches, by tensor: " + ", ".join(
            f"{k} {_bytes(v)}" for k, v in sim.spilled_bytes_by_kind.items()) + "."]
    lines += ["", "## Utilisation (busy fraction over the simulated batches)", "",
              "| resource kind | utilisation |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in sim.utilisation.items()]
    return "\n".join(lines) + "\n"


def comparison_markdown(simulations: Mapping[str, Simulation], title: str) -> str:
    """The comparison ``summary.md`` of several dataflows, side by side.

    With both PipeLayer and PipeSDFA the last column is PipeLayer / PipeSDFA (PipeSDFA's
    speed-up for time, PipeLayer's energy over PipeSDFA's for energy).
    """
    sims = list(simulations.values())
    pair = "pipelayer" in simulations and "pipesdfa" in simulations
    head = "| quantity | " + " | ".join(DATAFLOW_LABELS[d] for d in simulations) + " |"
    rule = "|---|" + "---|" * len(sims)
    if pair:
        head += " PipeLayer / PipeSDFA |"
        rule += "---|"

    def row(name: str, values: list[float | None], text, ratio: bool = False) -> str:
        cells = [("-" if v is None else text(v)) for v in values]
        line = f"| {name} | " + " | ".join(cells) + " |"
        if pair:
            layer = values[list(simulations).index("pipelayer")]
            sdfa = values[list(simulations).index("pipesdfa")]
            line += f" {_ratio(layer, sdfa) if ratio and None not in (layer, sdfa) else ''} |"
        return line

    seconds = lambda v: _si(v, "s")  # noqa: E731
    joules = lambda v: _si(v, "J")  # noqa: E731
    lines = [f"# Simulated training epoch: {title}, "
             f"{', '.join(DATAFLOW_LABELS[d] for d in simulations)}", "",
             _headline(sims, title) + ".", "", head, rule,
             row("makespan per epoch", [s.makespan_ns * 1e-9 for s in sims], seconds, True),
             row("makespan from the schedule alone", [s.schedule_makespan_ns * 1e-9
                                                      for s in sims], seconds, True),
             row("energy per epoch, total", [s.energy_total_pj * 1e-12 for s in sims], joules,
                 True)]
    components: list[str] = []
    for sim in sims:
        components += [c for c, _ in _energy_rows(sim) if c not in components]
    for c in components:
        values = [s.energy_pj[c] * 1e-12 if c in s.energy_pj else None for s in sims]
        lines.append(row(f"energy per epoch, {c}", values, joules, True))
    for k in ("dataset", "spill"):
        lines.append(row(f"DRAM bytes per epoch, {k}", [s.dram_bytes.get(k) for s in sims],
                         _bytes))
    lines.append(row("on-chip capacity at which spills stop",
                     [s.onchip_demand_bytes for s in sims], _bytes))
    buffers: list[str] = []
    for sim in sims:
        buffers += [b for b in sim.buffer_capacity_bytes if b not in buffers]
    for b in buffers:
        cells = []
        for sim in sims:
            if b in sim.buffer_capacity_bytes:
                cap = sim.buffer_capacity_bytes[b]
                cells.append(f"{_bytes(sim.buffer_peak_bytes.get(b, 0.0))} of {_bytes(cap)}")
            else:
                cells.append("-")
        lines.append(f"| peak of buffer {b} (of capacity) | " + " | ".join(cells) + " |"
                     + (" |" if pair else ""))
    kinds: list[str] = []
    for sim in sims:
        kinds += [k for k in sim.utilisation if k not in kinds]
    for k in kinds:
        lines.append(row(f"utilisation, {k}", [s.utilisation.get(k) for s in sims],
                         lambda v: f"{v:.3f}"))
    lines += ["", "Each dataflow's folder holds its simulation.json, gantt.png, buffers.png "
                  "and summary.md."]
    return "\n".join(lines) + "\n"


def format_text(simulations: Mapping[str, Simulation], title: str) -> str:
    """The short text summary printed on stdout."""
    sims = list(simulations.values())
    lines = [_headline(sims, title)]
    for dataflow, sim in simulations.items():
        lines.append(f"  {DATAFLOW_LABELS[dataflow]:<10} makespan "
                     f"{_si(sim.makespan_ns * 1e-9, 's')}/epoch, energy "
                     f"{_si(sim.energy_total_pj * 1e-12, 'J')}/epoch, DRAM "
                     f"{_bytes(sum(sim.dram_bytes.values()))} (spills "
                     f"{_bytes(sim.dram_bytes.get('spill', 0.0))}), on-chip demand "
                     f"{_bytes(sim.onchip_demand_bytes)}")
    if "pipelayer" in simulations and "pipesdfa" in simulations:
        layer, sdfa = simulations["pipelayer"], simulations["pipesdfa"]
        lines.append(f"  PipeLayer / PipeSDFA: time {_ratio(layer.makespan_ns, sdfa.makespan_ns)}"
                     f", energy {_ratio(layer.energy_total_pj, sdfa.energy_total_pj)}")
    return "\n".join(lines)


# --- figures ----------------------------------------------------------------------------------

def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # No "Software" entry: the PNG bytes then do not depend on the matplotlib version.
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _time_unit(span_ns: float) -> tuple[float, str]:
    """Factor from ns and the unit name for an axis spanning ``span_ns``."""
    for factor, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if span_ns >= 10 * factor:
            return factor, unit
    return 1.0, "ns"


def gantt_batch(sim: Simulation) -> int:
    """The batch the Gantt chart shows: the second simulated one if there are two, else the
    first (the first batch of a pipelined dataflow still fills its pipeline)."""
    return 1 if sim.simulated_batches >= 2 else 0


def gantt_png(sim: Simulation, title: str) -> bytes:
    """Gantt chart of one batch (:func:`gantt_batch`): a row per resource, a lane per server
    (up to eight), the operations coloured by kind; an operation that holds several resources
    is drawn on the first of them."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    sched = sim.schedule
    batch = gantt_batch(sim)
    start, end = np.asarray(sched.start, float), np.asarray(sched.end, float)
    shown = (np.asarray(sched.batch) == batch) & (np.asarray(sched.resource) >= 0) \
        & (end > start)
    rows = sorted(set(np.asarray(sched.resource)[shown].tolist()))
    fig = _figure(10.0, max(2.6, 0.34 * len(rows) + 1.6))
    ax = fig.add_subplot(1, 1, 1)
    label = DATAFLOW_LABELS[sim.dataflow]
    ax.set_title(f"{title}, {label}: batch {batch + 1} of {sim.simulated_batches} simulated",
                 fontsize=9)
    if not rows:
        ax.text(0.5, 0.5, "no operation on a resource in this batch", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return _png(fig)
    t0 = float(start[shown].min())
    factor, unit = _time_unit(float(end[shown].max()) - t0)
    row_of = {r: i for i, r in enumerate(rows)}
    resource = np.asarray(sched.resource)[shown]
    server = np.maximum(np.asarray(sched.server)[shown], 0)
    kind = np.asarray(sched.kind)[shown]
    lanes = np.array([min(max(int(sched.resources[r][2]), 1), _MAX_LANES) for r in resource])
    height = 0.8 / lanes
    y0 = np.array([row_of[r] for r in resource]) - 0.4 + (server % lanes) * height
    x0 = (start[shown] - t0) / factor
    x1 = (end[shown] - t0) / factor
    handles = []
    for k in sorted(set(kind.tolist())):
        m = kind == k
        boxes = np.stack([np.stack([x0[m], y0[m]], 1), np.stack([x1[m], y0[m]], 1),
                          np.stack([x1[m], y0[m] + height[m]], 1),
                          np.stack([x0[m], y0[m] + height[m]], 1)], 1)
        colour = _COLOURS[k % len(_COLOURS)]
        # No outline: a bar is as wide as its op, so a row of many short ops is shaded in
        # proportion to how busy the resource was rather than drawn solid.
        ax.add_collection(PolyCollection(boxes, facecolors=colour, edgecolors="none",
                                         linewidths=0.0, antialiaseds=True))
        handles.append(Patch(color=colour, label=sched.kinds[k]))
    ax.set_xlim(0, float(x1.max()) * 1.01)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)), [sched.resources[r][0] for r in rows], fontsize=7)
    ax.set_xlabel(f"time from the batch's first operation ({unit}); bars to scale, an "
                  f"operation holding several resources drawn on the first", fontsize=8)
    ax.grid(axis="x", linewidth=0.3, alpha=0.5)
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              frameon=False, title="operation", title_fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _buffer_steps(sim: Simulation, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Times (ns) and bytes of the step function of buffer ``name``."""
    occupancy = sim.occupancy
    return np.asarray(occupancy.times[name], float), np.asarray(occupancy.bytes[name], float)


def _byte_unit(top: float) -> tuple[float, str]:
    """Factor from bytes and the unit name for an axis reaching ``top`` bytes."""
    for factor, unit in ((1024.0 ** 2, "MB"), (1024.0, "KB")):
        if top >= 2 * factor:
            return factor, unit
    return 1.0, "B"


def buffers_png(sim: Simulation, title: str) -> bytes:
    """Occupancy of every buffer over the simulated batches, each against its capacity (dashed
    red; named in the panel's title where it is over :data:`_OFF_SCALE` times the peak); the DRAM
    spill total in the figure's title."""
    names = list(sim.buffer_capacity_bytes)
    cols = max(1, min(3, len(names)))
    n_rows = max(1, math.ceil(len(names) / cols))
    fig = _figure(3.6 * cols, 2.3 * n_rows + 0.8)
    window_ns = float(sim.schedule.makespan) or 1.0
    factor, unit = _time_unit(window_ns)
    for i, name in enumerate(names):
        ax = fig.add_subplot(n_rows, cols, i + 1)
        times, held = _buffer_steps(sim, name)
        times = np.append(times, max(window_ns, float(times[-1]) if len(times) else 0.0))
        held = np.append(held, held[-1] if len(held) else 0.0)
        capacity = sim.buffer_capacity_bytes[name]
        peak = max(float(held.max()) if len(held) else 0.0, 1.0)
        # A capacity far above the peak would flatten the curve: the axis then ends above the
        # peak and the capacity is named in the title instead of drawn.
        top = capacity if capacity <= _OFF_SCALE * peak else peak
        scale, y_unit = _byte_unit(max(top, peak))
        ax.step(times / factor, held / scale, where="post", linewidth=0.8, color="#1f77b4")
        # Shaded, so a buffer held at its capacity stays visible under the capacity line.
        ax.fill_between(times / factor, held / scale, step="post", alpha=0.3, color="#1f77b4",
                        linewidth=0)
        if capacity <= _OFF_SCALE * peak:
            ax.axhline(capacity / scale, color="#d62728", linestyle="--", linewidth=0.8)
        ax.set_ylim(0, max(top, peak) / scale * 1.1)
        ax.set_xlim(0, window_ns / factor)
        off = "" if capacity <= _OFF_SCALE * peak else ", capacity off scale"
        ax.set_title(f"{name}: peak {_bytes(sim.buffer_peak_bytes.get(name, 0.0))} of "
                     f"{_bytes(capacity)}{off}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(unit, fontsize=7)
        ax.set_ylabel(y_unit, fontsize=7)
    fig.suptitle(f"{title}, {DATAFLOW_LABELS[sim.dataflow]}: buffer occupancy over "
                 f"{sim.simulated_batches} batches; DRAM spills "
                 f"{_bytes(sim.spill_bytes_per_batch)} per batch, "
                 f"{_bytes(sim.dram_bytes.get('spill', 0.0))} per epoch (written and read back)",
                 fontsize=9)
    fig.tight_layout()
    return _png(fig)


# --- files ------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """``json.dumps``'s fallback for numpy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_bytes(obj: Any, where: str) -> bytes:
    try:
        text = json.dumps(obj, indent=2, sort_keys=True, default=_plain, allow_nan=False)
    except ValueError:
        raise DfasimError(f"{where}: the simulation produced a non-finite number (NaN or "
                          f"infinity); check the chip config") from None
    return (text + "\n").encode()


def simulation_files(simulations: Mapping[str, Simulation], title: str
                     ) -> dict[str, bytes]:
    """Every output file's bytes by its path relative to the output folder.

    One dataflow: ``simulation.json``, ``gantt.png``, ``buffers.png`` and ``summary.md`` in the
    folder itself; several: those four in a folder per dataflow, and the comparison
    ``summary.md`` above them.
    """
    several = len(simulations) > 1
    files: dict[str, bytes] = {}
    for dataflow, sim in simulations.items():
        prefix = f"{dataflow}/" if several else ""
        files[prefix + "simulation.json"] = _json_bytes(sim.to_dict(),
                                                        prefix + "simulation.json")
        files[prefix + "gantt.png"] = gantt_png(sim, title)
        files[prefix + "buffers.png"] = buffers_png(sim, title)
        files[prefix + "summary.md"] = summary_markdown(sim, title).encode()
    if several:
        files["summary.md"] = comparison_markdown(simulations, title).encode()
    return files


def write_simulation_outputs(simulations: Mapping[str, Simulation], out_dir, title: str
                             ) -> list[Path]:
    """Render every file of :func:`simulation_files`, then write them under ``out_dir``; return
    their paths.

    Nothing is written unless every file rendered. A new folder is filled under a temporary name
    beside it and renamed into place, so a failed write leaves no folder behind; in an existing
    folder each file is replaced atomically and the files it held otherwise are kept.

    Raises
    ------
    DfasimError
        ``out_dir`` is a file, or a file cannot be written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DfasimError(f"--out {out} is a file, not a folder")
    files = simulation_files(simulations, title)
    target = out
    if not out.exists():
        target = out.with_name(f".{out.name}.tmp{os.getpid()}")
        shutil.rmtree(target, ignore_errors=True)
    try:
        for relative, data in files.items():
            atomic_write_bytes(target / relative, data)
        if target != out:
            try:
                os.rename(target, out)
            except OSError as exc:
                raise DfasimError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if target != out:
            shutil.rmtree(target, ignore_errors=True)
    return [out / relative for relative in files]
