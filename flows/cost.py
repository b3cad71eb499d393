# SPDX-License-Identifier: MIT
"""``dfasim cost``: energy / latency / area of one adaptation epoch, BP vs DFA, with plots.

:func:`cost_report` prices either the activity counters an ``adapt.json`` recorded (activity
mode, averaged over chips) or a dense analytical spec (layers, timesteps, samples, batch, spike
rate) on a :class:`~dfasim.models.cost.HardwareConfig` (Table II by default, or a
``[hardware]`` TOML table), and returns a JSON-able dict; :func:`write_cost_outputs` writes it
as ``cost.json``, ``cost.csv`` and Fig. 6-style PNGs. ``--table1`` rolls up the three Table I
networks against the paper's DFA/BP ratios; ``--sweep`` evaluates a design-space grid in one
vectorised pass and reports its speed.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..models.activity import ActivityCounters
from ..models.cost import components as K
from ..models.cost.config import HardwareConfig
from ..models.cost.mapping import hardware_params
from ..models.cost.rollup import (AREA_COMPONENTS, ENERGY_COMPONENTS, LATENCY_COMPONENTS,
                                  PAPER_RATIOS, TRAINING_PHASES, DenseSpec, Workload,
                                  activity_workload, dense_workload, evaluate)
from ..models.cost.sweep import SWEEP_AXES, random_configs, sweep, sweep_grid
from .config import from_dict, load_toml, to_dict
from .errors import DfasimError
from .fileio import atomic_write_bytes, read_text, write_json

__all__ = ["TABLE1", "HHAR_SAMPLES", "MODES", "load_hardware", "cost_report",
           "write_cost_outputs", "format_report", "table1_report", "format_table1",
           "synth_areas", "run_sweep", "add_cost_parser", "run_cost"]

MODES = ("activity", "dense")

#: HHAR windows per epoch: the paper does not give its split size, so a round placeholder;
#: every per-epoch figure scales with it and the DFA/BP ratios do not depend on it.
HHAR_SAMPLES = 10000

#: The three Table I networks, per adaptation epoch at batch 50 (samples per epoch: the
#: official training splits of Fashion-MNIST and UCI-HAR; HHAR see :data:`HHAR_SAMPLES`).
TABLE1: dict[str, DenseSpec] = {
    "fashion_mnist": DenseSpec([784, 512, 256, 128, 64, 10], 5, 60000, 50, sequence=False,
                               name="Fashion-MNIST"),
    "uci_har": DenseSpec([9, 128, 64, 32, 6], 128, 7352, 50, sequence=True, name="UCI-HAR"),
    "hhar": DenseSpec([6, 256, 128, 64, 6], 100, HHAR_SAMPLES, 50, sequence=True,
                      name="HHAR"),
}

#: Display units of tables and plots: (label, factor from the JSON unit).
DISPLAY = {"energy": ("µJ", 1e-6), "latency": ("ms", 1e-6), "area": ("mm²", 1e-6)}

_SEQUENCE_DATASETS = {"uci_har", "hhar", "basic_motions"}


# --- inputs -----------------------------------------------------------------------------------

def load_hardware(path: str | Path | None) -> HardwareConfig:
    """The ``[hardware]`` table of a TOML file (Table II defaults without one), validated."""
    hw = HardwareConfig() if path is None else load_toml(path, HardwareConfig, "hardware")
    return _validated(hw)


def _validated(hw: HardwareConfig) -> HardwareConfig:
    if not isinstance(hw, HardwareConfig):
        raise DfasimError(f"hardware must be a HardwareConfig, not {type(hw).__name__}")
    try:
        return hw.validate()
    except ValueError as exc:
        raise DfasimError(f"hardware config: {exc}") from None


def _read_adapt(source) -> tuple[dict, str]:
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


def _adapt_fields(d: dict, where: str) -> tuple[list[int], int, int, str]:
    try:
        layers = [int(n) for n in d["layers"]]
        return layers, int(d["timesteps"]), int(d["batch_size"]), str(d.get("dataset", ""))
    except (KeyError, TypeError, ValueError):
        raise DfasimError(f"{where} is not an adapt.json: needs layers, timesteps and "
                          f"batch_size") from None


def _hardware_for_adapt(d: dict, hw: HardwareConfig | None, where: str) -> HardwareConfig:
    """Table II hardware with the crossbar the counts were simulated on, or check ``hw``."""
    xb = (d.get("config") or {}).get("crossbar") or {}
    dev = xb.get("device") or {}
    sim = {"rows": xb.get("rows"), "cols": xb.get("cols"),
           "differential": None if "mapping" not in dev else dev["mapping"] == "differential",
           "input_bits": xb.get("input_bits"), "error_bits": xb.get("error_bits")}
    if hw is None:
        hw = HardwareConfig()
        c, dp = hw.crossbar, hw.datapath
        for key in ("rows", "cols", "differential"):
            if sim[key] is not None:
                setattr(c, key, sim[key])
        for key, attr in (("adc_bits", "adc_bits"),):
            if xb.get(key) is not None:
                setattr(c, attr, xb[key])
        if dev.get("bits") is not None:
            c.cell_bits = dev["bits"]
        for key, attr in (("g_min", "g_min_us"), ("g_max", "g_max_us")):
            if dev.get(key) is not None:
                setattr(c, attr, float(dev[key]))
        for key in ("input_bits", "error_bits", "psum_bits"):
            if xb.get(key):
                setattr(dp, key, xb[key])
        return _validated(hw)
    hw = _validated(hw)
    have = {"rows": hw.crossbar.rows, "cols": hw.crossbar.cols,
            "differential": hw.crossbar.differential, "input_bits": hw.datapath.input_bits,
            "error_bits": hw.datapath.error_bits}
    for key, v in sim.items():
        if v is not None and v != have[key] and not (key.endswith("_bits") and v == 0):
            raise DfasimError(f"{where} was simulated with {key}={v!r} but the hardware "
                              f"config has {key}={have[key]!r}; the counts depend on it (rerun "
                              f"dfasim adapt or drop the override)")
    return hw


def _adapt_workload(d: dict, where: str) -> Workload:
    layers, T, B, dataset = _adapt_fields(d, where)
    runs: dict[str, list[ActivityCounters]] = {"bp": [], "dfa": []}
    for chip in d.get("chips") or []:
        for rule, res in (chip.get("adapt") or {}).items():
            counts = (res or {}).get("epoch_counts")
            if rule in runs and counts:
                try:
                    runs[rule].append(ActivityCounters.from_dict(counts))
                except (ValueError, TypeError, AttributeError) as exc:
                    raise DfasimError(f"{where}: bad epoch_counts ({exc})") from None
    missing = [r for r, v in runs.items() if not v]
    if missing:
        raise DfasimError(f"{where} has no per-epoch activity counts for "
                          f"{' and '.join(r.upper() for r in missing)} (run dfasim adapt with "
                          f"--rules bp,dfa)")
    sequence = dataset in _SEQUENCE_DATASETS if dataset else True
    try:
        return activity_workload(runs, layers, T, B, sequence=sequence,
                                 source=f"{where}: {len(runs['bp'])} chips, first epoch")
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


# --- the report -------------------------------------------------------------------------------

def _f(v) -> float:
    return float(np.asarray(v, dtype=float).reshape(-1)[0])


def _paper_entry(layers: list[int]) -> dict | None:
    for name, e in PAPER_RATIOS["networks"].items():
        if e["layers"] == layers:
            return {"network": name, **{k: e[k] for k in ("energy", "latency", "area")}}
    return None


def _scheme_dict(r, order_layers: list[str]) -> dict:
    e_comp = {c: 0.0 for c in ENERGY_COMPONENTS}
    e_phase = {p: 0.0 for p in TRAINING_PHASES}
    e_layer = {n: 0.0 for n in order_layers}
    e_pc = {p: {c: 0.0 for c in ENERGY_COMPONENTS} for p in TRAINING_PHASES}
    for (name, phase, comp), v in r.energy.items():
        v = _f(v)
        e_comp[comp] += v
        e_phase[phase] += v
        e_layer[name] = e_layer.get(name, 0.0) + v
        e_pc[phase][comp] += v
    l_comp = {c: 0.0 for c in LATENCY_COMPONENTS}
    l_phase = {p: 0.0 for p in TRAINING_PHASES}
    l_pc = {p: {c: 0.0 for c in LATENCY_COMPONENTS} for p in TRAINING_PHASES}
    for (phase, comp), v in r.latency.items():
        v = _f(v)
        l_comp[comp] += v
        l_phase[phase] += v
        l_pc[phase][comp] += v
    area = r.area
    return {
        "energy_pj": {"total": sum(e_comp.values()), "by_component": e_comp,
                      "by_phase": e_phase, "by_layer": e_layer, "by_phase_component": e_pc},
        "dram_energy_pj": _f(r.dram_pj),
        "latency_ns": {"total": sum(l_comp.values()), "by_phase": l_phase,
                       "by_component": l_comp, "by_phase_component": l_pc},
        "area_um2": {"total": _f(area["total"]),
                     "by_component": {c: _f(v) for c, v in area["by_component"].items()},
                     "by_block": {c: _f(v) for c, v in area["by_block"].items()},
                     "tile": _f(area["tile_area"]), "pe": _f(area["pe_area"])},
        "mapping": r.mapping.to_dict(),
        "floorplan": r.area["floorplan"].to_dict(),
    }


def cost_report(source, hw: HardwareConfig | None = None, *, mode: str = "activity",
                synth: dict | None = None) -> dict:
    """Energy, latency and area of one adaptation epoch for BP and DFA.

    Parameters
    ----------
    source : path, dict or DenseSpec
        An ``adapt.json`` (path or loaded dict) or, with ``mode="dense"``, a dense spec
        (:class:`~dfasim.models.cost.DenseSpec` or a dict with its fields: ``layers``,
        ``timesteps``, ``samples_per_epoch``, ``batch_size``, ``spike_rate``, ...). An
        ``adapt.json`` with ``mode="dense"`` uses its network and measured spike rate.
    hw : HardwareConfig, optional
        Default: Table II, with the crossbar of the ``adapt.json`` when there is one.
    mode : str
        ``"activity"`` (price the recorded counters, averaged over chips) or ``"dense"``.
    synth : dict, optional
        :func:`synth_areas` output, added under ``"synth"``.

    Returns
    -------
    dict
        JSON-able: ``hardware``, ``network``, ``mode``, ``schemes`` (``bp``/``dfa``: energy in
        pJ by component, phase, layer; DRAM apart; latency in ns by phase and component; area
        in µm² by component and block; mapping; floorplan), ``ratios`` (DFA / BP),
        ``paper_ratios``, ``units`` and the ``constants`` used.

    Raises
    ------
    DfasimError
        Unreadable input, a bad config, or a network that does not map.
    """
    if mode not in MODES:
        raise DfasimError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    is_adapt = isinstance(source, (str, Path)) or (isinstance(source, dict)
                                                   and "chips" in source)
    name = ""
    if is_adapt:
        d, where = _read_adapt(source)
        hw = _hardware_for_adapt(d, hw, where)
        name = str(d.get("dataset", ""))
        if mode == "activity":
            wl = _adapt_workload(d, where)
        else:
            act = _adapt_workload(d, where)
            spec = DenseSpec(act.layers, act.timesteps, int(round(act.samples)),
                             act.batch_size, spike_rate=act.spike_rate or 0.0,
                             sequence=act.sequence, name=f"{where} (dense)")
            wl = dense_workload(spec.validate(), hardware_params(hw))
    else:
        if mode == "activity":
            raise DfasimError("activity mode needs an adapt.json (path or dict); use "
                              "mode='dense' for a network spec")
        hw = _validated(hw or HardwareConfig())
        spec = _dense_spec(source)
        name = spec.name
        wl = dense_workload(spec, hardware_params(hw))
    p = hardware_params(hw)
    results = {}
    for scheme in ("bp", "dfa"):
        try:
            r = evaluate(wl, p, scheme)
            r.mapping.check()
        except ValueError as exc:
            raise DfasimError(str(exc)) from None
        results[scheme] = r
    order = [f"L{l}" for l in range(len(wl.layers) - 1)] \
        + [f"B{l}" for l in range(len(wl.layers) - 2)]
    schemes = {s: _scheme_dict(r, order) for s, r in results.items()}
    bp, dfa = schemes["bp"], schemes["dfa"]
    no_wgu = lambda s: s["energy_pj"]["total"] - s["energy_pj"]["by_component"]["wgu"]  # noqa
    ratios = {"energy": dfa["energy_pj"]["total"] / bp["energy_pj"]["total"],
              "latency": dfa["latency_ns"]["total"] / bp["latency_ns"]["total"],
              "area": dfa["area_um2"]["total"] / bp["area_um2"]["total"],
              "energy_excluding_wgu": no_wgu(dfa) / no_wgu(bp)}
    report = {
        "format": "dfasim.cost.report", "version": 1,
        "hardware": to_dict(hw),
        "network": {"name": name, "layers": wl.layers, "timesteps": wl.timesteps,
                    "batch_size": wl.batch_size, "samples_per_epoch": wl.samples,
                    "batches_per_epoch": wl.batches, "sequence_input": wl.sequence,
                    "spike_rate": wl.spike_rate, "source": wl.source},
        "mode": wl.mode,
        "schemes": schemes,
        "ratios": ratios,
        "paper_ratios": {"range": PAPER_RATIOS["range"],
                         "network": _paper_entry(wl.layers)},
        "units": {"energy_pj": "pJ per adaptation epoch (forward, backward, update; DRAM "
                               "apart in dram_energy_pj)",
                  "latency_ns": "ns per adaptation epoch", "area_um2": "µm²",
                  "display": {k: list(v) for k, v in DISPLAY.items()}},
        "constants": K.library_table(hw.tech.node_nm),
    }
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

def table1_report(hw: HardwareConfig | None = None, *, spike_rate: float | None = None,
                  synth: dict | None = None) -> dict:
    """Dense roll-up of the three Table I networks with the paper's ratios beside ours."""
    out: dict[str, Any] = {"networks": {}, "rows": []}
    for key, spec in TABLE1.items():
        spec = dataclasses.replace(spec, layers=list(spec.layers))
        if spike_rate is not None:
            spec.spike_rate = spike_rate
        rep = cost_report(spec, hw, mode="dense", synth=synth)
        out["networks"][key] = rep
        s, paper = rep["schemes"], PAPER_RATIOS["networks"][key]
        row = {"network": key, "layers": "-".join(map(str, spec.layers)),
               "timesteps": spec.timesteps, "samples_per_epoch": spec.samples_per_epoch,
               "spike_rate": spec.spike_rate}
        for q, k in (("energy", "energy_pj"), ("latency", "latency_ns"), ("area", "area_um2")):
            row[f"bp_{k}"] = s["bp"][k]["total"]
            row[f"dfa_{k}"] = s["dfa"][k]["total"]
            row[f"ratio_{q}"] = rep["ratios"][q]
            row[f"paper_{q}"] = paper[q]
        row["ratio_energy_excluding_wgu"] = rep["ratios"]["energy_excluding_wgu"]
        row["dram_energy_pj"] = s["bp"]["dram_energy_pj"]
        out["rows"].append(row)
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
        lib = K.LIBRARY[name]
        res["blocks"][name] = {
            "runs": [{"block": b, "params": p, "area_um2": r["area_um2"],
                      "memory_bits": sum(m["bits"] for m in r["memories"])}
                     for (b, p), r in zip(runs, reps)],
            "logic_um2_per_lane_180nm": per_lane,
            "logic_um2_per_lane_scaled": K.scale(per_lane, "area", 180, node_nm),
            "library_um2_per_lane_scaled": float(lib.at(node_nm)),
            "library_source": lib.note}
    return res


