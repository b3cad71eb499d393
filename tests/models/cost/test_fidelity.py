# SPDX-License-Identifier: MIT
"""Cost-model fidelity items (docs/cost-model.md §10): transpose periphery only where Wᵀ is
read, leakage by component, the rule-overhead ratios and the WGU designs side by side."""
import math

import pytest

from dfasim.models.chip import WGU_DESIGNS, ChipConfig
from dfasim.models.cost import DenseSpec, area_model, dense_workload, evaluate, map_network
from dfasim.models.cost.components import LIBRARY
from dfasim.models.cost.leakage import LEAKAGE_COMPONENTS, leakage_energy_pj, leakage_power_uw
from dfasim.models.cost.report import RULE_PHASES, cost_report

P = ChipConfig()
# 6T SRAM bit, 32 nm HP (NeuroSim Technology.cpp off currents, Param.cpp cell widths, in F):
# 0.9 V x 0.032 µm x (100.3 x (2.08 + 1.31) + 100.1 x 1.23) nA/µm = 13.338 nW.
BIT_UW = 0.9 * 0.032 * (100.3 * 3.39 + 100.1 * 1.23) * 1e-3
# One transistor of logic: NeuroSim's 16 kbit buffer area per transistor, 3329 / 16384 / 6 µm²,
# leaking a sixth of a bit.
T_AREA = 3329.0 / 16384 / 6


def _small_report(chip=P):
    spec = DenseSpec([3, 4, 2], 2, 4, 2, spike_rate=0.5, name="tiny")
    return cost_report(dense_workload(spec.validate(), chip), chip, name="tiny")


def test_first_layer_tiles_need_no_transpose_periphery():
    # A one-layer network is never read transposed: BP's chip equals DFA's (no B either).
    bp = area_model(P, map_network([9, 6], P, "bp"))
    dfa = area_model(P, map_network([9, 6], P, "dfa"))
    assert float(bp["total"]) == pytest.approx(float(dfa["total"]), rel=1e-12)
    assert float(bp["by_component"]["transpose_periphery"]) == 0.0
    # UCI-HAR, BP: W0's tile is plain, the three others transposable.
    bp = area_model(P, map_network([9, 128, 64, 32, 6], P, "bp"))
    assert float(bp["transposable_tiles"]) == 3
    assert float(bp["by_block"]["layer_tiles"]) == pytest.approx(
        float(bp["plain_tile_area"]) + 3 * float(bp["tile_area"]))


def test_leakage_by_component_worked_by_hand():
    mapping = map_network([3, 4, 2], P, "bp")
    area = area_model(P, mapping)
    leak = leakage_power_uw(P, mapping, area)
    assert set(leak) == set(LEAKAGE_COMPONENTS) | {"total"}
    # Buffers: 16 KB global + 2 tiles x (4 KB + 4 x 1 KB) = 32 KB = 262,144 bits x 13.338 nW
    # = 3,496.6 µW.
    assert float(leak["buffer"]) == pytest.approx(32 * 8192 * BIT_UW, rel=1e-9)
    assert float(leak["buffer"]) == pytest.approx(3496.6, rel=1e-4)
    # WGU: 12 words x 16 bits of SRAM plus 32 adder lanes of logic (7723 µm² x (32/180)²).
    lanes = 32 * 7723.0 * (32 / 180) ** 2
    assert float(leak["wgu"]) == pytest.approx(
        12 * 16 * BIT_UW + lanes / T_AREA * BIT_UW / 6, rel=1e-9)
    # Neuron units: 2 layers x 16 GradLIF lanes of 31,078 µm² x (32/180)².
    assert float(leak["neuron"]) == pytest.approx(
        2 * 16 * 31078.0 * (32 / 180) ** 2 / T_AREA * BIT_UW / 6, rel=1e-9)
    # NeuroSim's SAR ADC has no standby term; an undriven RRAM array none either.
    assert float(leak["adc"]) == 0.0 and float(leak["crossbar"]) == 0.0
    assert float(leak["total"]) == pytest.approx(
        sum(float(leak[c]) for c in LEAKAGE_COMPONENTS))
    # LSTP: the off current is 1002x lower (100.3 nA/µm -> 0.1001 nA/µm for NMOS).
    lstp = leakage_power_uw(P.updated({"tech.roadmap": "lstp"}), mapping, area)
    assert float(lstp["buffer"]) == pytest.approx(
        32 * 8192 * 0.9 * 0.032 * 0.1001 * (3.39 + 1.23) * 1e-3, rel=1e-9)
    # µW x ns = 1e-3 pJ.
    assert float(leakage_energy_pj(2.0, 3.0)) == pytest.approx(6e-3)
    assert LIBRARY["ioff_nmos_hp"].value == 100.3


