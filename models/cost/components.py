# SPDX-License-Identifier: MIT
"""Component library of the cost model: cited constants, the node-scaling rule, unit formulas.

Every number is a :class:`Constant` that carries its unit, the CMOS node it was given at, where
it comes from and how it scales. Sources (all through REFERENCE.md §4; numbers only, no code):

* **NeuroSim** V2.1 (``neurosim/DNN_NeuroSim_V2.1``, 32 nm HP): the main set, since Table II is
  32 nm; from its sources (``Training_pytorch/NeuroSIM/``): the read and write pulses and the
  1T1R cell size (``Param.cpp``), the SAR ADC power (``SarADC.cpp``), the shift-add composition
  (``ShiftAdd.cpp``), the PTM 32 nm off currents of the leakage model (``Technology.cpp``).
* **SpikeSim** (``SNN_train_infer_quantization_ela/ela_spikesim.py``, 65 nm): areas NeuroSim
  does not print (ADC, per-tile H-tree), and per-PE-cycle energies kept as cross-checks.
* **SATA_Sim** (32 nm, 16-bit operations): the GradLIF composition and digital cross-checks.
* **PUMA** (PipeLayer-style set, 32 nm): spike-decoder (DAC) energy and crossbar area.
* **dfasim RTL**: areas of our own digital blocks from ``dfasim rtl synth`` (yosys 0.23, OSU
  0.18 µm standard cells; ``docs/benchmarks.md``), logic only.
* **derived**: values §4 lacks, computed from physics or from the constants above; the
  derivation is written next to each one.

Node scaling (:func:`scale`): area goes with the square of the feature size; gate delay
linearly; switching energy as ``(node / node_0) ** ENERGY_EXPONENT`` where the exponent is the
one NeuroSim's own 4-bit SAR ADC shows between 45 nm (103 fJ) and 32 nm (58.5 fJ):
``ln(103 / 58.5) / ln(45 / 32) = 1.66`` (between constant-voltage, 1, and constant-field, 3,
scaling). RRAM device energies (set by voltage, conductance and pulse width), wire energy per
mm (capacitance per length barely changes with the node) and DRAM are not scaled.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Constant", "LIBRARY", "ALTERNATES", "ENERGY_EXPONENT", "SCALINGS", "scale",
           "constant", "mean_conductance_us", "cell_read_energy_pj", "adc_energy_pj",
           "adc_latency_ns", "adc_area_um2", "decoder_energy_pj", "mux_energy_pj",
           "mux_area_um2", "driver_area_um2", "adder_energy_pj", "shift_add_energy_pj",
           "sram_energy_per_bit_pj", "sram_leakage_per_bit_uw", "logic_leakage_uw",
           "write_conductance_us", "sram_area_um2", "htree_energy_pj", "lif_energy_pj",
           "gradlif_op_energy_pj",
           "wgu_mac_energy_pj", "write_energy_pj", "verify_read_energy_pj", "dram_energy_pj",
           "crossbar_area_um2", "transistor_area_um2", "library_table"]

#: How a constant follows the process node (see :func:`scale`).
SCALINGS = ("area", "energy", "latency", "none")

_NEUROSIM = "NeuroSim V2.1 (neurosim/DNN_NeuroSim_V2.1), REFERENCE.md §4"
_SPIKESIM = "SpikeSim (SNN_train_infer_quantization_ela/ela_spikesim.py), REFERENCE.md §4"
_SATA = "SATA_Sim (16-bit operations), REFERENCE.md §4"
_PUMA = "PUMA / PipeLayer-style set, REFERENCE.md §4"
_NEUROSIM_PARAM = ("NeuroSim V2.1 (neurosim/DNN_NeuroSim_V2.1, "
                   "Training_pytorch/NeuroSIM/Param.cpp)")
_NEUROSIM_SAR = ("NeuroSim V2.1 (neurosim/DNN_NeuroSim_V2.1, "
                 "Training_pytorch/NeuroSIM/SarADC.cpp), REFERENCE.md §4")
_NEUROSIM_TECH = ("NeuroSim V2.1 (neurosim/DNN_NeuroSim_V2.1, "
                  "Training_pytorch/NeuroSIM/Technology.cpp)")
_RTL = "dfasim rtl synth (yosys 0.23, OSU 0.18 µm liberty), docs/benchmarks.md"


@dataclass(frozen=True)
class Constant:
    """One cited number.

    Members
    -------
    value : float
        The number, in ``unit``, at ``node_nm``.
    unit : str
        Physical unit and what it is counted per.
    node_nm : float or None
        Node it was given at (None: node-independent).
    source : str
        Project (and file) it comes from, or ``"derived"`` with the inputs named.
    note : str
        Conditions, assumptions, derivation.
    scaling : str
        ``"area"``, ``"energy"``, ``"latency"`` or ``"none"`` (:func:`scale`).
    kind : str
        ``"literature"``, ``"derived"``, ``"rtl"`` or ``"cross-check"`` (not used by the model).
    """

    value: float
    unit: str
    node_nm: float | None
    source: str
    note: str = ""
    scaling: str = "none"
    kind: str = "literature"

    def at(self, node_nm):
        """The value scaled to ``node_nm`` (a number or an array)."""
        if self.node_nm is None or self.scaling == "none":
            return self.value * np.ones_like(node_nm, dtype=float) if np.ndim(node_nm) \
                else self.value
        return scale(self.value, self.scaling, self.node_nm, node_nm)


#: NeuroSim's 4-bit SAR ADC at 45 and 32 nm: the only two-node pair in our sources.
_ADC45, _ADC32 = 0.103, 0.0585
#: Switching-energy exponent of the node-scaling rule (module docstring).
ENERGY_EXPONENT = math.log(_ADC45 / _ADC32) / math.log(45.0 / 32.0)


def scale(value, quantity: str, from_nm, to_nm):
    """Scale ``value`` given at ``from_nm`` to ``to_nm``.

    ``quantity`` is ``"area"`` (``(to / from) ** 2``), ``"latency"`` (``to / from``),
    ``"energy"`` (``(to / from) ** ENERGY_EXPONENT``) or ``"none"`` (unchanged).
    Works on numbers and numpy arrays.
    """
    if quantity not in SCALINGS:
        raise ValueError(f"quantity must be one of {SCALINGS}, not {quantity!r}")
    r = np.asarray(to_nm, dtype=float) / float(from_nm)
    if quantity == "area":
        f = r ** 2
    elif quantity == "latency":
        f = r
    elif quantity == "energy":
        f = r ** ENERGY_EXPONENT
    else:
        f = np.ones_like(r)
    out = value * f
    return float(out) if np.ndim(out) == 0 else out


# --- the library ------------------------------------------------------------------------------

# The SRAM bit-cell-plus-periphery area of NeuroSim's buffer, per transistor of a 6T cell: the
# unit used to size small analog switches (mux, line driver) that no source prices.
_SRAM_AREA_16K = 3329.0
_T_AREA = _SRAM_AREA_16K / 16384 / 6

# Our RTL, logic only. psum and shift_add hold no memory: area / lanes of the default blocks.
# GradLIF and WGU carry a memory that yosys maps to flip-flops; two syntheses with different
# memory depths give the area per memory bit, and the logic is the intercept at zero depth:
#   grad_lif lanes=16: max_timesteps 16 -> 1,264,535 µm², 2 -> 593,159 µm² (256-bit words):
#     187.35 µm²/bit, logic 593,159 - 512 * 187.35 = 497,245 µm² / 16 lanes = 31,078 µm²/lane
#   wgu cols=32 (544-bit rows): rows 4 -> 636,583 µm², rows 2 -> 441,855 µm²:
#     97,364 µm²/row, logic 441,855 - 2 * 97,364 = 247,127 µm² / 32 lanes = 7,723 µm²/lane
_GRADLIF_LANE = 31078.0
_WGU_LANE = 7723.0

LIBRARY: dict[str, Constant] = {
    # Crossbar and its peripherals
    "adc_power_per_bit": Constant(
        1.0157, "µW per output bit (SAR ADC power, HP)", 32, _NEUROSIM_SAR,
        "SarADC.cpp, 32 nm HP: power (1.0157 log2(levels) + 7.6286) µW; energy = power x "
        "(bits + 1) cycles of 1 ns: 4 bits -> 11.69 µW x 5 ns = 58.46 fJ (the printed 58.5 "
        "fJ); the column-resistance term of that file is left out (the cell currents are "
        "priced apart)", "energy"),
    "adc_power_base": Constant(
        7.6286, "µW (SAR ADC power offset, HP)", 32, _NEUROSIM_SAR,
        "SarADC.cpp, 32 nm HP (see adc_power_per_bit)", "energy"),
    "adc_latency": Constant(
        5.0, "ns per conversion (4-bit SAR)", 32, _NEUROSIM_SAR,
        "SarADC.cpp: (log2(levels) + 1) x 1 ns; a b-bit SAR takes b + 1 cycles: scaled by "
        "(b + 1) / 5", "latency"),
    "adc_area": Constant(
        693.633, "µm² per ADC", 65, _SPIKESIM,
        "taken as the 4-bit ADC of Table II (SpikeSim's default precision); other "
        "resolutions scale 2**(b - 4) like the capacitor DAC of a SAR", "area"),
    "dac_energy": Constant(
        0.0035, "pJ per driven line per read (1-bit decoder, one bit-cycle)", 32, _PUMA,
        "PUMA's DAC per bit-cycle; a 1-bit spike decoder drives each line for one bit-cycle",
        "energy"),
    "cell_area_1t1r": Constant(
        16.0, "F² per 1T1R cell", None, _NEUROSIM_PARAM,
        "Param.cpp: heightInFeatureSize1T1R = 4, widthInFeatureSize1T1R = 4: a 4F x 4F cell, "
        "set by its access transistor; at F = 32 nm: 16 x 0.032² = 0.016384 µm² per cell, "
        "1073.7 µm² per 256 x 256 array", "none"),
    "read_voltage": Constant(
        0.5, "V", None, _NEUROSIM_PARAM,
        "Param.cpp: readVoltage = 0.5 (the default of crossbar.read_voltage_v)", "none"),
    "read_pulse_width": Constant(
        10.0, "ns a driven line conducts per read", None, _NEUROSIM_PARAM,
        "Param.cpp: readPulseWidth = 10e-9 (the default of crossbar.read_pulse_ns)", "none"),
    "write_voltage": Constant(
        4.0, "V per programming pulse", None, _NEUROSIM_PARAM,
        "Param.cpp: writeVoltage = 4 (the default of programming.write_voltage_v)", "none"),
    "write_pulse_width": Constant(
        50.0, "ns per programming pulse", None, _NEUROSIM_PARAM,
        "Param.cpp: writePulseWidth = 50e-9 (the default of programming.write_pulse_ns)",
        "none"),
    # Leakage (NeuroSim V2.1 Technology.cpp, PTM 32 nm, 300 K; Param.cpp SRAM cell widths)
    "vdd": Constant(0.9, "V", 32, _NEUROSIM_TECH, "PTM 32 nm HP and LSTP: vdd = 0.9",
                    "none"),
    "ioff_nmos_hp": Constant(
        100.3, "nA per µm of width (NMOS off current, HP)", 32, _NEUROSIM_TECH,
        "currentOffNmos[0] = 100.30e-3 A/m at 300 K (about 100 nA/µm at every HP node of "
        "that file, so it is not node-scaled)", "none"),
    "ioff_pmos_hp": Constant(
        100.1, "nA per µm of width (PMOS off current, HP)", 32, _NEUROSIM_TECH,
        "currentOffPmos[0] = 100.10e-3 A/m at 300 K", "none"),
    "ioff_nmos_lstp": Constant(
        0.1001, "nA per µm of width (NMOS off current, LSTP)", 32, _NEUROSIM_TECH,
        "currentOffNmos[0] = 100.10e-6 A/m at 300 K", "none"),
    "ioff_pmos_lstp": Constant(
        0.1001, "nA per µm of width (PMOS off current, LSTP)", 32, _NEUROSIM_TECH,
        "currentOffPmos[0] = 100.10e-6 A/m at 300 K", "none"),
    "sram_pulldown_width": Constant(
        2.08, "F (6T cell pull-down NMOS width)", None, _NEUROSIM_PARAM,
        "Param.cpp: widthSRAMCellNMOS = 2.08", "none"),
    "sram_pullup_width": Constant(
        1.23, "F (6T cell pull-up PMOS width)", None, _NEUROSIM_PARAM,
        "Param.cpp: widthSRAMCellPMOS = 1.23", "none"),
    "sram_access_width": Constant(
        1.31, "F (6T cell access NMOS width)", None, _NEUROSIM_PARAM,
        "Param.cpp: widthAccessCMOS = 1.31", "none"),
    # Digital units
    "adder16_energy": Constant(
        0.046, "pJ per 16-bit add", 32, _NEUROSIM,
        "WGU accumulation; per bit 0.046 / 16 = 0.002875 pJ, the same as NeuroSim's 8-bit "
        "adder (0.023 / 8): an n-bit adder costs n x 0.002875 pJ", "energy"),
    "dff_energy": Constant(
        0.0017, "pJ per bit per cycle (DFF)", 32, _NEUROSIM,
        "shift-add registers (ShiftAdd.cpp: an n-bit adder plus n + read pulses DFFs)",
        "energy"),
    "lif_energy": Constant(
        0.12, "pJ per LIF update", 32, _NEUROSIM,
        "built from NeuroSim adders, comparator and DFFs (REFERENCE.md §4)", "energy"),
    "mul16_energy": Constant(0.239, "pJ per 16-bit multiply", 32, _SATA, "", "energy"),
    "add16_energy_sata": Constant(0.00967, "pJ per 16-bit add", 32, _SATA, "", "energy"),
    "mux16_energy": Constant(0.00172, "pJ per 16-bit 2:1 mux", 32, _SATA, "", "energy"),
    "shift16_energy": Constant(0.00605, "pJ per 16-bit shift", 32, _SATA, "", "energy"),
    # Memories and wires
    "sram_read_energy": Constant(
        0.011, "pJ per bit read (16 kbit buffer)", 32, _NEUROSIM,
        "per-bit energy goes with sqrt(bank capacity / 16 kbit) (bit-line length)", "energy"),
    "sram_write_energy": Constant(
        0.006, "pJ per bit written (16 kbit buffer)", 32, _NEUROSIM, "as the read energy",
        "energy"),
    "sram_area": Constant(
        _SRAM_AREA_16K, "µm² per 16 kbit", 32, _NEUROSIM, "area in proportion to capacity",
        "area"),
    "htree_energy": Constant(
        0.065, "pJ per bit per mm", None, _NEUROSIM,
        "H-tree wire; capacitance per mm is taken as node-independent", "none"),
    "htree_area_tile": Constant(
        433660.0, "µm² per tile (local H-tree)", 65, _SPIKESIM,
        "spread over the H-tree wire of a non-transposable Table II tile to give area per mm; "
        "local and global H-tree areas are that times their wire length (floorplan)", "area"),
    "dram_energy": Constant(3.9, "pJ per bit", None, _NEUROSIM, "HBM2", "none"),
    # Derived from the above
    "transistor_area": Constant(
        _T_AREA, "µm² per transistor", 32, "derived",
        "NeuroSim 16 kbit SRAM area / 16384 bits / 6 transistors (cell plus amortised "
        "periphery)", "area", "derived"),
    "gradlif_energy": Constant(
        0.239 + 2 * 0.00967 + 0.00172 + 2 * 0.00605, "pJ per GradLIF evaluation", 32,
        "derived",
        "SATA composition per neuron-timestep: 1 mul + 2 add + 1 mux + 2 shift (16-bit)",
        "energy", "derived"),
    "mux_energy_per_level": Constant(
        0.00172 / 16, "pJ per conversion per 2:1 level", 32, "derived",
        "SATA 16-bit 2:1 mux / 16 bits: one analog line through one 2:1 level; an N:1 mux "
        "has log2(N) levels", "energy", "derived"),
    # Our RTL, OSU 0.18 µm
    "shift_add_area": Constant(
        37411.0 / 16, "µm² per lane", 180, _RTL,
        "shift_add lanes=16 slices=2: 37,411 µm² / 16 lanes", "area", "rtl"),
    "accumulator_area": Constant(
        144825.0 / 16, "µm² per lane", 180, _RTL,
        "psum lanes=16 (16-bit saturating accumulator): 144,825 µm² / 16 lanes", "area",
        "rtl"),
    "gradlif_area": Constant(
        _GRADLIF_LANE, "µm² per lane (logic)", 180, _RTL,
        "grad_lif lanes=16, membrane store extrapolated to zero depth (two syntheses)",
        "area", "rtl"),
    "wgu_lane_area": Constant(
        _WGU_LANE, "µm² per adder lane (logic)", 180, _RTL,
        "wgu cols=32, gradient memory extrapolated to zero rows (two syntheses); the "
        "gradient words are priced by the SRAM model", "area", "rtl"),
}

#: Numbers kept for comparison only: they price another architecture's cycle or a different
#: component, so the model does not use them (docs/cost-model.md compares).
ALTERNATES: dict[str, Constant] = {
    "adc_energy": Constant(_ADC32, "pJ per conversion (4-bit SAR)", 32, _NEUROSIM,
                           "the printed 4-bit value; the model uses the SarADC.cpp formula "
                           "(adc_power_per_bit, adc_power_base), which gives 58.46 fJ",
                           "energy", "cross-check"),
    "adc_energy_lstp": Constant(0.0671, "pJ per conversion (4-bit SAR, LSTP)", 32,
                                _NEUROSIM_SAR, "(1.1294 x 4 + 8.8998) µW x 5 ns = 67.1 fJ",
                                "energy", "cross-check"),
    "shift_add_energy": Constant(0.051, "pJ per 8-bit shift-add", 32, _NEUROSIM,
                                 "the formula of shift_add_energy_pj at 8 bits and 8 read "
                                 "pulses gives 0.023 + 16 x 0.0017 = 0.0502 pJ", "energy",
                                 "cross-check"),
    "write_pulse_energy_2v": Constant(1.6, "pJ per programming pulse", None, _NEUROSIM,
                                      "(2 V)² x 40 µS x 10 ns, the earlier figure: 40 µS is "
                                      "four times Table II's g_max", "none", "cross-check"),
    "crossbar_area_puma": Constant(25.0, "µm² per 128 x 128 array", 32, _PUMA,
                                   "2.5e-5 mm², 1.49 F² per cell at 32 nm: smaller than a "
                                   "1T1R access transistor allows", "area", "cross-check"),
    "adc_energy_45nm": Constant(_ADC45, "pJ per conversion (4-bit SAR)", 45, _NEUROSIM,
                                "sets ENERGY_EXPONENT", "energy", "cross-check"),
    "adc_energy_puma": Constant(1.8, "pJ per conversion (8-bit, 1 GS/s)", 32, _PUMA, "",
                                "energy", "cross-check"),
    "adc_area_puma": Constant(1200.0, "µm² per ADC (8-bit)", 32, _PUMA, "0.0012 mm²",
                              "area", "cross-check"),
    "crossbar_power_puma": Constant(0.3, "mW per 128 x 128 crossbar", 32, _PUMA, "",
                                    "energy", "cross-check"),
    "crossbar_area_spikesim": Constant(26.2144, "µm² per crossbar", 65, _SPIKESIM, "", "area",
                                       "cross-check"),
    "adc_energy_spikesim": Constant(2.03084, "pJ per PE cycle", 65, _SPIKESIM,
                                    "dense, per 26-clock PE cycle at 250 MHz", "energy",
                                    "cross-check"),
    "crossbar_energy_spikesim": Constant(1.76423, "pJ per PE cycle per kernel slot", 65,
                                         _SPIKESIM, "", "energy", "cross-check"),
    "tile_buffer_energy_spikesim": Constant(397.0, "pJ per PE cycle", 65, _SPIKESIM, "",
                                            "energy", "cross-check"),
    "htree_energy_spikesim": Constant(157.12, "pJ per PE cycle", 65, _SPIKESIM, "", "energy",
                                      "cross-check"),
    "lif_energy_spikesim": Constant(5.096, "pJ per PE cycle", 65, _SPIKESIM, "", "energy",
                                    "cross-check"),
    "mux_energy_spikesim": Constant(0.0942, "pJ per PE cycle (8:1 mux)", 65, _SPIKESIM, "",
                                    "energy", "cross-check"),
    "adder8_energy": Constant(0.023, "pJ per 8-bit add", 32, _NEUROSIM, "", "energy",
                              "cross-check"),
    "comparator16_energy": Constant(0.051, "pJ per 16-bit compare", 32, _NEUROSIM, "",
                                    "energy", "cross-check"),
    "acc16_energy_sata": Constant(0.0389, "pJ per 16-bit accumulate", 32, _SATA, "", "energy",
                                  "cross-check"),
    "reg16_energy_sata": Constant(0.0301, "pJ per 16-bit register access", 32, _SATA, "",
                                  "energy", "cross-check"),
    "dram_access_sata": Constant(55.58, "pJ per access", 32, _SATA, "CACTI", "none",
                                 "cross-check"),
    "global_sram_access_sata": Constant(1.95, "pJ per access", 32, _SATA, "CACTI", "energy",
                                        "cross-check"),
    "scratchpad_access_sata": Constant(0.2779, "pJ per access", 32, _SATA, "CACTI", "energy",
                                       "cross-check"),
}


def constant(name: str, node_nm=32.0):
    """Value of library constant ``name`` at ``node_nm``."""
    return LIBRARY[name].at(node_nm)


def library_table(node_nm: float = 32.0) -> dict[str, dict]:
    """Every constant (library and cross-checks) as JSON-able dicts, with its value at
    ``node_nm`` under ``"at_node"``."""
    out = {}
    for group, table in (("library", LIBRARY), ("cross-check", ALTERNATES)):
        for name, c in table.items():
            d = asdict(c)
            d["at_node"] = float(c.at(node_nm))
            d["group"] = group
            out[name] = d
    return out


# --- formulas (numbers or numpy arrays in, same out) ------------------------------------------

def transistor_area_um2(node_nm=32.0):
    """Area of one transistor of a small analog switch, µm² (derived)."""
    return constant("transistor_area", node_nm)


def mean_conductance_us(g_min, g_max, differential=True):
    """Mean conductance of a programmed device, µS.

    Differential pairs hold one device at ``g_min`` and the other at a level ``|q|`` which we
    take as uniform over the window: mean ``(g_min + (g_min + g_max) / 2) / 2``. One device per
    weight (offset mapping): uniform over the window, ``(g_min + g_max) / 2``.
    """
    g_min, g_max = np.asarray(g_min, float), np.asarray(g_max, float)
    out = np.where(differential, (3 * g_min + g_max) / 4, (g_min + g_max) / 2)
    return float(out) if out.ndim == 0 else out


def cell_read_energy_pj(active_lines, lines_across, g_us, v_read, t_ns):
    """Energy of the cell currents: ``active_lines * lines_across * G * V² * t``, pJ.

    Every active input line drives ``lines_across`` devices of mean conductance ``g_us`` (µS)
    at ``v_read`` (V) for ``t_ns`` (ns): µS x V² x ns = 1e-15 J = 1e-3 pJ.
    """
    return active_lines * lines_across * g_us * v_read ** 2 * t_ns * 1e-3


def adc_energy_pj(bits, node_nm=32.0):
    """Energy of one SAR conversion of ``bits`` bits, pJ.

    NeuroSim V2.1's SAR model (``SarADC.cpp``, 32 nm HP): a power linear in the bits,
    ``(1.0157 bits + 7.6286)`` µW, drawn for ``bits + 1`` cycles of 1 ns (µW x ns = fJ =
    1e-3 pJ): 4 bits 58.46 fJ, 8 bits 141.8 fJ (2.4x, where doubling per bit would give 16x).
    """
    bits = np.asarray(bits, float)
    power_uw = (constant("adc_power_per_bit", node_nm) * bits
                + constant("adc_power_base", node_nm))
    cycle_ns = LIBRARY["adc_latency"].value / 5.0   # the source's 1 ns per SAR cycle
    return power_uw * (bits + 1.0) * cycle_ns * 1e-3


def adc_latency_ns(bits, node_nm=32.0):
    """Latency of one ``bits``-bit SAR conversion, ns (``bits + 1`` cycles)."""
    return constant("adc_latency", node_nm) * (np.asarray(bits, float) + 1) / 5.0


def adc_area_um2(bits, node_nm=32.0):
    """Area of one ``bits``-bit ADC, µm² (capacitor DAC: doubling per bit)."""
    return constant("adc_area", node_nm) * 2.0 ** (np.asarray(bits, float) - 4)


def decoder_energy_pj(lines_driven, node_nm=32.0):
    """Spike decoder / line drivers: one bit-cycle per driven line per read, pJ."""
    return lines_driven * constant("dac_energy", node_nm)


def mux_energy_pj(conversions, lines_per_adc, node_nm=32.0):
    """Analog N:1 mux in front of an ADC: ``log2(N)`` 2:1 levels per conversion, pJ."""
    levels = np.log2(np.maximum(np.asarray(lines_per_adc, float), 1.0))
    return conversions * levels * constant("mux_energy_per_level", node_nm)


def mux_area_um2(lines_per_adc, node_nm=32.0):
    """One N:1 transmission-gate mux: two transistors per input, µm² (derived)."""
    return 2.0 * np.asarray(lines_per_adc, float) * transistor_area_um2(node_nm)


def driver_area_um2(dac_bits=1, node_nm=32.0):
    """One line driver (decoder output stage): 4 transistors per DAC bit, µm² (derived)."""
    return 4.0 * np.asarray(dac_bits, float) * transistor_area_um2(node_nm)


def adder_energy_pj(bits, node_nm=32.0):
    """One ``bits``-bit ripple add, pJ: NeuroSim's 16-bit adder per bit (0.046 / 16, equal to
    its 8-bit adder's 0.023 / 8) times ``bits``."""
    return constant("adder16_energy", node_nm) / 16.0 * np.asarray(bits, float)


