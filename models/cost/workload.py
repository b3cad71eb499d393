# SPDX-License-Identifier: MIT
"""What one adaptation epoch does, as event counts: from recorded activity or a dense estimate.

Two sources of activity, one pricing (``energy.py``, ``latency.py``):

* **activity mode**: the :class:`~dfasim.models.activity.ActivityCounters` recorded while the
  crossbar model ran the epoch (``dfasim adapt`` stores them in ``adapt.json``), so spike and
  error sparsity, skipped reads and real write counts are priced;
* **dense mode**: the expected value of the same counters from the layer sizes, timesteps,
  samples and a spike rate (:func:`dense_counts` mirrors the counting rules of
  ``models/crossbar`` and ``models/analog_network.py`` with every line active independently).

Counts are kept per ``(matrix, phase)`` cell: matrices ``L0 .. L{n-1}`` (layers) and ``B0 ..``
(DFA feedback), phases ``forward``, ``backward`` and ``update``. Fields of the chip description
may hold numpy arrays (a sweep); every formula broadcasts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping as TMapping, Sequence

import numpy as np

from ...golden.architecture import Architecture
from ..activity import FIELDS, ActivityCounters
from ..chip import ChipConfig
from .mapping import architecture_layers, check_layers, matrix_uses, outputs_per_crossbar

__all__ = ["TRAINING_PHASES", "Cells", "DenseSpec", "Workload", "dense_counts",
           "dense_workload", "activity_workload", "UNIT_COUNTERS", "add_unit_traffic"]

#: Phases a training epoch is charged for (deploy, calibrate and inference are left out).
TRAINING_PHASES = ("forward", "backward", "update")

#: Counters the cost model adds to the recorded ones (:func:`add_unit_traffic`; they depend on
#: shapes only, so activity and dense mode get the same values): ``unit_traffic_bits`` on the
#: global H-tree between the tiles and the global LIF/GradLIF units and WGUs,
#: ``wgu_vectors`` outer products the WGU accumulates, ``wgu_weight_visits`` (weight, sample)
#: pairs (one SRAM read-modify-write each in the ``register`` WGU design).
UNIT_COUNTERS = ("unit_traffic_bits", "wgu_vectors", "wgu_weight_visits")

#: Counters per ``(matrix, phase)``: ``{(name, phase): {counter: value}}``.
Cells = dict[tuple[str, str], dict[str, Any]]


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
    architecture : Architecture or None
        A network with convolutions (``golden.architecture``); ``layers`` is then derived from
        it (:func:`~dfasim.models.cost.mapping.architecture_layers`: input values, then the
        neurons of every layer). Each convolution is read once per output position per timestep
        (im2col, ``docs/cost-model.md``).
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
    architecture: Architecture | None = None

    def validate(self) -> "DenseSpec":
        """Raise ``ValueError`` (one line) for values no epoch could have."""
        if self.architecture is not None:
            if not isinstance(self.architecture, Architecture):
                raise ValueError(f"architecture must be an Architecture, not "
                                 f"{type(self.architecture).__name__}")
            self.layers = architecture_layers(self.architecture)
            self.timesteps = self.architecture.timesteps
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
    architecture : Architecture or None
        The network with convolutions ``layers`` was derived from (None for an MLP).
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
    architecture: Architecture | None = None

    @property
    def batches(self) -> float:
        return float(math.ceil(self.samples / self.batch_size))


def _bytes(n, bits):
    return np.ceil(np.asarray(n, float) * bits / 8.0)


def _tiles(n, size, line_rate):
    """Tiling of ``n`` lines in tiles of ``size`` with lines active with probability
    ``line_rate``: ``(tiles, sum_t P[tile active], sum_t P[tile active] * lines_t)``."""
    size = np.asarray(size, float)
    tiles = np.ceil(n / size)
    last = n - size * (tiles - 1)
    p_full = 1.0 - (1.0 - line_rate) ** size
    p_last = 1.0 - (1.0 - line_rate) ** last
    return tiles, (tiles - 1) * p_full + p_last, (tiles - 1) * p_full * size + p_last * last


def _add(cells: Cells, key: tuple[str, str], **counts) -> None:
    cell = cells.setdefault(key, {})
    for k, v in counts.items():
        cell[k] = cell.get(k, 0.0) + v


def _forward_read(cells, key, chip, n_out, n_in, vectors, planes, line_rate, word_bits):
    """Expected counts of ``AnalogMatrix.forward`` (row-side drive, column ADCs), with every
    input line on with probability ``line_rate``."""
    differential = chip.device.differential
    col_tiles = np.ceil(n_out / outputs_per_crossbar(chip).astype(float))
    _, active_tiles, active_tile_lines = _tiles(n_in, chip.crossbar.rows, line_rate)
    conversions = np.where(differential, 2.0 * n_out, n_out + col_tiles)
    reads = vectors * planes
    _add(cells, key, reads=reads * active_tiles * col_tiles,
         active_rows=reads * n_in * line_rate * col_tiles,
         rows_driven=reads * active_tile_lines * col_tiles,
         adc_conversions=reads * active_tiles * conversions,
         psum_adds=reads * active_tiles * 2.0 * n_out,
         buffer_read_bytes=vectors * _bytes(n_in, word_bits),
         buffer_write_bytes=vectors * _bytes(n_out, chip.datapath.psum_bits))


def _transpose_read(cells, key, chip, n_out, n_in, vectors, bit_rate):
    """Expected counts of ``AnalogMatrix.transpose`` (column-side drive, row ADCs), two column
    phases per bit plane, every error bit on with probability ``bit_rate``."""
    differential = chip.device.differential
    outputs = outputs_per_crossbar(chip)
    # Offset mapping: a phase drives only the errors of its sign, half of the set bits.
    phase_line_rate = np.where(differential, bit_rate, bit_rate / 2.0)
    _, active_tiles, active_tile_lines = _tiles(n_out, outputs, phase_line_rate)
    row_tiles = np.ceil(n_in / np.asarray(chip.crossbar.rows, float))
    devices_per_weight = np.where(differential, 2.0, 1.0)
    error_bits = chip.datapath.error_bits
    reads = 2.0 * vectors * (np.asarray(error_bits) - 1)
    _add(cells, key, reads=reads * active_tiles * row_tiles,
         active_rows=reads * n_out * phase_line_rate * row_tiles,
         rows_driven=reads * active_tile_lines * devices_per_weight * row_tiles,
         adc_conversions=reads * active_tiles * n_in,
         psum_adds=reads * active_tiles * n_in,
         buffer_read_bytes=vectors * _bytes(n_out, error_bits),
         buffer_write_bytes=vectors * _bytes(n_in, chip.datapath.psum_bits))


def _gradlif(cells, key, chip, n, vectors):
    width = chip.datapath
    _add(cells, key, gradlif_ops=vectors * n,
         buffer_read_bytes=vectors * (_bytes(n, width.membrane_bits)
                                      + _bytes(n, width.error_bits)),
         buffer_write_bytes=vectors * _bytes(n, width.delta_bits))


def add_unit_traffic(cells: Cells, layers: Sequence[int], chip: ChipConfig, scheme: str,
                     samples, timesteps: int, architecture: Architecture | None = None
                     ) -> Cells:
    """Add the :data:`UNIT_COUNTERS` of one epoch to ``cells`` (in place; returned).

    The LIF/GradLIF units and the WGUs sit at the root of the global H-tree with the global
    buffer (Sec. III: they are chip-level units, ``area.py``), so every word between a tile
    and them travels the global root-to-leaf path. Per timestep of a sample:

    * forward, every layer: the tile's partial sums of its neurons go to the LIF unit
      (``neurons x psum_bits``); the spikes back to the next tile are ``tile_bytes`` already;
    * backward, BP: the deltas of layer ``l`` go from the GradLIF unit to the tile of ``W_l``
      for its transposed read (``neurons_l x delta_bits``, layers ``1 .. L-1``); DFA's
      class error and projections are ``tile_bytes`` already;
    * update, both schemes: the deltas (``neurons x delta_bits``) and the layer's input
      (``in_size x`` 8 bits for the first layer, 1 bit for spikes) go to the WGU.
    """
    uses = matrix_uses(layers, architecture)
    width = chip.datapath
    samples = float(samples)
    vectors = samples * timesteps
    for l, use in enumerate(uses):
        name = f"L{l}"
        _add(cells, (name, "forward"),
             unit_traffic_bits=vectors * use.neurons * np.asarray(width.psum_bits, float))
        if scheme == "bp" and l > 0:
            _add(cells, (name, "backward"),
                 unit_traffic_bits=vectors * use.neurons * np.asarray(width.delta_bits, float))
        in_bits = np.asarray(width.input_bits, float) if l == 0 else 1.0
        _add(cells, (name, "update"),
             unit_traffic_bits=vectors * (use.neurons * np.asarray(width.delta_bits, float)
                                          + use.in_size * in_bits),
             wgu_vectors=vectors * use.positions,
             wgu_weight_visits=samples * use.rows * use.cols)
    return cells


def dense_counts(spec: DenseSpec, chip: ChipConfig, scheme: str) -> Cells:
    """Expected counters of one epoch of ``scheme`` (the rules of ``AnalogSNN.bp_step`` /
    ``dfa_step``), with every line active independently (module docstring)."""
    layers = spec.layers
    uses = matrix_uses(layers, spec.architecture)
    n_layers = len(layers) - 1
    timesteps, samples = spec.timesteps, float(spec.samples_per_epoch)
    vectors = samples * timesteps
    spike_rate, bit_density = spec.spike_rate, spec.bit_density
    width = chip.datapath
    input_bits, error_bits = np.asarray(width.input_bits), np.asarray(width.error_bits)
    cells: Cells = {}
    # Forward (training: membranes are stored for the backward pass).
    # A convolution reads its im2col matrix once per output position (``reads`` input vectors
    # per timestep); its neurons are the whole map. Dense layers: one read, n_out neurons.
    for l in range(n_layers):
        use = uses[l]
        n_in, n_out, neurons = use.rows, use.cols, use.neurons
        reads = vectors * use.positions
        key = (f"L{l}", "forward")
        if l == 0:   # multi-bit input: sign-magnitude bit planes, one sign per pass
            _forward_read(cells, key, chip, n_out, n_in, reads, 2.0 * (input_bits - 1),
                          bit_density / 2.0, input_bits)
            in_bits = input_bits
        else:
            _forward_read(cells, key, chip, n_out, n_in, reads, 1.0, spike_rate, 1)
            in_bits = 1
        _add(cells, key, lif_ops=vectors * neurons,
             buffer_read_bytes=vectors * _bytes(neurons, width.psum_bits),
             buffer_write_bytes=vectors * (_bytes(neurons, 1)
                                           + _bytes(neurons, width.membrane_bits)),
             tile_bytes=vectors * _bytes(use.in_size, in_bits))
    last = f"L{n_layers - 1}"
    _add(cells, (last, "forward"), tile_bytes=vectors * _bytes(layers[-1], 1))
    # Backward.
    n_classes = layers[-1]
    if scheme == "bp":
        _add(cells, (last, "backward"), tile_bytes=samples * _bytes(n_classes, error_bits))
        _gradlif(cells, (last, "backward"), chip, layers[-1], vectors)
        for l in range(n_layers - 2, -1, -1):
            upper = f"L{l + 1}"
            # One transposed read per output position of the upper layer (a convolution's
            # per-position results are summed back onto the input map digitally, col2im).
            _transpose_read(cells, (upper, "backward"), chip, uses[l + 1].cols,
                            uses[l + 1].rows, vectors * uses[l + 1].positions, bit_density)
            # The errors on the upper layer's input (after pooling) go back to layer l.
            _add(cells, (upper, "backward"),
                 tile_bytes=vectors * _bytes(uses[l + 1].in_size, error_bits))
            _gradlif(cells, (f"L{l}", "backward"), chip, layers[l + 1], vectors)
    else:
        # B_l projects the class error (a vote read-out has more output neurons than classes).
        if spec.architecture is not None:
            n_classes = spec.architecture.n_classes
        if n_layers > 1:
            _add(cells, ("B0", "backward"), tile_bytes=samples * _bytes(n_classes, error_bits))
        for l in range(n_layers - 1):
            key = (f"B{l}", "backward")
            # e is time-independent: one bit-serial read per sample on B_l (n_l x C).
            _forward_read(cells, key, chip, layers[l + 1], n_classes, samples,
                          2.0 * (error_bits - 1), bit_density / 2.0, error_bits)
            _add(cells, key, tile_bytes=samples * _bytes(layers[l + 1], error_bits))
            _gradlif(cells, (f"L{l}", "backward"), chip, layers[l + 1], vectors)
        _gradlif(cells, (last, "backward"), chip, layers[-1], vectors)
    # Update: WGU read-modify-write per (weight, sample, timestep) with a non-zero input.
    batches = math.ceil(spec.samples_per_epoch / spec.batch_size)
    devices_per_weight = np.where(chip.device.differential, 2.0, 1.0)
    # A convolution's WGU sums the im2col outer products of every output position.
    for l in range(n_layers):
        n_in, n_out = uses[l].rows, uses[l].cols
        reads = vectors * uses[l].positions
        in_rate = 1.0 if l == 0 else spike_rate
        in_bits = input_bits if l == 0 else 1
        macs = n_out * reads * n_in * in_rate
        grad_bytes = np.asarray(width.grad_bits) / 8.0
        writes = spec.write_fraction * n_out * n_in * devices_per_weight * batches
        _add(cells, (f"L{l}", "update"), wgu_macs=macs,
             buffer_read_bytes=reads * (_bytes(n_out, width.delta_bits)
                                        + _bytes(n_in, in_bits))
             + (macs + n_out * n_in) * grad_bytes,
             buffer_write_bytes=macs * grad_bytes, write_pulses=writes, devices_written=writes)
    return add_unit_traffic(cells, layers, chip, scheme, samples, timesteps,
                            spec.architecture)


def dense_workload(spec: DenseSpec, chip: ChipConfig) -> Workload:
    """Dense-mode counters of both schemes."""
    spec.validate()
    return Workload(layers=list(spec.layers), timesteps=spec.timesteps,
                    batch_size=spec.batch_size, samples=float(spec.samples_per_epoch),
                    sequence=bool(spec.sequence),
                    counts={s: dense_counts(spec, chip, s) for s in ("bp", "dfa")},
                    mode="dense", source=spec.name or "dense spec",
                    spike_rate=float(spec.spike_rate), architecture=spec.architecture)


def _cells_of(counters) -> Cells:
    if isinstance(counters, ActivityCounters):
        return {k: {f: float(getattr(c, f)) for f in FIELDS} for k, c in counters.cells.items()}
    return {k: {f: float(v.get(f, 0)) for f in FIELDS} for k, v in counters.items()}


def activity_workload(counters: TMapping[str, Sequence[ActivityCounters] | ActivityCounters],
                      layers: Sequence[int], timesteps: int, batch_size: int, *,
                      sequence: bool = True, source: str = "",
                      architecture: Architecture | None = None,
                      chip: ChipConfig | None = None) -> Workload:
    """Activity-mode counters: per scheme one or several (chips) :class:`ActivityCounters` of
    one epoch, averaged; phases other than forward/backward/update are dropped. With an
    ``architecture`` (convolutions) ``layers`` is derived from it. The shape-only
    :data:`UNIT_COUNTERS` are added with the word widths of ``chip`` (Table II by default)."""
    if architecture is not None:
        layers = architecture_layers(architecture)
    layers = check_layers(layers)
    uses = matrix_uses(layers, architecture)
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
             / (samples * timesteps * uses[l].positions * uses[l].rows * uses[l].cols)
             for l in range(1, len(layers) - 1)]
    rate = float(np.mean(rates)) if rates else None
    chip = ChipConfig() if chip is None else chip
    for scheme, cells in out.items():
        add_unit_traffic(cells, layers, chip, scheme, samples, timesteps, architecture)
    return Workload(layers=layers, timesteps=int(timesteps), batch_size=int(batch_size),
                    samples=float(samples), sequence=bool(sequence), counts=out,
                    mode="activity", source=source, spike_rate=rate,
                    architecture=architecture)
