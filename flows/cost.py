# SPDX-License-Identifier: MIT
"""``dfasim cost``: energy / latency / area of one adaptation epoch, BP vs DFA, with plots.

:func:`cost_report` prices either the activity counters an ``adapt.json`` recorded (activity
mode, averaged over chips) or a dense analytical spec (layers, timesteps, samples, batch, spike
rate) on a chip description (Table II by default, the ``adapt.json``'s own chip, or a ``[chip]``
TOML table) through :func:`dfasim.models.cost.report.cost_report`; :func:`write_cost_outputs`
writes the report as ``cost.json``, ``cost.csv`` and Fig. 6-style PNGs. The Table I roll-up,
our own blocks' synthesis areas and the design-space sweep are here too.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..models.activity import ActivityCounters
from ..models.chip import ChipConfig
from ..models.cost import components
from ..models.cost.area import AREA_COMPONENTS
from ..models.cost.energy import ENERGY_COMPONENTS
from ..models.cost.latency import LATENCY_COMPONENTS
from ..models.cost.report import DISPLAY, MODES
from ..models.cost.report import cost_report as roll_up
from ..models.cost.report import table1_report as roll_up_table1
from ..models.cost.sweep import SWEEP_AXES, random_configs, sweep, sweep_grid
from ..models.cost.workload import (TRAINING_PHASES, DenseSpec, Workload, activity_workload,
                                    dense_workload)
from .config import from_dict
from .datasets.registry import KIND
from .errors import DfasimError
from .fileio import atomic_write_bytes, read_text, write_json

__all__ = ["cost_report", "write_cost_outputs", "format_report", "table1_report",
           "format_table1", "synth_areas", "run_sweep", "read_adapt", "adapt_fields"]


#: Chip fields the recorded counts depend on: pricing them on another value is refused.
_COUNTED_FIELDS = (("crossbar", "rows"), ("crossbar", "cols"), ("device", "mapping"),
                   ("datapath", "input_bits"), ("datapath", "error_bits"),
                   ("datapath", "psum_bits"))


# --- inputs -----------------------------------------------------------------------------------

def read_adapt(source) -> tuple[dict, str]:
    """An ``adapt.json`` (path or already loaded dict) and a name for messages."""
    if isinstance(source, dict):
        return source, "adapt.json (dict)"
    path = Path(source)
    text = read_text(path, "adaptation results")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DfasimError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise DfasimError(f"{path} is not an adapt.json (not a JSON object)")
    return data, str(path)


def adapt_fields(d: dict, where: str) -> tuple[list[int], int, int, str]:
    """``(layers, timesteps, batch_size, dataset)`` of an ``adapt.json``."""
    try:
        layers = [int(n) for n in d["layers"]]
        return layers, int(d["timesteps"]), int(d["batch_size"]), str(d.get("dataset", ""))
    except (KeyError, TypeError, ValueError):
        raise DfasimError(f"{where} is not an adapt.json: needs layers, timesteps and "
                          f"batch_size") from None


def _chip_of_adapt(d: dict, chip: ChipConfig | None, where: str) -> ChipConfig:
    """The chip the counts were simulated on, or ``chip`` after checking it agrees on every
    field the counts depend on."""
    recorded = ((d.get("config") or {}).get("chip"))
    if not isinstance(recorded, dict):
        raise DfasimError(f"{where} holds no chip description (config.chip); it was written by "
                          f"an older dfasim: rerun dfasim adapt")
    simulated = from_dict(ChipConfig, recorded, f"{where} config.chip")
    if chip is None:
        return simulated.validate()
    chip.validate()
    for part, name in _COUNTED_FIELDS:
        have = getattr(getattr(chip, part), name)
        was = getattr(getattr(simulated, part), name)
        if have != was:
            raise DfasimError(f"{where} was simulated with {part}.{name}={was!r} but the chip "
                              f"config has {part}.{name}={have!r}; the counts depend on it "
                              f"(rerun dfasim adapt or drop the override)")
    return chip


def _adapt_architecture(d: dict, where: str):
    """The convolutional network an ``adapt.json`` ran (None for an MLP)."""
    if d.get("architecture") is None:
        return None
    from ..golden.architecture import Architecture
    try:
        return Architecture.from_dict(d["architecture"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise DfasimError(f"{where}: bad architecture ({exc})") from None


def _adapt_workload(d: dict, where: str, priced_chip: ChipConfig | None = None, *,
                    only: str | None = None) -> Workload:
    """The workload of an ``adapt.json`` from its per-epoch activity counts.

    Both rules need counts; with ``only`` (a run that adapted with one rule) the other rule
    gets that run's forward pass and update alone — the activity both rules share, from which
    the roll-up derives samples and spike rate — so the workload maps, and only ``only``'s
    scheme is meant to be read.
    """
    layers, timesteps, batch_size, dataset = adapt_fields(d, where)
    architecture = _adapt_architecture(d, where)
    runs: dict[str, list[ActivityCounters]] = {"bp": [], "dfa": []}
    for chip in d.get("chips") or []:
        for rule, res in (chip.get("adapt") or {}).items():
            counts = (res or {}).get("epoch_counts")
            if rule in runs and counts:
                try:
                    runs[rule].append(ActivityCounters.from_dict(counts))
                except (ValueError, TypeError, AttributeError) as exc:
                    raise DfasimError(f"{where}: bad epoch_counts ({exc})") from None
    if only is not None and runs[only]:
        other = "dfa" if only == "bp" else "bp"
        shared = ActivityCounters()
        shared.cells = {(layer, phase): c for (layer, phase), c in runs[only][0].cells.items()
                        if phase in ("forward", "update") and layer.startswith("L")}
        runs[other] = [shared]
    missing = [r for r, v in runs.items() if not v]
    if missing:
        raise DfasimError(f"{where} has no per-epoch activity counts for "
                          f"{' and '.join(r.upper() for r in missing)} (run dfasim adapt with "
                          f"--rules bp,dfa)")
    # Time series and event frames bring a new input vector every timestep (the DRAM line);
    # an unknown dataset is taken as one.
    sequence = KIND.get(dataset, "sequence") == "sequence"
    try:
        return activity_workload(runs, layers, timesteps, batch_size, sequence=sequence,
                                 source=f"{where}: {len(runs['bp'])} chips, first epoch",
                                 architecture=architecture, chip=priced_chip)
    except ValueError as exc:
        raise DfasimError(f"{where}: {exc}") from None


def _dense_spec(source) -> DenseSpec:
    if isinstance(source, DenseSpec):
        spec = dataclasses.replace(source, layers=list(source.layers))
    elif isinstance(source, dict):
        spec = from_dict(DenseSpec, source, "dense spec")
    else:
        raise DfasimError(f"a dense spec must be a DenseSpec or a dict, not "
                          f"{type(source).__name__}")
    try:
        return spec.validate()
    except ValueError as exc:
        raise DfasimError(f"dense spec: {exc}") from None


def _validated(chip: ChipConfig | None) -> ChipConfig:
    chip = ChipConfig() if chip is None else chip
    if not isinstance(chip, ChipConfig):
        raise DfasimError(f"chip must be a ChipConfig, not {type(chip).__name__}")
    try:
        return chip.validate()
    except (ValueError, TypeError) as exc:
        raise DfasimError(f"chip config: {exc}") from None


# --- the report -------------------------------------------------------------------------------

def cost_report(source, chip: ChipConfig | None = None, *, mode: str = "activity",
                synth: dict | None = None) -> dict:
    """Energy, latency and area of one adaptation epoch for BP and DFA.

    Parameters
    ----------
    source : path, dict or DenseSpec
        An ``adapt.json`` (path or loaded dict) or, with ``mode="dense"``, a dense spec
        (:class:`~dfasim.models.cost.workload.DenseSpec` or a dict with its fields: ``layers``,
        ``timesteps``, ``samples_per_epoch``, ``batch_size``, ``spike_rate``, ...). An
        ``adapt.json`` with ``mode="dense"`` uses its network and measured spike rate.
    chip : ChipConfig, optional
        Default: the chip the ``adapt.json`` was simulated on, or Table II for a dense spec.
    mode : str
        ``"activity"`` (price the recorded counters, averaged over chips) or ``"dense"``.
    synth : dict, optional
        :func:`synth_areas` output, added under ``"synth"``.

    Returns
    -------
    dict
        :func:`dfasim.models.cost.report.cost_report`'s report (plus ``synth``).

    Raises
    ------
    DfasimError
        Unreadable input, a bad config, or a network that does not map.
    """
    if mode not in MODES:
        raise DfasimError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    is_adapt = isinstance(source, (str, Path)) or (isinstance(source, dict)
                                                   and "chips" in source)
    if is_adapt:
        d, where = read_adapt(source)
        chip = _chip_of_adapt(d, chip, where)
        name = str(d.get("dataset", ""))
        workload = _adapt_workload(d, where, chip)
        if mode == "dense":
            spec = DenseSpec(workload.layers, workload.timesteps, int(round(workload.samples)),
                             workload.batch_size, spike_rate=workload.spike_rate or 0.0,
                             sequence=workload.sequence, name=f"{where} (dense)",
                             architecture=workload.architecture)
            workload = dense_workload(spec.validate(), chip)
    else:
        if mode == "activity":
            raise DfasimError("activity mode needs an adapt.json (path or dict); use "
                              "mode='dense' for a network spec")
        chip = _validated(chip)
        spec = _dense_spec(source)
        name = spec.name
        workload = dense_workload(spec, chip)
    try:
        report = roll_up(workload, chip, name=name)
    except ValueError as exc:
        raise DfasimError(str(exc)) from None
    if synth is not None:
        report["synth"] = synth
    return report


# --- text, CSV, plots -------------------------------------------------------------------------

def _disp(q: str, v: float) -> str:
    unit, f = DISPLAY[q]
    return f"{v * f:,.4g} {unit}"


def format_report(report: dict) -> str:
    """A plain-text table of a :func:`cost_report`."""
    net, s = report["network"], report["schemes"]
    bp, dfa = s["bp"], s["dfa"]
    r = report["ratios"]
    paper = report["paper_ratios"]
    pn = paper.get("network") or {}
    rng = paper["range"]
    title = (f"{net.get('name') or 'network'} {'-'.join(map(str, net['layers']))} "
             f"T={net['timesteps']}, {net['samples_per_epoch']:,.0f} samples/epoch, batch "
             f"{net['batch_size']}, {report['mode']} mode")
    if net.get("spike_rate") is not None:
        title += f" (spike rate {net['spike_rate']:.3f})"
    lines = [title, f"{'':<10}{'BP':>16}{'DFA':>16}{'DFA/BP':>9}  paper DFA/BP"]
    rows = (("energy", bp["energy_pj"]["total"], dfa["energy_pj"]["total"]),
            ("latency", bp["latency_ns"]["total"], dfa["latency_ns"]["total"]),
            ("area", bp["area_um2"]["total"], dfa["area_um2"]["total"]))
    for q, a, b in rows:
        ref = f"{rng[q][0]:.2f}-{rng[q][1]:.2f}"
        if q in pn:
            ref += f" (this network {pn[q]:.3f})"
        lines.append(f"{q:<10}{_disp(q, a):>16}{_disp(q, b):>16}{r[q]:>9.3f}  {ref}")
    lines.append(f"{'DRAM':<10}{_disp('energy', bp['dram_energy_pj']):>16}"
                 f"{_disp('energy', dfa['dram_energy_pj']):>16}   (same for both, not in "
                 f"the energy above)")
    lines.append(f"energy without the WGU: DFA/BP {r['energy_excluding_wgu']:.3f}")
    lines.append(f"rule overhead (backward + update only): energy DFA/BP "
                 f"{r['energy_rule_overhead']:.3f}, latency DFA/BP "
                 f"{r['latency_rule_overhead']:.3f}")
    designs = report["wgu_designs"]
    lines.append(f"WGU designs (priced above: {designs['priced']}), energy BP/DFA µJ, DFA/BP "
                 f"whole epoch, rule overhead:  " + "  ".join(
                     f"{name} {d['bp_energy_pj'] * 1e-6:.4g}/{d['dfa_energy_pj'] * 1e-6:.4g} "
                     f"{d['ratio_energy']:.3f} {d['ratio_energy_rule_overhead']:.3f}"
                     for name, d in designs["designs"].items()))
    lines.append(f"leakage ({bp['leakage']['roadmap'].upper()}, not in the energy above): "
                 f"BP {bp['leakage']['power_uw']['total'] * 1e-3:.4g} mW x latency = "
                 f"{bp['leakage']['energy_over_latency_pj'] * 1e-6:,.4g} µJ, DFA "
                 f"{dfa['leakage']['power_uw']['total'] * 1e-3:.4g} mW x latency = "
                 f"{dfa['leakage']['energy_over_latency_pj'] * 1e-6:,.4g} µJ")
    lines.append("energy by component (µJ):  " + "  ".join(
        f"{c} {bp['energy_pj']['by_component'][c] * 1e-6:.4g}/"
        f"{dfa['energy_pj']['by_component'][c] * 1e-6:.4g}" for c in ENERGY_COMPONENTS))
    lines.append("latency by phase (ms):     " + "  ".join(
        f"{p} {bp['latency_ns']['by_phase'][p] * 1e-6:.4g}/"
        f"{dfa['latency_ns']['by_phase'][p] * 1e-6:.4g}" for p in TRAINING_PHASES))
    lines.append("area by component (mm²):   " + "  ".join(
        f"{c} {bp['area_um2']['by_component'][c] * 1e-6:.3g}/"
        f"{dfa['area_um2']['by_component'][c] * 1e-6:.3g}" for c in AREA_COMPONENTS))
    lines.append(f"tiles BP {bp['mapping']['n_tiles']}, DFA {dfa['mapping']['n_tiles']} "
                 f"(B x{dfa['mapping']['b_duplication']})")
    return "\n".join(lines)


def _csv_rows(report: dict) -> list[list]:
    rows = [["scheme", "quantity", "breakdown", "key", "value", "unit"]]
    for s, d in report["schemes"].items():
        e, lat, a = d["energy_pj"], d["latency_ns"], d["area_um2"]
        rows.append([s, "energy", "total", "total", e["total"], "pJ"])
        for grp in ("by_component", "by_phase", "by_layer"):
            rows += [[s, "energy", grp[3:], k, v, "pJ"] for k, v in e[grp].items()]
        for ph, comps in e["by_phase_component"].items():
            rows += [[s, "energy", "phase_component", f"{ph}/{c}", v, "pJ"]
                     for c, v in comps.items()]
        rows.append([s, "dram_energy", "total", "total", d["dram_energy_pj"], "pJ"])
        rows.append([s, "latency", "total", "total", lat["total"], "ns"])
        for grp in ("by_component", "by_phase"):
            rows += [[s, "latency", grp[3:], k, v, "ns"] for k, v in lat[grp].items()]
        for ph, comps in lat["by_phase_component"].items():
            rows += [[s, "latency", "phase_component", f"{ph}/{c}", v, "ns"]
                     for c, v in comps.items()]
        rows.append([s, "area", "total", "total", a["total"], "um2"])
        for grp in ("by_component", "by_block"):
            rows += [[s, "area", grp[3:], k, v, "um2"] for k, v in a[grp].items()]
        leak = d["leakage"]
        rows += [[s, "leakage_power", "component", k, v, "uW"]
                 for k, v in leak["power_uw"].items()]
        rows.append([s, "leakage_energy_over_latency", "total", "total",
                     leak["energy_over_latency_pj"], "pJ"])
    for q, v in report["ratios"].items():
        rows.append(["dfa/bp", q, "ratio", "total", v, ""])
    return rows


def _write_csv(path: Path, rows: list[list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow([repr(v) if isinstance(v, float) else v for v in row])
    atomic_write_bytes(path, buf.getvalue().encode())


#: Distinct colours for up to 15 stacked series (tab20 order, then dark accents).
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
            "#c5b0d5"]


def _stacked(ax, series: dict[str, tuple[float, float]], factor: float, unit: str,
             title: str) -> None:
    """Two stacked bars (BP, DFA) of ``{label: (bp, dfa)}``; zero series are left out."""
    x = np.arange(2)
    bottom = np.zeros(2)
    shown = [(k, np.array(v) * factor) for k, v in series.items() if max(v) > 0]
    for i, (label, v) in enumerate(shown):
        ax.bar(x, v, 0.55, bottom=bottom, label=label, color=_COLOURS[i % len(_COLOURS)],
               edgecolor="white", linewidth=0.5)
        bottom += v
    for xi, tot in zip(x, bottom):
        ax.text(xi, tot, f"{tot:.4g}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, ["BP", "DFA"])
    ax.set_ylabel(unit)
    ax.set_title(title, fontsize=9)
    ax.set_ylim(0, max(bottom.max(), 1e-30) * 1.12)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def _plot(path: Path, report: dict, kind: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = report["schemes"]
    net = report["network"]
    name = f"{net.get('name') or ''} {'-'.join(map(str, net['layers']))}".strip()
    fig = Figure(figsize=(4.6, 3.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if kind == "energy":
        unit, f = DISPLAY["energy"]
        series = {c: (s["bp"]["energy_pj"]["by_component"][c],
                      s["dfa"]["energy_pj"]["by_component"][c]) for c in ENERGY_COMPONENTS}
        title = f"energy per epoch by component ({report['mode']})\n{name}, DRAM excluded"
    elif kind == "latency":
        unit, f = DISPLAY["latency"]
        series = {f"{p}: {c}": (s["bp"]["latency_ns"]["by_phase_component"][p][c],
                                s["dfa"]["latency_ns"]["by_phase_component"][p][c])
                  for p in TRAINING_PHASES for c in LATENCY_COMPONENTS}
        title = f"latency per epoch by phase and component\n{name}"
    else:
        unit, f = DISPLAY["area"]
        series = {c: (s["bp"]["area_um2"]["by_component"][c],
                      s["dfa"]["area_um2"]["by_component"][c]) for c in AREA_COMPONENTS}
        title = f"area by component\n{name}"
    _stacked(ax, series, f, unit, title)
    fig.tight_layout()
    buf = io.BytesIO()
    # No "Software" entry: the PNG bytes then do not depend on the matplotlib version.
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())


def write_cost_outputs(report: dict, out_dir) -> list[Path]:
    """Write ``cost.json``, ``cost.csv`` and the three Fig. 6-style PNGs; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "cost.json", out / "cost.csv", out / "energy_by_component.png",
             out / "latency_by_phase.png", out / "area_by_component.png"]
    write_json(paths[0], report)
    _write_csv(paths[1], _csv_rows(report))
    for path, kind in zip(paths[2:], ("energy", "latency", "area")):
        _plot(path, report, kind)
    return paths


