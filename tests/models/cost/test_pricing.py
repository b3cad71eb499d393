# SPDX-License-Identifier: MIT
"""Every priced component against a tiny case worked by hand, plus a Table I regression table."""
# How these tests are built (docs/cost-model.md has every formula):
#
# * test_library_holds_the_cited_values pins each constant the model uses to the number its
#   source prints. A change of a cited number fails there, and nowhere silently.
# * The hand-worked tests read those numbers from LIBRARY (raw value at the source's node, scaled
#   to 32 nm by hand where the node differs) and apply the documented formulas to a tiny network
#   (layers [3, 4, 2], T = 2, batch 2, 2 samples) with hand-made counts on the Table II chip.
#   The expectations never come from the code's own totals or intermediate results, so a change
#   of a pricing formula (a factor, a swapped read/write price, a wrong wire length, a KB that
#   is not 8192 bits) fails there.
# * test_table1_regression compares the dense Table I roll-up, component by component, with
#   pricing_table1.json (derived from the code: a guard against unnoticed change, not a proof).
#   Regenerate it with
#       .venv/bin/python tests/models/cost/test_pricing.py --write
#   and explain in the commit message why the numbers moved.
#
# Table II chip (ChipConfig() defaults) used below: 32 nm, 1 GHz, 256 x 256 crossbars of 4-bit
# cells in [1, 10] µS as differential pairs (128 outputs per crossbar), 4-bit ADCs behind 8:1
# muxes (256 / 8 = 32 ADCs per side), 1-bit decoder, 4 PEs x 4 crossbars per tile, buffers
# 16 / 4 / 1 KB (1 KB = 8192 bits) banked at 16 kbit, 16 neuron lanes, 32 WGU lanes, 64-bit
# H-tree bus, 16-bit gradient words, HBM2 DRAM.
import json
import math
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from dfasim.models.chip import ChipConfig
from dfasim.models.cost import DenseSpec, Workload, evaluate
from dfasim.models.cost.workload import add_unit_traffic, dense_counts
from dfasim.models.cost.components import LIBRARY
from dfasim.models.cost.report import table1_report

P = ChipConfig()
TABLE_PATH = Path(__file__).with_name("pricing_table1.json")
REGENERATE = ".venv/bin/python tests/models/cost/test_pricing.py --write"

# --- the cited numbers ------------------------------------------------------------------------

#: name: (value, node in nm or None), as printed by the source (components.py names it).
CITED = {
    "adc_power_per_bit": (1.0157, 32),   # NeuroSim V2.1 SarADC.cpp, HP, µW per bit
    "adc_power_base": (7.6286, 32),      # NeuroSim V2.1 SarADC.cpp, HP, µW
    "adc_latency": (5.0, 32),            # NeuroSim V2.1, ns per 4-bit conversion
    "adc_area": (693.633, 65),           # SpikeSim, µm² per ADC
    "dac_energy": (0.0035, 32),          # PUMA, pJ per driven line per bit-cycle
    "cell_area_1t1r": (16.0, None),      # NeuroSim V2.1 Param.cpp, 4F x 4F
    "read_voltage": (0.5, None),         # NeuroSim V2.1 Param.cpp readVoltage, V
    "read_pulse_width": (10.0, None),    # NeuroSim V2.1 Param.cpp readPulseWidth, ns
    "write_voltage": (4.0, None),        # NeuroSim V2.1 Param.cpp writeVoltage, V
    "write_pulse_width": (50.0, None),   # NeuroSim V2.1 Param.cpp writePulseWidth, ns
    "dff_energy": (0.0017, 32),          # NeuroSim V2.1, pJ per DFF bit per cycle
    "adder16_energy": (0.046, 32),       # NeuroSim V2.1, pJ per 16-bit add
    "vdd": (0.9, 32),                    # NeuroSim V2.1 Technology.cpp, PTM 32 nm
    "ioff_nmos_hp": (100.3, 32),         # NeuroSim V2.1 Technology.cpp, nA/µm, 300 K
    "ioff_pmos_hp": (100.1, 32),         # NeuroSim V2.1 Technology.cpp, nA/µm, 300 K
    "ioff_nmos_lstp": (0.1001, 32),      # NeuroSim V2.1 Technology.cpp, nA/µm, 300 K
    "ioff_pmos_lstp": (0.1001, 32),      # NeuroSim V2.1 Technology.cpp, nA/µm, 300 K
    "sram_pulldown_width": (2.08, None),  # NeuroSim V2.1 Param.cpp, F
    "sram_pullup_width": (1.23, None),   # NeuroSim V2.1 Param.cpp, F
    "sram_access_width": (1.31, None),   # NeuroSim V2.1 Param.cpp, F
    "lif_energy": (0.12, 32),            # NeuroSim V2.1 (adders, comparator, DFFs)
    "mul16_energy": (0.239, 32),         # SATA_Sim, pJ per 16-bit multiply
    "add16_energy_sata": (0.00967, 32),  # SATA_Sim
    "mux16_energy": (0.00172, 32),       # SATA_Sim
    "shift16_energy": (0.00605, 32),     # SATA_Sim
    "sram_read_energy": (0.011, 32),     # NeuroSim V2.1, pJ per bit read, 16 kbit
    "sram_write_energy": (0.006, 32),    # NeuroSim V2.1, pJ per bit written, 16 kbit
    "sram_area": (3329.0, 32),           # NeuroSim V2.1, µm² per 16 kbit
    "htree_energy": (0.065, None),       # NeuroSim V2.1, pJ per bit per mm
    "htree_area_tile": (433660.0, 65),   # SpikeSim, µm² per tile
    "dram_energy": (3.9, None),          # NeuroSim V2.1, HBM2, pJ per bit
    "shift_add_area": (37411.0 / 16, 180),     # dfasim rtl synth, µm² per lane
    "accumulator_area": (144825.0 / 16, 180),  # dfasim rtl synth, µm² per lane
    "gradlif_area": (31078.0, 180),      # dfasim rtl synth, µm² per lane (logic)
    "wgu_lane_area": (7723.0, 180),      # dfasim rtl synth, µm² per adder lane (logic)
}


def test_library_holds_the_cited_values():
    for name, (value, node) in CITED.items():
        assert LIBRARY[name].value == pytest.approx(value, rel=1e-12), name
        assert LIBRARY[name].node_nm == node, name
    # Derived constants: their derivations, redone here.
    assert LIBRARY["transistor_area"].value == pytest.approx(3329.0 / 16384 / 6, rel=1e-12)
    assert LIBRARY["gradlif_energy"].value == pytest.approx(
        0.239 + 2 * 0.00967 + 0.00172 + 2 * 0.00605, rel=1e-12)
    assert LIBRARY["mux_energy_per_level"].value == pytest.approx(0.00172 / 16, rel=1e-12)
    # The chip's own DRAM price is the cited HBM2 figure; its read and write defaults are
    # NeuroSim's.
    assert P.dram.pj_per_bit == CITED["dram_energy"][0]
    assert P.crossbar.read_voltage_v == CITED["read_voltage"][0]
    assert P.crossbar.read_pulse_ns == CITED["read_pulse_width"][0]
    assert P.programming.write_voltage_v == CITED["write_voltage"][0]
    assert P.programming.write_pulse_ns == CITED["write_pulse_width"][0]


