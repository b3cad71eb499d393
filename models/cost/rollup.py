# SPDX-License-Identifier: MIT
"""Energy, latency and area roll-up of one adaptation epoch, BP vs DFA.

Two sources of activity, one pricing:

* **activity mode**: the :class:`~dfasim.models.activity.ActivityCounters` recorded while the
  crossbar model ran the epoch (``dfasim adapt`` stores them in ``adapt.json``), so spike and
  error sparsity, skipped reads and real write counts are priced;
* **dense mode**: the expected value of the same counters from the layer sizes, timesteps,
  samples and a spike rate (:func:`dense_counts` mirrors the counting rules of
  ``models/crossbar.py`` and ``models/analog_network.py`` with every line active independently).

Each counter is priced by one component (docs/cost-model.md has the table): ``active_rows``
the cell currents, ``rows_driven`` the spike decoder, ``adc_conversions`` the ADC and its mux,
``psum_adds`` the shift-adders / accumulators, buffer bytes the SRAM buffers (update-phase
bytes the WGU's SRAM) plus the local H-tree, ``tile_bytes`` the global H-tree, ``lif_ops`` and
``gradlif_ops`` the neuron unit, ``wgu_macs`` the WGU adders (and a multiplier for the
multi-bit first-layer input), ``write_pulses`` / ``verify_reads`` the RRAM programming.

Latency per epoch: the forward pass is pipelined across layers (the slowest layer sets the
rate, the others add their fill); BP's backward pass runs layer after layer through the
transposed crossbars; DFA's reads all ``B_l`` at once (copies of B serve several samples) and
then runs every layer's GradLIF in parallel; updates run through the WGU layer by layer (BP)
or in all layers at once (DFA), then program the changed devices. Within a layer's stage the
crossbar reads, the neuron unit and the H-tree transfer add up (no overlap assumed).

Everything is numpy broadcasting: hardware parameters may be arrays (``sweep.py``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Mapping as TMapping, Sequence

import numpy as np

from ..activity import ActivityCounters, FIELDS
from . import components as K
from .floorplan import Floorplan, floorplan, htree_total_length
from .mapping import Mapping, check_layers, map_network

__all__ = ["ENERGY_COMPONENTS", "LATENCY_COMPONENTS", "AREA_COMPONENTS", "TRAINING_PHASES",
           "PAPER_RATIOS", "DenseSpec", "Workload", "dense_counts", "dense_workload",
           "activity_workload", "area_model", "unit_costs", "energy_model", "latency_model",
           "evaluate", "dram_energy", "SchemeResult", "Cells"]

ENERGY_COMPONENTS = ("crossbar", "decoder", "adc", "mux", "shift_add", "buffer", "htree",
                     "lif", "gradlif", "wgu", "rram_write")
LATENCY_COMPONENTS = ("tile", "neuron", "htree", "wgu", "rram_write")
AREA_COMPONENTS = ("crossbar", "decoder", "adc", "mux", "shift_add", "transpose_periphery",
                   "accumulator", "buffer", "htree", "neuron", "wgu")
#: Phases a training epoch is charged for (deploy, calibrate and inference are left out).
TRAINING_PHASES = ("forward", "backward", "update")

#: DFA / BP ratios of DFA_Sim Table I (REFERENCE.md §1), per network and as ranges.
PAPER_RATIOS: dict[str, Any] = {
    "range": {"energy": [0.32, 0.40], "latency": [0.48, 0.52], "area": [0.87, 0.90]},
    "networks": {
        "fashion_mnist": {"layers": [784, 512, 256, 128, 64, 10], "timesteps": 5,
                          "energy": 0.0072 / 0.0181, "latency": 0.947 / 1.9,
                          "area": 20.1 / 23.1},
        "uci_har": {"layers": [9, 128, 64, 32, 6], "timesteps": 128,
                    "energy": 0.0316 / 0.0979, "latency": 8.24 / 15.7, "area": 19.5 / 21.7},
        "hhar": {"layers": [6, 256, 128, 64, 6], "timesteps": 100,
                 "energy": 0.0474 / 0.132, "latency": 8.67 / 18.1, "area": 19.5 / 21.7},
    },
}

Cells = dict[tuple[str, str], dict[str, Any]]


# --- workloads --------------------------------------------------------------------------------

@dataclass
class DenseSpec:
    """Network and data for the dense analytical mode.

    Members
    -------
    layers : list of int
        Layer sizes, input first.
    timesteps : int
        ``T``.
    samples_per_epoch : int
        Training samples of one adaptation epoch.
    batch_size : int
        Samples per update (the paper: 50).
    spike_rate : float
        Probability that a hidden neuron spikes in a timestep (every hidden layer). Default
        0.38: the mean input spike rate of the hidden layers measured on the UCI-HAR
        adaptation run (``runs/acceptance/adapt-uci_har``, first epoch: 0.26 / 0.41 / 0.46).
    bit_density : float
        Probability that a magnitude bit of a multi-bit word (first-layer inputs, errors) is 1;
        signs are taken as balanced.
    write_fraction : float
        Fraction of devices re-programmed per batch (the UCI-HAR run measured 0.05-0.4 %; the
        default 1 % is an upper bound; write energy stays negligible either way).
    sequence : bool
        True for time series (a new input vector each timestep), False for static inputs
        repeated every timestep; only the DRAM line depends on it.
    name : str
        Label for reports.
    """

    layers: list[int]
    timesteps: int
    samples_per_epoch: int
    batch_size: int = 50
    spike_rate: float = 0.38
    bit_density: float = 0.5
    write_fraction: float = 0.01
    sequence: bool = True
    name: str = ""

    def validate(self) -> "DenseSpec":
        """Raise ``ValueError`` (one line) for values no epoch could have."""
        self.layers = check_layers(self.layers)
        for name in ("timesteps", "samples_per_epoch", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        for name in ("spike_rate", "bit_density", "write_fraction"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], not {v!r}")
        return self


@dataclass
class Workload:
    """Per-scheme counters of one epoch and the network they belong to.

    Members
    -------
    layers : list of int
    timesteps, batch_size : int
    samples : float
        Samples per epoch.
    sequence : bool
        Time-series input (DRAM holds ``T`` vectors per sample).
    counts : dict
        ``{scheme: {(matrix, phase): {counter: value}}}``, training phases only.
    mode : str
        ``"activity"`` or ``"dense"``.
    source : str
        Where the counts come from.
    spike_rate : float or None
        Dense mode's assumption; activity mode: the measured mean input spike rate of the
        hidden layers.
    """

    layers: list[int]
    timesteps: int
    batch_size: int
    samples: float
    sequence: bool
    counts: dict[str, Cells]
    mode: str
    source: str = ""
    spike_rate: float | None = None

    @property
    def batches(self) -> float:
        return float(math.ceil(self.samples / self.batch_size))


def _bytes(n, bits):
    return np.ceil(np.asarray(n, float) * bits / 8.0)


def _tiles(n, size, q):
    """Tiling of ``n`` lines in tiles of ``size`` with lines active with probability ``q``:
    ``(tiles, sum_t P[tile active], sum_t P[tile active] * lines_t)``."""
    size = np.asarray(size, float)
    t = np.ceil(n / size)
    last = n - size * (t - 1)
    p_full = 1.0 - (1.0 - q) ** size
    p_last = 1.0 - (1.0 - q) ** last
    return t, (t - 1) * p_full + p_last, (t - 1) * p_full * size + p_last * last


def _add(cells: Cells, key: tuple[str, str], **counts) -> None:
    cell = cells.setdefault(key, {})
    for k, v in counts.items():
        cell[k] = cell.get(k, 0.0) + v


def _forward_read(cells, key, p, n_out, n_in, vectors, planes, q, word_bits):
    """Expected counts of ``AnalogMatrix.forward`` (row-side drive, column ADCs)."""
    opx = np.where(p.differential, np.asarray(p.cols) // 2, np.asarray(p.cols) - 1)
    c = np.ceil(n_out / opx.astype(float))
    _, s_p, s_pm = _tiles(n_in, p.rows, q)
    n_conv = np.where(p.differential, 2.0 * n_out, n_out + c)
    per = vectors * planes
    _add(cells, key, reads=per * s_p * c, active_rows=per * n_in * q * c,
         rows_driven=per * s_pm * c, adc_conversions=per * s_p * n_conv,
         psum_adds=per * s_p * 2.0 * n_out,
         buffer_read_bytes=vectors * _bytes(n_in, word_bits),
         buffer_write_bytes=vectors * _bytes(n_out, p.psum_bits))


def _transpose_read(cells, key, p, n_out, n_in, vectors, q):
    """Expected counts of ``AnalogMatrix.transpose`` (column-side drive, row ADCs), two column
    phases per bit plane."""
    opx = np.where(p.differential, np.asarray(p.cols) // 2, np.asarray(p.cols) - 1)
    q_ph = np.where(p.differential, q, q / 2.0)
    _, s_p, s_pm = _tiles(n_out, opx, q_ph)
    r = np.ceil(n_in / np.asarray(p.rows, float))
    dpw = np.where(p.differential, 2.0, 1.0)
    per = 2.0 * vectors * (np.asarray(p.error_bits) - 1)
    _add(cells, key, reads=per * s_p * r, active_rows=per * n_out * q_ph * r,
         rows_driven=per * s_pm * dpw * r, adc_conversions=per * s_p * n_in,
         psum_adds=per * s_p * n_in,
         buffer_read_bytes=vectors * _bytes(n_out, p.error_bits),
         buffer_write_bytes=vectors * _bytes(n_in, p.psum_bits))


def _gradlif(cells, key, p, n, vectors):
    _add(cells, key, gradlif_ops=vectors * n,
         buffer_read_bytes=vectors * (_bytes(n, p.membrane_bits) + _bytes(n, p.error_bits)),
         buffer_write_bytes=vectors * _bytes(n, p.delta_bits))


def dense_counts(spec: DenseSpec, p: SimpleNamespace, scheme: str) -> Cells:
    """Expected counters of one epoch of ``scheme`` (the rules of ``AnalogSNN.bp_step`` /
    ``dfa_step``), with every line active independently (module docstring)."""
    L = spec.layers
    n_layers = len(L) - 1
    T, S = spec.timesteps, float(spec.samples_per_epoch)
    V = S * T
    r, bd = spec.spike_rate, spec.bit_density
    ib, eb = np.asarray(p.input_bits), np.asarray(p.error_bits)
    cells: Cells = {}
    # Forward (training: membranes are stored for the backward pass).
    for l in range(n_layers):
        n_in, n_out = L[l], L[l + 1]
        key = (f"L{l}", "forward")
        if l == 0:   # multi-bit input: sign-magnitude bit planes, one sign per pass
            _forward_read(cells, key, p, n_out, n_in, V, 2.0 * (ib - 1), bd / 2.0, ib)
            in_bits = ib
        else:
            _forward_read(cells, key, p, n_out, n_in, V, 1.0, r, 1)
            in_bits = 1
        _add(cells, key, lif_ops=V * n_out,
             buffer_read_bytes=V * _bytes(n_out, p.psum_bits),
             buffer_write_bytes=V * (_bytes(n_out, 1) + _bytes(n_out, p.membrane_bits)),
             tile_bytes=V * _bytes(n_in, in_bits))
    _add(cells, (f"L{n_layers - 1}", "forward"), tile_bytes=V * _bytes(L[-1], 1))
    # Backward.
    n_cls = L[-1]
    if scheme == "bp":
        _add(cells, (f"L{n_layers - 1}", "backward"), tile_bytes=S * _bytes(n_cls, eb))
        _gradlif(cells, (f"L{n_layers - 1}", "backward"), p, L[-1], V)
        for l in range(n_layers - 2, -1, -1):
            up = f"L{l + 1}"
            _transpose_read(cells, (up, "backward"), p, L[l + 2], L[l + 1], V, bd)
            _add(cells, (up, "backward"), tile_bytes=V * _bytes(L[l + 1], eb))
            _gradlif(cells, (f"L{l}", "backward"), p, L[l + 1], V)
    else:
        if n_layers > 1:
            _add(cells, ("B0", "backward"), tile_bytes=S * _bytes(n_cls, eb))
        for l in range(n_layers - 1):
            key = (f"B{l}", "backward")
            # e is time-independent: one bit-serial read per sample on B_l (n_l x C).
            _forward_read(cells, key, p, L[l + 1], n_cls, S, 2.0 * (eb - 1), bd / 2.0, eb)
            _add(cells, key, tile_bytes=S * _bytes(L[l + 1], eb))
            _gradlif(cells, (f"L{l}", "backward"), p, L[l + 1], V)
        _gradlif(cells, (f"L{n_layers - 1}", "backward"), p, L[-1], V)
    # Update: WGU read-modify-write per (weight, sample, timestep) with a non-zero input.
    batches = math.ceil(spec.samples_per_epoch / spec.batch_size)
    dpw = np.where(p.differential, 2.0, 1.0)
    for l in range(n_layers):
        n_in, n_out = L[l], L[l + 1]
        in_rate = 1.0 if l == 0 else r
        in_bits = ib if l == 0 else 1
        macs = n_out * V * n_in * in_rate
        gb = np.asarray(p.grad_bits) / 8.0
        writes = spec.write_fraction * n_out * n_in * dpw * batches
        _add(cells, (f"L{l}", "update"), wgu_macs=macs,
             buffer_read_bytes=V * (_bytes(n_out, p.delta_bits) + _bytes(n_in, in_bits))
             + (macs + n_out * n_in) * gb,
             buffer_write_bytes=macs * gb, write_pulses=writes, devices_written=writes)
    return cells


def dense_workload(spec: DenseSpec, p: SimpleNamespace) -> Workload:
    """Dense-mode counters of both schemes."""
    spec.validate()
    return Workload(layers=list(spec.layers), timesteps=spec.timesteps,
                    batch_size=spec.batch_size, samples=float(spec.samples_per_epoch),
                    sequence=bool(spec.sequence),
                    counts={s: dense_counts(spec, p, s) for s in ("bp", "dfa")},
                    mode="dense", source=spec.name or "dense spec",
                    spike_rate=float(spec.spike_rate))


def _cells_of(counters) -> Cells:
    if isinstance(counters, ActivityCounters):
        return {k: {f: float(getattr(c, f)) for f in FIELDS} for k, c in counters.cells.items()}
    return {k: {f: float(v.get(f, 0)) for f in FIELDS} for k, v in counters.items()}


def activity_workload(counters: TMapping[str, Sequence[ActivityCounters] | ActivityCounters],
                      layers: Sequence[int], timesteps: int, batch_size: int, *,
                      sequence: bool = True, source: str = "") -> Workload:
    """Activity-mode counters: per scheme one or several (chips) :class:`ActivityCounters` of
    one epoch, averaged; phases other than forward/backward/update are dropped."""
    layers = check_layers(layers)
    out: dict[str, Cells] = {}
    for scheme in ("bp", "dfa"):
        if scheme not in counters:
            raise ValueError(f"activity counters for {scheme!r} are missing")
        runs = counters[scheme]
        runs = [runs] if isinstance(runs, ActivityCounters) else list(runs)
        if not runs:
            raise ValueError(f"no activity counters for {scheme!r}")
        cells: Cells = {}
        for run in runs:
            for key, c in _cells_of(run).items():
                if key[1] in TRAINING_PHASES:
                    _add(cells, key, **{f: v / len(runs) for f, v in c.items()})
        out[scheme] = cells
    lif = out["bp"].get(("L0", "forward"), {}).get("lif_ops", 0.0)
    if lif <= 0:
        raise ValueError("the activity counters hold no forward pass of layer L0")
    samples = lif / (timesteps * layers[1])
    # Measured mean spike rate of the hidden layers: the WGU counts one MAC per output and
    # non-zero input, so MACs / (vectors x n_in x n_out) is the input spike rate of W_l.
    rates = [out["bp"].get((f"L{l}", "update"), {}).get("wgu_macs", 0.0)
             / (samples * timesteps * layers[l] * layers[l + 1])
             for l in range(1, len(layers) - 1)]
    rate = float(np.mean(rates)) if rates else None
    return Workload(layers=layers, timesteps=int(timesteps), batch_size=int(batch_size),
                    samples=float(samples), sequence=bool(sequence), counts=out,
                    mode="activity", source=source, spike_rate=rate)


# --- area and floorplan -----------------------------------------------------------------------

def area_model(p: SimpleNamespace, m: Mapping) -> dict[str, Any]:
    """Area by component and by block (µm²), the floorplan and the per-tile figures.

    Every allocated tile is a full tile (``pes x crossbars_per_pe`` crossbars with their
    peripherals), whether or not the mapping fills it. BP tiles are transposable: each crossbar
    also has row-side ADCs, muxes and shift-adders and column-side drivers.
    """
    node = p.node_nm
    xpp, pes = np.asarray(p.xpp, float), np.asarray(p.pes, float)
    xpt = xpp * pes
    n_adc_c = np.ceil(np.asarray(p.cols, float) / p.lines_per_adc)
    n_adc_r = np.ceil(np.asarray(p.rows, float) / p.lines_per_adc)
    a_adc = K.adc_area_um2(p.adc_bits, node)
    a_mux = K.mux_area_um2(p.lines_per_adc, node)
    a_sa = K.constant("shift_add_area", node)
    a_drv = K.driver_area_um2(p.dac_bits, node)
    a_acc = K.constant("accumulator_area", node)
    per_x = {"crossbar": K.crossbar_area_um2(p.rows, p.cols, node),
             "decoder": np.asarray(p.rows, float) * a_drv,
             "adc": n_adc_c * a_adc, "mux": n_adc_c * a_mux, "shift_add": n_adc_c * a_sa,
             "transpose_periphery": (n_adc_r * (a_adc + a_mux + a_sa)
                                     + np.asarray(p.cols, float) * a_drv)
             if m.scheme == "bp" else 0.0 * n_adc_r}
    kbit = 8192.0
    pe = {k: xpp * v for k, v in per_x.items()}
    pe["buffer"] = K.sram_area_um2(p.pe_kb * kbit, node)
    pe["accumulator"] = n_adc_c * a_acc
    pe_area = sum(pe.values())
    # H-tree area per mm of wire: SpikeSim's per-tile H-tree spread over the wire of a
    # non-transposable tile (SpikeSim has none), so a bigger BP tile gets a longer, larger tree.
    ref_side = np.sqrt(pe_area - xpp * per_x["transpose_periphery"]) * 1e-3
    per_mm = K.constant("htree_area_tile", node) / htree_total_length(p.pes, ref_side)
    tile = {k: pes * v for k, v in pe.items()}
    tile["buffer"] = tile["buffer"] + K.sram_area_um2(p.tile_kb * kbit, node)
    tile["accumulator"] = tile["accumulator"] + n_adc_c * a_acc
    tile["htree"] = per_mm * htree_total_length(p.pes, np.sqrt(pe_area) * 1e-3)
    tile_area = sum(tile.values())
    n_tiles = m.n_tiles
    fp = floorplan(pe_area, tile_area, n_tiles, p.pes, p.xpp)
    n_layers = len(m.shapes)
    wgu_bits = m.wgu_words * np.asarray(p.grad_bits, float)
    glob = {"buffer": K.sram_area_um2(p.global_kb * kbit, node),
            "htree": per_mm * fp.global_wire_mm,
            "neuron": n_layers * np.asarray(p.neuron_lanes, float)
            * K.constant("gradlif_area", node),
            "wgu": K.sram_area_um2(wgu_bits, node)
            + m.wgu_banks * np.asarray(p.wgu_lanes, float) * K.constant("wgu_lane_area", node)}
    by_comp = {c: n_tiles * tile.get(c, 0.0) + glob.get(c, 0.0) for c in AREA_COMPONENTS}
    by_block = {"layer_tiles": m.layer_tiles * tile_area, "b_tile": m.b_tiles * tile_area,
                "global_buffer": glob["buffer"], "global_htree": glob["htree"],
                "neuron_units": glob["neuron"], "wgu": glob["wgu"]}
    return {"by_component": by_comp, "by_block": by_block, "total": sum(by_comp.values()),
            "floorplan": fp, "tile_area": tile_area, "pe_area": pe_area, "tile": tile,
            "crossbars_per_tile": xpt}


# --- unit costs, energy, latency --------------------------------------------------------------

def unit_costs(p: SimpleNamespace, m: Mapping, fp: Floorplan) -> SimpleNamespace:
    """Per-event energies (pJ) and latencies (ns) of configuration ``p``."""
    node = p.node_nm
    t_clk = 1.0 / np.asarray(p.clock_ghz, float)
    g = K.mean_conductance_us(p.g_min, p.g_max, p.differential)
    t_cell = K.constant("read_cycles") * t_clk
    kbit = 8192.0
    bank = np.asarray(p.bank_kbit, float) * 1024.0
    tile_bits = np.asarray(p.tile_kb, float) * kbit
    gbits = np.asarray(p.grad_bits, float)
    if m.scheme == "bp":
        wgu_cap = [m.wgu_words * gbits for _ in m.shapes]
    else:
        wgu_cap = [o * i * gbits for o, i in m.shapes]
    e_wire = K.constant("htree_energy")
    return SimpleNamespace(
        t_clk=t_clk, g_us=g,
        cell=K.cell_read_energy_pj(1.0, 1.0, g, K.constant("read_voltage"), t_cell),
        dac=K.decoder_energy_pj(1.0, node), adc=K.adc_energy_pj(p.adc_bits, node),
        mux=K.mux_energy_pj(1.0, p.lines_per_adc, node), sa=K.shift_add_energy_pj(1.0, node),
        buf_r=K.sram_energy_per_bit_pj(tile_bits, bank, False, node),
        buf_w=K.sram_energy_per_bit_pj(tile_bits, bank, True, node),
        wgu_r=[K.sram_energy_per_bit_pj(c, bank, False, node) for c in wgu_cap],
        wgu_w=[K.sram_energy_per_bit_pj(c, bank, True, node) for c in wgu_cap],
        wire_global=e_wire * fp.global_mm, wire_local=e_wire * fp.local_mm,
        lif=K.lif_energy_pj(1.0, node), gradlif=K.gradlif_op_energy_pj(1.0, node),
        mac=K.wgu_mac_energy_pj(1.0, False, node), mac_mul=K.wgu_mac_energy_pj(1.0, True, node),
        pulse=K.write_energy_pj(1.0),
        verify=K.verify_read_energy_pj(1.0, g, p.adc_bits, node, p.clock_ghz),
        t_adc=K.adc_latency_ns(p.adc_bits, node), t_cell=t_cell,
        t_pulse=K.constant("write_pulse_width"))


def _matrix(m: Mapping, name: str):
    """``(index, crossbars of one copy, copies)`` of matrix ``name`` (``L*`` or ``B*``)."""
    i = int(name[1:])
    if name[0] == "L":
        return i, m.crossbars[i], m.dup[i]
    return i, m.b_crossbars[i], m.b_dup


def _safe_div(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


def energy_model(cells: Cells, p: SimpleNamespace, m: Mapping, u: SimpleNamespace
                 ) -> dict[tuple[str, str, str], Any]:
    """Energy (pJ) per ``(matrix, phase, component)``."""
    out: dict[tuple[str, str, str], Any] = {}

    def put(name, phase, comp, value):
        key = (name, phase, comp)
        out[key] = out.get(key, 0.0) + value

    for (name, phase), c in sorted(cells.items()):
        get = lambda f: c.get(f, 0.0)  # noqa: E731
        i, _, dup = _matrix(m, name)
        reads, conv = get("reads"), get("adc_conversions")
        if np.any(np.asarray(reads) > 0) or np.any(np.asarray(conv) > 0):
            across = _safe_div(conv, reads)   # populated lines crossed by one active line
            put(name, phase, "crossbar", get("active_rows") * across * u.cell)
            put(name, phase, "decoder", get("rows_driven") * u.dac)
            put(name, phase, "adc", conv * u.adc)
            put(name, phase, "mux", conv * u.mux)
        put(name, phase, "shift_add", get("psum_adds") * u.sa)
        rb, wb = get("buffer_read_bytes") * 8.0, get("buffer_write_bytes") * 8.0
        if phase == "update":
            put(name, phase, "wgu", rb * u.wgu_r[i] + wb * u.wgu_w[i])
        else:
            put(name, phase, "buffer", rb * u.buf_r + wb * u.buf_w)
            put(name, phase, "htree", (rb + wb) * u.wire_local)
        put(name, phase, "htree", get("tile_bytes") * 8.0 * u.wire_global)
        put(name, phase, "lif", get("lif_ops") * u.lif)
        put(name, phase, "gradlif", get("gradlif_ops") * u.gradlif)
        # The first layer's input is multi-bit (direct encoding), so its WGU multiplies.
        put(name, phase, "wgu", get("wgu_macs") * (u.mac_mul if name == "L0" else u.mac))
        if name[0] == "L":   # every copy of a duplicated layer is programmed
            put(name, phase, "rram_write",
                (get("write_pulses") * u.pulse + get("verify_reads") * u.verify) * dup)
    return out


def _stage(c: dict, p, m: Mapping, u, name: str, phase: str) -> dict[str, Any]:
    """Latency components (ns) of one ``(matrix, phase)`` cell run as a single stage."""
    get = lambda f: c.get(f, 0.0)  # noqa: E731
    _, xbars, dup = _matrix(m, name)
    transposed = phase == "backward" and name[0] == "L"
    lines = np.asarray(p.rows if transposed else p.cols, float)
    n_adc = np.ceil(lines / p.lines_per_adc)
    per_read = _safe_div(get("adc_conversions"), get("reads"))
    t_read = u.t_cell + np.ceil(per_read / n_adc) * u.t_adc
    slots = _safe_div(get("reads"), np.asarray(xbars, float) * dup)
    t_clk = u.t_clk
    return {"tile": slots * t_read,
            "neuron": (get("lif_ops") + get("gradlif_ops")) / p.neuron_lanes * t_clk,
            "htree": get("tile_bytes") * 8.0 / p.htree_bits * t_clk}


def _first_max(values: list) -> list:
    """Masks selecting, elementwise, the first of ``values`` that equals their maximum."""
    top = np.maximum.reduce([np.asarray(v, float) for v in values])
    taken = np.zeros(np.shape(top), dtype=bool)
    masks = []
    for v in values:
        mk = (np.asarray(v, float) >= top) & ~taken
        taken = taken | mk
        masks.append(mk)
    return masks


def latency_model(cells: Cells, p: SimpleNamespace, m: Mapping, u: SimpleNamespace,
                  wl: Workload) -> dict[tuple[str, str], Any]:
    """Latency (ns) of one epoch per ``(phase, component)`` (module docstring)."""
    out = {(ph, c): 0.0 for ph in TRAINING_PHASES for c in LATENCY_COMPONENTS}
    names = [f"L{l}" for l in range(len(m.shapes))]
    # Forward: layers pipelined over the T x B vectors of a batch.
    items = float(wl.timesteps * wl.batch_size)
    stages = [_stage(cells.get((n, "forward"), {}), p, m, u, n, "forward") for n in names]
    totals = [sum(s.values()) for s in stages]
    for s, mk in zip(stages, _first_max(totals)):
        for comp, v in s.items():
            out[("forward", comp)] = out[("forward", comp)] + v / items \
                + np.where(mk, v * (items - 1) / items, 0.0)
    # Backward.
    bwd = [(n, _stage(c, p, m, u, n, "backward")) for (n, ph), c in sorted(cells.items())
           if ph == "backward"]
    if m.scheme == "bp":       # layer after layer through the transposed crossbars
        for _, s in bwd:
            for comp, v in s.items():
                out[("backward", comp)] = out[("backward", comp)] + v
    elif bwd:                  # all B_l at once, then every layer's GradLIF in parallel
        for comp in ("tile", "neuron"):
            out[("backward", comp)] = np.maximum.reduce([np.asarray(s[comp], float)
                                                         for _, s in bwd])
        out[("backward", "htree")] = sum(s["htree"] for _, s in bwd)  # one shared bus
    # Update: WGU streams one row chunk of G per cycle per (timestep, sample), then the
    # changed devices are programmed (one pulse at a time per crossbar, crossbars in parallel).
    ups = []
    for l, (n_out, n_in) in enumerate(m.shapes):
        c = cells.get((f"L{l}", "update"), {})
        beats = wl.samples * wl.timesteps * n_out * np.ceil(n_in / np.asarray(p.wgu_lanes,
                                                                               float))
        per_x = np.asarray(m.crossbars[l], float)
        write = (_safe_div(c.get("write_pulses", 0.0), per_x) * u.t_pulse
                 + _safe_div(c.get("verify_reads", 0.0), per_x) * (u.t_cell + u.t_adc))
        ups.append({"wgu": beats * u.t_clk, "rram_write": write})
    if m.scheme == "bp":
        for s in ups:
            for comp, v in s.items():
                out[("update", comp)] = out[("update", comp)] + v
    else:
        for s, mk in zip(ups, _first_max([sum(s.values()) for s in ups])):
            for comp, v in s.items():
                out[("update", comp)] = out[("update", comp)] + np.where(mk, v, 0.0)
    return out


def dram_energy(wl: Workload, p: SimpleNamespace):
    """Loading the epoch's training set from DRAM once (the same for BP and DFA), pJ."""
    per_sample = wl.layers[0] * (wl.timesteps if wl.sequence else 1) \
        * np.asarray(p.dram_value_bits, float) + np.asarray(p.dram_label_bits, float)
    return K.dram_energy_pj(wl.samples * per_sample, p.dram_pj_per_bit)


@dataclass
class SchemeResult:
    """Raw (possibly array-valued) roll-up of one scheme."""

    mapping: Mapping
    area: dict[str, Any]
    energy: dict[tuple[str, str, str], Any]
    latency: dict[tuple[str, str], Any]
    dram_pj: Any
    units: SimpleNamespace = field(repr=False, default=None)

    @property
    def energy_total(self):
        return sum(self.energy.values())

    @property
    def latency_total(self):
        return sum(self.latency.values())

    @property
    def area_total(self):
        return self.area["total"]


def evaluate(wl: Workload, p: SimpleNamespace, scheme: str) -> SchemeResult:
    """Map, floorplan and price one scheme of workload ``wl`` on hardware ``p``."""
    m = map_network(wl.layers, p, scheme)
    area = area_model(p, m)
    u = unit_costs(p, m, area["floorplan"])
    cells = wl.counts[scheme]
    return SchemeResult(mapping=m, area=area, energy=energy_model(cells, p, m, u),
                        latency=latency_model(cells, p, m, u, wl), dram_pj=dram_energy(wl, p),
                        units=u)
