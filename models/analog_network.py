# SPDX-License-Identifier: MIT
"""A spiking MLP deployed on analog crossbars, with on-chip DFA and BP adaptation steps.

Forward: every layer's currents come from an :class:`AnalogMatrix` (all ``T`` timesteps in one
batched read, since the LIF recurrence is element-wise and does not feed back into the reads);
the LIF dynamics are ``golden.lif.lif_forward`` (compiled, bit for bit, as
``models.neuron_kernels.lif_forward_fast``), so with ideal devices, ideal ADCs and
grid-aligned weights the network equals the float :class:`golden.network.SpikingMLP`.

Online adaptation (both rules use plain SGD, ``dW = -lr * grad``: no Adam state on chip; the
gradient is computed digitally in float and only its level-quantised effect reaches the devices):

* **DFA** (``dfa_step``): ``e = dL/d(mean_t out)`` and every timestep gets ``e_t = e / T``
  (``golden.rules.DFA``, ``error="average"``). Since ``e_t`` does not depend on ``t`` the B-tile
  computes ``B_l e_t`` once per sample through its own noisy crossbars (errors are bit-serial
  inputs of ``error_bits``); ``delta_l[t] = (B_l e_t) * h(u_l[t] - theta)`` (GradLIF),
  ``dW_l = sum_t delta_l[t]^T s_{l-1}[t]`` (WGU), the output layer uses ``e_t`` itself; all
  layers are updated at once.
* **BP** (``bp_step``): BP across layers, per timestep (spatial backpropagation, what a hardware
  BP datapath does): ``delta_L[t] = e_t * h(u_L[t] - theta)``,
  ``delta_l[t] = (W_{l+1}^T delta_{l+1}[t]) * h(u_l[t] - theta)`` with ``W^T`` read through the
  noisy transposable crossbars of layer ``l+1``; no temporal credit assignment through the
  membrane (no BPTT). Then the same WGU and update as DFA.

Counters (per layer name and phase, :mod:`models.activity`): crossbar events are counted by the
matrices; this module adds LIF / GradLIF operations, WGU accumulations, the buffer traffic of
membranes, errors and deltas, and H-tree bytes between tiles.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..golden.lif import LIFConfig
from ..golden.loss import output_error
from ..golden.network import NetworkSpec, SpikingMLP, Trace, encode
from .activity import ActivityCounters, vector_bytes
from .chip import ChipConfig
from .crossbar import AnalogMatrix, WriteStats
from .crossbar.encoding import is_binary
from .neuron_kernels import lif_forward_fast, surrogate_fast
from .rram.noise import NoiseModel

__all__ = ["DeployedNetwork", "AnalogSNN", "StepResult", "deploy_feedback", "default_feedback",
           "gradlif_delta", "wgu_product"]

@dataclass
class StepResult:
    """Outcome of one on-chip adaptation step.

    Members
    -------
    loss : float
        Batch loss before the update.
    output : Tensor, ``(B, C)``
        Network output before the update.
    delta_w : list of Tensor
        Requested weight change per layer (``-lr * grad``, before level quantisation).
    writes : list of WriteStats
        Programming outcome per layer.
    """

    loss: float
    output: torch.Tensor
    delta_w: list[torch.Tensor] = field(default_factory=list)
    writes: list[WriteStats] = field(default_factory=list)


def default_feedback(spec: NetworkSpec, generator: torch.Generator | None = None
                     ) -> list[torch.Tensor]:
    """Fixed random DFA matrices ``B_l ~ N(0, 1/C)`` (``n_l x C``), drawn as in
    ``golden.rules.DFA``."""
    c = spec.n_classes
    return [torch.randn(n, c, generator=generator) / math.sqrt(c) for n in spec.hidden]


def deploy_feedback(spec: NetworkSpec, chip: ChipConfig, noise: NoiseModel,
                    generator: torch.Generator | None = None, *,
                    matrices: list[torch.Tensor] | None = None,
                    counters: ActivityCounters | None = None) -> list[AnalogMatrix]:
    """Program the DFA feedback matrices ``B_l`` (one per hidden layer) into noisy crossbars.

    ``matrices`` default to :func:`default_feedback` drawn from ``generator``. They are
    programmed once (phase ``"deploy"``) and never updated. Named ``"B0"``, ``"B1"``, ...
    """
    if matrices is None:
        matrices = default_feedback(spec, generator)
    if len(matrices) != len(spec.hidden):
        raise ValueError(f"need one feedback matrix per hidden layer ({len(spec.hidden)}), "
                         f"got {len(matrices)}")
    out = []
    for l, (b, n) in enumerate(zip(matrices, spec.hidden)):
        if tuple(b.shape) != (n, spec.n_classes):
            raise ValueError(f"feedback matrix {l} must be {(n, spec.n_classes)}, not "
                             f"{tuple(b.shape)}")
        out.append(AnalogMatrix.from_weight(b, chip, noise, generator, name=f"B{l}",
                                            counters=counters))
    return out


def gradlif_delta(lif: LIFConfig, readout: str, last: bool, membrane: torch.Tensor,
                  error: torch.Tensor) -> torch.Tensor:
    """GradLIF's delta ``error * h(u - theta)`` of one layer (``h = 1`` for a membrane
    read-out layer), for the MLP and the convolutional network alike; ``error`` broadcasts
    over ``membrane`` (a time-independent DFA error has a leading 1).

    The triangle surrogate and the product are one compiled pass
    (:func:`.neuron_kernels.surrogate_fast`), with the roundings of ``h.mul_(error)``.
    """
    if readout == "membrane" and last:
        return torch.ones_like(membrane).mul_(error)
    return surrogate_fast(membrane, lif.threshold, lif.surrogate, scale=error)


class DeployedNetwork:
    """What every network deployed on a chip shares: its layers' chip, tile count, accuracy
    and the check of a learning rate. Subclasses hold ``layers`` (:class:`AnalogMatrix`) and
    define ``forward(x, phase=...)``."""

    layers: list[AnalogMatrix]

    @property
    def chip(self) -> ChipConfig:
        """The chip description the layers were deployed with."""
        return self.layers[0].chip

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_tiles(self) -> int:
        """Tiles used by the network's layers (no two layers share a tile)."""
        return sum(m.n_tiles for m in self.layers)

    @property
    def device(self) -> torch.device:
        """Where the deployed arrays live (:meth:`to`); inputs are moved there."""
        return self.layers[0].device

    def to(self, device: torch.device | str) -> "DeployedNetwork":
        """Move every deployed array to ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``) in place
        and return the network; reads, steps and updates then run there. Random draws still
        come from the chip's CPU generator, so a chip draws the same numbers on any device."""
        for m in self.layers:
            m.to(device)
        return self

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
        """Accuracy on ``(x, y)``; reads are counted under phase ``"inference"``."""
        correct = 0
        for i in range(0, x.shape[0], batch_size):
            out, _ = self.forward(x[i:i + batch_size], phase="inference")
            correct += int((out.argmax(-1) == y[i:i + batch_size].to(out.device)).sum())
        return correct / max(1, x.shape[0])

    def _count_neuron_stage(self, name: str, phase: str, vectors: int, n: int, in_bytes: int,
                            training: bool) -> None:
        """Count one layer's LIF work over ``vectors`` (T x B) input vectors: the partial sums
        read, the spikes (and, when training, the membranes kept for GradLIF) written, and the
        layer input on the H-tree."""
        width = self.chip.datapath
        writes = vectors * (vector_bytes(n, 1)
                            + (vector_bytes(n, width.membrane_bits) if training else 0))
        self.counters.add(name, phase, lif_ops=vectors * n,
                          buffer_read_bytes=vectors * vector_bytes(n, width.psum_bits),
                          buffer_write_bytes=writes, tile_bytes=vectors * in_bytes)

    def _check_lr(self, lr: float) -> None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (
                math.isfinite(lr) and lr >= 0):
            raise ValueError(f"lr must be a non-negative number, not {lr!r}")


    def count_wgu(self, m: AnalogMatrix, *, vectors: int, nonzero: int, in_bits: int) -> None:
        """Count one layer's WGU work of a batch step: a MAC per output and non-zero input
        (``nonzero`` inputs over the step), ``vectors`` delta and input vectors read (inputs of
        ``in_bits`` each), every touched gradient word read and written, the array read out."""
        width = self.chip.datapath
        grad_bytes = width.grad_bits // 8
        macs = m.n_out * nonzero
        self.counters.add(
            m.name, "update", wgu_macs=macs,
            buffer_read_bytes=vectors * (vector_bytes(m.n_out, width.delta_bits)
                                         + vector_bytes(m.n_in, in_bits))
            + (macs + m.n_out * m.n_in) * grad_bytes,
            buffer_write_bytes=macs * grad_bytes)


