# SPDX-License-Identifier: MIT
"""The cost report of one epoch, BP beside DFA, as plain JSON-able data; and Table I's networks.

:func:`cost_report` rolls a :class:`~dfasim.models.cost.workload.Workload` up on a chip for both
schemes and returns energy (pJ) by component, phase and layer, latency (ns) by phase and
component, area (µm²) by component and block, the mapping and floorplan, the DFA / BP ratios
and the paper's ratios beside them (``golden.papers``), the backward-plus-update ("rule
overhead") ratios apart from the whole-epoch ones, the three WGU designs side by side and the
standby power (a separate, labelled line never added to the totals). :func:`table1_report` does
it for the three DFA_Sim Table I networks in dense mode. Text, CSV and plots are the flows'
business.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...golden.networks import NETWORKS
from ...golden.papers import DFA_SIM_RATIO_RANGES, DFA_SIM_TABLE1, dfa_sim_row_for
from ..chip import WGU_DESIGNS, ChipConfig
from . import components
from .energy import ENERGY_COMPONENTS
from .latency import LATENCY_COMPONENTS
from .leakage import LEAKAGE_COMPONENTS, leakage_energy_pj, leakage_power_uw
from .rollup import SchemeResult, evaluate
from .workload import TRAINING_PHASES, DenseSpec, Workload, dense_workload

__all__ = ["MODES", "HHAR_SAMPLES", "TABLE1_SAMPLES", "DISPLAY", "RULE_PHASES", "table1_specs",
           "cost_report", "table1_report"]

MODES = ("activity", "dense")

#: HHAR windows per epoch: the paper does not give its split size, so a round number (assumed);
#: every per-epoch figure scales with it and the DFA/BP ratios do not depend on it.
HHAR_SAMPLES = 10000

#: Training samples per adaptation epoch of the Table I networks: the official training splits
#: of Fashion-MNIST (60,000 images) and UCI-HAR (7,352 windows); HHAR see :data:`HHAR_SAMPLES`.
TABLE1_SAMPLES = {"fashion_mnist": 60000, "uci_har": 7352, "hhar": HHAR_SAMPLES}

#: Display units of tables and plots: (label, factor from the JSON unit).
DISPLAY = {"energy": ("µJ", 1e-6), "latency": ("ms", 1e-6), "area": ("mm²", 1e-6)}

#: Phases that differ between the learning rules: the "rule overhead" is their sum (the forward
#: pass is the same for BP and DFA).
RULE_PHASES = ("backward", "update")

#: Display names of the Table I datasets.
_TITLES = {"fashion_mnist": "Fashion-MNIST", "uci_har": "UCI-HAR", "hhar": "HHAR"}


def table1_specs(batch_size: int = 50) -> dict[str, DenseSpec]:
    """Dense specs of the three Table I networks, one adaptation epoch at ``batch_size`` (the
    paper's 50). Fashion-MNIST images are static inputs; the HAR windows are sequences."""
    specs = {}
    for key in DFA_SIM_TABLE1:
        net = NETWORKS[key]
        specs[key] = DenseSpec(list(net.layers), net.timesteps, TABLE1_SAMPLES[key], batch_size,
                               sequence=key != "fashion_mnist", name=_TITLES[key])
    return specs


def _first(value) -> float:
    return float(np.asarray(value, dtype=float).reshape(-1)[0])


def _paper_entry(layers: list[int]) -> dict | None:
    row = dfa_sim_row_for(layers)
    if row is None:
        return None
    return {"network": row.network, **row.ratios}


def _scheme_report(result: SchemeResult, layer_order: list[str], chip: ChipConfig) -> dict:
    energy_by_component = {c: 0.0 for c in ENERGY_COMPONENTS}
    energy_by_phase = {p: 0.0 for p in TRAINING_PHASES}
    energy_by_layer = {n: 0.0 for n in layer_order}
    energy_by_phase_component = {p: {c: 0.0 for c in ENERGY_COMPONENTS}
                                 for p in TRAINING_PHASES}
    for (name, phase, component), value in result.energy.items():
        value = _first(value)
        energy_by_component[component] += value
        energy_by_phase[phase] += value
        energy_by_layer[name] = energy_by_layer.get(name, 0.0) + value
        energy_by_phase_component[phase][component] += value
    latency_by_component = {c: 0.0 for c in LATENCY_COMPONENTS}
    latency_by_phase = {p: 0.0 for p in TRAINING_PHASES}
    latency_by_phase_component = {p: {c: 0.0 for c in LATENCY_COMPONENTS}
                                  for p in TRAINING_PHASES}
    for (phase, component), value in result.latency.items():
        value = _first(value)
        latency_by_component[component] += value
        latency_by_phase[phase] += value
        latency_by_phase_component[phase][component] += value
    area = result.area
    leakage = leakage_power_uw(chip, result.mapping, area)
    latency_total = sum(latency_by_component.values())
    return {
        "energy_pj": {"total": sum(energy_by_component.values()),
                      "by_component": energy_by_component, "by_phase": energy_by_phase,
                      "by_layer": energy_by_layer,
                      "by_phase_component": energy_by_phase_component},
        "dram_energy_pj": _first(result.dram_pj),
        "latency_ns": {"total": sum(latency_by_component.values()),
                       "by_phase": latency_by_phase, "by_component": latency_by_component,
                       "by_phase_component": latency_by_phase_component},
        "area_um2": {"total": _first(area["total"]),
                     "by_component": {c: _first(v) for c, v in area["by_component"].items()},
                     "by_block": {c: _first(v) for c, v in area["by_block"].items()},
                     "tile": _first(area["tile_area"]), "pe": _first(area["pe_area"])},
        "mapping": result.mapping.to_dict(),
        "floorplan": result.area["floorplan"].to_dict(),
        "leakage": {
            "roadmap": chip.tech.roadmap,
            "power_uw": {c: _first(leakage[c]) for c in (*LEAKAGE_COMPONENTS, "total")},
            "energy_over_latency_pj": _first(leakage_energy_pj(leakage["total"],
                                                               latency_total)),
            "note": "standby power x this report's own epoch latency; NOT included in "
                    "energy_pj or in any ratio"},
    }


def _architecture_summary(architecture) -> dict:
    """Name, input shape and the im2col matrices of a network with convolutions."""
    return {"name": architecture.name, "input_shape": list(architecture.input_shape),
            "matrices": [{"name": m.name, "rows": m.rows, "cols": m.cols,
                          "reads_per_timestep": m.reads_per_timestep}
                         for m in architecture.matrices()]}


def cost_report(workload: Workload, chip: ChipConfig, *, name: str = "") -> dict:
    """Energy, latency and area of one adaptation epoch of ``workload`` for BP and DFA.

    Returns
    -------
    dict
        JSON-able: ``hardware`` (the chip description), ``network``, ``mode``, ``schemes``
        (``bp``/``dfa``: energy in pJ by component, phase, layer; DRAM apart; latency in ns by
        phase and component; area in µm² by component and block; mapping; floorplan),
        ``ratios`` (DFA / BP), ``paper_ratios``, ``units`` and the ``constants`` used.

    Raises
    ------
    ValueError
        A network that does not map onto the chip, or a chip the cost model cannot price.
    """
    if chip.crossbar.adc_bits < 1:
        raise ValueError("crossbar.adc_bits 0 (an ideal ADC) is a simulator ablation the cost "
                         "model cannot price")
    for field_name in ("input_bits", "error_bits"):
        if getattr(chip.datapath, field_name) < 2:
            raise ValueError(f"datapath.{field_name} 0 (an ideal analog driver) is a simulator "
                             f"ablation the cost model cannot price")
    results = {}
    for scheme in ("bp", "dfa"):
        result = evaluate(workload, chip, scheme)
        result.mapping.check()
        results[scheme] = result
    order = [f"L{l}" for l in range(len(workload.layers) - 1)] \
        + [f"B{l}" for l in range(len(workload.layers) - 2)]
    schemes = {s: _scheme_report(r, order, chip) for s, r in results.items()}
    bp, dfa = schemes["bp"], schemes["dfa"]

    def without_wgu(scheme: dict) -> float:
        return scheme["energy_pj"]["total"] - scheme["energy_pj"]["by_component"]["wgu"]

    def rule_overhead(scheme: dict, unit_key: str) -> float:
        return sum(scheme[unit_key]["by_phase"][p] for p in RULE_PHASES)

    ratios = {"energy": dfa["energy_pj"]["total"] / bp["energy_pj"]["total"],
              "latency": dfa["latency_ns"]["total"] / bp["latency_ns"]["total"],
              "area": dfa["area_um2"]["total"] / bp["area_um2"]["total"],
              "energy_excluding_wgu": without_wgu(dfa) / without_wgu(bp),
              "energy_rule_overhead": rule_overhead(dfa, "energy_pj")
              / rule_overhead(bp, "energy_pj"),
              "latency_rule_overhead": rule_overhead(dfa, "latency_ns")
              / rule_overhead(bp, "latency_ns")}
    wgu_designs = {}
    for design in WGU_DESIGNS:
        if design == chip.hierarchy.wgu_design:
            energies = {s: (d["energy_pj"]["total"], d["energy_pj"]["by_component"]["wgu"],
                            rule_overhead(d, "energy_pj")) for s, d in schemes.items()}
        else:
            variant = chip.updated({"hierarchy.wgu_design": design})
            energies = {}
            for s in ("bp", "dfa"):
                r = evaluate(workload, variant, s)
                wgu = sum(_first(v) for (_, _, c), v in r.energy.items() if c == "wgu")
                rule = sum(_first(v) for (_, p, _), v in r.energy.items() if p in RULE_PHASES)
                energies[s] = (_first(r.energy_total), wgu, rule)
        wgu_designs[design] = {
            "bp_energy_pj": energies["bp"][0], "dfa_energy_pj": energies["dfa"][0],
            "bp_wgu_energy_pj": energies["bp"][1], "dfa_wgu_energy_pj": energies["dfa"][1],
            "ratio_energy": energies["dfa"][0] / energies["bp"][0],
            "ratio_energy_rule_overhead": energies["dfa"][2] / energies["bp"][2]}
    return {
        "format": "dfasim.cost.report", "version": 3,
        "hardware": dataclasses.asdict(chip),
        "network": {"name": name, "layers": workload.layers,
                    "timesteps": workload.timesteps, "batch_size": workload.batch_size,
                    "samples_per_epoch": workload.samples,
                    "batches_per_epoch": workload.batches,
                    "sequence_input": workload.sequence, "spike_rate": workload.spike_rate,
                    "source": workload.source,
                    **({"architecture": _architecture_summary(workload.architecture)}
                       if getattr(workload, "architecture", None) is not None else {})},
        "mode": workload.mode,
        "schemes": schemes,
        "ratios": ratios,
        "ratio_notes": {
            "energy, latency": "whole adaptation epoch (forward + backward + update)",
            "energy_rule_overhead, latency_rule_overhead":
                "backward + update only (what the learning rule adds to the shared forward "
                "pass)",
            "energy_excluding_wgu": "whole epoch without the WGU's energy"},
        "wgu_designs": {"priced": chip.hierarchy.wgu_design, "designs": wgu_designs},
        "paper_ratios": {"range": {q: list(v) for q, v in DFA_SIM_RATIO_RANGES.items()},
                         "network": _paper_entry(workload.layers)},
        "units": {"energy_pj": "pJ per adaptation epoch (forward, backward, update; DRAM "
                               "apart in dram_energy_pj)",
                  "latency_ns": "ns per adaptation epoch", "area_um2": "µm²",
                  "display": {k: list(v) for k, v in DISPLAY.items()}},
        "constants": components.library_table(chip.tech.node_nm),
    }


def table1_report(chip: ChipConfig, *, spike_rate: float | None = None) -> dict[str, Any]:
    """Dense roll-up of the three Table I networks with the paper's ratios beside ours:
    ``{"networks": {key: cost_report}, "rows": [one summary row per network]}``."""
    out: dict[str, Any] = {"networks": {}, "rows": []}
    for key, spec in table1_specs().items():
        if spike_rate is not None:
            spec.spike_rate = spike_rate
        rep = cost_report(dense_workload(spec.validate(), chip), chip, name=spec.name)
        out["networks"][key] = rep
        schemes, paper = rep["schemes"], DFA_SIM_TABLE1[key]
        row = {"network": key, "layers": "-".join(map(str, spec.layers)),
               "timesteps": spec.timesteps, "samples_per_epoch": spec.samples_per_epoch,
               "spike_rate": spec.spike_rate}
        for quantity, unit_key in (("energy", "energy_pj"), ("latency", "latency_ns"),
                                   ("area", "area_um2")):
            row[f"bp_{unit_key}"] = schemes["bp"][unit_key]["total"]
            row[f"dfa_{unit_key}"] = schemes["dfa"][unit_key]["total"]
            row[f"ratio_{quantity}"] = rep["ratios"][quantity]
            row[f"paper_{quantity}"] = paper.ratio(quantity)
        row["ratio_energy_excluding_wgu"] = rep["ratios"]["energy_excluding_wgu"]
        row["ratio_energy_rule_overhead"] = rep["ratios"]["energy_rule_overhead"]
        row["ratio_latency_rule_overhead"] = rep["ratios"]["latency_rule_overhead"]
        for design, d in rep["wgu_designs"]["designs"].items():
            row[f"wgu_{design}_bp_energy_pj"] = d["bp_energy_pj"]
            row[f"wgu_{design}_dfa_energy_pj"] = d["dfa_energy_pj"]
            row[f"wgu_{design}_ratio_energy"] = d["ratio_energy"]
            row[f"wgu_{design}_ratio_energy_rule_overhead"] = d["ratio_energy_rule_overhead"]
        row["leakage_roadmap"] = chip.tech.roadmap
        for s in ("bp", "dfa"):
            row[f"{s}_leakage_uw"] = schemes[s]["leakage"]["power_uw"]["total"]
            row[f"{s}_leakage_energy_pj"] = schemes[s]["leakage"]["energy_over_latency_pj"]
        row["dram_energy_pj"] = schemes["bp"]["dram_energy_pj"]
        out["rows"].append(row)
    return out