def shift_add_energy_pj(adds, psum_bits=16, read_pulses=8, node_nm=32.0):
    """Shift-add / partial-sum accumulation events of ``psum_bits``-bit words, pJ.

    NeuroSim V2.1's composition (``ShiftAdd.cpp``: an ``n``-bit adder plus
    ``n + 1 + read_pulses - 1`` DFFs, the shift register extension of a bit-serial input of
    ``read_pulses`` pulses): ``psum_bits x 0.002875 + (psum_bits + read_pulses) x 0.0017`` pJ;
    16 bits and 8 pulses: 0.046 + 24 x 0.0017 = 0.0868 pJ (8 bits: 0.0502 pJ, the printed
    0.051 pJ within rounding).
    """
    bits = np.asarray(psum_bits, float)
    per_add = adder_energy_pj(bits, node_nm) + (bits + np.asarray(read_pulses, float)) \
        * constant("dff_energy", node_nm)
    return adds * per_add


def sram_energy_per_bit_pj(capacity_bits, bank_bits=16384, write=False, node_nm=32.0):
    """Per-bit access energy of an SRAM of ``capacity_bits`` built of banks of at most
    ``bank_bits``: the 16 kbit reference times ``sqrt(min(capacity, bank) / 16 kbit)``, pJ."""
    ref = constant("sram_write_energy" if write else "sram_read_energy", node_nm)
    size = np.minimum(np.asarray(capacity_bits, float), np.asarray(bank_bits, float))
    return ref * np.sqrt(np.maximum(size, 1.0) / 16384.0)