# --- Table I ----------------------------------------------------------------------------------

def table1_report(chip: ChipConfig | None = None, *, spike_rate: float | None = None,
                  synth: dict | None = None) -> dict:
    """Dense roll-up of the three Table I networks with the paper's ratios beside ours."""
    try:
        out = roll_up_table1(_validated(chip), spike_rate=spike_rate)
    except ValueError as exc:
        raise DfasimError(str(exc)) from None
    if synth is not None:
        for report in out["networks"].values():
            report["synth"] = synth
    return out


def format_table1(t: dict) -> str:
    """Markdown table of :func:`table1_report` (display units)."""
    head = ("| network | T | BP energy µJ | DFA energy µJ | DFA/BP (paper) | BP latency ms | "
            "DFA latency ms | DFA/BP (paper) | BP area mm² | DFA area mm² | DFA/BP (paper) |")
    lines = [head, "|" + "---|" * 11]
    for r in t["rows"]:
        lines.append(
            f"| {r['network']} {r['layers']} | {r['timesteps']} "
            f"| {r['bp_energy_pj'] * 1e-6:,.1f} | {r['dfa_energy_pj'] * 1e-6:,.1f} "
            f"| {r['ratio_energy']:.3f} ({r['paper_energy']:.2f}) "
            f"| {r['bp_latency_ns'] * 1e-6:,.1f} | {r['dfa_latency_ns'] * 1e-6:,.1f} "
            f"| {r['ratio_latency']:.3f} ({r['paper_latency']:.2f}) "
            f"| {r['bp_area_um2'] * 1e-6:.3f} | {r['dfa_area_um2'] * 1e-6:.3f} "
            f"| {r['ratio_area']:.3f} ({r['paper_area']:.2f}) |")
    lines += ["", "Rule overhead (backward + update only; the forward pass is shared) beside the "
              "whole epoch, DFA/BP:", "",
              "| network | energy, whole epoch | energy, rule overhead | latency, whole epoch "
              "| latency, rule overhead |", "|" + "---|" * 5]
    for r in t["rows"]:
        lines.append(f"| {r['network']} | {r['ratio_energy']:.3f} "
                     f"| {r['ratio_energy_rule_overhead']:.3f} | {r['ratio_latency']:.3f} "
                     f"| {r['ratio_latency_rule_overhead']:.3f} |")
    designs = [k[4:-len("_ratio_energy")] for k in t["rows"][0]
               if k.startswith("wgu_") and k.endswith("_ratio_energy")]
    lines += ["", "WGU designs side by side (energy µJ BP / DFA; DFA/BP whole epoch; DFA/BP "
              "rule overhead):", "",
              "| network | " + " | ".join(designs) + " |", "|" + "---|" * (len(designs) + 1)]
    for r in t["rows"]:
        lines.append(f"| {r['network']} | " + " | ".join(
            f"{r[f'wgu_{d}_bp_energy_pj'] * 1e-6:,.1f} / {r[f'wgu_{d}_dfa_energy_pj'] * 1e-6:,.1f}"
            f"; {r[f'wgu_{d}_ratio_energy']:.3f}; {r[f'wgu_{d}_ratio_energy_rule_overhead']:.3f}"
            for d in designs) + " |")
    lines += ["", "Leakage (separate line, not in the energies above): standby power x each "
              "scheme's own epoch latency:", "",
              "| network | roadmap | BP mW | DFA mW | BP µJ | DFA µJ |", "|" + "---|" * 6]
    for r in t["rows"]:
        lines.append(f"| {r['network']} | {r['leakage_roadmap'].upper()} "
                     f"| {r['bp_leakage_uw'] * 1e-3:,.2f} | {r['dfa_leakage_uw'] * 1e-3:,.2f} "
                     f"| {r['bp_leakage_energy_pj'] * 1e-6:,.1f} "
                     f"| {r['dfa_leakage_energy_pj'] * 1e-6:,.1f} |")
    return "\n".join(lines)