def lib(name):
    """Raw value of a library constant (every one used below is given at 32 nm or is
    node-independent, except the areas, which go through :func:`area_32nm`)."""
    c = LIBRARY[name]
    assert c.node_nm in (None, 32), name
    return c.value


def area_32nm(name):
    """An area given at another node, scaled to 32 nm by hand: x (32 / node)²."""
    c = LIBRARY[name]
    return c.value * (32.0 / c.node_nm) ** 2


# --- the tiny case ----------------------------------------------------------------------------

# Layers [3, 4, 2]: W0 is 4 x 3, W1 is 2 x 4, each one crossbar in a tile of its own; DFA adds
# one B tile holding B0 (4 x 2, one crossbar) 16 times (floor(16 crossbars / 1)).
# Tiles: BP 2, DFA 3. WGU words: BP one bank for the larger layer (12 weights), DFA one bank per
# layer (12 + 8 = 20 words, 2 banks). BP reads W1 transposed, never W0: BP's L0 tile is a plain
# tile, its L1 tile a transposable one.
# The unit-traffic counters (models/cost/workload.py::add_unit_traffic) of 2 samples x T = 2 =
# 4 vectors, worked in test_unit_traffic_counts: forward partial sums to the LIF unit
# 4 x 4 x 16 = 256 (L0) and 4 x 2 x 16 = 128 bits (L1); BP: L1's deltas to its transposed
# tile 4 x 2 x 8 = 64 bits; update: deltas and inputs to the WGU 4 x (4 x 8 + 3 x 8) = 224
# (L0) and 4 x (2 x 8 + 4 x 1) = 80 bits (L1); 4 outer products per layer; (weight, sample)
# pairs 2 x 12 = 24 and 2 x 8 = 16.
LAYERS, T, BATCH, SAMPLES = [3, 4, 2], 2, 2, 2
N_TILES = {"bp": 2, "dfa": 3}
FORWARD = {
    ("L0", "forward"): {"reads": 4, "adc_conversions": 256, "active_rows": 6, "rows_driven": 12,
                        "psum_adds": 20, "buffer_read_bytes": 12, "buffer_write_bytes": 5,
                        "lif_ops": 32, "tile_bytes": 16, "unit_traffic_bits": 256},
    ("L1", "forward"): {"reads": 2, "adc_conversions": 16, "active_rows": 3, "rows_driven": 8,
                        "psum_adds": 4, "lif_ops": 16, "tile_bytes": 8,
                        "unit_traffic_bits": 128},
}
UPDATE = {
    ("L0", "update"): {"wgu_macs": 24, "buffer_read_bytes": 10, "buffer_write_bytes": 6,
                       "write_pulses": 10, "verify_reads": 4, "unit_traffic_bits": 224,
                       "wgu_vectors": 4, "wgu_weight_visits": 24},
    ("L1", "update"): {"wgu_macs": 10, "buffer_read_bytes": 4, "buffer_write_bytes": 3,
                       "write_pulses": 2, "unit_traffic_bits": 80, "wgu_vectors": 4,
                       "wgu_weight_visits": 16},
}
BACKWARD = {
    "bp": {("L1", "backward"): {"reads": 3, "adc_conversions": 120, "active_rows": 5,
                                "rows_driven": 10, "psum_adds": 12, "buffer_read_bytes": 7,
                                "buffer_write_bytes": 9, "gradlif_ops": 32, "tile_bytes": 24,
                                "unit_traffic_bits": 64},
           ("L0", "backward"): {"gradlif_ops": 48, "buffer_read_bytes": 6,
                                "buffer_write_bytes": 2}},
    "dfa": {("B0", "backward"): {"reads": 32, "adc_conversions": 128, "active_rows": 16,
                                 "rows_driven": 40, "psum_adds": 64, "tile_bytes": 8},
            ("L0", "backward"): {"gradlif_ops": 48, "buffer_read_bytes": 6,
                                 "buffer_write_bytes": 2},
            ("L1", "backward"): {"gradlif_ops": 32}},
}
SCHEMES = ("bp", "dfa")


def _workload(sequence=True):
    counts = {s: {k: {c: float(v) for c, v in cell.items()}
                  for k, cell in {**FORWARD, **BACKWARD[s], **UPDATE}.items()}
              for s in SCHEMES}
    return Workload(layers=list(LAYERS), timesteps=T, batch_size=BATCH, samples=float(SAMPLES),
                    sequence=sequence, counts=counts, mode="activity")


@lru_cache(maxsize=None)
def result(scheme, chip_overrides=()):
    chip = P.updated(dict(chip_overrides)) if chip_overrides else P
    return evaluate(_workload(), chip, scheme)


def energy(scheme, matrix, phase, component):
    return float(result(scheme).energy.get((matrix, phase, component), 0.0))


def root_to_leaf(n, pitch):
    """floorplan.py docstring: root to a leaf's centre, d (sqrt(n) - 1/2)."""
    return pitch * (math.sqrt(n) - 0.5)


def total_wire(n, pitch):
    """floorplan.py docstring: all the wire of the tree, d (1.5 (n - sqrt(n)) + n / 2)."""
    return pitch * (1.5 * (n - math.sqrt(n)) + n / 2)


# --- area, worked by hand ---------------------------------------------------------------------