def sram_area_um2(capacity_bits, node_nm=32.0):
    """SRAM area in proportion to capacity (NeuroSim 16 kbit buffer), µm²."""
    return constant("sram_area", node_nm) * np.asarray(capacity_bits, float) / 16384.0


def crossbar_area_um2(rows, cols, node_nm=32.0):
    """Area of one ``rows x cols`` 1T1R array, µm²: NeuroSim's 4F x 4F cell (16 F², set by
    the access transistor) at ``F = node_nm``: 256 x 256 at 32 nm is 65,536 x 16 x 0.032² =
    1073.7 µm²."""
    feature_um = np.asarray(node_nm, float) * 1e-3
    return (np.asarray(rows, float) * np.asarray(cols, float)
            * constant("cell_area_1t1r") * feature_um ** 2)


def htree_energy_pj(bits, length_mm):
    """Moving ``bits`` over ``length_mm`` of H-tree wire, pJ."""
    return bits * length_mm * constant("htree_energy")


def lif_energy_pj(ops, node_nm=32.0):
    """LIF neuron updates, pJ."""
    return ops * constant("lif_energy", node_nm)


def gradlif_op_energy_pj(ops, node_nm=32.0):
    """GradLIF surrogate-gradient evaluations (SATA composition), pJ."""
    return ops * constant("gradlif_energy", node_nm)


