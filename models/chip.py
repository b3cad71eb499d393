# SPDX-License-Identifier: MIT
"""The one typed description of a chip: devices, crossbars, programming, datapath, hierarchy.

Every model reads this tree: the crossbar simulator (``models/crossbar``), the analog network,
the mapping and the cost roll-up (``models/cost``), and every flow. It is loaded from and
written to a ``[chip]`` TOML table (``flows/config``), one sub-table per member of
:class:`ChipConfig`, so a run can be repeated exactly. Later parts of the chip (memory hierarchy
of an event-driven simulator, convolution mapping, analog-neuron macro, RTL tile) join as further
sub-trees.

Defaults are DFA_Sim Table II (``golden.papers.DFA_SIM_TABLE2``: 32 nm, 1 GHz, 16 / 4 / 1 KB
buffers, 4 PEs per tile, 4 crossbars per PE, 256 x 256 crossbars, 4-bit cells in [1, 10] µS,
1-bit spike decoder, 4-bit ADC); every other default names its source beside the field.

:meth:`ChipConfig.validate` raises ``ValueError`` (or ``TypeError`` for a wrong type) with one
line naming the offending key, e.g. ``crossbar.rows must be >= 2, not 0``. The tree does not
validate itself on construction: the design-space sweep (``models/cost/sweep``) puts numpy
arrays into a validated copy, and every numeric formula of the cost model broadcasts over them.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..golden.params import check_int
from ..golden.papers import DFA_SIM_TABLE2
from .macro.config import MacroConfig

__all__ = ["MAPPINGS", "ADC_RANGES", "NOISE_MODES", "UPDATE_ROUNDINGS", "ROADMAPS",
           "WGU_DESIGNS", "TechConfig",
           "DeviceConfig", "CrossbarConfig", "ProgrammingConfig", "DatapathConfig",
           "HierarchyConfig", "BufferConfig", "MappingConfig", "DramConfig", "NonIdealConfig",
           "ChipConfig", "BITS_PER_KB"]

#: Signed-weight mappings of a device pair (``models/rram/device.py``).
MAPPINGS = ("differential", "offset")
#: ADC full-scale policies (``models/crossbar``).
ADC_RANGES = ("calibrated", "max", "fixed")
#: Programming-noise draws: fixed device personality, or a new draw on every write.
NOISE_MODES = ("static", "per_write")
#: Rounding of a requested level change to whole levels.
UPDATE_ROUNDINGS = ("stochastic", "nearest")
#: CMOS device roadmaps of the leakage model (NeuroSim V2.1 ``Technology.cpp``): high
#: performance or low standby power.
ROADMAPS = ("hp", "lstp")
#: How the weight-gradient unit accumulates (``docs/cost-model.md`` §4, WGU designs):
#: an SRAM read-modify-write per timestep, registers over the timestep loop with one SRAM
#: read-modify-write per sample, or NeuroSim V2.1's SRAM weight-gradient array.
WGU_DESIGNS = ("sram_rmw", "register", "neurosim_array")
#: Bits in one KB of buffer (1 KB = 1024 bytes x 8 bits).
BITS_PER_KB = 8 * 1024

_TABLE2 = "DFA_Sim Table II"


def _int(value, where: str, lo: int, hi: int | None = None) -> None:
    check_int(value, name=where, minimum=lo, maximum=hi)


def _positive(value, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{where} must be a positive number, not {value!r}")


def _choice(value, where: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{where} must be one of {', '.join(choices)}, not {value!r}")


def _non_negative(value, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0):
        raise ValueError(f"{where} must be a number >= 0, not {value!r}")


def _flag(value, where: str) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false, not {value!r}")


@dataclass
class TechConfig:
    """Process node and clock.

    Members
    -------
    node_nm : float
        CMOS node, nm; constants given at another node are scaled to it
        (:func:`dfasim.models.cost.components.scale`). Table II: 32 nm.
    clock_ghz : float
        Digital clock, GHz; one cycle is ``1 / clock_ghz`` ns. Table II: 1 GHz.
    roadmap : str
        Transistor flavour of the leakage model (``models/cost/leakage.py``): ``"hp"`` (high
        performance, the flavour of the library's dynamic energies, REFERENCE.md §4) or
        ``"lstp"`` (low standby power, NeuroSim V2.1's ``Param.cpp`` default). Default
        ``"hp"``, consistent with the dynamic energies.
    """

    node_nm: float = DFA_SIM_TABLE2["node_nm"]
    clock_ghz: float = DFA_SIM_TABLE2["clock_ghz"]
    roadmap: str = "hp"

    def validate(self) -> None:
        _positive(self.node_nm, "tech.node_nm")
        _positive(self.clock_ghz, "tech.clock_ghz")
        _choice(self.roadmap, "tech.roadmap", ROADMAPS)


@dataclass
class DeviceConfig:
    """Conductance window, precision and signed-weight mapping of the RRAM cells.

    A device has ``2**cell_bits`` levels spread uniformly over ``[g_min_us, g_max_us]``
    (``models/rram/device.py`` has the mapping rules).

    Members
    -------
    g_min_us, g_max_us : float
        Lowest and highest programmable conductance, µS. Table II: [1, 10].
    cell_bits : int
        Bits per cell. Table II: 4.
    mapping : str
        ``"differential"``: two devices (columns) per weight, the column pair computes
        ``G+ - G-`` (DFA_Sim's mapping is not stated; differential pairs as NeuRRAM);
        ``"offset"``: one device per weight and a reference column per crossbar.
    """

    g_min_us: float = DFA_SIM_TABLE2["g_min_us"]
    g_max_us: float = DFA_SIM_TABLE2["g_max_us"]
    cell_bits: int = DFA_SIM_TABLE2["cell_bits"]
    mapping: str = "differential"

    def validate(self) -> None:
        _positive(self.g_min_us, "device.g_min_us")
        _positive(self.g_max_us, "device.g_max_us")
        if self.g_min_us >= self.g_max_us:
            raise ValueError(f"device.g_min_us ({self.g_min_us!r}) must be below "
                             f"device.g_max_us ({self.g_max_us!r})")
        _int(self.cell_bits, "device.cell_bits", 1, 16)
        _choice(self.mapping, "device.mapping", MAPPINGS)
        if self.mapping == "offset" and self.cell_bits < 2:
            raise ValueError(f"device.mapping 'offset' needs device.cell_bits >= 2 (a level on "
                             f"each side of the reference), not {self.cell_bits!r}")

    @property
    def differential(self) -> bool:
        """True for two devices per weight."""
        return self.mapping == "differential"

    @property
    def levels(self) -> int:
        """Programmable levels per device, ``2**cell_bits``."""
        return 1 << self.cell_bits

    @property
    def step(self) -> float:
        """Conductance between adjacent levels, µS."""
        return (self.g_max_us - self.g_min_us) / (self.levels - 1)

    @property
    def ref_level(self) -> int:
        """Level of the offset mapping's reference devices (0 for differential)."""
        return (self.levels - 1) // 2 if self.mapping == "offset" else 0

    @property
    def unit(self) -> int:
        """Level indices per ``w_max``: ``levels - 1`` (differential) or ``ref_level``."""
        return self.levels - 1 if self.differential else self.ref_level

    @property
    def q_range(self) -> tuple[int, int]:
        """Smallest and largest signed level index ``q``."""
        if self.differential:
            return -(self.levels - 1), self.levels - 1
        return -self.ref_level, self.levels - 1 - self.ref_level

    @property
    def g_ref(self) -> float:
        """Nominal conductance of an offset reference device, µS."""
        return self.g_min_us + self.ref_level * self.step

    @property
    def devices_per_weight(self) -> int:
        """Physical devices (columns) per weight, not counting shared reference columns."""
        return 2 if self.differential else 1


@dataclass
class CrossbarConfig:
    """One analog crossbar and its converters.

    Members
    -------
    rows, cols : int
        Crossbar size. Table II: 256 x 256.
    adc_bits : int
        Column (and, for BP, row) ADC resolution. Table II: 4. 0 is an ideal ADC (no
        quantisation, no clipping), an ablation of the simulator that the cost model refuses.
    adc_range : str
        Full-scale policy of the simulator: ``"calibrated"`` (a percentile of observed
        currents), ``"max"`` (``rows * g_max``) or ``"fixed"`` (``adc_full_scale_us``).
    adc_percentile : float
        Percentile of observed currents used as full scale by ``"calibrated"``; 99.9 (chosen:
        clips one read in a thousand).
    adc_full_scale_us : float or None
        Full scale in µS for ``"fixed"``.
    dac_bits : int
        Spike-decoder (row driver) resolution; multi-bit words are applied bit-serially.
        Table II: 1.
    lines_per_adc : int
        Columns (rows) sharing one ADC through an analog mux; 8, SpikeSim's 8:1 mux
        (REFERENCE.md §4).
    read_voltage_v : float
        Voltage across a driven line's devices during a read, V; 0.5, NeuroSim V2.1's default
        (``Training_pytorch/NeuroSIM/Param.cpp``: ``readVoltage = 0.5``). Cost model only.
    read_pulse_ns : float
        Time a driven line conducts per read, ns; 10, NeuroSim V2.1's default
        (``Param.cpp``: ``readPulseWidth = 10e-9``). Cost model only (read energy and the
        array part of a read's latency).
    """

    rows: int = DFA_SIM_TABLE2["crossbar_rows"]
    cols: int = DFA_SIM_TABLE2["crossbar_cols"]
    adc_bits: int = DFA_SIM_TABLE2["adc_bits"]
    adc_range: str = "calibrated"
    adc_percentile: float = 99.9
    adc_full_scale_us: float | None = None
    dac_bits: int = DFA_SIM_TABLE2["dac_bits"]
    lines_per_adc: int = 8
    read_voltage_v: float = 0.5
    read_pulse_ns: float = 10.0

    def validate(self) -> None:
        _int(self.rows, "crossbar.rows", 2, 4096)
        _int(self.cols, "crossbar.cols", 2, 4096)
        _int(self.adc_bits, "crossbar.adc_bits", 0, 24)
        _choice(self.adc_range, "crossbar.adc_range", ADC_RANGES)
        p = self.adc_percentile
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 100:
            raise ValueError(f"crossbar.adc_percentile must be in (0, 100], not {p!r}")
        if self.adc_range == "fixed":
            if self.adc_full_scale_us is None:
                raise ValueError("crossbar.adc_range 'fixed' needs a positive "
                                 "crossbar.adc_full_scale_us")
            _positive(self.adc_full_scale_us, "crossbar.adc_full_scale_us")
        _int(self.dac_bits, "crossbar.dac_bits", 1, 8)
        _int(self.lines_per_adc, "crossbar.lines_per_adc", 1, 4096)
        if self.lines_per_adc > min(self.rows, self.cols):
            raise ValueError(f"crossbar.lines_per_adc ({self.lines_per_adc}) exceeds the "
                             f"crossbar size {self.rows}x{self.cols}")
        _positive(self.read_voltage_v, "crossbar.read_voltage_v")
        _positive(self.read_pulse_ns, "crossbar.read_pulse_ns")


@dataclass
class ProgrammingConfig:
    """How devices are written: programming noise draws, write-verify, update rounding.

    Members
    -------
    noise_mode : str
        ``"static"``: a device's programming error is fixed for the chip's lifetime
        (device-to-device variation re-programming cannot remove); ``"per_write"``: a new draw
        on every write (cycle-to-cycle variation).
    write_verify : int
        Program-verify iterations after the first pulse (0: none; NeuRRAM's measured spread
        already includes that chip's own write-verify, so more is an optimistic what-if).
    verify_tolerance_us : float or None
        Accepted ``|G - target|`` in µS; None: half a level step.
    verify_shrink : float
        Factor on the remaining error per corrective pulse, in ``[0, 1)``; 0.5 (chosen).
    update_rounding : str
        ``"stochastic"`` (unbiased, the default) or ``"nearest"`` rounding of level changes.
    write_voltage_v : float
        Programming pulse amplitude, V; 4, NeuroSim V2.1's default (``Param.cpp``:
        ``writeVoltage = 4``). Cost model only (write energy).
    write_pulse_ns : float
        Programming pulse width, ns; 50, NeuroSim V2.1's default (``Param.cpp``:
        ``writePulseWidth = 50e-9``). Cost model only (write energy and time).
    """

    noise_mode: str = "static"
    write_verify: int = 0
    verify_tolerance_us: float | None = None
    verify_shrink: float = 0.5
    update_rounding: str = "stochastic"
    write_voltage_v: float = 4.0
    write_pulse_ns: float = 50.0

    def validate(self) -> None:
        _choice(self.noise_mode, "programming.noise_mode", NOISE_MODES)
        _int(self.write_verify, "programming.write_verify", 0, 1000)
        tol = self.verify_tolerance_us
        if tol is not None and (isinstance(tol, bool) or not isinstance(tol, (int, float))
                                or not (math.isfinite(tol) and tol >= 0)):
            raise ValueError(f"programming.verify_tolerance_us must be >= 0 µS or absent, "
                             f"not {tol!r}")
        r = self.verify_shrink
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r < 1:
            raise ValueError(f"programming.verify_shrink must be in [0, 1), not {r!r}")
        _choice(self.update_rounding, "programming.update_rounding", UPDATE_ROUNDINGS)
        _positive(self.write_voltage_v, "programming.write_voltage_v")
        _positive(self.write_pulse_ns, "programming.write_pulse_ns")


@dataclass
class DatapathConfig:
    """Word widths of the digital datapath (those of ``golden/`` and the RTL blocks).

    Members
    -------
    input_bits : int
        First-layer inputs and DFA output errors on the B matrices: sign-magnitude words
        applied bit-serially; 8 (chosen). 0: ideal analog drivers (simulator ablation).
    error_bits : int
        BP errors on transposed reads, sign-magnitude; 8 (chosen). 0: ideal.
    psum_bits : int
        Shift-adder and partial-sum accumulator width (``golden/psum.py``: 16).
    membrane_bits, delta_bits : int
        GradLIF membrane and delta widths (``golden/grad_lif.py``: 16, 8).
    grad_bits : int
        WGU gradient word (``golden/wgu.py``: 16).
    """

    input_bits: int = 8
    error_bits: int = 8
    psum_bits: int = 16
    membrane_bits: int = 16
    delta_bits: int = 8
    grad_bits: int = 16

    def validate(self) -> None:
        for name in ("input_bits", "error_bits"):
            value = getattr(self, name)
            _int(value, f"datapath.{name}", 0, 24)
            if value == 1:
                raise ValueError(f"datapath.{name} must be 0 (ideal) or >= 2 (sign + "
                                 f"magnitude), not 1")
        _int(self.psum_bits, "datapath.psum_bits", 2, 62)
        for name in ("membrane_bits", "delta_bits", "grad_bits"):
            _int(getattr(self, name), f"datapath.{name}", 1, 62)


@dataclass
class HierarchyConfig:
    """Tiles, PEs and the widths of the digital units.

    Members
    -------
    pes_per_tile, crossbars_per_pe : int
        Table II: 4 and 4.
    max_tiles : int
        Tile budget of the chip for the network's layers (0: as many as the mapping needs).
    neuron_lanes : int
        LIF / GradLIF lanes per layer, one neuron update per lane per cycle; 16, the default
        ``dfasim rtl`` GradLIF block.
    wgu_lanes : int
        Adders of one WGU bank (one gradient row chunk per cycle); 32, the default WGU block.
    htree_bits : int
        Width of the global and local H-tree buses, bits per cycle; 64 (chosen).
    wgu_design : str
        How the cost model prices the WGU (:data:`WGU_DESIGNS`): ``"sram_rmw"`` (one SRAM
        read-modify-write of the gradient word per weight, timestep and sample with an active
        input: the ``dfasim rtl`` WGU's dataflow, the default), ``"register"`` (accumulate in
        registers over the timestep loop, one SRAM read-modify-write per weight and sample) or
        ``"neurosim_array"`` (NeuroSim V2.1's SRAM weight-gradient array).
    """

    pes_per_tile: int = DFA_SIM_TABLE2["pes_per_tile"]
    crossbars_per_pe: int = DFA_SIM_TABLE2["crossbars_per_pe"]
    max_tiles: int = 0
    neuron_lanes: int = 16
    wgu_lanes: int = 32
    htree_bits: int = 64
    wgu_design: str = "sram_rmw"

    def validate(self) -> None:
        _int(self.pes_per_tile, "hierarchy.pes_per_tile", 1, 1024)
        _int(self.crossbars_per_pe, "hierarchy.crossbars_per_pe", 1, 1024)
        _int(self.max_tiles, "hierarchy.max_tiles", 0)
        _int(self.neuron_lanes, "hierarchy.neuron_lanes", 1, 1 << 16)
        _int(self.wgu_lanes, "hierarchy.wgu_lanes", 1, 1 << 16)
        _int(self.htree_bits, "hierarchy.htree_bits", 1, 1 << 16)
        _choice(self.wgu_design, "hierarchy.wgu_design", WGU_DESIGNS)

    @property
    def crossbars_per_tile(self):
        """``pes_per_tile * crossbars_per_pe`` (Table II: 16)."""
        return self.pes_per_tile * self.crossbars_per_pe


@dataclass
class BufferConfig:
    """On-chip SRAM buffers and the SRAM macro they are built from.

    Members
    -------
    global_kb, tile_kb, pe_kb : float
        Capacities in KB (1 KB = :data:`BITS_PER_KB` bits). Table II: 16, 4, 1.
    bank_kbit : float
        Largest SRAM sub-array in kbit (1 kbit = 1024 bits); bigger memories are banked. 16,
        the NeuroSim V2.1 buffer whose energy and area are the SRAM model's reference values.
    """

    global_kb: float = DFA_SIM_TABLE2["global_buffer_kb"]
    tile_kb: float = DFA_SIM_TABLE2["tile_buffer_kb"]
    pe_kb: float = DFA_SIM_TABLE2["pe_buffer_kb"]
    bank_kbit: float = 16.0

    def validate(self) -> None:
        for name in ("global_kb", "tile_kb", "pe_kb", "bank_kbit"):
            _positive(getattr(self, name), f"buffers.{name}")


@dataclass
class MappingConfig:
    """How matrices are placed (DFA_Sim Sec. III: no two layers share a tile).

    Members
    -------
    weight_duplication : int
        Copies of every layer's weights (reads run on all copies in parallel; every copy is
        programmed on an update); 0: fill the crossbars left free in each layer's own tiles.
        Default 1 (no duplication).
    b_duplication : int
        Copies of the DFA feedback matrices in the B tile(s), for batch parallelism; 0: as many
        as fit (the paper's choice). Default 0.
    b_tiles : int
        Tiles reserved for the feedback matrices (the paper: one).
    """

    weight_duplication: int = 1
    b_duplication: int = 0
    b_tiles: int = 1

    def validate(self) -> None:
        _int(self.weight_duplication, "mapping.weight_duplication", 0, 1 << 16)
        _int(self.b_duplication, "mapping.b_duplication", 0, 1 << 16)
        _int(self.b_tiles, "mapping.b_tiles", 1, 1 << 16)


@dataclass
class DramConfig:
    """Off-chip memory holding the training set; reported as its own line (as the paper does).

    Members
    -------
    pj_per_bit : float
        Access energy, pJ/bit; NeuroSim V2.1's HBM2 3.9 pJ/bit (REFERENCE.md §4).
    bits_per_value : int
        Stored width of one input value (the first layer's ``datapath.input_bits``, 8).
    label_bits : int
        Stored width of one label (8).
    bandwidth_gbs : float
        Sustained bandwidth, GB/s (1 GB = 1e9 bytes): one HBM2 stack, 1024 pins x 2 Gb/s =
        256 GB/s (JEDEC JESD235A). Read by the architecture simulator (``models/archsim``).
    latency_ns : float
        Time from a request to its first byte, ns; 100 (chosen: the order of a loaded DRAM
        access; the simulator charges it once per transfer, so only short transfers feel it).
    """

    pj_per_bit: float = 3.9
    bits_per_value: int = 8
    label_bits: int = 8
    bandwidth_gbs: float = 256.0
    latency_ns: float = 100.0

    def validate(self) -> None:
        _positive(self.pj_per_bit, "dram.pj_per_bit")
        _positive(self.bandwidth_gbs, "dram.bandwidth_gbs")
        _positive(self.latency_ns, "dram.latency_ns")
        _int(self.bits_per_value, "dram.bits_per_value", 1, 64)
        _int(self.label_bits, "dram.label_bits", 0, 64)


@dataclass
class NonIdealConfig:
    """Device and array non-idealities beyond programming noise; every one off by default.

    Equations, constants and their sources: ``docs/device-nonidealities.md``; the physics is in
    ``models/crossbar/nonideal.py``. With every switch off a chip reads exactly as without
    this part.

    Members
    -------
    read_noise : bool
        Cycle-to-cycle read noise: every read sees each device's conductance plus a fresh
        Gaussian draw of standard deviation ``read_noise_rel * device.g_max_us``.
    read_noise_rel : float
        Read-noise standard deviation as a fraction of ``g_max``; 0.01, aihwkit's advice for
        its ReRAM models (``aihwkit/inference/noise/reram.py``, ``ReRamWan2022NoiseModel``:
        short-term read noise "about 1 %", ``w_noise = 0.01`` additive constant relative to
        the maximal weight). The measured HfOx data (``rram_radar_retention.npz``, repeated
        reads) gives a median 0.12-0.33 % of G per read: the default is pessimistic.
    drift : bool
        Conductance relaxation with time since programming, ``age_s``.
    age_s : float
        Seconds since the devices were programmed (the chip's age). 1 s (the time of the
        programming spread fits, REFERENCE.md §1): no drift on top of programming noise.
    drift_scale : float
        Factor on the relaxation spread; 1.0 (chosen: the published fit as is).
    stuck : bool
        Stuck-at devices, drawn once per chip (seeded); a write to a stuck device has no effect.
    stuck_off_rate : float
        Fraction of devices stuck off; 0.00087, the measured data: 4 of 4609 cells of the
        3-bit experiments e1-e4, e6, e7 failed write-verify, all ending above their target
        resistance window (too low a conductance).
    stuck_on_rate : float
        Fraction of devices stuck on; 0.0, the measured data: none of the 4609 cells (95 %
        upper bound 3 / 4609 = 0.065 %).
    stuck_off_us : float
        Conductance of a stuck-off device, µS; 0.0 (chosen: an open filament, below the lowest
        level ``g_min_us``). A stuck-on device reads ``device.g_max_us``.
    ir_drop : bool
        First-order IR drop along the word lines (driven from column 0) and bit lines (sensed
        at the last row) of every crossbar.
    wire_row_ohm, wire_col_ohm : float
        Wire resistance per cell pitch along a row and along a column, Ω: 1.468 and 4.405,
        DNN+NeuroSim V1.3's 32 nm wire (``Inference_pytorch/NeuroSIM/Param.cpp``: width 56 nm,
        aspect ratio 1.8, ρ = 3.70e-8 Ω m, so 3.70e-8 / (56e-9² · 1.8) = 6.555 Ω/µm) times
        its 1T1R cell, 4 F x 12 F (0.224 µm x 0.672 µm).
    ir_activity : float
        Mean fraction of a crossbar's input lines driven in one read, in ``(0, 1]``, which
        scales the bit-line (column) drop; 1.0 (chosen: every line driven, the worst case).
    """

    read_noise: bool = False
    read_noise_rel: float = 0.01
    drift: bool = False
    age_s: float = 1.0
    drift_scale: float = 1.0
    stuck: bool = False
    stuck_off_rate: float = 0.00087
    stuck_on_rate: float = 0.0
    stuck_off_us: float = 0.0
    ir_drop: bool = False
    wire_row_ohm: float = 1.468
    wire_col_ohm: float = 4.405
    ir_activity: float = 1.0

    def validate(self) -> None:
        for name in ("read_noise", "drift", "stuck", "ir_drop"):
            _flag(getattr(self, name), f"nonideal.{name}")
        for name in ("read_noise_rel", "drift_scale", "stuck_off_us", "wire_row_ohm",
                     "wire_col_ohm"):
            _non_negative(getattr(self, name), f"nonideal.{name}")
        _positive(self.age_s, "nonideal.age_s")
        for name in ("stuck_off_rate", "stuck_on_rate", "ir_activity"):
            value = getattr(self, name)
            _non_negative(value, f"nonideal.{name}")
            if value > 1:
                raise ValueError(f"nonideal.{name} must be in [0, 1], not {value!r}")
        if self.stuck_off_rate + self.stuck_on_rate > 1:
            raise ValueError(f"nonideal.stuck_off_rate + nonideal.stuck_on_rate must not exceed "
                             f"1, not {self.stuck_off_rate + self.stuck_on_rate!r}")
        if self.ir_activity == 0:
            raise ValueError("nonideal.ir_activity must be in (0, 1], not 0")

    @property
    def any_static(self) -> bool:
        """True when a read sees conductances other than the programmed ones (drift, IR)."""
        return self.drift or self.ir_drop


@dataclass
class ChipConfig:
    """The whole chip: the ``[chip]`` TOML table with one sub-table per member.

    Members
    -------
    tech : TechConfig
    device : DeviceConfig
    crossbar : CrossbarConfig
    programming : ProgrammingConfig
    datapath : DatapathConfig
    hierarchy : HierarchyConfig
    buffers : BufferConfig
    mapping : MappingConfig
    dram : DramConfig
    macro : MacroConfig
        The analog-neuron memristive macro of the third source paper (``models/macro``):
        its neuron, its 128 x 24 PE and the input time scale.
    nonideal : NonIdealConfig
        Read noise, drift with the chip's age, stuck devices and IR drop (all off by default).
    """

    tech: TechConfig = field(default_factory=TechConfig)
    device: DeviceConfig = field(default_factory=DeviceConfig)
    crossbar: CrossbarConfig = field(default_factory=CrossbarConfig)
    programming: ProgrammingConfig = field(default_factory=ProgrammingConfig)
    datapath: DatapathConfig = field(default_factory=DatapathConfig)
    hierarchy: HierarchyConfig = field(default_factory=HierarchyConfig)
    buffers: BufferConfig = field(default_factory=BufferConfig)
    mapping: MappingConfig = field(default_factory=MappingConfig)
    dram: DramConfig = field(default_factory=DramConfig)
    macro: MacroConfig = field(default_factory=MacroConfig)
    nonideal: NonIdealConfig = field(default_factory=NonIdealConfig)

    def validate(self) -> "ChipConfig":
        """Raise ``ValueError``/``TypeError`` (one line, naming the key) for an unusable chip;
        return ``self``."""
        for part in dataclasses.fields(self):
            value = getattr(self, part.name)
            expected = part.default_factory
            if not isinstance(value, expected):
                raise ValueError(f"chip.{part.name} must be a {expected.__name__}, "
                                 f"not {value!r}")
            value.validate()
        return self

    def updated(self, overrides: dict[str, Any]) -> "ChipConfig":
        """A deep copy with ``{"part.field": value, ...}`` applied (e.g. ``"crossbar.rows"``,
        or ``"macro.neuron.c_mem_f"`` inside a nested part), not validated (a sweep puts arrays
        in).

        Raises
        ------
        ValueError
            A path that names no field of the tree.
        """
        chip = copy.deepcopy(self)
        for path, value in overrides.items():
            part_name, _, field_name = str(path).partition(".")
            part = getattr(chip, part_name, None) if part_name in _PART_NAMES else None
            # Nested parts (macro.neuron.c_mem_f): walk down while the name is a dataclass.
            while part is not None and "." in field_name:
                head, _, rest = field_name.partition(".")
                inner = getattr(part, head, None) \
                    if head in {f.name for f in dataclasses.fields(part)} else None
                part = inner if dataclasses.is_dataclass(inner) else None
                field_name = rest
            if part is None or field_name not in {f.name for f in dataclasses.fields(part)}:
                raise ValueError(f"unknown chip field {path!r} (a part.field path such as "
                                 f"'crossbar.rows'; parts: {', '.join(_PART_NAMES)})")
            setattr(part, field_name, value)
        return chip

    @property
    def outputs_per_crossbar(self):
        """Logical outputs per crossbar: ``cols // 2`` differential, ``cols - 1`` offset (one
        column per crossbar is the reference)."""
        cols = self.crossbar.cols
        return cols // 2 if self.device.differential else cols - 1

    @property
    def write_tolerance_us(self) -> float:
        """Write-verify tolerance in µS (half a level step unless set)."""
        tol = self.programming.verify_tolerance_us
        return 0.5 * self.device.step if tol is None else float(tol)


_PART_NAMES = tuple(f.name for f in dataclasses.fields(ChipConfig))