@lru_cache(maxsize=None)
def hand_area(scheme):
    """Areas (µm²) of the tiny network on the Table II chip, from the constants (section 7 of
    docs/cost-model.md), with the floorplan lengths (mm) they set."""
    bp = scheme == "bp"
    transistor = lib("sram_area") / 16384 / 6            # 3329 / 16384 / 6 = 0.03386 µm²
    driver = 4 * transistor                              # 1-bit line driver: 4 T = 0.1355 µm²
    adc = area_32nm("adc_area")                          # 693.633 x (32/65)² = 168.11 µm²
    mux = 2 * 8 * transistor                             # 8:1 mux, 2 T per input = 0.5418 µm²
    shift_add = area_32nm("shift_add_area")              # 2338.2 x (32/180)² = 73.90 µm²
    accumulator = area_32nm("accumulator_area")          # 9051.6 x (32/180)² = 286.07 µm²
    # One crossbar: the 1T1R array (65,536 cells x 16 F² x (0.032 µm)² = 1073.74 µm²), 256 row
    # drivers, 32 column ADCs, muxes and shift-adders; a transposable crossbar repeats the ADCs,
    # muxes and shift-adders on the 32 row groups and adds 256 column drivers (7,796 µm²).
    plain_crossbar = {"crossbar": 256 * 256 * lib("cell_area_1t1r") * 0.032 ** 2,
                      "decoder": 256 * driver, "adc": 32 * adc, "mux": 32 * mux,
                      "shift_add": 32 * shift_add, "transpose_periphery": 0.0}
    periphery = 32 * (adc + mux + shift_add) + 256 * driver

    def pe_of(crossbar):
        # A PE: 4 crossbars, a 1 KB = 8192-bit buffer (3329 x 8192 / 16384 = 1664.5 µm²), a
        # 32-lane accumulator (9,154 µm²).
        pe = {k: 4 * v for k, v in crossbar.items()}
        pe["buffer"] = lib("sram_area") * 8192 / 16384
        pe["accumulator"] = 32 * accumulator
        return pe

    plain_pe = pe_of(plain_crossbar)
    transposable_pe = pe_of({**plain_crossbar, "transpose_periphery": periphery})
    # H-tree area per mm: SpikeSim's 433,660 µm² x (32/65)² = 105,105 µm² per tile, spread over
    # the wire of a plain tile (5 x plain PE side) and laid on each tile's own wire.
    plain_pe_side = math.sqrt(sum(plain_pe.values())) * 1e-3
    htree_per_mm = area_32nm("htree_area_tile") / total_wire(4, plain_pe_side)

    def tile_of(pe):
        # A tile: 4 PEs, a 4 KB = 32768-bit buffer (6658 µm²), another 32-lane accumulator and
        # the local H-tree.
        tile = {k: 4 * v for k, v in pe.items()}
        tile["buffer"] += lib("sram_area") * 32768 / 16384
        tile["accumulator"] += 32 * accumulator
        tile["htree"] = htree_per_mm * total_wire(4, math.sqrt(sum(pe.values())) * 1e-3)
        return tile

    plain_tile, transposable_tile = tile_of(plain_pe), tile_of(transposable_pe)
    n = N_TILES[scheme]
    # BP: L0's tile is plain (W0 is never read transposed), L1's transposable; DFA: all plain.
    n_transposable = 1 if bp else 0
    n_plain = n - n_transposable
    tile_area = sum((transposable_tile if bp else plain_tile).values())
    pe_area = sum((transposable_pe if bp else plain_pe).values())
    pe_side = math.sqrt(pe_area) * 1e-3
    # The global floorplan spaces the tiles at the pitch of their mean area.
    mean_tile = (n_plain * sum(plain_tile.values())
                 + n_transposable * sum(transposable_tile.values())) / n
    tile_side = math.sqrt(mean_tile) * 1e-3
    # Outside the tiles: the 16 KB = 131072-bit global buffer (26,632 µm²), the global H-tree
    # over n tiles, 16 GradLIF lanes per layer (2 x 16 x 31,078 x (32/180)² = 31,431 µm²), the
    # WGU: 16-bit words in SRAM (BP 12 x 16 = 192 bits, DFA 320 bits) and 32 adder lanes per
    # bank (7723 x (32/180)² = 244.08 µm² each; BP 1 bank, DFA 2).
    words, banks = (12, 1) if bp else (20, 2)
    chip_level = {"buffer": lib("sram_area") * 16 * 8192 / 16384,
                  "htree": htree_per_mm * total_wire(n, tile_side),
                  "neuron": 2 * 16 * area_32nm("gradlif_area"),
                  "wgu": lib("sram_area") * words * 16 / 16384
                  + banks * 32 * area_32nm("wgu_lane_area")}
    components = {c: n_plain * plain_tile.get(c, 0.0)
                  + n_transposable * transposable_tile.get(c, 0.0) + chip_level.get(c, 0.0)
                  for c in ("crossbar", "decoder", "adc", "mux", "shift_add",
                            "transpose_periphery", "accumulator", "buffer", "htree", "neuron",
                            "wgu")}
    # Paths (floorplan.py): global root to a tile, tile root to a PE, PE root to a crossbar
    # (pitch = PE side / sqrt(4)); local = tile + PE = 1.5 d + 1.5 d / 2 = 2.25 x PE side.
    plan = {"pe_side_mm": pe_side, "tile_side_mm": tile_side,
            "global_mm": root_to_leaf(n, tile_side), "tile_mm": root_to_leaf(4, pe_side),
            "pe_mm": root_to_leaf(4, pe_side / 2), "local_mm": 2.25 * pe_side,
            "global_wire_mm": total_wire(n, tile_side), "tile_wire_mm": total_wire(4, pe_side)}
    return {"components": components, "tile": tile_area, "pe": pe_area, "plan": plan,
            "plain_tile": sum(plain_tile.values()), "periphery": periphery}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_area_by_component(scheme):
    hand = hand_area(scheme)["components"]
    got = result(scheme).area["by_component"]
    assert set(got) == set(hand)
    for component, value in hand.items():
        assert float(got[component]) == pytest.approx(value, rel=1e-9), component
    assert float(result(scheme).area["total"]) == pytest.approx(sum(hand.values()), rel=1e-9)


def test_area_spot_values():
    # A few components as plain products, so a wrong factor shows without reading hand_area.
    bp, dfa = result("bp").area["by_component"], result("dfa").area["by_component"]
    # Crossbars: 16 per tile x 1073.74 µm² (256² cells x 16 F² at F = 32 nm): BP 2, DFA 3 tiles.
    assert float(bp["crossbar"]) == pytest.approx(2 * 16 * 65536 * 16 * 0.032 ** 2)
    assert float(dfa["crossbar"]) == pytest.approx(3 * 16 * 1073.741824)
    # Transpose periphery on BP's L1 tile only (W0 is never read transposed): 16 crossbars x
    # (32 x (168.11 + 0.5418 + 73.90) + 256 x 0.1355) = 16 x 7,796.6 µm².
    adc32, mux8 = 693.633 * (32 / 65) ** 2, 16 * 3329.0 / 16384 / 6
    periphery = 32 * (adc32 + mux8 + 2338.2 * (32 / 180) ** 2) + 256 * 4 * 3329.0 / 16384 / 6
    assert float(bp["transpose_periphery"]) == pytest.approx(16 * periphery, rel=1e-4)
    assert float(dfa["transpose_periphery"]) == 0.0
    # ADCs: 32 per crossbar side x 168.11 µm² (693.633 µm² at 65 nm x (32/65)²).
    adc = 693.633 * (32 / 65) ** 2
    assert float(dfa["adc"]) == pytest.approx(3 * 16 * 32 * adc)
    # Buffers (1 KB = 8192 bits, 3329 µm² per 16384 bits): per tile 4 x 1 KB + 4 KB = 8 KB =
    # 65536 bits = 13,316 µm²; global 16 KB = 26,632 µm².
    # DFA: 3 x 13,316 + 26,632 = 66,580 µm².
    assert float(dfa["buffer"]) == pytest.approx(3 * 13316.0 + 26632.0)
    assert float(bp["buffer"]) == pytest.approx(2 * 13316.0 + 26632.0)
    # Neuron units: 2 layers x 16 GradLIF lanes x 31,078 µm² x (32/180)² = 31,431 µm².
    assert float(bp["neuron"]) == pytest.approx(2 * 16 * 31078.0 * (32 / 180) ** 2)
    # WGU, DFA: 20 words x 16 bits = 320 bits of SRAM (3329 x 320 / 16384 = 65.02 µm²) plus
    # 2 banks x 32 lanes x 7723 µm² x (32/180)² (15,621 µm²).
    assert float(dfa["wgu"]) == pytest.approx(3329.0 * 320 / 16384
                                              + 2 * 32 * 7723.0 * (32 / 180) ** 2)
    # Local H-tree of a DFA tile: the SpikeSim tile figure itself, 433,660 x (32/65)².
    tile = result("dfa").area["tile"]
    assert float(tile["htree"]) == pytest.approx(433660.0 * (32 / 65) ** 2)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_floorplan_paths(scheme):
    hand = hand_area(scheme)
    plan = result(scheme).area["floorplan"]
    assert float(result(scheme).area["pe_area"]) == pytest.approx(hand["pe"], rel=1e-9)
    assert float(result(scheme).area["tile_area"]) == pytest.approx(hand["tile"], rel=1e-9)
    for name, value in hand["plan"].items():
        assert float(getattr(plan, name)) == pytest.approx(value, rel=1e-9), name
    # The tiny case's figures (16 F² cells): BP transposable tile 0.6795 mm wide, PE side
    # 0.2784 mm (tile + PE path 0.6263 mm); plain tile 0.5533 mm, PE 0.2152 mm (0.4841 mm).
    # BP's global pitch is that of the mean of one plain and one transposable tile, 0.6196 mm.
    side, local = {"bp": (0.6795, 0.6263), "dfa": (0.5533, 0.4841)}[scheme]
    assert math.sqrt(hand["tile"]) * 1e-3 == pytest.approx(side, abs=5e-4)
    assert hand["plan"]["local_mm"] == pytest.approx(local, abs=5e-4)
    if scheme == "bp":
        assert hand["plan"]["tile_side_mm"] == pytest.approx(
            math.sqrt((0.6795e3 ** 2 + 0.5533e3 ** 2) / 2) * 1e-3, abs=5e-4)