def wgu_mac_energy_pj(macs, multiply=False, node_nm=32.0):
    """WGU accumulations: a 16-bit add per MAC (binary spike input: no multiplier); a
    multi-bit input (the first layer) adds a 16-bit multiply. SRAM traffic is priced apart."""
    e = constant("adder16_energy", node_nm) + np.where(multiply, constant("mul16_energy",
                                                                           node_nm), 0.0)
    return macs * e


def write_conductance_us(g_min, g_max):
    """Conductance of a device during a programming pulse, µS: the mean of the window
    ``(g_min + g_max) / 2`` (levels are spread uniformly over the window, so a device being
    written sits on average mid-window; ``g_max`` would be the upper bound)."""
    out = (np.asarray(g_min, float) + np.asarray(g_max, float)) / 2.0
    return float(out) if out.ndim == 0 else out


def write_energy_pj(pulses, g_us, v_write, t_ns):
    """RRAM programming pulses, pJ: ``pulses x V² x G x t`` (µS x V² x ns = 1e-3 pJ);
    NeuroSim's 4 V, 50 ns on a 5.5 µS device (mid [1, 10] µS): 16 x 5.5 x 50 fJ = 4.4 pJ."""
    return pulses * np.asarray(v_write, float) ** 2 * g_us * t_ns * 1e-3