# --- synthesis of our own blocks --------------------------------------------------------------

#: Syntheses behind the ``rtl`` constants: (block, params) pairs; memory-bearing blocks twice
#: with two memory depths, so the logic area is the intercept at zero depth.
SYNTH_RUNS = {
    "shift_add_area": [("shift_add", {"lanes": 16, "slices": 2})],
    "accumulator_area": [("psum", {"lanes": 16})],
    "gradlif_area": [("grad_lif", {"lanes": 16, "max_timesteps": 16}),
                     ("grad_lif", {"lanes": 16, "max_timesteps": 2})],
    "wgu_lane_area": [("wgu", {"rows": 4, "cols": 32}), ("wgu", {"rows": 2, "cols": 32})],
}


def synth_areas(out_dir, node_nm: float = 32.0) -> dict:
    """Synthesise our digital blocks with yosys (OSU 0.18 µm) and return per-lane logic areas
    at 180 nm and scaled to ``node_nm``, beside the library's values (needs yosys)."""
    from .rtl import synth

    out = Path(out_dir)
    res: dict[str, Any] = {"node_nm": node_nm, "technology": "OSU 0.18 µm (180 nm)",
                           "blocks": {}}
    for name, runs in SYNTH_RUNS.items():
        reps = []
        for block, params in runs:
            tag = "-".join(f"{k}{v}" for k, v in sorted(params.items()))
            reps.append(synth(block, params, out / f"{block}-{tag}"))
        lanes = runs[0][1].get("lanes") or runs[0][1].get("cols")
        if len(reps) == 1:
            logic = reps[0]["area_um2"]
        else:
            (a1, b1), (a2, b2) = [(r["area_um2"], r["memories"][0]["bits"]) for r in reps]
            per_bit = (a1 - a2) / (b1 - b2)
            logic = a2 - per_bit * b2
        per_lane = logic / lanes
        lib = components.LIBRARY[name]
        res["blocks"][name] = {
            "runs": [{"block": b, "params": p, "area_um2": r["area_um2"],
                      "memory_bits": sum(m["bits"] for m in r["memories"])}
                     for (b, p), r in zip(runs, reps)],
            "logic_um2_per_lane_180nm": per_lane,
            "logic_um2_per_lane_scaled": components.scale(per_lane, "area", 180, node_nm),
            "library_um2_per_lane_scaled": float(lib.at(node_nm)),
            "library_source": lib.note}
    return res