# --- energy, worked by hand -------------------------------------------------------------------

# Cell read: mean conductance of a differential pair in [1, 10] µS, one device at g_min and
# the other uniform: (3 x 1 + 10) / 4 = 3.25 µS; at NeuroSim's V_read = 0.5 V for its 10 ns
# read pulse: 3.25 µS x 0.25 V² x 10 ns = 8.125e-3 pJ per active line per device it crosses.
def cell_pj():
    return (3 * 1.0 + 10.0) / 4 * lib("read_voltage") ** 2 * lib("read_pulse_width") * 1e-3


# NeuroSim SarADC.cpp, 32 nm HP: (1.0157 x 4 + 7.6286) µW for 4 + 1 cycles of 1 ns = 58.457 fJ.
def adc_pj():
    return (lib("adc_power_per_bit") * 4 + lib("adc_power_base")) * (4 + 1) * 1e-3


# NeuroSim ShiftAdd.cpp composition for 16-bit partial sums of 8-bit bit-serial inputs: a
# 16-bit adder (0.046 pJ) plus 16 + 8 DFFs (0.0017 pJ each): 0.0868 pJ.
def shift_add_pj():
    return lib("adder16_energy") + (16 + 8) * lib("dff_energy")


# A programming pulse: NeuroSim's 4 V for 50 ns on a device mid-window, (1 + 10) / 2 = 5.5 µS:
# 16 V² x 5.5 µS x 50 ns = 4.4 pJ.
def pulse_pj():
    return lib("write_voltage") ** 2 * (1.0 + 10.0) / 2 * lib("write_pulse_width") * 1e-3


# The cells with reads: (matrix, phase) -> (active lines, devices crossed = conversions / reads,
# driven lines, conversions, psum adds).
READ_CELLS = {
    "bp": {("L0", "forward"): (6, 256 / 4, 12, 256, 20), ("L1", "forward"): (3, 16 / 2, 8, 16, 4),
           ("L1", "backward"): (5, 120 / 3, 10, 120, 12)},
    "dfa": {("L0", "forward"): (6, 256 / 4, 12, 256, 20), ("L1", "forward"): (3, 16 / 2, 8, 16, 4),
            ("B0", "backward"): (16, 128 / 32, 40, 128, 64)},
}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_crossbar_cells(scheme):
    # L0 forward: 6 active lines x 64 devices x 8.125e-3 pJ = 3.12 pJ; L1 forward:
    # 3 x 8 x 8.125e-3 = 0.195 pJ; BP L1 backward 5 x 40 x 8.125e-3 = 1.625 pJ; DFA B0 backward
    # 16 x 4 x 8.125e-3 = 0.52 pJ.
    assert cell_pj() == pytest.approx(8.125e-3)
    assert energy(scheme, "L0", "forward", "crossbar") == pytest.approx(3.12, rel=1e-9)
    for (matrix, phase), (active, crossed, _, _, _) in READ_CELLS[scheme].items():
        assert energy(scheme, matrix, phase, "crossbar") == pytest.approx(
            active * crossed * cell_pj(), rel=1e-9), (matrix, phase)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_decoder(scheme):
    # 1-bit decoder: one PUMA bit-cycle, 3.5 fJ, per driven line: L0 forward 12 x 0.0035 =
    # 0.042 pJ, L1 forward 0.028 pJ, BP L1 backward 0.035 pJ, DFA B0 backward 0.14 pJ.
    for (matrix, phase), (_, _, driven, _, _) in READ_CELLS[scheme].items():
        assert energy(scheme, matrix, phase, "decoder") == pytest.approx(
            driven * lib("dac_energy"), rel=1e-9), (matrix, phase)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_adc(scheme):
    # 4-bit SAR ADC at 32 nm: 0.058457 pJ x 256 conversions = 14.964992 pJ (L0 forward);
    # 16 -> 0.93531, BP L1 backward 120 -> 7.01484, DFA B0 backward 128 -> 7.482496 pJ.
    assert energy(scheme, "L0", "forward", "adc") == pytest.approx(14.964992, rel=1e-9)
    for (matrix, phase), (_, _, _, conversions, _) in READ_CELLS[scheme].items():
        assert energy(scheme, matrix, phase, "adc") == pytest.approx(
            conversions * adc_pj(), rel=1e-9), (matrix, phase)


