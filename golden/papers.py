# SPDX-License-Identifier: MIT
"""The source papers' reported numbers, stated once: reports and tests read them from here.

Values are copied from the papers as ``shared/REFERENCE.md`` records them; a derived value shows
its working. Nothing in dfasim is tuned to these numbers: they are printed beside ours.
Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Table1Row", "DFA_SIM_TABLE1", "DFA_SIM_TABLE2", "DFA_SIM_DRAM_ENERGY_HHAR",
           "DFA_SIM_RATIO_RANGES", "dfa_sim_row_for", "PIPESDFA_ACCURACY",
           "PIPESDFA_SPEEDUP_RANGE", "PIPESDFA_ENERGY_SAVING_RANGE"]


@dataclass(frozen=True)
class Table1Row:
    """One row of DFA_Sim Table I (arXiv 2502.06736).

    Accuracies are in %. Energy, latency and area are in the paper's units, which are not
    recoverable (REFERENCE.md §1); only their DFA / BP ratios are compared.

    Members
    -------
    network : str
        Name in :data:`dfasim.golden.networks.NETWORKS`.
    timesteps : int
    fp32, nonideal, bp, dfa : float
        FP32 accuracy, on the noisy crossbars before adaptation, after BP and after DFA
        adaptation.
    energy, latency, area : tuple of float
        ``(BP, DFA)`` per adaptation epoch (area per chip).
    """

    network: str
    timesteps: int
    fp32: float
    nonideal: float
    bp: float
    dfa: float
    energy: tuple[float, float]
    latency: tuple[float, float]
    area: tuple[float, float]

    def ratio(self, quantity: str) -> float:
        """DFA / BP of ``"energy"``, ``"latency"`` or ``"area"``."""
        bp, dfa = getattr(self, quantity)
        return dfa / bp

    @property
    def ratios(self) -> dict[str, float]:
        return {q: self.ratio(q) for q in ("energy", "latency", "area")}


#: DFA_Sim Table I, keyed by dataset, in the paper's row order.
DFA_SIM_TABLE1: dict[str, Table1Row] = {
    "fashion_mnist": Table1Row("fashion_mnist", 5, 88.55, 61.92, 83.55, 85.12,
                               (0.0181, 0.0072), (1.9, 0.947), (23.1, 20.1)),
    "uci_har": Table1Row("uci_har", 128, 89.68, 57.22, 84.93, 85.61,
                         (0.0979, 0.0316), (15.7, 8.24), (21.7, 19.5)),
    "hhar": Table1Row("hhar", 100, 90.77, 39.6, 75.0, 82.55,
                      (0.132, 0.0474), (18.1, 8.67), (21.7, 19.5)),
}

#: DRAM access energy of the HHAR row, the same for BP and DFA, in the energy column's unit.
DFA_SIM_DRAM_ENERGY_HHAR = 17.7


def _span(quantity: str) -> tuple[float, float]:
    values = [row.ratio(quantity) for row in DFA_SIM_TABLE1.values()]
    return round(min(values), 2), round(max(values), 2)


#: Smallest and largest DFA / BP ratio over the three rows, rounded to two decimals:
#: energy 0.32-0.40, latency 0.48-0.52, area 0.87-0.90.
DFA_SIM_RATIO_RANGES: dict[str, tuple[float, float]] = {
    q: _span(q) for q in ("energy", "latency", "area")}

#: DFA_Sim Table II, the accelerator every cost figure defaults to (the chip description's
#: defaults read these). The conductance range's label is lost in the text; [1, 10] µS is the
#: reading REFERENCE.md §1 gives.
DFA_SIM_TABLE2: dict[str, float] = {
    "node_nm": 32.0,
    "clock_ghz": 1.0,
    "global_buffer_kb": 16.0,
    "tile_buffer_kb": 4.0,
    "pe_buffer_kb": 1.0,
    "pes_per_tile": 4,
    "crossbars_per_pe": 4,
    "crossbar_rows": 256,
    "crossbar_cols": 256,
    "cell_bits": 4,
    "g_min_us": 1.0,
    "g_max_us": 10.0,
    "dac_bits": 1,
    "adc_bits": 4,
}


def dfa_sim_row_for(layers) -> Table1Row | None:
    """The Table I row whose network has these layer sizes, if any."""
    from .networks import NETWORKS

    for row in DFA_SIM_TABLE1.values():
        if tuple(NETWORKS[row.network].layers) == tuple(layers):
            return row
    return None


#: PipeSDFA (arXiv 2507.15603) test accuracy in %, ``(BP, SDFA)``, by network name
#: (``golden.networks``), trained on the full datasets.
PIPESDFA_ACCURACY: dict[str, tuple[float, float]] = {
    "pipesdfa-nmnist-2fc": (98.52, 97.92),
    "pipesdfa-nmnist-3fc": (98.46, 97.97),
    "pipesdfa-nmnist-4fc": (98.38, 97.95),
    "pipesdfa-nmnist-5fc": (97.87, 97.82),
    "pipesdfa-shd": (74.09, 73.29),
    "pipesdfa-braille": (99.62, 99.26),
    "pipesdfa-dvsgesture-convnet": (95.14, 93.75),
    "pipesdfa-dvsgesture-vgg11": (88.92, 92.36),
}

#: PipeSDFA against PipeLayer: training-time speed-up and energy saving, smallest and largest.
PIPESDFA_SPEEDUP_RANGE = (1.1, 10.5)
PIPESDFA_ENERGY_SAVING_RANGE = (1.37, 2.1)
