# SPDX-License-Identifier: MIT
"""Hardware configuration of the tiled BP / DFA training accelerator, with Table II defaults.

The tree is plain typed dataclasses so ``flows.config`` can load it from a ``[hardware]`` TOML
table and write it back. Defaults are DFA_Sim Table II (REFERENCE.md §1): 32 nm, 1 GHz, global /
tile / PE buffers of 16 / 4 / 1 KB, 4 PEs per tile, 4 crossbars per PE, 256 x 256 crossbars,
4-bit cells in [1, 10] µS, a 1-bit spike decoder and 4-bit ADCs. Everything else (datapath word
widths, mux ratio, lanes of the digital units) follows the project's own models and RTL.
:meth:`HardwareConfig.validate` raises ``ValueError`` with one line naming the offending key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["TechConfig", "CrossbarHW", "BufferConfig", "HierarchyConfig", "MappingConfig",
           "DatapathConfig", "DramConfig", "HardwareConfig"]


def _int(value, where: str, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (
            hi is not None and value > hi):
        rng = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{where} must be an integer {rng}, not {value!r}")


def _pos(value, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{where} must be a positive number, not {value!r}")


@dataclass
class TechConfig:
    """Process node and clock.

    Members
    -------
    node_nm : float
        CMOS node; constants given at another node are scaled to it
        (:func:`dfasim.models.cost.components.scale`). Table II: 32 nm.
    clock_ghz : float
        Digital clock; one cycle is ``1 / clock_ghz`` ns. Table II: 1 GHz.
    """

    node_nm: float = 32.0
    clock_ghz: float = 1.0

    def validate(self) -> None:
        _pos(self.node_nm, "tech.node_nm")
        _pos(self.clock_ghz, "tech.clock_ghz")


@dataclass
class CrossbarHW:
    """One analog crossbar and its peripherals.

    Members
    -------
    rows, cols : int
        Crossbar size (Table II: 256 x 256).
    cell_bits : int
        Bits per RRAM cell (Table II: 4).
    g_min_us, g_max_us : float
        Conductance window in µS (Table II: [1, 10]).
    differential : bool
        Two devices (columns) per weight, the default mapping of ``models/crossbar.py``;
        False: one device per weight (offset mapping).
    adc_bits : int
        Column (and, for BP, row) ADC resolution (Table II: 4).
    dac_bits : int
        Spike-decoder (row driver) resolution (Table II: 1); multi-bit words are bit-serial.
    lines_per_adc : int
        Columns (rows) sharing one ADC through an analog mux; 8 as SpikeSim's 8:1 mux.
    """

    rows: int = 256
    cols: int = 256
    cell_bits: int = 4
    g_min_us: float = 1.0
    g_max_us: float = 10.0
    differential: bool = True
    adc_bits: int = 4
    dac_bits: int = 1
    lines_per_adc: int = 8

    def validate(self) -> None:
        _int(self.rows, "crossbar.rows", 2, 4096)
        _int(self.cols, "crossbar.cols", 2, 4096)
        _int(self.cell_bits, "crossbar.cell_bits", 1, 8)
        _pos(self.g_min_us, "crossbar.g_min_us")
        _pos(self.g_max_us, "crossbar.g_max_us")
        if self.g_min_us >= self.g_max_us:
            raise ValueError(f"crossbar.g_min_us ({self.g_min_us!r}) must be below "
                             f"crossbar.g_max_us ({self.g_max_us!r})")
        if not isinstance(self.differential, bool):
            raise ValueError(f"crossbar.differential must be true or false, not "
                             f"{self.differential!r}")
        _int(self.adc_bits, "crossbar.adc_bits", 1, 16)
        _int(self.dac_bits, "crossbar.dac_bits", 1, 8)
        _int(self.lines_per_adc, "crossbar.lines_per_adc", 1, 4096)
        if self.lines_per_adc > min(self.rows, self.cols):
            raise ValueError(f"crossbar.lines_per_adc ({self.lines_per_adc}) exceeds the "
                             f"crossbar size {self.rows}x{self.cols}")

    @property
    def outputs_per_crossbar(self) -> int:
        """Logical outputs per crossbar: ``cols // 2`` differential, ``cols - 1`` offset."""
        return self.cols // 2 if self.differential else self.cols - 1


@dataclass
class BufferConfig:
    """On-chip SRAM buffers (Table II: 16 / 4 / 1 KB) and the SRAM macro they are built from.

    Members
    -------
    global_kb, tile_kb, pe_kb : float
        Capacities in KB (1 KB = 8192 bits).
    bank_kbit : float
        Largest SRAM sub-array; bigger memories are banked. 16 kbit is the NeuroSim buffer
        whose energy and area are the reference values of the SRAM model.
    """

    global_kb: float = 16.0
    tile_kb: float = 4.0
    pe_kb: float = 1.0
    bank_kbit: float = 16.0

    def validate(self) -> None:
        for name in ("global_kb", "tile_kb", "pe_kb", "bank_kbit"):
            _pos(getattr(self, name), f"buffers.{name}")