# --- sweep ------------------------------------------------------------------------------------

def run_sweep(spec: DenseSpec, hw: HardwareConfig | None = None, *, n: int | None = None,
              seed: int = 0, repeats: int = 3) -> tuple[Any, dict]:
    """Sweep the design space (the full grid, or ``n`` random configurations); returns the
    :class:`~dfasim.models.cost.sweep.SweepResult` and a JSON-able summary with its speed
    (best of ``repeats`` timings)."""
    configs = sweep_grid() if n is None else random_configs(n, seed)
    best = None
    for _ in range(max(1, repeats)):
        try:
            res = sweep(spec, configs, hw)
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


# --- command line -----------------------------------------------------------------------------

def add_cost_parser(sub) -> None:
    """Register ``dfasim cost``."""
    p = sub.add_parser("cost", help="energy / latency / area of an adaptation epoch, BP vs "
                                    "DFA (Fig. 6 plots, Table I comparison, design sweep)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--adapt", help="adapt.json whose activity counts are priced")
    src.add_argument("--network", help="dense mode: layer sizes, e.g. 9,128,64,32,6")
    src.add_argument("--table1", action="store_true",
                     help="dense roll-up of the three Table I networks vs the paper's ratios")
    p.add_argument("--mode", choices=MODES, help="with --adapt: activity (default) or dense")
    p.add_argument("--timesteps", type=int, help="dense mode: T (default 128)")
    p.add_argument("--samples", type=int, help="dense mode: samples per epoch (default 2400)")
    p.add_argument("--batch-size", type=int, dest="batch_size", help="default 50")
    p.add_argument("--spike-rate", type=float, dest="spike_rate",
                   help="dense mode: hidden-layer spike rate (default 0.38, measured on UCI-HAR)")
    p.add_argument("--static", action="store_true",
                   help="dense mode: static input repeated every timestep (DRAM line)")
    p.add_argument("--config", help="TOML file with a [hardware] table (default Table II)")
    p.add_argument("--out", help="output directory (default runs/cost/NAME)")
    p.add_argument("--sweep", action="store_true",
                   help="vectorised design-space sweep over crossbar size, ADC bits, mux "
                        "ratio and buffer sizes; reports configurations per second")
    p.add_argument("--sweep-n", type=int, dest="sweep_n",
                   help="sweep N random configurations instead of the grid")
    p.add_argument("--synth", action="store_true",
                   help="also synthesise our digital blocks (yosys, about a minute) and show "
                        "their node-scaled areas beside the library values")


