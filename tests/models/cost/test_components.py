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
    assert LIBRARY["adc_energy"].node_nm == 32 and LIBRARY["adc_energy"].value == 0.0585


def test_node_scaling_rule():
    # Area: (32/65)^2 on SpikeSim's 65 nm ADC.
    assert K.scale(693.633, "area", 65, 32) == pytest.approx(693.633 * (32 / 65) ** 2)
    # Energy: the exponent is the one that takes NeuroSim's 45 nm ADC to its 32 nm value.
    assert K.ENERGY_EXPONENT == pytest.approx(math.log(103 / 58.5) / math.log(45 / 32))
    assert K.scale(0.103, "energy", 45, 32) == pytest.approx(0.0585)
    assert K.scale(5.0, "latency", 32, 64) == pytest.approx(10.0)
    assert K.scale(1.6, "none", 32, 7) == 1.6
    # Node-independent constants stay put; arrays broadcast.
    assert LIBRARY["write_pulse_energy"].at(65) == 1.6
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


def test_adc():
    assert K.adc_energy_pj(4) == pytest.approx(0.0585)            # NeuroSim 4-bit SAR
    assert K.adc_energy_pj(6) == pytest.approx(0.0585 * 4)        # Walden: x2 per bit
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
    assert K.shift_add_energy_pj(5) == pytest.approx(0.255)       # NeuroSim 0.051 pJ
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
    assert K.crossbar_area_um2(256, 256) == pytest.approx(100.0)   # PUMA 25 µm² per 128²
    assert K.htree_energy_pj(1000, 2.0) == pytest.approx(130.0)    # 0.065 pJ/bit/mm
    assert K.write_energy_pj(3) == pytest.approx(4.8)              # NeuroSim 1.6 pJ
    # Verify: one device (3.25 µS, 0.2 V, 1 ns) plus one 4-bit conversion.
    assert K.verify_read_energy_pj(1, 3.25) == pytest.approx(3.25 * 0.04 * 1e-3 + 0.0585)
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