class AnalogSNN(DeployedNetwork):
    """A :class:`SpikingMLP` whose layers are :class:`AnalogMatrix` instances on one chip.

    Members
    -------
    spec : NetworkSpec
        Shape and neuron model.
    layers : list of AnalogMatrix
        ``layers[l]`` holds ``W_l`` (``n_{l+1} x n_l``), named ``"L{l}"``.
    counters : ActivityCounters
        Shared by all layers (and by feedback matrices deployed with it).
    datapath : IntegerDatapath or None
        The digital side when it is not the float one: ``forward``, ``dfa_step`` and
        ``bp_step`` hand over to it (``models/integer_datapath.py``). None: float.
    """

    datapath = None

    def __init__(self, spec: NetworkSpec, layers: list[AnalogMatrix],
                 counters: ActivityCounters | None = None) -> None:
        if len(layers) != len(spec.layers) - 1:
            raise ValueError(f"{len(spec.layers) - 1} layers expected, got {len(layers)}")
        for l, m in enumerate(layers):
            if m.shape != (spec.layers[l + 1], spec.layers[l]):
                raise ValueError(f"layer {l} is {m.shape}, the spec needs "
                                 f"{(spec.layers[l + 1], spec.layers[l])}")
        self.spec = spec
        self.layers = layers
        self.counters = counters if counters is not None else ActivityCounters()
        for m in layers:
            m.counters = self.counters

    @classmethod
    def deploy(cls, model: SpikingMLP, chip: ChipConfig, noise: NoiseModel,
               generator: torch.Generator | None = None, *,
               calibration: torch.Tensor | None = None,
               counters: ActivityCounters | None = None) -> "AnalogSNN":
        """Program a trained float network onto a chip instance.

        Parameters
        ----------
        model : SpikingMLP
        chip : ChipConfig
            The chip description; ``hierarchy.max_tiles`` (if not 0) bounds the layers' tiles.
        noise : NoiseModel
        generator : torch.Generator, optional
            The chip instance: device personalities, write draws and rounding come from it.
        calibration : Tensor, optional
            Inputs ``(B, T, C)`` or ``(B, F)`` whose forward pass sets the calibrated ADC ranges
            (layer by layer, on the analog network's own spikes); otherwise the first forward
            pass calibrates.
        """
        counters = counters if counters is not None else ActivityCounters()
        tiles = [AnalogMatrix(w.shape[0], w.shape[1], chip, noise, generator, name=f"L{l}",
                              counters=counters).n_tiles for l, w in enumerate(model.weights)]
        max_tiles = chip.hierarchy.max_tiles
        if max_tiles and sum(tiles) > max_tiles:
            raise ValueError(f"network {'-'.join(map(str, model.spec.layers))} needs "
                             f"{sum(tiles)} tiles {tiles}, the chip has hierarchy.max_tiles="
                             f"{max_tiles}")
        layers = [AnalogMatrix.from_weight(w.detach(), chip, noise, generator,
                                           name=f"L{l}", counters=counters)
                  for l, w in enumerate(model.weights)]
        snn = cls(model.spec, layers, counters)
        if calibration is not None and chip.crossbar.adc_range == "calibrated":
            snn.calibrate(calibration)
        return snn

    def calibrate(self, x: torch.Tensor) -> None:
        """Set every layer's forward ADC range from the activity that ``x`` produces."""
        h = encode(x, self.spec.timesteps)
        for m in self.layers:
            m.calibrate(h)
            s, _ = lif_forward_fast(m.forward(h, phase="calibrate"), self.spec.lif)
            h = s

    def effective_model(self) -> SpikingMLP:
        """A float :class:`SpikingMLP` holding the weights the arrays really store (no ADC)."""
        model = SpikingMLP(self.spec)
        with torch.no_grad():
            for w, m in zip(model.weights, self.layers):
                w.copy_(m.effective_weight())
        return model

    # --- forward --------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor, *, training: bool = False,
                phase: str = "forward") -> tuple[torch.Tensor, Trace]:
        """Time-averaged output ``(B, C)`` and the :class:`Trace`, as ``SpikingMLP.forward``.

        ``training`` also counts the membrane writes a GradLIF unit keeps for the backward pass.
        """
        if self.datapath is not None:
            return self.datapath.forward(self, x, training=training, phase=phase)
        lif = self.spec.lif
        width = self.chip.datapath
        # One contiguous copy of the time-major input: the read, the word-width check, the
        # counters and the WGU each reshape it, which would copy a transposed view every time.
        h = encode(x.detach().to(self.device), self.spec.timesteps).contiguous()
        T, B = h.shape[:2]
        trace = Trace([], [], [])
        for l, m in enumerate(self.layers):
            cur = m.forward(h, phase=phase, binary=True if l else None)
            s, u = lif_forward_fast(cur, lif)
            n = m.n_out
            in_bytes = vector_bytes(m.n_in, _word_bits(h, width.input_bits) if l == 0 else 1)
            self._count_neuron_stage(m.name, phase, T * B, n, in_bytes, training)
            trace.inputs.append(h)
            trace.membranes.append(u)
            trace.spikes.append(s)
            h = s
        last = self.layers[-1]
        self.counters.add(last.name, phase, tile_bytes=T * B * vector_bytes(last.n_out, 1))
        out = trace.spikes[-1] if self.spec.readout == "spike" else trace.membranes[-1]
        return out.mean(dim=0), trace

    __call__ = forward

    # --- adaptation -----------------------------------------------------------------------------

    def _gradlif(self, l: int, proj: torch.Tensor, u: torch.Tensor, err_bits: int
                 ) -> torch.Tensor:
        """``delta = proj * h(u - theta)`` with its counts; ``proj`` is ``(1, B, n)`` or
        ``(T, B, n)``.

        The GradLIF unit reads the stored membrane and the error of every neuron-timestep (a
        time-independent DFA error is re-read each timestep) and writes the delta.
        """
        T, B, n = u.shape
        name = self.layers[l].name
        width = self.chip.datapath
        self.counters.add(name, "backward", gradlif_ops=T * B * n,
                          buffer_read_bytes=T * B * (vector_bytes(n, width.membrane_bits)
                                                     + vector_bytes(n, err_bits or 16)),
                          buffer_write_bytes=T * B * vector_bytes(n, width.delta_bits))
        return gradlif_delta(self.spec.lif, self.spec.readout, l == self.n_layers - 1, u, proj)

    def _wgu_and_update(self, deltas: list[torch.Tensor], trace: Trace, lr: float
                        ) -> tuple[list[torch.Tensor], list[WriteStats]]:
        """WGU ``dW_l = -lr * sum_t delta^T s_in`` for every layer, then the device updates."""
        dws = []
        width = self.chip.datapath
        for l, m in enumerate(self.layers):
            d, s = deltas[l], trace.inputs[l]
            dws.append(-lr * wgu_product(d, s))
            self.count_wgu(m, vectors=d.shape[0] * d.shape[1],
                           nonzero=_count_nonzero(s, binary=l > 0),
                           in_bits=_word_bits(s, width.input_bits) if l == 0 else 1)
        writes = [m.update(dw) for m, dw in zip(self.layers, dws)]
        return dws, writes

    def _output_error(self, x: torch.Tensor, y: torch.Tensor, loss: str):
        """Forward a training batch; return what both rules' backward passes start from.

        ``(out, trace, loss, e_t, T, batch, error_bits, membranes)``: the output error is split
        evenly over the ``T`` timesteps of the time-averaged read-out (``e_t = e / T``).
        """
        out, trace = self.forward(x, training=True)
        loss_v, e = output_error(out, y.to(out.device), loss)
        T, B = trace.spikes[-1].shape[:2]
        return (out, trace, loss_v, e / T, T, B, self.chip.datapath.error_bits,
                trace.membranes)

    @torch.no_grad()
    def dfa_step(self, x: torch.Tensor, y: torch.Tensor, feedback: list[AnalogMatrix],
                 lr: float, loss: str = "ce") -> StepResult:
        """One on-chip DFA step on a batch: forward, ``B_l e`` in crossbars, WGU, update."""
        self._check_lr(lr)
        if len(feedback) != self.n_layers - 1:
            raise ValueError(f"need {self.n_layers - 1} feedback matrices, got {len(feedback)}")
        for l, b in enumerate(feedback):
            if b.shape != (self.spec.layers[l + 1], self.spec.n_classes):
                raise ValueError(f"feedback {l} is {b.shape}, expected "
                                 f"{(self.spec.layers[l + 1], self.spec.n_classes)}")
        if self.datapath is not None:
            return self.datapath.dfa_step(self, x, y, feedback, lr, loss)
        out, trace, loss_v, e_t, T, B, eb, us = self._output_error(x, y, loss)
        c = self.spec.n_classes
        deltas: list[torch.Tensor] = [None] * self.n_layers  # type: ignore[list-item]
        if feedback:
            # e goes once per sample from the output tile to the B tile.
            feedback[0].counters.add(feedback[0].name, "backward",
                                     tile_bytes=B * vector_bytes(c, eb or 16))
        for l, fb in enumerate(feedback):
            fb.counters = self.counters
            proj = fb.forward(e_t, bits=eb, binary=False, phase="backward")  # (B, n_l), once
            self.counters.add(fb.name, "backward",
                              tile_bytes=B * vector_bytes(fb.n_out, eb or 16))
            deltas[l] = self._gradlif(l, proj.unsqueeze(0), us[l], eb)
        deltas[-1] = self._gradlif(self.n_layers - 1, e_t.unsqueeze(0), us[-1], eb)
        dws, writes = self._wgu_and_update(deltas, trace, lr)
        return StepResult(float(loss_v), out, dws, writes)

    @torch.no_grad()
    def bp_step(self, x: torch.Tensor, y: torch.Tensor, lr: float,
                loss: str = "ce") -> StepResult:
        """One on-chip BP step: forward, errors back through transposed reads, WGU, update."""
        self._check_lr(lr)
        if self.datapath is not None:
            return self.datapath.bp_step(self, x, y, lr, loss)
        out, trace, loss_v, e_t, T, B, eb, us = self._output_error(x, y, loss)
        L = self.n_layers
        deltas: list[torch.Tensor] = [None] * L  # type: ignore[list-item]
        self.counters.add(self.layers[-1].name, "backward",
                          tile_bytes=B * vector_bytes(self.spec.n_classes, eb or 16))
        deltas[-1] = self._gradlif(L - 1, e_t.unsqueeze(0), us[-1], eb)
        for l in range(L - 2, -1, -1):
            upper = self.layers[l + 1]
            back = upper.transpose(deltas[l + 1], bits=eb, phase="backward")  # (T, B, n_l)
            self.counters.add(upper.name, "backward",
                              tile_bytes=T * B * vector_bytes(upper.n_in, eb or 16))
            deltas[l] = self._gradlif(l, back, us[l], eb)
        dws, writes = self._wgu_and_update(deltas, trace, lr)
        return StepResult(float(loss_v), out, dws, writes)


