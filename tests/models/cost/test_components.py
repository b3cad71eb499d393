# SPDX-License-Identifier: MIT
"""Component formulas of the cost model, each against a value worked out by hand from its
cited constant, plus the node-scaling rule and the floorplan's H-tree geometry."""
import math

import numpy as np
import pytest

from dfasim.models.cost import components as K
from dfasim.models.cost.components import ALTERNATES, LIBRARY, SCALINGS
from dfasim.models.cost.floorplan import floorplan, htree_root_to_leaf, htree_total_length

# One transistor of a small switch: NeuroSim's 16 kbit buffer (3329 µm²) / 16384 bits / 6 T.
T_AREA = 3329.0 / 16384 / 6


def test_every_constant_is_documented():
    for name, c in {**LIBRARY, **ALTERNATES}.items():
        assert c.unit and c.source and c.scaling in SCALINGS, name
        assert c.kind in ("literature", "derived", "rtl", "cross-check"), name
        if c.scaling != "none":
            assert c.node_nm is not None, name
        if c.kind == "derived":
            assert c.source == "derived" and c.note, name
    # The Table II node: the main NeuroSim set needs no scaling.
    assert LIBRARY["adc_power_base"].node_nm == 32 and LIBRARY["adc_power_base"].value == 7.6286
    # Replaced figures stay as cross-checks, never used by the model.
    for name in ("adc_energy", "shift_add_energy", "write_pulse_energy_2v",
                 "crossbar_area_puma"):
        assert name in ALTERNATES and name not in LIBRARY, name


def test_node_scaling_rule():
    # Area: (32/65)^2 on SpikeSim's 65 nm ADC.
    assert K.scale(693.633, "area", 65, 32) == pytest.approx(693.633 * (32 / 65) ** 2)
    # Energy: the exponent is the one that takes NeuroSim's 45 nm ADC to its 32 nm value.
    assert K.ENERGY_EXPONENT == pytest.approx(math.log(103 / 58.5) / math.log(45 / 32))
    assert K.scale(0.103, "energy", 45, 32) == pytest.approx(0.0585)
    assert K.scale(5.0, "latency", 32, 64) == pytest.approx(10.0)
    assert K.scale(1.6, "none", 32, 7) == 1.6
    # Node-independent constants stay put; arrays broadcast.
    assert LIBRARY["write_voltage"].at(65) == 4.0
    np.testing.assert_allclose(K.scale(1.0, "area", 32, np.array([32, 64])), [1.0, 4.0])
    with pytest.raises(ValueError):
        K.scale(1.0, "volume", 32, 32)


def test_mean_conductance():
    # Differential: one device at g_min, the other uniform over [1, 10] µS -> (1 + 5.5) / 2.
    assert K.mean_conductance_us(1.0, 10.0, True) == pytest.approx(3.25)
    assert K.mean_conductance_us(1.0, 10.0, False) == pytest.approx(5.5)


def test_cell_read_energy():
    # 10 active rows x 256 columns x 3.25 µS x (0.2 V)^2 x 1 ns = 3.328e-13 J.
    assert K.cell_read_energy_pj(10, 256, 3.25, 0.2, 1.0) == pytest.approx(0.3328)
    # NeuroSim's read (0.5 V, 10 ns): one line across one 3.25 µS device, 8.125 fJ, 62.5x the
    # 0.2 V / 1 ns figure (6.25 x 10).
    assert K.cell_read_energy_pj(1, 1, 3.25, 0.5, 10.0) == pytest.approx(8.125e-3)


def test_adc():
    # NeuroSim SarADC.cpp (32 nm HP): (1.0157 b + 7.6286) µW for b + 1 ns.
    assert K.adc_energy_pj(4) == pytest.approx((1.0157 * 4 + 7.6286) * 5 * 1e-3)  # 58.457 fJ
    assert K.adc_energy_pj(4) == pytest.approx(0.0585, rel=1e-3)  # the printed figure
    assert K.adc_energy_pj(6) == pytest.approx((1.0157 * 6 + 7.6286) * 7 * 1e-3)  # 96.06 fJ
    assert K.adc_energy_pj(8) == pytest.approx(0.1417878)          # 2.4x the 4-bit, not 16x
    # At 45 nm the node rule gives back NeuroSim's printed 45 nm value.
    assert K.adc_energy_pj(4, 45) == pytest.approx(0.103, rel=2e-3)
    assert K.adc_latency_ns(4) == pytest.approx(5.0)
    assert K.adc_latency_ns(7) == pytest.approx(8.0)              # b + 1 cycles of 1 ns
    assert K.adc_area_um2(4) == pytest.approx(693.633 * (32 / 65) ** 2)
    assert K.adc_area_um2(5, 65) == pytest.approx(2 * 693.633)


def test_decoder_and_mux():
    assert K.decoder_energy_pj(100) == pytest.approx(0.35)        # 100 x PUMA 3.5 fJ
    # 8:1 mux: 3 levels of a SATA 2:1 mux bit (0.00172 pJ / 16 bits) per conversion.
    assert K.mux_energy_pj(10, 8) == pytest.approx(10 * 3 * 0.00172 / 16)
    assert K.mux_area_um2(8) == pytest.approx(16 * T_AREA)
    assert K.driver_area_um2(1) == pytest.approx(4 * T_AREA)