def test_adc_energy_follows_its_source_with_bits():
    # 6-bit ADCs: (1.0157 x 6 + 7.6286) µW x 7 ns = 96.06 fJ per conversion, linear power over
    # bits + 1 cycles (1.64x the 4-bit figure, where doubling per bit would give 4x).
    r = evaluate(_workload(), P.updated({"crossbar.adc_bits": 6}), "dfa")
    assert float(r.energy[("L0", "forward", "adc")]) == pytest.approx(
        256 * (1.0157 * 6 + 7.6286) * 7 * 1e-3, rel=1e-9)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_mux(scheme):
    # 8:1 mux: log2(8) = 3 levels of a SATA 2:1 mux bit (0.00172 pJ / 16 bits) per conversion,
    # 3.225e-4 pJ: L0 forward 256 x 3.225e-4 = 0.08256 pJ.
    assert energy(scheme, "L0", "forward", "mux") == pytest.approx(0.08256, rel=1e-9)
    for (matrix, phase), (_, _, _, conversions, _) in READ_CELLS[scheme].items():
        assert energy(scheme, matrix, phase, "mux") == pytest.approx(
            conversions * 3 * lib("mux16_energy") / 16, rel=1e-9), (matrix, phase)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_shift_add(scheme):
    # 16-bit shift-add 0.0868 pJ per psum add: L0 forward 20 x 0.0868 = 1.736 pJ, L1 forward
    # 0.3472 pJ, BP L1 backward 1.0416 pJ, DFA B0 backward 5.5552 pJ.
    assert energy(scheme, "L0", "forward", "shift_add") == pytest.approx(1.736, rel=1e-9)
    for (matrix, phase), (_, _, _, _, adds) in READ_CELLS[scheme].items():
        assert energy(scheme, matrix, phase, "shift_add") == pytest.approx(
            adds * shift_add_pj(), rel=1e-9), (matrix, phase)


def test_shift_add_is_priced_by_the_psum_width():
    # 24-bit partial sums: 24 x 0.046 / 16 + (24 + 8) x 0.0017 = 0.069 + 0.0544 = 0.1234 pJ.
    r = evaluate(_workload(), P.updated({"datapath.psum_bits": 24}), "dfa")
    assert float(r.energy[("L0", "forward", "shift_add")]) == pytest.approx(20 * 0.1234)


# Tile-buffer traffic, (matrix, phase) -> (bytes read, bytes written), forward and backward.
BUFFER_CELLS = {"bp": {("L0", "forward"): (12, 5), ("L1", "backward"): (7, 9),
                       ("L0", "backward"): (6, 2)},
                "dfa": {("L0", "forward"): (12, 5), ("L0", "backward"): (6, 2)}}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_buffer_read_and_write(scheme):
    # The 4 KB tile buffer is 4 x 8192 = 32768 bits, banked at 16 kbit: per-bit energies are the
    # 16 kbit references x sqrt(16384 / 16384) = 1: read 0.011, write 0.006 pJ per bit.
    # L0 forward: 12 bytes read = 96 bits x 0.011 = 1.056 pJ, 5 bytes written = 40 bits x 0.006
    # = 0.24 pJ: 1.296 pJ (swapped prices would give 0.576 + 0.44 = 1.016 pJ).
    assert energy(scheme, "L0", "forward", "buffer") == pytest.approx(1.296, rel=1e-9)
    read_pj = lib("sram_read_energy") * math.sqrt(min(4 * 8192, 16 * 1024) / 16384)
    write_pj = lib("sram_write_energy") * math.sqrt(min(4 * 8192, 16 * 1024) / 16384)
    for (matrix, phase), (read, write) in BUFFER_CELLS[scheme].items():
        assert energy(scheme, matrix, phase, "buffer") == pytest.approx(
            8 * read * read_pj + 8 * write * write_pj, rel=1e-9), (matrix, phase)
    # No tile-buffer energy in the update phase: that traffic is the WGU's SRAM.
    assert energy(scheme, "L0", "update", "buffer") == 0.0


def test_smaller_buffer_costs_less_per_bit():
    # A 1 KB tile buffer (8192 bits, under one bank): sqrt(8192 / 16384) = 0.7071 x the
    # reference: L0 forward 96 x 0.011 x 0.7071 + 40 x 0.006 x 0.7071 = 0.9164 pJ.
    r = evaluate(_workload(), P.updated({"buffers.tile_kb": 1.0}), "dfa")
    assert float(r.energy[("L0", "forward", "buffer")]) == pytest.approx(
        (96 * 0.011 + 40 * 0.006) * math.sqrt(0.5), rel=1e-9)


# H-tree traffic: (matrix, phase) -> (buffer bits on the local tree, tile bits on the global).
HTREE_CELLS = {"bp": {("L0", "forward"): ((12 + 5) * 8, 16 * 8), ("L1", "forward"): (0, 8 * 8),
                      ("L1", "backward"): ((7 + 9) * 8, 24 * 8),
                      ("L0", "backward"): ((6 + 2) * 8, 0)},
               "dfa": {("L0", "forward"): ((12 + 5) * 8, 16 * 8), ("L1", "forward"): (0, 8 * 8),
                       ("B0", "backward"): (0, 8 * 8), ("L0", "backward"): ((6 + 2) * 8, 0)}}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_htree(scheme):
    # 0.065 pJ per bit per mm over the floorplan's paths (worked in hand_area): local = tile +
    # PE tree = 2.25 x PE side (BP 0.6263 mm, DFA 0.4841 mm); global = tile side x
    # (sqrt(tiles) - 1/2) (BP 0.6196 x 0.9142 = 0.5665 mm, DFA 0.5533 x 1.2321 = 0.6817 mm).
    # DFA L0 forward: 136 buffer bits x 0.065 x 0.4841 + 128 tile bits x 0.065 x 0.6817
    # = 4.280 + 5.671 = 9.951 pJ.
    plan = hand_area(scheme)["plan"]
    wire = lib("htree_energy")
    for (matrix, phase), (local_bits, global_bits) in HTREE_CELLS[scheme].items():
        assert energy(scheme, matrix, phase, "htree") == pytest.approx(
            wire * (local_bits * plan["local_mm"] + global_bits * plan["global_mm"]),
            rel=1e-9), (matrix, phase)
    if scheme == "dfa":
        assert energy("dfa", "L0", "forward", "htree") == pytest.approx(9.951, rel=1e-3)
    assert energy(scheme, "L0", "update", "htree") == 0.0


# Traffic to and from the global LIF/GradLIF units and WGUs (at the root of the global H-tree):
# (matrix, phase) -> bits, the unit_traffic_bits of the tiny case.
UNIT_CELLS = {"bp": {("L0", "forward"): 256, ("L1", "forward"): 128, ("L1", "backward"): 64,
                     ("L0", "update"): 224, ("L1", "update"): 80},
              "dfa": {("L0", "forward"): 256, ("L1", "forward"): 128, ("L0", "update"): 224,
                      ("L1", "update"): 80}}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_htree_to_the_global_units(scheme):
    # Every bit travels the global root-to-leaf path: DFA L0 forward 256 x 0.065 x 0.6817 mm
    # = 11.34 pJ; BP L1 backward 64 x 0.065 x 0.5665 mm = 2.357 pJ.
    plan = hand_area(scheme)["plan"]
    for (matrix, phase), bits in UNIT_CELLS[scheme].items():
        assert energy(scheme, matrix, phase, "htree_units") == pytest.approx(
            bits * lib("htree_energy") * plan["global_mm"], rel=1e-9), (matrix, phase)
    if scheme == "dfa":
        assert energy("dfa", "L0", "forward", "htree_units") == pytest.approx(11.34, rel=1e-3)