def _network_arg(text: str) -> list[int]:
    try:
        layers = [int(t) for t in text.replace("-", ",").split(",") if t.strip()]
    except ValueError:
        raise DfasimError(f"--network must be layer sizes like 9,128,64,32,6, not "
                          f"{text!r}") from None
    return layers


def _dense_from_args(args) -> DenseSpec:
    layers = _network_arg(args.network) if args.network else list(TABLE1["uci_har"].layers)
    spec = DenseSpec(layers, args.timesteps if args.timesteps is not None else 128,
                     args.samples if args.samples is not None else 2400,
                     args.batch_size if args.batch_size is not None else 50,
                     sequence=not args.static)
    if args.spike_rate is not None:
        spec.spike_rate = args.spike_rate
    try:
        return spec.validate()
    except ValueError as exc:
        raise DfasimError(f"dense spec: {exc}") from None


def run_cost(args) -> int:
    """``dfasim cost``: print the table, write the outputs; 0 on success."""
    hw = load_hardware(args.config)
    if args.sweep_n is not None and args.sweep_n < 1:
        raise DfasimError(f"--sweep-n must be a positive integer, not {args.sweep_n}")
    if args.sweep:
        if args.adapt:
            d, where = _read_adapt(args.adapt)
            layers, T, B, _ = _adapt_fields(d, where)
            spec = DenseSpec(layers, T, 2400, B)
            if args.spike_rate is not None:
                spec.spike_rate = args.spike_rate
        else:
            spec = _dense_from_args(args)
        out = Path(args.out or "runs/cost/sweep")
        res, summary = run_sweep(spec, hw, n=args.sweep_n)
        out.mkdir(parents=True, exist_ok=True)
        rows = res.rows()
        _write_csv(out / "sweep.csv", [list(rows[0])] + [list(r.values()) for r in rows])
        write_json(out / "sweep.json", summary)
        print(f"sweep of {summary['configurations']:,} configurations "
              f"({summary['feasible']:,} feasible) of {summary['network']} T="
              f"{spec.timesteps}: {summary['seconds'] * 1e3:.1f} ms, "
              f"{summary['configs_per_second']:,.0f} configurations/s")
        if "best_dfa_energy_delay" in summary:
            b = summary["best_dfa_energy_delay"]
            print("lowest DFA energy x latency: " + ", ".join(
                f"{k}={b[k]}" for k in res.configs))
        print(f"wrote {out / 'sweep.csv'} and {out / 'sweep.json'}")
        return 0
    synth = None
    if args.synth:
        out_synth = Path(args.out or "runs/cost") / "synth"
        print("synthesising shift_add, psum, grad_lif and wgu with yosys ...", flush=True)
        synth = synth_areas(out_synth, hw.tech.node_nm)
    if args.table1:
        t0 = time.perf_counter()
        t = table1_report(hw, spike_rate=args.spike_rate, synth=synth)
        seconds = time.perf_counter() - t0
        out = Path(args.out or "runs/cost/table1")
        written = []
        for key, rep in t["networks"].items():
            print(format_report(rep))
            print()
            written += write_cost_outputs(rep, out / key)
        table = format_table1(t)
        print(table)
        t["seconds"] = seconds
        write_json(out / "table1.json", {"rows": t["rows"], "seconds": seconds,
                                         "paper_ratios": PAPER_RATIOS})
        rows = t["rows"]
        _write_csv(out / "table1.csv", [list(rows[0])] + [list(r.values()) for r in rows])
        atomic_write_bytes(out / "table1.md", (table + "\n").encode())
        print(f"wrote {out / 'table1.json'}, table1.csv, table1.md and "
              f"{len(written)} files under {out}/<network>/")
        return 0
    if args.adapt:
        report = cost_report(args.adapt, None if args.config is None else hw,
                             mode=args.mode or "activity", synth=synth)
        name = report["network"]["name"] or Path(args.adapt).parent.name
        out = Path(args.out or f"runs/cost/{name}-{report['mode']}")
    else:
        if args.mode == "activity":
            raise DfasimError("--mode activity needs --adapt ADAPT_JSON")
        report = cost_report(_dense_from_args(args), hw, mode="dense", synth=synth)
        out = Path(args.out or "runs/cost/" + "-".join(map(str, report["network"]["layers"])))
    print(format_report(report))
    if synth is not None:
        for name, b in synth["blocks"].items():
            print(f"  synth {name}: {b['logic_um2_per_lane_180nm']:,.0f} µm²/lane at 180 nm -> "
                  f"{b['logic_um2_per_lane_scaled']:,.1f} µm² at {hw.tech.node_nm:g} nm "
                  f"(library {b['library_um2_per_lane_scaled']:,.1f})")
    paths = write_cost_outputs(report, out)
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0
