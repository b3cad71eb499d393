# SPDX-License-Identifier: MIT
"""Energy, latency and efficiency of one sample on the macro, from its activity.

Inputs: the activity counted by :class:`models.macro.network.MacroNetwork` (per sample: active
input rows per bin, conductance-weighted drive, device reads, spikes, neuron-bins, I/O edges),
the macro's configuration (:class:`MacroConfig`: supply, read voltage, bin on chip, membrane)
and the circuit constants of :class:`EnergyConfig` (180 nm, each with its unit and source or
derivation). Per sample:

* **TIA pair**: ``2 * tia_bias_a * supply_v * t_on`` per neuron, ``t_on`` the sample's latency
  (every neuron's TIAs are biased while the sample runs; analog current summation gives one
  TIA pair per neuron, ``docs/macro.md`` §4).
* **Soma**: ``soma_bias_a * supply_v * t_on`` per neuron (comparator and reset bias) plus
  ``c_spike_f * supply_v^2`` per spike (comparator output, reset switch, spike latch toggling).
  The charge that fills the membrane comes from the TIA's output stage, whose bias is counted
  above, so it is not charged again.
* **Array**: ``V_read^2 * G * x * chip_bin`` per device on a driven row: ``V_read^2 * chip_bin *
  g_drive_s`` with the actual read conductances (off and stuck devices included).
* **WL driver**: a driven row's word line (the access transistors' gates) swings to the supply
  once per active row-bin: ``c_wl_cell_f * devices_per_row * supply_v^2``.
* **SL driver**: a driven row's source line (parallel to the word line) is pulsed to ``V_read``:
  ``c_sl_cell_f * devices_per_row * read_v^2`` per active row-bin.
* **BL driver**: the column lines (bit lines into the TIAs) sit at the TIAs' virtual ground
  ``v_bl_ref_v``, charged once per sample: ``c_bl_cell_f * rows * row_pes * cols * col_pes *
  v_bl_ref_v^2`` per layer (every device hangs on one bit line).
* **I/O**: the input and output rasters streamed one bit per row and bin; each 0 -> 1 edge of a
  pad charges its load: ``io_rising_edges * c_io_f * v_io_v^2``.
* **Other** (controller, clock, bias generation): not modelled, 0.

Latency: ``bins * chip_bin`` (the input) + ``(layers - 1) * chip_bin`` (a spike drives the next
layer in the following bin, so the last input bin needs ``layers - 1`` more bins to reach the
output) + ``tia_settle_s``. Power = energy / latency.

Efficiency: one **synaptic operation** (SOP) is one weight -- a differential pair, counted
**once** -- receiving one input spike: ``sum_layers active_row_bins * out_features``.
``TSOPS/W = SOP / E / 1e12`` (SOP per pJ). :func:`efficiency` also gives the dense definitions
(every weight once per bin, and twice when both devices of a pair count).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .config import MacroConfig
from .network import MacroActivity

__all__ = ["EnergyConfig", "EnergyReport", "COMPONENTS", "PAPER_SPLIT_PERCENT",
           "PAPER_DVS_ENERGY_J", "PAPER_DVS_LATENCY_S", "PAPER_NMNIST_ENERGY_J",
           "PAPER_TSOPS_W", "PAPER_POWER_W", "sample_energy", "efficiency"]

#: Components of the breakdown, in the order of the published split.
COMPONENTS = ("tia", "soma", "array", "wl", "bl", "sl", "io", "other")

#: Published energy split, % (paper Fig. S13a via third-party notes, REFERENCE.md §3): neuron
#: 61.78 % = TIA pair 55.76 % + soma 6.02 %; controller 0.00 %.
PAPER_SPLIT_PERCENT = {"tia": 55.76, "soma": 6.02, "array": 10.51, "wl": 2.35, "bl": 2.47,
                       "sl": 8.37, "io": 13.97, "other": 0.56}
#: J per DVS128 Gesture sample (paper, REFERENCE.md §3).
PAPER_DVS_ENERGY_J = 1.94e-6
#: s per DVS128 Gesture sample (paper, REFERENCE.md §3).
PAPER_DVS_LATENCY_S = 44.31e-6
#: J per N-MNIST sample (paper, REFERENCE.md §3).
PAPER_NMNIST_ENERGY_J = 1.78e-6
#: TSOPS/W, measured (paper abstract); the SOP definition is not recoverable.
PAPER_TSOPS_W = 101.05
#: W with I/O (paper, REFERENCE.md §3): 1.94 µJ / 44.31 µs = 43.8 mW.
PAPER_POWER_W = 43.83e-3


@dataclass
class EnergyConfig:
    """Circuit constants of the energy model, 180 nm CMOS (the paper's node).

    None of these is recoverable from the paper (REFERENCE.md §3 gives only the split); each is
    chosen or derived as stated, never fitted to the published totals.

    Members
    -------
    tia_bias_a : float
        Bias current of one TIA, A (a neuron has two). 25 µA (derived): the TIA must settle
        within a fifth of a 100 ns bin, time constant 4 ns; with ~1 pF at its input (a
        128-cell bit line plus feedback and wiring) ``gm = C / tau = 1 pF / 4 ns = 0.25 mS``;
        at ``gm / I_D = 10 /V`` (moderate inversion, 180 nm) ``I_D = 25 µA``.
    soma_bias_a : float
        Comparator and reset bias of one soma, A. 2 µA (derived): a comparator resolving a
        crossing within 5 ns into ~50 fF needs ``gm = 50 fF / 5 ns = 10 µS``, ``I_D = 1 µA``
        at ``gm / I_D = 10``; doubled for the second stage and the reset logic (chosen).
    c_spike_f : float
        Capacitance switched per spike in the soma, F. 20 fF (chosen: comparator output,
        reset-switch gate and spike latch, about ten minimum gates of ~2 fF at 180 nm).
    c_wl_cell_f : float
        Word-line capacitance per cell, F. 1.9 fF (derived): access-transistor gate
        ``C_ox W L = 8.4 fF/µm² * 1 µm * 0.18 µm = 1.5 fF`` (``C_ox = 3.9 * 8.854e-12 F/m /
        4.1 nm`` for the 1.8 V oxide) plus wire ``0.2 fF/µm * 2 µm`` cell pitch = 0.4 fF
        (0.2 fF/µm: typical on-chip interconnect, Rabaey et al., Digital Integrated Circuits,
        ch. 4; 2 µm pitch chosen for a 1 µm-wide access device).
    c_sl_cell_f : float
        Source-line capacitance per cell, F. 0.9 fF (derived): source junction ``~1 fF/µm² *
        0.5 µm²`` = 0.5 fF (chosen 180 nm junction density) plus 0.4 fF of wire.
    c_bl_cell_f : float
        Bit-line capacitance per cell, F. 0.9 fF (derived as ``c_sl_cell_f``: drain junction
        plus wire).
    v_bl_ref_v : float
        Bit-line (TIA virtual-ground) voltage, V. 0.9 V (chosen: mid-supply of a single 1.8 V
        supply).
    c_io_f : float
        Load of one I/O pad, F. 2 pF (chosen: pad and ESD ~1 pF plus bond wire and package
        ~1 pF; a board trace would add more).
    v_io_v : float
        I/O swing, V. 1.8 V (chosen: I/O at the core supply).
    tia_settle_s : float
        Settling time of the output layer's TIA after the last bin, s. 20 ns (derived: five
        time constants of 4 ns, see ``tia_bias_a``).
    """

    tia_bias_a: float = 25e-6
    soma_bias_a: float = 2e-6
    c_spike_f: float = 20e-15
    c_wl_cell_f: float = 1.9e-15
    c_sl_cell_f: float = 0.9e-15
    c_bl_cell_f: float = 0.9e-15
    v_bl_ref_v: float = 0.9
    c_io_f: float = 2e-12
    v_io_v: float = 1.8
    tia_settle_s: float = 20e-9

    def validate(self, where: str = "energy") -> "EnergyConfig":
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{where}.{f.name} must be a number, not {value!r}")
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{where}.{f.name} must be a finite number >= 0, not "
                                 f"{value!r}")
        return self


@dataclass
class EnergyReport:
    """Energy per sample by component, latency and efficiency.

    Members
    -------
    energy_j : dict of str to ndarray, shape ``(B,)``
        J per sample for each of :data:`COMPONENTS`.
    latency_s : float
        s per sample.
    synaptic_ops : ndarray, shape ``(B,)``
    dense_synapse_steps : int
    """

    energy_j: dict
    latency_s: float
    synaptic_ops: np.ndarray
    dense_synapse_steps: int

    @property
    def total_j(self) -> np.ndarray:
        """J per sample, all components."""
        return sum(self.energy_j[c] for c in COMPONENTS)

    @property
    def power_w(self) -> np.ndarray:
        """Average power while a sample runs, W: energy / latency."""
        return self.total_j / self.latency_s

    def split_percent(self) -> dict:
        """Share of each component in the summed energy of all samples, %."""
        total = float(np.sum(self.total_j))
        return {c: 100.0 * float(np.sum(self.energy_j[c])) / total for c in COMPONENTS}

    def mean(self) -> dict:
        """Means over the samples, as plain numbers (J, s, W, TSOPS/W)."""
        eff = efficiency(self)
        return {"energy_j": float(np.mean(self.total_j)),
                "components_j": {c: float(np.mean(self.energy_j[c])) for c in COMPONENTS},
                "split_percent": self.split_percent(), "latency_s": self.latency_s,
                "power_w": float(np.mean(self.power_w)), **eff}


def sample_energy(activity: MacroActivity, config: MacroConfig,
                  energy: EnergyConfig | None = None) -> EnergyReport:
    """Energy per sample of ``activity`` on the macro ``config`` (see the module docstring)."""
    if not isinstance(activity, MacroActivity):
        raise TypeError(f"activity must be a MacroActivity, not {activity!r}")
    config.validate()
    e = (EnergyConfig() if energy is None else energy).validate()
    vdd, v_read = config.neuron.supply_v, config.pe.read_v
    chip_bin = activity.chip_bin_s
    n_layers = len(activity.layers)
    latency = (activity.bins + n_layers - 1) * chip_bin + e.tia_settle_s
    neurons = activity.neurons
    zeros = np.zeros(activity.samples)
    spikes = sum(la.spikes for la in activity.layers)
    active = [la.active_row_bins for la in activity.layers]
    out = {
        "tia": zeros + neurons * 2 * e.tia_bias_a * vdd * latency,
        "soma": neurons * e.soma_bias_a * vdd * latency + spikes * e.c_spike_f * vdd ** 2,
        "array": v_read ** 2 * chip_bin * sum(la.g_drive_s for la in activity.layers),
        "wl": sum(a * la.devices_per_row * e.c_wl_cell_f * vdd ** 2
                  for a, la in zip(active, activity.layers)),
        "sl": sum(a * la.devices_per_row * e.c_sl_cell_f * v_read ** 2
                  for a, la in zip(active, activity.layers)),
        "bl": zeros + sum(la.pes * la.rows * la.cols for la in activity.layers)
        * e.c_bl_cell_f * e.v_bl_ref_v ** 2,
        "io": activity.io_rising_edges * e.c_io_f * e.v_io_v ** 2,
        "other": zeros.copy(),
    }
    out = {c: np.asarray(out[c], dtype=np.float64) for c in COMPONENTS}
    return EnergyReport(out, latency, activity.synaptic_ops, activity.dense_synapse_steps)


def efficiency(report: EnergyReport) -> dict:
    """TSOPS/W under three definitions of a synaptic operation (means over samples).

    ``tsops_w``: event-driven SOPs (a pair receiving an input spike, counted once), the model's
    definition; ``tsops_w_dense``: every weight once per bin; ``tsops_w_dense_devices``: every
    device once per bin (a pair counted twice). Each is SOP / J / 1e12.
    """
    total = float(np.sum(report.total_j))
    n = len(report.total_j)
    sop = float(np.sum(report.synaptic_ops))
    dense = report.dense_synapse_steps * n
    return {"synaptic_ops": sop / n, "dense_synapse_steps": report.dense_synapse_steps,
            "tsops_w": sop / total / 1e12, "tsops_w_dense": dense / total / 1e12,
            "tsops_w_dense_devices": 2 * dense / total / 1e12}