def test_unit_traffic_counts():
    # add_unit_traffic on the tiny network, 2 samples x T = 2 (4 vectors), Table II widths
    # (psum 16, delta 8, input 8 bits): the counts the tiny case above uses.
    for scheme in SCHEMES:
        cells = add_unit_traffic({}, LAYERS, P, scheme, SAMPLES, T)
        got = {k: c["unit_traffic_bits"] for k, c in cells.items() if c["unit_traffic_bits"]}
        assert got == UNIT_CELLS[scheme]
        assert cells[("L0", "update")]["wgu_vectors"] == 4
        assert cells[("L0", "update")]["wgu_weight_visits"] == 2 * 4 * 3
        assert cells[("L1", "update")]["wgu_weight_visits"] == 2 * 2 * 4
    # The dense workload adds the same shape-only counters.
    dense = dense_counts(DenseSpec(LAYERS, T, SAMPLES, BATCH), P, "bp")
    assert dense[("L1", "backward")]["unit_traffic_bits"] == 64


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_lif_and_gradlif(scheme):
    # LIF 0.12 pJ per update: L0 32 x 0.12 = 3.84 pJ, L1 16 x 0.12 = 1.92 pJ.
    assert energy(scheme, "L0", "forward", "lif") == pytest.approx(3.84, rel=1e-9)
    assert energy(scheme, "L1", "forward", "lif") == pytest.approx(16 * lib("lif_energy"),
                                                                   rel=1e-9)
    # GradLIF, SATA composition 0.239 + 2 x 0.00967 + 0.00172 + 2 x 0.00605 = 0.27216 pJ:
    # L0 48 x 0.27216 = 13.06368 pJ, L1 32 x 0.27216 = 8.70912 pJ (both schemes).
    gradlif = (lib("mul16_energy") + 2 * lib("add16_energy_sata") + lib("mux16_energy")
               + 2 * lib("shift16_energy"))
    assert energy(scheme, "L0", "backward", "gradlif") == pytest.approx(48 * gradlif, rel=1e-9)
    assert energy(scheme, "L1", "backward", "gradlif") == pytest.approx(32 * gradlif, rel=1e-9)
    assert energy(scheme, "L0", "backward", "gradlif") == pytest.approx(13.06368, rel=1e-9)


# WGU SRAM capacity per layer in bits: BP one bank for the larger layer (12 words x 16 bits),
# DFA a bank per layer (12 and 8 words x 16 bits).
WGU_BITS = {"bp": {"L0": 192, "L1": 192}, "dfa": {"L0": 192, "L1": 128}}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_wgu(scheme):
    # Adds: L1's spike input needs one 16-bit add per MAC: 10 x 0.046 = 0.46 pJ. L0's multi-bit
    # input needs a multiply-add: 24 x (0.046 + 0.239) = 6.84 pJ.
    # SRAM: per-bit energy x sqrt(capacity / 16384): BP 192 bits -> x 0.10825 (read 1.191e-3,
    # write 6.495e-4 pJ/bit). L0: 10 bytes read (80 bits), 6 written (48 bits); L1: 4 and 3.
    # BP L0: 6.84 + 80 x 1.191e-3 + 48 x 6.495e-4 = 6.84 + 0.09526 + 0.03118 = 6.9664 pJ.
    macs = {"L0": 24 * (lib("adder16_energy") + lib("mul16_energy")),
            "L1": 10 * lib("adder16_energy")}
    traffic = {"L0": (10, 6), "L1": (4, 3)}
    for matrix in ("L0", "L1"):
        factor = math.sqrt(WGU_BITS[scheme][matrix] / 16384)
        read, write = traffic[matrix]
        expected = (macs[matrix] + 8 * read * lib("sram_read_energy") * factor
                    + 8 * write * lib("sram_write_energy") * factor)
        assert energy(scheme, matrix, "update", "wgu") == pytest.approx(expected, rel=1e-9)
    if scheme == "bp":
        assert energy("bp", "L0", "update", "wgu") == pytest.approx(6.9664, rel=1e-4)
    assert energy(scheme, "L0", "forward", "wgu") == 0.0


def test_energy_wgu_register_design():
    # Registers over the timestep loop: per MAC a 16-bit add (L0: plus the multiply) and a
    # register update of 16 DFFs (16 x 0.0017 = 0.0272 pJ) instead of an SRAM read-modify-write
    # of the 16-bit word, which happens once per (weight, sample) instead: BP's WGU SRAM
    # (192 bits, x 0.10825): read 1.191e-3, write 6.495e-4 pJ/bit, a word 16 x 1.840e-3 =
    # 0.02944 pJ. L1: recorded traffic 32 read + 24 written bits, minus 10 MACs' words, plus 16
    # (weight, sample) words, plus 10 x (0.046 + 0.0272) pJ.
    r = evaluate(_workload(), P.updated({"hierarchy.wgu_design": "register"}), "bp")
    factor = math.sqrt(192 / 16384)
    read, write = lib("sram_read_energy") * factor, lib("sram_write_energy") * factor
    word = 16 * (read + write)
    register = 16 * lib("dff_energy")
    assert float(r.energy[("L1", "update", "wgu")]) == pytest.approx(
        32 * read + 24 * write - 10 * word + 16 * word
        + 10 * (lib("adder16_energy") + register), rel=1e-9)
    assert float(r.energy[("L0", "update", "wgu")]) == pytest.approx(
        80 * read + 48 * write - 24 * word + 24 * word
        + 24 * (lib("adder16_energy") + lib("mul16_energy") + register), rel=1e-9)


def test_energy_wgu_neurosim_array_design():
    # NeuroSim V2.1's SRAM weight-gradient array (Param.cpp: 128-row sub-arrays, 16-level =
    # 4-bit ADCs behind 8:1 muxes). Per vector the layer input is written into the array (one
    # column per input bit, 16 kbit sub-array: 0.006 pJ/bit); per 128 vectors each output's
    # 8-bit delta is applied bit-serially and every column is read (bit line 0.011 pJ + 4-bit
    # conversion 0.058457 + mux 3.225e-4 + 16-bit shift-add 0.0868 = 0.15658 pJ), and the
    # partial gradients are added into the gradient SRAM (16-bit add + word read-modify-write);
    # the deltas are read from the WGU SRAM (8 bits each).
    r = evaluate(_workload(), P.updated({"hierarchy.wgu_design": "neurosim_array"}), "bp")
    factor = math.sqrt(192 / 16384)
    read, write = lib("sram_read_energy") * factor, lib("sram_write_energy") * factor
    word = 16 * (read + write)
    conversion = (lib("sram_read_energy") + adc_pj() + 3 * lib("mux16_energy") / 16
                  + shift_add_pj())
    assert conversion == pytest.approx(0.15658, rel=1e-4)
    blocks = 4 / 128                                    # 4 vectors of 128 rows
    # L1 (4 inputs, 2 outputs, spike input): 4 x 4 x 1 bits written; 2 x 8 x 4 column reads
    # per block; 8 weights accumulated per block; 4 x 2 deltas of 8 bits read.
    l1 = (4 * 4 * 1 * lib("sram_write_energy") + blocks * 2 * 8 * 4 * conversion
          + blocks * 8 * (lib("adder16_energy") + word) + 4 * 2 * 8 * read)
    assert float(r.energy[("L1", "update", "wgu")]) == pytest.approx(l1, rel=1e-9)
    # L0 (3 inputs of 8 bits, 4 outputs): 4 x 3 x 8 bits; 4 x 8 x 3 x 8 column reads per block.
    l0 = (4 * 3 * 8 * lib("sram_write_energy") + blocks * 4 * 8 * 3 * 8 * conversion
          + blocks * 12 * (lib("adder16_energy") + word) + 4 * 4 * 8 * read)
    assert float(r.energy[("L0", "update", "wgu")]) == pytest.approx(l0, rel=1e-9)
    # The latency model times every design by the same WGU streaming rule.
    assert float(r.latency[("update", "wgu")]) == pytest.approx(24.0)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_energy_rram_write(scheme):
    # Programming: 4.4 pJ per pulse; a verify read is one device read (8.125e-3 pJ) plus one
    # 4-bit conversion (0.058457 pJ). L0: 10 x 4.4 + 4 x 0.066582 = 44.266328 pJ; L1: 2 x 4.4.
    verify = cell_pj() + adc_pj()
    assert pulse_pj() == pytest.approx(4.4)
    assert energy(scheme, "L0", "update", "rram_write") == pytest.approx(
        10 * pulse_pj() + 4 * verify, rel=1e-9)
    assert energy(scheme, "L0", "update", "rram_write") == pytest.approx(44.266328, rel=1e-9)
    assert energy(scheme, "L1", "update", "rram_write") == pytest.approx(8.8, rel=1e-9)