def to_device(network: DeployedNetwork, feedback: list[AnalogMatrix],
              device: torch.device | str) -> None:
    """Move a deployed network and its DFA feedback matrices to ``device`` together."""
    network.to(device)
    for m in feedback:
        m.to(device)


def wgu_product(delta: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``sum_t delta[t]^T s[t]`` (``(..., out)``, ``(..., in)`` -> ``(out, in)``): one matrix
    product over all timesteps and samples.

    The same sum as ``einsum("tbo,tbi->oi")``, in BLAS's order (so equal to float rounding, not
    bit for bit); the narrow side goes in as the product's rows, which BLAS runs several times
    faster for a 9-input layer.
    """
    d = delta.reshape(-1, delta.shape[-1])
    s = inputs.reshape(-1, inputs.shape[-1])
    if s.shape[1] >= d.shape[1]:
        return d.t() @ s
    return (s.t() @ d).t().contiguous()


def _count_nonzero(x: torch.Tensor, *, binary: bool) -> int:
    """Non-zero entries of ``x``; for 0/1 spikes their sum, a single pass that
    ``torch.count_nonzero`` takes several times longer for (exact: every partial sum of ones is
    an integer below 2**24, which float32 holds exactly)."""
    if binary and x.numel() < (1 << 24):
        return int(x.sum())
    return int(torch.count_nonzero(x))


def _word_bits(x: torch.Tensor, input_bits: int) -> int:
    """Buffered word width of a layer input: 1 for spikes, else ``input_bits`` (16 if ideal)."""
    if is_binary(x):
        return 1
    return input_bits or 16