def verify_read_energy_pj(reads, g_us, bits=4, node_nm=32.0, v_read=None, t_read_ns=None):
    """Single-device verify reads: one cell read (one line across one device at ``v_read``
    for ``t_read_ns``, NeuroSim's 0.5 V and 10 ns by default) plus one ADC conversion, pJ."""
    v = constant("read_voltage") if v_read is None else v_read
    t = constant("read_pulse_width") if t_read_ns is None else t_read_ns
    cell = cell_read_energy_pj(1.0, 1.0, g_us, v, t)
    return reads * (cell + adc_energy_pj(bits, node_nm))


def sram_leakage_per_bit_uw(roadmap="hp", node_nm=32.0):
    """Standby power of one 6T SRAM bit, µW.

    In a 6T cell holding a bit, one pull-down NMOS, one pull-up PMOS and one access NMOS (the
    one on the side of the stored 0, its bit line precharged) are off: ``Vdd x F x
    (I_off,n x (2.08 + 1.31) + I_off,p x 1.23)`` with NeuroSim's cell widths (in F) and
    PTM 32 nm off currents. HP at 32 nm: 0.9 V x 0.032 µm x (100.3 x 3.39 + 100.1 x 1.23)
    nA/µm = 13.34 nW; LSTP 1000x less (0.1001 nA/µm).
    """
    if roadmap not in ("hp", "lstp"):
        raise ValueError(f"roadmap must be 'hp' or 'lstp', not {roadmap!r}")
    feature_um = np.asarray(node_nm, float) * 1e-3
    n_width = constant("sram_pulldown_width") + constant("sram_access_width")
    p_width = constant("sram_pullup_width")
    off_na_per_um = (constant(f"ioff_nmos_{roadmap}") * n_width
                     + constant(f"ioff_pmos_{roadmap}") * p_width)
    return constant("vdd") * feature_um * off_na_per_um * 1e-3


def logic_leakage_uw(area_um2, roadmap="hp", node_nm=32.0):
    """Standby power of digital logic of ``area_um2``, µW: its transistors counted at the
    SRAM-derived area per transistor (:func:`transistor_area_um2`), each leaking like the
    average transistor of an SRAM cell (half of them off: a sixth of the bit's leakage)."""
    transistors = np.asarray(area_um2, float) / transistor_area_um2(node_nm)
    return transistors * sram_leakage_per_bit_uw(roadmap, node_nm) / 6.0


def dram_energy_pj(bits, pj_per_bit=None):
    """Off-chip DRAM traffic, pJ (default HBM2 3.9 pJ/bit)."""
    return bits * (constant("dram_energy") if pj_per_bit is None else pj_per_bit)
