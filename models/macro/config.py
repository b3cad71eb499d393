# SPDX-License-Identifier: MIT
"""Typed description of the analog-neuron memristive macro (the third source paper).

The paper (arXiv 2509.04960, ``shared/REFERENCE.md`` §3; "the paper" below) integrates a
128 x 24 1T1R RRAM array with custom analog neurons on a 180 nm CMOS chip. A signed weight is a
differential column pair (``G+ - G-``), so one 128 x 24 processing element (PE) feeds 12
neurons. A neuron is a transimpedance-amplifier (TIA) pair sensing the pair's column currents
plus a soma: an RC membrane, a comparator, a reset and a refractory period.

:class:`MacroConfig` is meant to join the chip description (``models/chip.py``) as its
``macro`` part; it follows the house pattern there: plain dataclasses, ``validate()`` raising a
one-line ``ValueError`` (``TypeError`` for a wrong type) naming the key, e.g.
``macro.neuron.c_mem_f must be a positive number, not 0.0``. Nothing here imports torch.

Time scale. The neuron's parameters are given at the data's own time scale (``k = 1``). At a
time scale ``k`` the input is compressed ``k``-fold (a bin ``dt`` becomes ``dt / k``) and the
capacitor, the refractory time and the spike width shrink by ``1 / k``
(:meth:`NeuronConfig.at_scale`); conductances, currents and voltages are unchanged. The
defaults are chosen so that at the paper's ``k = 50,000`` the membrane capacitor is a compact
1 pF on-chip capacitor.

Values the paper gives are marked "paper" (all from third-party notes on the full text,
REFERENCE.md §3); values it does not give are marked "chosen" with the reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ...golden.params import check_int

__all__ = ["REFRACTORY_MODES", "PAPER_TIME_SCALE", "PAPER_CHIP_BIN_S", "NeuronConfig",
           "PEConfig", "MacroConfig"]

#: How the refractory period is timed (``models/macro/neuron.py``): ``"continuous"`` holds the
#: membrane at reset for ``t_ref`` from the threshold crossing (the free-running circuit);
#: ``"aligned"`` holds it to the end of the crossing's input bin and then for
#: ``ceil(t_ref / dt)`` whole bins (a reset released by the bin clock), the case in which the
#: golden discrete layer (``golden/analog_lif.py``) is exact.
REFRACTORY_MODES = ("continuous", "aligned")

#: Input acceleration of the paper's DVS128 Gesture run: a 1.5 s gesture replayed in 30 µs,
#: 1.5 s / 30 µs = 50,000 (paper, REFERENCE.md §3).
PAPER_TIME_SCALE = 50_000
#: Input bin on the chip, s: 100 ns (paper: 300 bins per 30 µs sample, 30 µs / 300 = 100 ns).
PAPER_CHIP_BIN_S = 100e-9

# Chosen chip-scale design point the k = 1 defaults are derived from (see NeuronConfig).
#: F, 1 pF on chip at k = 50,000: a MIM capacitor of ~1000 µm² at ~1 fF/µm² (chosen).
_CHIP_C_MEM_F = 1e-12
#: s, membrane time constant on chip: 10 bins of 100 ns (chosen).
_CHIP_TAU_S = 1e-6


def _int(value, where: str, lo: int, hi: int | None = None) -> None:
    check_int(value, name=where, minimum=lo, maximum=hi)


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{where} must be finite, not {value!r}")
    return float(value)


def _positive(value, where: str) -> None:
    if _number(value, where) <= 0:
        raise ValueError(f"{where} must be a positive number, not {value!r}")


def _non_negative(value, where: str) -> None:
    if _number(value, where) < 0:
        raise ValueError(f"{where} must be >= 0, not {value!r}")


def _choice(value, where: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{where} must be one of {', '.join(choices)}, not {value!r}")


def check_time_scale(k, where: str = "time_scale") -> float:
    """Return the time scale ``k`` as a float after checking it is a positive finite number."""
    _positive(k, where)
    return float(k)


@dataclass
class NeuronConfig:
    """One analog neuron: TIA pair, RC membrane, comparator, reset, refractory period.

    All values at the data's time scale (``k = 1``); :meth:`at_scale` gives the circuit at
    another ``k``. The membrane obeys, between events,

        ``c_mem_f * dV/dt = -g_leak_s * V + tia_gain * I_diff``

    with ``I_diff = V_read * sum_rows x * (G+ - G-)`` the pair's differential column current
    (A). The membrane rests at ground (0 V) and cannot go below it (the lower rail of a
    single-supply circuit); it fires when it reaches ``v_th_v``, is set to ``v_reset_v`` and held
    there for ``t_ref_s``.

    Members
    -------
    c_mem_f : float
        Membrane capacitor at ``k = 1``, F. 50 nF (chosen, derived): the paper's capacitor
        value is not recoverable; we choose a compact 1 pF on chip at ``k = 50,000``
        (~1000 µm² of MIM capacitor at ~1 fF/µm², a 180 nm value), so
        ``C(k=1) = 1 pF * 50,000 = 50 nF`` -- the capacitor an unscaled neuron would need,
        which is the paper's argument for time scaling.
    g_leak_s : float
        Leak conductance, S. 1 µS (chosen, derived): ``tau = C / g`` = 1 µs on chip
        (10 bins of 100 ns, ``beta = exp(-0.1) = 0.905`` per bin), so
        ``g = 1 pF / 1 µs = 1 µS``; ``tau(k=1) = 50 nF / 1 µS = 50 ms``. Not scaled with ``k``.
    v_th_v : float
        Comparator threshold, V. 0.5 V (chosen: mid-range of the 1.8 V supply, leaving headroom
        for the TIA output swing; not recoverable from the paper).
    v_reset_v : float
        Reset voltage, V. 0 V (chosen: reset to ground, the rest potential).
    tia_gain : float
        Dimensionless current gain from the differential column current to the membrane
        current (TIA transimpedance times the soma's input transconductance, e.g. 5 kΩ x
        10 µS). 0.05 (chosen): one active full-scale device pair (150 µS x 0.2 V = 30 µA)
        drives 1.5 µA, an asymptote ``1.5 µA / 1 µS = 1.5 V`` and a step of
        ``(1 - 0.905) * 1.5 V = 0.14 V`` per bin from rest, about a quarter of the threshold.
    t_ref_s : float
        Refractory time at ``k = 1``, s. 2.5 ms (chosen: 50 ns on chip at ``k = 50,000``, half a
        bin, long enough for the comparator and reset switch to settle).
    spike_width_s : float
        Output spike width at ``k = 1``, s. 5 ms (chosen: one 100 ns input bin on chip at
        ``k = 50,000``, so a spike drives the next layer's rows for exactly one bin and the next
        layer's input stays piecewise constant per bin). Used by the next layer and the energy
        model, not by the neuron's own dynamics.
    supply_v : float
        Supply voltage, V. 1.8 V (the nominal core supply of a 180 nm CMOS process; the chip's
        node is 180 nm, paper).
    refractory : str
        ``"continuous"`` (default, the free-running circuit) or ``"aligned"``; see
        :data:`REFRACTORY_MODES`.
    """

    c_mem_f: float = _CHIP_C_MEM_F * PAPER_TIME_SCALE
    g_leak_s: float = _CHIP_C_MEM_F / _CHIP_TAU_S
    v_th_v: float = 0.5
    v_reset_v: float = 0.0
    tia_gain: float = 0.05
    t_ref_s: float = 50e-9 * PAPER_TIME_SCALE
    spike_width_s: float = PAPER_CHIP_BIN_S * PAPER_TIME_SCALE
    supply_v: float = 1.8
    refractory: str = "continuous"

    def validate(self, where: str = "neuron") -> None:
        _positive(self.c_mem_f, f"{where}.c_mem_f")
        _positive(self.g_leak_s, f"{where}.g_leak_s")
        _positive(self.v_th_v, f"{where}.v_th_v")
        _non_negative(self.v_reset_v, f"{where}.v_reset_v")
        _positive(self.tia_gain, f"{where}.tia_gain")
        _non_negative(self.t_ref_s, f"{where}.t_ref_s")
        _positive(self.spike_width_s, f"{where}.spike_width_s")
        _positive(self.supply_v, f"{where}.supply_v")
        _choice(self.refractory, f"{where}.refractory", REFRACTORY_MODES)
        if self.v_reset_v >= self.v_th_v:
            raise ValueError(f"{where}.v_reset_v ({self.v_reset_v!r} V) must be below "
                             f"{where}.v_th_v ({self.v_th_v!r} V)")
        if self.v_th_v >= self.supply_v:
            raise ValueError(f"{where}.v_th_v ({self.v_th_v!r} V) must be below "
                             f"{where}.supply_v ({self.supply_v!r} V)")

    @property
    def tau_s(self) -> float:
        """Membrane time constant ``c_mem_f / g_leak_s``, s."""
        return self.c_mem_f / self.g_leak_s

    def at_scale(self, k: float) -> "NeuronConfig":
        """The same neuron for input compressed ``k``-fold: capacitor, refractory time and spike
        width divided by ``k``; conductances and voltages unchanged."""
        k = check_time_scale(k)
        return replace(self, c_mem_f=self.c_mem_f / k, t_ref_s=self.t_ref_s / k,
                       spike_width_s=self.spike_width_s / k)


@dataclass
class PEConfig:
    """One 1T1R processing element: array size, conductance states, read voltage, defects.

    Members
    -------
    rows, cols : int
        Array size: 128 x 24 (paper). Columns pair up as ``(G+, G-)``, so a PE feeds
        ``cols // 2`` = 12 neurons (paper).
    levels : int
        Programmable conductance states per device: 15 (paper), evenly spaced.
    g_max_us : float
        Highest state, µS: 150 (paper: "15 evenly spaced states within 150 µS"). We read this
        as the states ``0, step, ..., 14 step`` with ``step = 150 / 14 = 10.71 µS`` and state 0
        the off state (chosen reading; the paper's exact placement is not recoverable).
    g_off_us : float
        Off-state bound, µS: a device in state 0, or stuck off, reads a conductance drawn
        uniformly in ``[0, g_off_us)``. 4 µS (paper: stuck-off devices lie below ~4 µS; the
        uniform distribution is chosen). The level spacing must exceed it, or state 1 could not
        be told from an off device.
    read_v : float
        Read voltage across a driven row's devices, V: 0.2 (paper).
    sigma_us : float
        Programming spread of a programmed device (state >= 1), Gaussian, µS, absolute. 2 µS
        (chosen: the paper's spread is not recoverable; 2.0 µS is the peak of the published
        NeuRRAM fit, aihwkit ``ReRamWan2022NoiseModel`` at ``g / g_max = 0.5``,
        ``0.348 + 16.030/2 - 43.853/4 + 45.393/8 - 16.815/16 = 2.02 µS``, REFERENCE.md §1).
    stuck_off_fraction : float
        Fraction of devices stuck in the off state whatever they are programmed to. 0.01
        (chosen: the paper reports stuck-off devices but not their share).
    """

    rows: int = 128
    cols: int = 24
    levels: int = 15
    g_max_us: float = 150.0
    g_off_us: float = 4.0
    read_v: float = 0.2
    sigma_us: float = 2.0
    stuck_off_fraction: float = 0.01

    def validate(self, where: str = "pe") -> None:
        _int(self.rows, f"{where}.rows", 1, 4096)
        _int(self.cols, f"{where}.cols", 2, 4096)
        if self.cols % 2:
            raise ValueError(f"{where}.cols must be even (differential column pairs), "
                             f"not {self.cols!r}")
        _int(self.levels, f"{where}.levels", 2)
        _positive(self.g_max_us, f"{where}.g_max_us")
        _non_negative(self.g_off_us, f"{where}.g_off_us")
        _positive(self.read_v, f"{where}.read_v")
        _non_negative(self.sigma_us, f"{where}.sigma_us")
        f = _number(self.stuck_off_fraction, f"{where}.stuck_off_fraction")
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"{where}.stuck_off_fraction must be in [0, 1], not {f!r}")
        if self.step_us <= self.g_off_us:
            raise ValueError(
                f"{where}.levels = {self.levels} leaves {self.step_us:.4g} µS between states, "
                f"not above the {self.g_off_us!r} µS off-state bound: at most "
                f"{self.max_levels} levels fit in {self.g_max_us!r} µS")

    @property
    def step_us(self) -> float:
        """Spacing of adjacent states, µS: ``g_max_us / (levels - 1)``."""
        return self.g_max_us / (self.levels - 1)

    @property
    def max_levels(self) -> int:
        """Most states whose spacing ``g_max / (L - 1)`` still exceeds ``g_off_us``."""
        if self.g_off_us <= 0:
            raise ValueError("with no off-state bound any number of levels fits")
        return math.ceil(self.g_max_us / self.g_off_us - 1e-12)

    @property
    def neurons(self) -> int:
        """Neurons a PE feeds: one per differential column pair, ``cols // 2``."""
        return self.cols // 2


@dataclass
class MacroConfig:
    """The analog-neuron macro: its neuron, its PE and the input time scale.

    Members
    -------
    neuron : NeuronConfig
    pe : PEConfig
    time_scale : float
        Input acceleration ``k``: 50,000 (paper).
    chip_bin_s : float
        Input bin on chip, s: 100 ns (paper); the bin at the data's time scale is
        ``chip_bin_s * time_scale`` = 5 ms.
    """

    neuron: NeuronConfig = field(default_factory=NeuronConfig)
    pe: PEConfig = field(default_factory=PEConfig)
    time_scale: float = float(PAPER_TIME_SCALE)
    chip_bin_s: float = PAPER_CHIP_BIN_S

    def validate(self) -> None:
        if not isinstance(self.neuron, NeuronConfig):
            raise TypeError(f"macro.neuron must be a NeuronConfig, not {self.neuron!r}")
        if not isinstance(self.pe, PEConfig):
            raise TypeError(f"macro.pe must be a PEConfig, not {self.pe!r}")
        self.neuron.validate("macro.neuron")
        self.pe.validate("macro.pe")
        check_time_scale(self.time_scale, "macro.time_scale")
        _positive(self.chip_bin_s, "macro.chip_bin_s")

    @property
    def data_bin_s(self) -> float:
        """Input bin at the data's time scale, s: ``chip_bin_s * time_scale``."""
        return self.chip_bin_s * self.time_scale