def test_digital_units():
    # NeuroSim ShiftAdd.cpp composition: a 16-bit adder (0.046 pJ) + 16 + 8 DFFs (0.0017 pJ).
    assert K.shift_add_energy_pj(5) == pytest.approx(5 * (0.046 + 24 * 0.0017))  # 0.0868 pJ
    # 8 bits: 0.023 + 16 x 0.0017 = 0.0502 pJ, NeuroSim's printed 8-bit 0.051 within 2 %.
    assert K.shift_add_energy_pj(1, 8, 8) == pytest.approx(0.0502)
    assert K.shift_add_energy_pj(1, 8, 8) == pytest.approx(0.051, rel=0.02)
    assert K.adder_energy_pj(8) == pytest.approx(0.023)           # NeuroSim's 8-bit adder
    assert K.lif_energy_pj(10) == pytest.approx(1.2)              # NeuroSim-built 0.12 pJ
    # SATA: 0.239 + 2 x 0.00967 + 0.00172 + 2 x 0.00605 pJ.
    assert K.gradlif_op_energy_pj(1) == pytest.approx(0.27216)
    assert K.wgu_mac_energy_pj(100) == pytest.approx(4.6)          # 16-bit adds
    assert K.wgu_mac_energy_pj(100, multiply=True) == pytest.approx(28.5)


def test_sram_model():
    assert K.sram_energy_per_bit_pj(16384) == pytest.approx(0.011)
    assert K.sram_energy_per_bit_pj(16384, write=True) == pytest.approx(0.006)
    assert K.sram_energy_per_bit_pj(4096) == pytest.approx(0.0055)     # sqrt(1/4)
    assert K.sram_energy_per_bit_pj(65536, 16384) == pytest.approx(0.011)  # banked
    assert K.sram_energy_per_bit_pj(65536, 65536) == pytest.approx(0.022)
    assert K.sram_area_um2(32768) == pytest.approx(6658.0)


def test_arrays_wires_memory_writes():
    # 1T1R at 4F x 4F (NeuroSim Param.cpp): 65,536 cells x 16 x (0.032 µm)² = 1073.7 µm².
    assert K.crossbar_area_um2(256, 256) == pytest.approx(65536 * 16 * 0.032 ** 2)
    assert K.crossbar_area_um2(256, 256) == pytest.approx(1073.741824)
    assert K.crossbar_area_um2(128, 128, 65) == pytest.approx(16384 * 16 * 0.065 ** 2)
    assert K.htree_energy_pj(1000, 2.0) == pytest.approx(130.0)    # 0.065 pJ/bit/mm
    # Writes: V² G t, NeuroSim's 4 V and 50 ns on a mid-window [1, 10] µS device (5.5 µS).
    assert K.write_conductance_us(1.0, 10.0) == pytest.approx(5.5)
    assert K.write_energy_pj(3, 5.5, 4.0, 50.0) == pytest.approx(3 * 16 * 5.5 * 50 * 1e-3)
    # Verify: one device (3.25 µS, 0.5 V, 10 ns) plus one 4-bit conversion.
    assert K.verify_read_energy_pj(1, 3.25) == pytest.approx(
        3.25 * 0.25 * 10 * 1e-3 + (1.0157 * 4 + 7.6286) * 5 * 1e-3)
    assert K.dram_energy_pj(1e6) == pytest.approx(3.9e6)           # HBM2 3.9 pJ/bit
    assert K.dram_energy_pj(10, 2.0) == 20.0


def test_library_table_is_json_ready():
    t = K.library_table(32)
    assert t["adc_area"]["at_node"] == pytest.approx(K.adc_area_um2(4))
    assert t["adc_energy_puma"]["group"] == "cross-check"


def test_htree_geometry():
    # Four leaves of pitch 1: root to a quadrant centre 1, plus half a pitch into the leaf.
    assert htree_root_to_leaf(4, 1.0) == pytest.approx(1.5)
    assert htree_total_length(4, 1.0) == pytest.approx(1.5 * 2 + 2)
    assert htree_root_to_leaf(1, 2.0) == pytest.approx(1.0)
    assert htree_total_length(16, 1.0) == pytest.approx(1.5 * 12 + 8)
    fp = floorplan(4e4, 4e6, 4, 4, 4)      # PE 0.2 mm, tile 2 mm
    assert fp.pe_side_mm == pytest.approx(0.2) and fp.tile_side_mm == pytest.approx(2.0)
    assert fp.global_mm == pytest.approx(3.0) and fp.tile_mm == pytest.approx(0.3)
    assert fp.pe_mm == pytest.approx(0.15) and fp.local_mm == pytest.approx(0.45)


def test_leakage_per_bit_and_logic():
    # 6T bit: Vdd x F x (I_off,n x (2.08 + 1.31) + I_off,p x 1.23), NeuroSim Param.cpp widths
    # and Technology.cpp 32 nm off currents (HP 100.3 / 100.1 nA/µm, LSTP 0.1001 nA/µm).
    hp = 0.9 * 0.032 * (100.3 * 3.39 + 100.1 * 1.23) * 1e-3          # µW
    assert hp == pytest.approx(0.013338, rel=1e-4)
    assert K.sram_leakage_per_bit_uw("hp") == pytest.approx(hp)
    assert K.sram_leakage_per_bit_uw("lstp") == pytest.approx(
        0.9 * 0.032 * (0.1001 * 3.39 + 0.1001 * 1.23) * 1e-3)
    # Logic: transistors at the SRAM area per transistor, each a sixth of a bit's leakage.
    assert K.logic_leakage_uw(1000.0) == pytest.approx(1000.0 / T_AREA * hp / 6)
    with pytest.raises(ValueError):
        K.sram_leakage_per_bit_uw("lp")