@dataclass
class HierarchyConfig:
    """Tiles, PEs and the widths of the digital units.

    Members
    -------
    pes_per_tile, crossbars_per_pe : int
        Table II: 4 and 4.
    max_tiles : int
        Tile budget of the chip (0: as many as the mapping needs).
    neuron_lanes : int
        LIF / GradLIF lanes per layer (one neuron update per lane per cycle); 16 as the
        default ``dfasim rtl`` GradLIF block.
    wgu_lanes : int
        Adders of one WGU bank (one gradient row chunk per cycle); 32 as the default WGU block.
    htree_bits : int
        Width of the global and local H-tree buses, bits per cycle.
    """

    pes_per_tile: int = 4
    crossbars_per_pe: int = 4
    max_tiles: int = 0
    neuron_lanes: int = 16
    wgu_lanes: int = 32
    htree_bits: int = 64

    def validate(self) -> None:
        _int(self.pes_per_tile, "hierarchy.pes_per_tile", 1, 1024)
        _int(self.crossbars_per_pe, "hierarchy.crossbars_per_pe", 1, 1024)
        _int(self.max_tiles, "hierarchy.max_tiles", 0)
        _int(self.neuron_lanes, "hierarchy.neuron_lanes", 1)
        _int(self.wgu_lanes, "hierarchy.wgu_lanes", 1)
        _int(self.htree_bits, "hierarchy.htree_bits", 1)

    @property
    def crossbars_per_tile(self) -> int:
        return self.pes_per_tile * self.crossbars_per_pe


@dataclass
class MappingConfig:
    """How matrices are placed (Sec. III: no two layers share a tile).

    Members
    -------
    weight_duplication : int
        Copies of every layer's weights (reads of one layer run on all copies in parallel;
        every copy is programmed on an update); 0: fill the crossbars left free in each layer's
        own tiles. Default 1 (no duplication).
    b_duplication : int
        Copies of the DFA feedback matrices in the B tile(s), for batch parallelism; 0: as
        many as fit (the paper's choice). Default 0.
    b_tiles : int
        Tiles reserved for the feedback matrices (the paper: one).
    """

    weight_duplication: int = 1
    b_duplication: int = 0
    b_tiles: int = 1

    def validate(self) -> None:
        _int(self.weight_duplication, "mapping.weight_duplication", 0)
        _int(self.b_duplication, "mapping.b_duplication", 0)
        _int(self.b_tiles, "mapping.b_tiles", 1)


@dataclass
class DatapathConfig:
    """Word widths of the digital datapath (the defaults of ``models/`` and ``golden/``).

    Members
    -------
    input_bits : int
        First-layer inputs and DFA output errors on the B matrices: sign-magnitude, applied
        bit-serially (``CrossbarConfig.input_bits``).
    error_bits : int
        BP errors on transposed reads (``CrossbarConfig.error_bits``).
    psum_bits, membrane_bits, delta_bits, grad_bits : int
        Partial sums, membranes, GradLIF deltas, WGU gradient words.
    """

    input_bits: int = 8
    error_bits: int = 8
    psum_bits: int = 16
    membrane_bits: int = 16
    delta_bits: int = 8
    grad_bits: int = 16

    def validate(self) -> None:
        for name in ("input_bits", "error_bits"):
            _int(getattr(self, name), f"datapath.{name}", 2, 24)
        for name in ("psum_bits", "membrane_bits", "delta_bits", "grad_bits"):
            _int(getattr(self, name), f"datapath.{name}", 1, 64)


@dataclass
class DramConfig:
    """Off-chip memory holding the training set; reported as its own line (as the paper does).

    Members
    -------
    pj_per_bit : float
        Access energy; default NeuroSim's HBM2 3.9 pJ/bit (REFERENCE.md §4).
    bits_per_value : int
        Stored width of one input value (the first layer's ``input_bits``).
    label_bits : int
        Stored width of one label.
    """

    pj_per_bit: float = 3.9
    bits_per_value: int = 8
    label_bits: int = 8

    def validate(self) -> None:
        _pos(self.pj_per_bit, "dram.pj_per_bit")
        _int(self.bits_per_value, "dram.bits_per_value", 1, 64)
        _int(self.label_bits, "dram.label_bits", 0, 64)


@dataclass
class HardwareConfig:
    """The whole accelerator: ``[hardware]`` TOML table with one sub-table per member."""

    tech: TechConfig = field(default_factory=TechConfig)
    crossbar: CrossbarHW = field(default_factory=CrossbarHW)
    buffers: BufferConfig = field(default_factory=BufferConfig)
    hierarchy: HierarchyConfig = field(default_factory=HierarchyConfig)
    mapping: MappingConfig = field(default_factory=MappingConfig)
    datapath: DatapathConfig = field(default_factory=DatapathConfig)
    dram: DramConfig = field(default_factory=DramConfig)

    def validate(self) -> "HardwareConfig":
        """Raise ``ValueError`` (one line, naming the key) for an unusable configuration."""
        for name in ("tech", "crossbar", "buffers", "hierarchy", "mapping", "datapath", "dram"):
            part = getattr(self, name)
            expected = type(getattr(HardwareConfig(), name))
            if not isinstance(part, expected):
                raise ValueError(f"hardware.{name} must be a {expected.__name__}, not {part!r}")
            part.validate()
        return self