def test_leakage_is_a_separate_line():
    rep = _small_report()
    for scheme in ("bp", "dfa"):
        s = rep["schemes"][scheme]
        leak = s["leakage"]
        assert leak["roadmap"] == "hp"
        assert leak["energy_over_latency_pj"] == pytest.approx(
            leak["power_uw"]["total"] * s["latency_ns"]["total"] * 1e-3)
        # Not in the dynamic totals the Table I comparison uses.
        assert s["energy_pj"]["total"] == pytest.approx(
            sum(s["energy_pj"]["by_component"].values()))
        assert "leakage" not in s["energy_pj"]["by_component"]


def test_rule_overhead_ratio_is_backward_plus_update():
    rep = _small_report()
    bp, dfa = rep["schemes"]["bp"], rep["schemes"]["dfa"]
    for quantity, key in (("energy", "energy_pj"), ("latency", "latency_ns")):
        rule = {s: sum(d[key]["by_phase"][p] for p in RULE_PHASES)
                for s, d in (("bp", bp), ("dfa", dfa))}
        assert rep["ratios"][f"{quantity}_rule_overhead"] == pytest.approx(
            rule["dfa"] / rule["bp"])
        # The forward pass is the same for both rules (the whole-epoch ratio includes it).
        assert rep["ratios"][quantity] == pytest.approx(
            dfa[key]["total"] / bp[key]["total"])
    assert bp["energy_pj"]["by_phase"]["forward"] == pytest.approx(
        dfa["energy_pj"]["by_phase"]["forward"], rel=0.2)


def test_wgu_designs_side_by_side():
    rep = _small_report()
    designs = rep["wgu_designs"]
    assert designs["priced"] == "sram_rmw" and set(designs["designs"]) == set(WGU_DESIGNS)
    priced = designs["designs"]["sram_rmw"]
    assert priced["bp_energy_pj"] == pytest.approx(rep["schemes"]["bp"]["energy_pj"]["total"])
    assert priced["dfa_energy_pj"] == pytest.approx(rep["schemes"]["dfa"]["energy_pj"]["total"])
    # Each design's figures are those of a chip that prices it.
    for design, d in designs["designs"].items():
        chip = P.updated({"hierarchy.wgu_design": design})
        spec = DenseSpec([3, 4, 2], 2, 4, 2, spike_rate=0.5)
        wl = dense_workload(spec.validate(), chip)
        bp, dfa = evaluate(wl, chip, "bp"), evaluate(wl, chip, "dfa")
        assert d["bp_energy_pj"] == pytest.approx(float(bp.energy_total))
        assert d["ratio_energy"] == pytest.approx(float(dfa.energy_total / bp.energy_total))
    # Only the WGU differs between designs.
    reg = designs["designs"]["register"]
    assert reg["bp_energy_pj"] - reg["bp_wgu_energy_pj"] == pytest.approx(
        priced["bp_energy_pj"] - priced["bp_wgu_energy_pj"])


def test_chip_rejects_unknown_design_and_roadmap():
    with pytest.raises(ValueError, match="hierarchy.wgu_design"):
        P.updated({"hierarchy.wgu_design": "magic"}).validate()
    with pytest.raises(ValueError, match="tech.roadmap"):
        P.updated({"tech.roadmap": "lp"}).validate()
    with pytest.raises(ValueError, match="crossbar.read_voltage_v"):
        P.updated({"crossbar.read_voltage_v": 0.0}).validate()
    with pytest.raises(ValueError, match="programming.write_pulse_ns"):
        P.updated({"programming.write_pulse_ns": -1.0}).validate()


def test_read_pulse_sets_read_energy_and_time():
    # Halving the read pulse halves the cell energy and takes 5 ns off every read.
    spec = DenseSpec([9, 128, 6], 4, 10, 5, spike_rate=0.3)
    fast = P.updated({"crossbar.read_pulse_ns": 5.0})
    wl = dense_workload(spec.validate(), P)
    base, short = evaluate(wl, P, "dfa"), evaluate(wl, fast, "dfa")
    cell = lambda r: sum(float(v) for (_, _, c), v in r.energy.items()  # noqa: E731
                         if c == "crossbar")
    assert cell(short) == pytest.approx(cell(base) / 2)
    assert math.isclose(float(short.prices.cell_read_ns), 5.0)