# --- sweep ------------------------------------------------------------------------------------

def run_sweep(spec: DenseSpec, chip: ChipConfig | None = None, *, n: int | None = None,
              seed: int = 0, repeats: int = 3) -> tuple[Any, dict]:
    """Sweep the design space (the full grid, or ``n`` random configurations); returns the
    :class:`~dfasim.models.cost.sweep.SweepResult` and a JSON-able summary with its speed
    (best of ``repeats`` timings)."""
    configs = sweep_grid() if n is None else random_configs(n, seed)
    best = None
    for _ in range(max(1, repeats)):
        try:
            res = sweep(spec, configs, chip)
        except ValueError as exc:
            raise DfasimError(f"sweep: {exc}") from None
        if best is None or res.seconds < best.seconds:
            best = res
    res = best
    ok = res.feasible
    summary: dict[str, Any] = {
        "network": "-".join(map(str, spec.layers)), "timesteps": spec.timesteps,
        "configurations": res.n, "feasible": int(ok.sum()), "seconds": res.seconds,
        "configs_per_second": res.configs_per_second,
        "axes": {k: list(v) for k, v in SWEEP_AXES.items()},
        "sampling": "grid" if n is None else f"{n} random (seed {seed})"}
    if ok.any():
        dfa = res.totals["dfa"]
        edp = np.where(ok, dfa["energy_pj"] * dfa["latency_ns"], np.inf)
        i = int(np.argmin(edp))
        summary["best_dfa_energy_delay"] = {k: v[i].item() for k, v in res.configs.items()}
        summary["best_dfa_energy_delay"].update(
            {f"dfa_{q}": float(dfa[q][i]) for q in dfa}
            | {f"bp_{q}": float(res.totals["bp"][q][i]) for q in dfa})
    return res, summary