def test_write_energy_follows_the_device_window():
    # A [1, 4] µS window: 16 V² x 2.5 µS x 50 ns = 2 pJ per pulse (L1: 2 pulses).
    r = evaluate(_workload(), P.updated({"device.g_max_us": 4.0}), "dfa")
    assert float(r.energy[("L1", "update", "rram_write")]) == pytest.approx(2 * 2.0)


def test_every_copy_is_programmed():
    # Two copies of every layer: both are programmed, 2 x 44.266328 pJ for L0.
    r = result("bp", (("mapping.weight_duplication", 2),))
    assert float(r.energy[("L0", "update", "rram_write")]) == pytest.approx(2 * 44.266328)


def _hand_energy(scheme):
    """Every non-zero (matrix, phase, component) energy of the tiny case, from the tests above."""
    out = {}
    for (matrix, phase), (active, crossed, driven, conversions, adds) \
            in READ_CELLS[scheme].items():
        out[(matrix, phase, "crossbar")] = active * crossed * cell_pj()
        out[(matrix, phase, "decoder")] = driven * lib("dac_energy")
        out[(matrix, phase, "adc")] = conversions * adc_pj()
        out[(matrix, phase, "mux")] = conversions * 3 * lib("mux16_energy") / 16
        out[(matrix, phase, "shift_add")] = adds * shift_add_pj()
    for (matrix, phase), (read, write) in BUFFER_CELLS[scheme].items():
        out[(matrix, phase, "buffer")] = (8 * read * lib("sram_read_energy")
                                          + 8 * write * lib("sram_write_energy"))
    plan = hand_area(scheme)["plan"]
    for (matrix, phase), (local_bits, global_bits) in HTREE_CELLS[scheme].items():
        out[(matrix, phase, "htree")] = lib("htree_energy") * (
            local_bits * plan["local_mm"] + global_bits * plan["global_mm"])
    for (matrix, phase), bits in UNIT_CELLS[scheme].items():
        out[(matrix, phase, "htree_units")] = bits * lib("htree_energy") * plan["global_mm"]
    out[("L0", "forward", "lif")] = 32 * lib("lif_energy")
    out[("L1", "forward", "lif")] = 16 * lib("lif_energy")
    gradlif = (lib("mul16_energy") + 2 * lib("add16_energy_sata") + lib("mux16_energy")
               + 2 * lib("shift16_energy"))
    out[("L0", "backward", "gradlif")] = 48 * gradlif
    out[("L1", "backward", "gradlif")] = 32 * gradlif
    for matrix, macs, (read, write) in (
            ("L0", 24 * (lib("adder16_energy") + lib("mul16_energy")), (10, 6)),
            ("L1", 10 * lib("adder16_energy"), (4, 3))):
        factor = math.sqrt(WGU_BITS[scheme][matrix] / 16384)
        out[(matrix, "update", "wgu")] = macs + factor * (
            8 * read * lib("sram_read_energy") + 8 * write * lib("sram_write_energy"))
    pulse = pulse_pj()
    out[("L0", "update", "rram_write")] = 10 * pulse + 4 * (cell_pj() + adc_pj())
    out[("L1", "update", "rram_write")] = 2 * pulse
    return out


@pytest.mark.parametrize("scheme", SCHEMES)
def test_no_energy_outside_the_hand_worked_cells(scheme):
    hand = _hand_energy(scheme)
    got = {k: float(v) for k, v in result(scheme).energy.items()}
    for key, value in got.items():
        assert value == pytest.approx(hand.get(key, 0.0), rel=1e-9, abs=1e-12), key
    assert sum(got.values()) == pytest.approx(sum(hand.values()), rel=1e-9)


def test_dram_energy():
    # Loading the epoch once: 2 samples x (3 inputs x T = 2 timesteps x 8 bits + an 8-bit
    # label) = 112 bits x 3.9 pJ/bit (HBM2) = 436.8 pJ, for both schemes.
    for scheme in SCHEMES:
        assert float(result(scheme).dram_pj) == pytest.approx(
            2 * (3 * 2 * 8 + 8) * lib("dram_energy"), rel=1e-12)
        assert float(result(scheme).dram_pj) == pytest.approx(436.8, rel=1e-12)
    # Static inputs (Fashion-MNIST) are stored once: 2 x (3 x 8 + 8) = 64 bits = 249.6 pJ.
    static = evaluate(_workload(sequence=False), P, "bp")
    assert float(static.dram_pj) == pytest.approx(64 * 3.9, rel=1e-12)


# --- latency, worked by hand ------------------------------------------------------------------

# A crossbar read: the 10 ns read pulse, then ceil(conversions per read / 32 ADCs) 4-bit
# conversions of (4 + 1) cycles = 5 ns each. Reads spread over crossbars x copies.
def read_ns(conversions_per_read):
    return lib("read_pulse_width") + math.ceil(conversions_per_read / 32) \
        * lib("adc_latency") * (4 + 1) / 5


