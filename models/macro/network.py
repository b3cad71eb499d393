# SPDX-License-Identifier: MIT
"""A fully connected spiking network deployed on the macro, and the activity it causes.

:class:`MacroNetwork` chains layers, each a :class:`ProgrammedLayer` (weights on PEs with device
non-idealities) feeding analog neurons (:class:`AnalogNeuron` at the macro's time scale ``k``).
Row drive ``x`` in ``[0, 1]`` per bin (the fraction of a bin a row is driven) enters the first
layer; a neuron's spike drives the next layer's row for ``spike_width`` starting in the bin
*after* the spike (the spike is emitted somewhere inside its bin, so the earliest whole bin it can
drive is the next one): ``x_next[t] = min(1, count[t - 1] * spike_width / bin)``, ``x_next[0] =
0``. The golden network of ``flows/macro.py`` applies the same one-bin delay, so a network
trained there runs unchanged here.

Every run counts what the energy model (``models/macro/energy.py``) prices, per sample:

* ``active_row_bins``: (row, bin) pairs with ``x > 0`` -- each switches a word line and a
  source line once;
* ``drive_row_bins``: ``sum x`` over rows and bins;
* ``g_drive_s``: ``sum_t sum_rows x[t, r] * G_row[r]`` (S), ``G_row`` the summed read conductance
  of every device on row ``r`` (all column PEs, both devices of each pair): the array's read
  energy is ``V_read^2 * chip_bin * g_drive_s``;
* ``device_reads``: ``active_row_bins * devices per row`` (``col_pes * cols``);
* ``synaptic_ops``: ``active_row_bins * out_features`` -- one weight (a differential pair,
  counted once) receiving one input spike;
* ``spikes``: output spikes of the layer;
* ``neuron_bins``: ``out_features * bins`` -- the TIA pairs and somas are biased for every bin;
* I/O: the input raster and the output raster streamed bin by bin, row-major, one bit per row:
  ``io_bits`` and ``io_rising_edges`` (0 -> 1 transitions of that stream, each charging the pad
  once).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .config import MacroConfig
from .neuron import AnalogNeuron, SpikeTrains
from .pe import ProgrammedLayer

__all__ = ["LayerActivity", "MacroActivity", "MacroRun", "MacroNetwork", "next_layer_drive",
           "rising_edges"]


def next_layer_drive(counts: np.ndarray, spike_width_s: float, bin_s: float) -> np.ndarray:
    """Row drive of the next layer from spike counts ``(T, ...)``: delayed one bin, each spike
    driving its row for ``spike_width / bin`` of a bin, capped at a whole bin."""
    counts = np.asarray(counts, dtype=np.float64)
    x = np.zeros_like(counts)
    x[1:] = np.minimum(counts[:-1] * (spike_width_s / bin_s), 1.0)
    return x


def rising_edges(bits: np.ndarray) -> np.ndarray:
    """0 -> 1 transitions of the bit stream of each sample.

    ``bits`` of shape ``(T, B, n)`` is streamed per sample bin by bin, row-major (``n`` bits per
    bin, starting from a line at 0); returns ``(B,)`` edge counts.
    """
    b = (np.asarray(bits) > 0).astype(np.int8)
    stream = np.moveaxis(b, 1, 0).reshape(b.shape[1], -1)
    prev = np.concatenate([np.zeros((stream.shape[0], 1), np.int8), stream[:, :-1]], axis=1)
    return ((stream == 1) & (prev == 0)).sum(axis=1).astype(np.int64)


@dataclass
class LayerActivity:
    """Activity of one layer per sample (arrays of shape ``(B,)``); see the module docstring.

    Members
    -------
    in_features, out_features, row_pes, col_pes, cols, rows : int
        Of the layer's placement and PE.
    bins : int
    active_row_bins, drive_row_bins, g_drive_s, spikes : ndarray
    """

    in_features: int
    out_features: int
    row_pes: int
    col_pes: int
    rows: int
    cols: int
    bins: int
    active_row_bins: np.ndarray
    drive_row_bins: np.ndarray
    g_drive_s: np.ndarray
    spikes: np.ndarray

    @property
    def devices_per_row(self) -> int:
        """Devices one input row reaches: ``col_pes * cols``."""
        return self.col_pes * self.cols

    @property
    def device_reads(self) -> np.ndarray:
        """Device reads per sample: ``active_row_bins * devices_per_row``."""
        return self.active_row_bins * self.devices_per_row

    @property
    def synaptic_ops(self) -> np.ndarray:
        """Synaptic operations per sample: ``active_row_bins * out_features``."""
        return self.active_row_bins * self.out_features

    @property
    def neuron_bins(self) -> int:
        """Neuron-bins per sample: ``out_features * bins``."""
        return self.out_features * self.bins

    @property
    def pes(self) -> int:
        """PE-equivalents of the layer."""
        return self.row_pes * self.col_pes


@dataclass
class MacroActivity:
    """Activity of a whole network per sample.

    Members
    -------
    layers : tuple of LayerActivity
    bins : int
        Input bins per sample.
    chip_bin_s : float
        Bin width on chip, s (the data's bin divided by ``k``).
    io_bits, io_rising_edges : ndarray, shape ``(B,)``
        Bits and 0 -> 1 transitions of the input and output rasters streamed through the I/O.
    """

    layers: tuple
    bins: int
    chip_bin_s: float
    io_bits: np.ndarray
    io_rising_edges: np.ndarray

    @property
    def samples(self) -> int:
        """Samples counted."""
        return len(self.io_bits)

    @property
    def neurons(self) -> int:
        """Neurons of the network (one TIA pair and one soma each)."""
        return sum(layer.out_features for layer in self.layers)

    @property
    def synaptic_ops(self) -> np.ndarray:
        """Synaptic operations per sample, all layers."""
        return sum(layer.synaptic_ops for layer in self.layers)

    @property
    def dense_synapse_steps(self) -> int:
        """``sum_layers in * out * bins``: every weight once per bin, whatever the input."""
        return sum(layer.in_features * layer.out_features for layer in self.layers) * self.bins

    @staticmethod
    def concatenate(parts: Sequence["MacroActivity"]) -> "MacroActivity":
        """The activities of consecutive batches of the same network as one."""
        parts = list(parts)
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        layers = []
        for i, la in enumerate(first.layers):
            per = [p.layers[i] for p in parts]
            layers.append(LayerActivity(
                la.in_features, la.out_features, la.row_pes, la.col_pes, la.rows, la.cols,
                la.bins, *(np.concatenate([getattr(p, f) for p in per]) for f in
                           ("active_row_bins", "drive_row_bins", "g_drive_s", "spikes"))))
        return MacroActivity(tuple(layers), first.bins, first.chip_bin_s,
                             np.concatenate([p.io_bits for p in parts]),
                             np.concatenate([p.io_rising_edges for p in parts]))

    def to_dict(self) -> dict:
        """Per-layer totals averaged over the samples (plain numbers, for JSON)."""
        mean = lambda a: float(np.mean(a))  # noqa: E731
        return {
            "samples": self.samples, "bins": self.bins, "chip_bin_s": self.chip_bin_s,
            "io_bits": mean(self.io_bits), "io_rising_edges": mean(self.io_rising_edges),
            "synaptic_ops": mean(self.synaptic_ops),
            "dense_synapse_steps": self.dense_synapse_steps,
            "layers": [{"in": la.in_features, "out": la.out_features, "pes": la.pes,
                        "active_row_bins": mean(la.active_row_bins),
                        "input_activity": mean(la.active_row_bins) / (la.in_features * la.bins),
                        "device_reads": mean(la.device_reads),
                        "g_drive_s": mean(la.g_drive_s), "spikes": mean(la.spikes),
                        "neuron_bins": la.neuron_bins} for la in self.layers]}


@dataclass
class MacroRun:
    """Result of :meth:`MacroNetwork.run`.

    Members
    -------
    counts : list of ndarray, shape ``(T, B, out_l)``
        Spikes per bin of every layer's neurons.
    trains : list of SpikeTrains
        The neurons' spike trains per layer (neurons flattened as ``(B, out_l)``).
    activity : MacroActivity
    """

    counts: list
    trains: list
    activity: MacroActivity

    @property
    def output_counts(self) -> np.ndarray:
        """Output spikes per sample and neuron, ``(B, out)``."""
        return self.counts[-1].sum(axis=0)

    def predictions(self) -> np.ndarray:
        """Class of each sample: the output neuron with most spikes (lowest index on ties)."""
        return np.argmax(self.output_counts, axis=1)


class MacroNetwork:
    """An FC spiking network programmed on the macro.

    Parameters
    ----------
    weights : sequence of array_like, shape ``(out_l, in_l)``
        Weights in units of the full-scale pair ``(G+ - G-) / G_max`` (the golden layer's unit,
        ``golden/analog_lif.py``), consecutive layers chained.
    config : MacroConfig
    rng : numpy Generator, int or None
        Device draws.
    w_max : float or None
        Weight mapped to the top state. 1.0 (default) keeps the golden layer's unit, so the
        macro's currents equal the trained network's; ``None`` scales each layer by its
        ``max |W|`` (then the currents are ``1 / max |W|`` times larger).

    Members
    -------
    layers : list of ProgrammedLayer
    neuron : AnalogNeuron
        At ``config.time_scale``.
    sizes : tuple of int
    """

    def __init__(self, weights: Sequence, config: MacroConfig, rng=None,
                 w_max: float | None = 1.0) -> None:
        if not isinstance(config, MacroConfig):
            raise TypeError(f"config must be a MacroConfig, not {config!r}")
        config.validate()
        weights = [np.asarray(w, dtype=np.float64) for w in weights]
        if not weights:
            raise ValueError("a macro network needs at least one layer")
        for i, (a, b) in enumerate(zip(weights[:-1], weights[1:])):
            if b.ndim != 2 or a.ndim != 2 or b.shape[1] != a.shape[0]:
                raise ValueError(f"layer {i + 1} takes {b.shape[1] if b.ndim == 2 else '?'} "
                                 f"inputs but layer {i} has {a.shape[0]} neurons")
        self.config = config
        rng = np.random.default_rng(rng)
        self.layers = [ProgrammedLayer(w, config.pe, rng, w_max=w_max) for w in weights]
        self.neuron = AnalogNeuron(config.neuron, config.time_scale)
        self.sizes = (self.layers[0].placement.in_features,) + tuple(
            layer.placement.out_features for layer in self.layers)
        # Summed read conductance of every device on each input row, S: (in_l,).
        self._row_g = []
        for layer in self.layers:
            p = layer.placement
            g = layer.conductance_s.sum(axis=(1, 3)).reshape(-1)    # (row_pes * rows,)
            self._row_g.append(g[:p.in_features])

    def run(self, drive, progress=None) -> MacroRun:
        """Run samples through the network.

        Parameters
        ----------
        drive : array_like, shape ``(T, B, in)`` or ``(T, in)``
            Row drive per bin in ``[0, 1]``.
        progress : callable, optional
            Called with no argument after each layer (for a progress bar).

        Returns
        -------
        MacroRun
        """
        x = np.asarray(drive, dtype=np.float64)
        if x.ndim == 2:
            x = x[:, None, :]
        if x.ndim != 3 or x.shape[0] < 1 or x.shape[2] != self.sizes[0]:
            raise ValueError(f"drive must be (bins, samples, {self.sizes[0]}), not shape "
                             f"{np.shape(drive)}")
        cfg = self.config
        bins, batch = x.shape[:2]
        bin_s = cfg.data_bin_s
        x_in = x
        counts, trains, acts = [], [], []
        for layer, row_g in zip(self.layers, self._row_g):
            p = layer.placement
            current = layer.current(x)                          # (T, B, out)
            st: SpikeTrains = self.neuron.simulate(current, bin_s)
            acts.append(LayerActivity(
                p.in_features, p.out_features, p.row_pes, p.col_pes, p.rows, layer.pe.cols,
                bins, (x > 0).sum(axis=(0, 2)).astype(np.int64), x.sum(axis=(0, 2)),
                np.einsum("tbi,i->b", x, row_g), st.raster.sum(axis=(0, 2)).astype(np.int64)))
            counts.append(st.raster)
            trains.append(st)
            x = next_layer_drive(st.raster, cfg.neuron.spike_width_s, bin_s)
            if progress is not None:
                progress()
        out_bits = np.minimum(counts[-1], 1)
        io_bits = np.full(batch, bins * (self.sizes[0] + self.sizes[-1]), dtype=np.int64)
        edges = rising_edges(x_in) + rising_edges(out_bits)
        activity = MacroActivity(tuple(acts), bins, cfg.chip_bin_s, io_bits, edges)
        return MacroRun(counts, trains, activity)