@pytest.mark.parametrize("scheme", SCHEMES)
def test_latency_forward_pipeline(scheme):
    # Stage L0: 4 reads of 64 conversions on one crossbar: 4 x (10 + 2 x 5) = 80 ns; 32 LIF
    # updates on 16 lanes = 2 ns; 16 bytes plus 256 bits of partial sums to the LIF unit on
    # the 64-bit bus = (128 + 256) / 64 = 6 ns; S0 = 88 ns.
    # Stage L1: 2 reads of 8 conversions: 2 x (10 + 5) = 30 ns; 16 / 16 = 1 ns;
    # (64 + 128) / 64 = 3 ns.
    # Pipelined over T x B = 4 vectors: each component sum_l x / 4 + 3/4 x (slowest, L0):
    # tile (80 + 30) / 4 + 3/4 x 80 = 87.5 ns; neuron (2 + 1) / 4 + 3/4 x 2 = 2.25 ns;
    # H-tree (6 + 3) / 4 + 3/4 x 6 = 6.75 ns.
    stage = {"L0": {"tile": 4 * read_ns(64), "neuron": 32 / 16, "htree": (16 * 8 + 256) / 64},
             "L1": {"tile": 2 * read_ns(8), "neuron": 16 / 16, "htree": (8 * 8 + 128) / 64}}
    items = T * BATCH
    for component in ("tile", "neuron", "htree"):
        expected = sum(s[component] for s in stage.values()) / items \
            + (items - 1) / items * stage["L0"][component]
        assert float(result(scheme).latency[("forward", component)]) == pytest.approx(
            expected, rel=1e-9), component
    assert float(result(scheme).latency[("forward", "tile")]) == pytest.approx(87.5)
    assert float(result(scheme).latency[("forward", "neuron")]) == pytest.approx(2.25)
    assert float(result(scheme).latency[("forward", "htree")]) == pytest.approx(6.75)


def test_latency_bp_backward():
    # Layer after layer. L1 (transposed: 32 row ADCs): 3 reads of 40 conversions,
    # 3 x (10 + 2 x 5) = 60 ns; GradLIF 32 / 16 = 2 ns; 24 bytes and 64 bits of deltas on the
    # bus (192 + 64) / 64 = 4 ns. L0: GradLIF 48 / 16 = 3 ns. Sums: tile 60, neuron 5, H-tree 4.
    lat = result("bp").latency
    assert float(lat[("backward", "tile")]) == pytest.approx(3 * read_ns(40))
    assert float(lat[("backward", "tile")]) == pytest.approx(60.0)
    assert float(lat[("backward", "neuron")]) == pytest.approx(32 / 16 + 48 / 16)
    assert float(lat[("backward", "htree")]) == pytest.approx((24 * 8 + 64) / 64)


def test_latency_dfa_backward():
    # All B_l at once: B0's 32 reads of 4 conversions over its 16 copies of one crossbar:
    # 32 / 16 = 2 slots x (10 + 5) = 30 ns. Every layer's GradLIF in parallel: max(48, 32) / 16
    # = 3 ns. Transfers on the shared bus summed: 8 bytes = 1 ns.
    lat = result("dfa").latency
    assert float(lat[("backward", "tile")]) == pytest.approx(32 / 16 * read_ns(4))
    assert float(lat[("backward", "tile")]) == pytest.approx(30.0)
    assert float(lat[("backward", "neuron")]) == pytest.approx(3.0)
    assert float(lat[("backward", "htree")]) == pytest.approx(1.0)


def test_latency_update():
    # WGU beats: samples x T x n_out x ceil(n_in / 32 lanes) cycles: L0 2 x 2 x 4 x 1 = 16 ns,
    # L1 2 x 2 x 2 x 1 = 8 ns. Programming, one pulse at a time per crossbar: L0 10 pulses x
    # 50 ns + 4 verify reads x (10 + 5) ns = 560 ns; L1 2 x 50 = 100 ns.
    # BP: the layers in turn, 24 ns of WGU and 660 ns of writes. DFA: all layers at once, the
    # slowest (L0, 16 + 560 = 576 ns) sets the time.
    pulse, verify = lib("write_pulse_width"), read_ns(1)
    bp, dfa = result("bp").latency, result("dfa").latency
    assert float(bp[("update", "wgu")]) == pytest.approx(2 * 2 * 4 * 1 + 2 * 2 * 2 * 1)
    assert float(bp[("update", "rram_write")]) == pytest.approx(10 * pulse + 4 * verify
                                                                + 2 * pulse)
    assert float(bp[("update", "rram_write")]) == pytest.approx(660.0)
    assert float(dfa[("update", "wgu")]) == pytest.approx(16.0)
    assert float(dfa[("update", "rram_write")]) == pytest.approx(560.0)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_latency_has_no_other_terms(scheme):
    hand = {"bp": 87.5 + 2.25 + 6.75 + 60 + 5 + 4 + 24 + 660,
            "dfa": 87.5 + 2.25 + 6.75 + 30 + 3 + 1 + 16 + 560}[scheme]
    assert float(result(scheme).latency_total) == pytest.approx(hand, rel=1e-9)


# --- Table I regression table -----------------------------------------------------------------

def _sig(value, digits=12):
    return float(f"{float(value):.{digits}g}")


def table1_figures():
    """Energy by phase and component, DRAM, latency by phase and component, area by component
    and the floorplan lengths of the dense Table I roll-up on the Table II chip."""
    report = table1_report(ChipConfig())
    out = {}
    for network, rep in report["networks"].items():
        for scheme, s in rep["schemes"].items():
            out[f"{network}/{scheme}"] = {
                "energy_pj": {f"{ph}/{c}": _sig(v) for ph, comps in
                              s["energy_pj"]["by_phase_component"].items()
                              for c, v in comps.items()},
                "dram_energy_pj": _sig(s["dram_energy_pj"]),
                "latency_ns": {f"{ph}/{c}": _sig(v) for ph, comps in
                               s["latency_ns"]["by_phase_component"].items()
                               for c, v in comps.items()},
                "area_um2": {c: _sig(v) for c, v in s["area_um2"]["by_component"].items()},
                "floorplan_mm": {k: _sig(v) for k, v in s["floorplan"].items()},
            }
    return out


def write_table(path=TABLE_PATH):
    doc = {"about": "Regression table of the dense Table I roll-up (models.cost.report."
                    "table1_report on ChipConfig()), 12 significant digits, compared with "
                    "rel=1e-9 by tests/models/cost/test_pricing.py::test_table1_regression. "
                    "Derived from the code, not worked by hand.",
           "regenerate": REGENERATE,
           "policy": "Any change to these numbers must be explained in the commit message.",
           "figures": _sorted(table1_figures())}
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def _sorted(tree):
    return {k: _sorted(v) for k, v in sorted(tree.items())} if isinstance(tree, dict) else tree


def test_table1_regression():
    stored = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    assert stored["regenerate"] == REGENERATE
    expected, got = stored["figures"], table1_figures()
    assert set(got) == set(expected)
    for run, groups in expected.items():
        assert set(got[run]) == set(groups), run
        for group, values in groups.items():
            if not isinstance(values, dict):
                assert got[run][group] == pytest.approx(values, rel=1e-9), (run, group)
                continue
            assert set(got[run][group]) == set(values), (run, group)
            for key, value in values.items():
                assert got[run][group][key] == pytest.approx(value, rel=1e-9, abs=1e-12), \
                    (run, group, key)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {REGENERATE}")
    write_table()
    print(f"wrote {TABLE_PATH}")
