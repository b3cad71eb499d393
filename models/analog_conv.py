# SPDX-License-Identifier: MIT
"""A spiking network of an :class:`~dfasim.golden.architecture.Architecture` (convolutions and
dense layers) deployed on analog crossbars, with on-chip DFA and BP adaptation steps.

Convolutions on crossbars (im2col)
    A :class:`ConvLayer` is one :class:`AnalogMatrix` of ``k * k * C_in`` rows by ``C_out``
    columns (the weight ``(C_out, C_in, k, k)`` flattened channel-major, as
    ``torch.nn.functional.unfold`` orders a patch), tiled over crossbars like any matrix. The
    layer's input spikes are cut into patches; zero padding gives inactive rows. Every output
    position of every timestep is one sequential read of the matrix, counted per read, so spike
    sparsity and all-zero patches (skipped: no crossbar activation, no conversion) show in the
    counters. Weight duplication (``mapping.weight_duplication``) lets copies serve output
    positions in parallel: it changes the latency (``models/cost/latency.py``), not the reads,
    so this model reads one copy.

Digital parts
    Batch norm is a per-channel affine ``scale * z + shift`` (``scale = gamma / sqrt(var + eps)``,
    ``shift = beta - mean * scale``: the running statistics, as at inference) applied in float by
    the neuron unit before the LIF update; it is part of the neuron update and not counted apart.
    Pooling of the spikes (max or average) is digital too; average pooling gives multi-bit
    inputs to the next layer, which are then driven bit-serially (``datapath.input_bits``).

Adaptation (plain SGD on chip, as :mod:`.analog_network`)
    * **DFA** (:meth:`AnalogNetwork.dfa_step`): ``e_t = e / T`` per class (``golden.rules.DFA``,
      ``error="average"``); the B tile holds one ``B_l`` of ``neurons_l x n_classes`` per hidden
      layer (a convolution's whole map before pooling) and projects ``e_t`` once per sample;
      the output layer gets ``e_t`` itself (a vote read-out spreads each class's error evenly
      over its group); GradLIF gives
      ``delta_l[t] = (B_l e_t) * h(u_l[t] - theta)`` per neuron of the map, the batch-norm scale
      carries it to the convolution's output, and the WGU sums the im2col outer products
      ``delta[t, position] x patch[t, position]`` over all positions and timesteps.
    * **BP** (:meth:`AnalogNetwork.bp_step`): errors go down through transposed reads of the
      upper layer's matrix, one per output position of a convolution (col2im sums the patches'
      results digitally onto the input map), back through pooling (to the max of each window, or
      spread evenly by an average) and GradLIF; spatial BP per timestep, no BPTT.

Counters are those of :class:`~dfasim.models.analog_network.AnalogSNN`, with a layer's neurons
being its whole map: a dense-only architecture gives exactly AnalogSNN's numbers and counters.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ..golden.architecture import Architecture, ConvLayer
from ..golden.conv import encode_frames
from ..golden.lif import LIFConfig
from ..golden.loss import output_error
from ..golden.network import Trace
from .activity import ActivityCounters, vector_bytes
from .analog_network import (DeployedNetwork, StepResult, _word_bits, gradlif_delta,
                             wgu_product)
from .chip import ChipConfig
from .crossbar import AnalogMatrix, WriteStats
from .neuron_kernels import lif_forward_fast
from .rram.noise import NoiseModel

__all__ = ["AnalogNetwork", "BatchNormAffine", "CHUNK_VALUES", "conv_matrix", "conv_feedback",
           "deploy_conv_feedback"]

#: Values one batch of convolution reads may hold (im2col patches plus the column currents of
#: their bit planes): larger inputs are read, updated and back-propagated in chunks of frames
#: (``T x B`` frames in all). The counters are sums over reads, so they do not depend on it; an
#: ADC range still to be calibrated is set by the first chunk, and :meth:`calibrate` looks at
#: every ``n``-th frame when the calibration set exceeds one chunk.
CHUNK_VALUES = 1 << 24


class BatchNormAffine:
    """Batch norm at inference as a per-channel affine: ``scale * z + shift``.

    Members
    -------
    scale, shift : Tensor, ``(C,)``
    """

    def __init__(self, scale: torch.Tensor, shift: torch.Tensor) -> None:
        scale = torch.as_tensor(scale).detach().reshape(-1)
        shift = torch.as_tensor(shift).detach().reshape(-1)
        if scale.shape != shift.shape:
            raise ValueError(f"batch-norm scale {tuple(scale.shape)} and shift "
                             f"{tuple(shift.shape)} differ")
        self.scale, self.shift = scale, shift

    @classmethod
    def from_stats(cls, mean, var, weight=None, bias=None, eps: float = 1e-5
                   ) -> "BatchNormAffine":
        """From running statistics and the affine parameters (``BatchNorm2d`` fields)."""
        mean, var = torch.as_tensor(mean).detach(), torch.as_tensor(var).detach()
        weight = torch.ones_like(mean) if weight is None else torch.as_tensor(weight).detach()
        bias = torch.zeros_like(mean) if bias is None else torch.as_tensor(bias).detach()
        scale = weight / torch.sqrt(var + eps)
        return cls(scale, bias - mean * scale)

    @classmethod
    def of(cls, norm: Any) -> "BatchNormAffine | None":
        """``None``, a :class:`BatchNormAffine`, ``(scale, shift)``, or a ``BatchNorm2d``-like
        module (``running_mean``, ``running_var``, ``weight``, ``bias``, ``eps``)."""
        if norm is None or isinstance(norm, cls):
            return norm
        if isinstance(norm, torch.nn.Identity):
            return None
        if hasattr(norm, "running_mean"):
            if norm.running_mean is None:
                raise ValueError("a batch norm without running statistics cannot be deployed")
            return cls.from_stats(norm.running_mean, norm.running_var,
                                  getattr(norm, "weight", None), getattr(norm, "bias", None),
                                  float(getattr(norm, "eps", 1e-5)))
        if isinstance(norm, (tuple, list)) and len(norm) == 2:
            return cls(*norm)
        raise ValueError(f"cannot read a batch norm from {type(norm).__name__}")

    def apply(self, z: torch.Tensor) -> torch.Tensor:
        """``z (..., C, H, W)`` -> ``scale * z + shift`` per channel."""
        s = self.scale.to(z.dtype)[:, None, None]
        return z * s + self.shift.to(z.dtype)[:, None, None]


def conv_matrix(weight: torch.Tensor) -> torch.Tensor:
    """A convolution weight ``(C_out, C_in, k, k)`` as the crossbar's ``C_out x k*k*C_in``
    matrix (patch order of ``unfold``); a dense ``(out, in)`` weight unchanged."""
    return weight.reshape(weight.shape[0], -1) if weight.dim() == 4 else weight


def conv_feedback(architecture: Architecture, generator: torch.Generator | None = None
                  ) -> list[torch.Tensor]:
    """Fixed random DFA matrices ``B_l ~ N(0, 1/C)`` of ``neurons_l x C`` per hidden layer
    (``C`` classes), drawn as ``analog_network.default_feedback`` and ``golden.rules.DFA``."""
    c = architecture.n_classes
    return [torch.randn(n, c, generator=generator) / math.sqrt(c)
            for n in architecture.hidden_sizes]


def deploy_conv_feedback(architecture: Architecture, chip: ChipConfig, noise: NoiseModel,
                         generator: torch.Generator | None = None, *,
                         matrices: list[torch.Tensor] | None = None,
                         counters: ActivityCounters | None = None) -> list[AnalogMatrix]:
    """Program the DFA feedback matrices (``B0``, ``B1``, ...) into noisy crossbars, once."""
    if matrices is None:
        matrices = conv_feedback(architecture, generator)
    hidden, c = architecture.hidden_sizes, architecture.n_classes
    if len(matrices) != len(hidden):
        raise ValueError(f"need one feedback matrix per hidden layer ({len(hidden)}), "
                         f"got {len(matrices)}")
    out = []
    for l, (b, n) in enumerate(zip(matrices, hidden)):
        if tuple(b.shape) != (n, c):
            raise ValueError(f"feedback matrix {l} must be {(n, c)}, not {tuple(b.shape)}")
        out.append(AnalogMatrix.from_weight(b, chip, noise, generator, name=f"B{l}",
                                            counters=counters))
    return out


class AnalogNetwork(DeployedNetwork):
    """An :class:`Architecture` whose layers are :class:`AnalogMatrix` instances on one chip.

    Members
    -------
    architecture : Architecture
    layers : list of AnalogMatrix
        ``layers[l]`` holds layer ``l``'s matrix (``C_out x k*k*C_in`` for a convolution),
        named ``"L{l}"``.
    norms : list of BatchNormAffine or None
    lif : LIFConfig
    readout : str
        ``"spike"`` or ``"membrane"`` (what is averaged over ``T``).
    counters : ActivityCounters
    """

    def __init__(self, architecture: Architecture, layers: list[AnalogMatrix], *,
                 norms: Sequence[Any] | None = None, lif: LIFConfig | None = None,
                 readout: str = "spike", counters: ActivityCounters | None = None) -> None:
        if not isinstance(architecture, Architecture):
            raise ValueError(f"architecture must be an Architecture, not "
                             f"{type(architecture).__name__}")
        mats = architecture.matrices()
        if len(layers) != len(mats):
            raise ValueError(f"{len(mats)} layers expected, got {len(layers)}")
        for l, (m, want) in enumerate(zip(layers, mats)):
            if m.shape != (want.cols, want.rows):
                raise ValueError(f"layer {l} is {m.shape}, the architecture needs "
                                 f"{(want.cols, want.rows)}")
        norms = [None] * len(layers) if norms is None else [BatchNormAffine.of(n) for n in norms]
        if len(norms) != len(layers):
            raise ValueError(f"{len(layers)} batch norms (or None) expected, got {len(norms)}")
        for l, (n, layer) in enumerate(zip(norms, architecture.layers)):
            if n is not None and (not isinstance(layer, ConvLayer)
                                  or n.scale.numel() != layer.out_channels):
                raise ValueError(f"layer {l}: a batch norm needs a convolution with as many "
                                 f"channels")
        if readout not in ("spike", "membrane"):
            raise ValueError(f"readout must be 'spike' or 'membrane', not {readout!r}")
        self.architecture = architecture
        self.layers = layers
        self.norms = norms
        self.lif = lif if lif is not None else LIFConfig()
        self.readout = readout
        self.counters = counters if counters is not None else ActivityCounters()
        for m in layers:
            m.counters = self.counters

    @classmethod
    def deploy(cls, architecture: Architecture, weights: Sequence[torch.Tensor],
               chip: ChipConfig, noise: NoiseModel, generator: torch.Generator | None = None,
               *, norms: Sequence[Any] | None = None, lif: LIFConfig | None = None,
               readout: str = "spike", calibration: torch.Tensor | None = None,
               counters: ActivityCounters | None = None) -> "AnalogNetwork":
        """Program trained weights (conv ``(C_out, C_in, k, k)``, dense ``(out, in)``) onto a
        chip instance; ``norms`` per layer: None, ``(scale, shift)``, a
        :class:`BatchNormAffine` or a ``BatchNorm2d``. ``hierarchy.max_tiles`` (if not 0)
        bounds the tiles; ``calibration`` inputs set calibrated ADC ranges layer by layer."""
        counters = counters if counters is not None else ActivityCounters()
        mats = architecture.matrices()
        if len(weights) != len(mats):
            raise ValueError(f"{len(mats)} weights expected, got {len(weights)}")
        flat = []
        for l, (w, m) in enumerate(zip(weights, mats)):
            w2 = conv_matrix(w.detach())
            if tuple(w2.shape) != (m.cols, m.rows):
                raise ValueError(f"weight {l} {tuple(w.shape)} does not fit layer {l} "
                                 f"({m.cols} x {m.rows} on crossbars)")
            flat.append(w2)
        tiles = [AnalogMatrix(w.shape[0], w.shape[1], chip, noise, generator, name=f"L{l}",
                              counters=counters).n_tiles for l, w in enumerate(flat)]
        max_tiles = chip.hierarchy.max_tiles
        if max_tiles and sum(tiles) > max_tiles:
            raise ValueError(f"network {architecture.name} needs {sum(tiles)} tiles {tiles}, "
                             f"the chip has hierarchy.max_tiles={max_tiles}")
        layers = [AnalogMatrix.from_weight(w, chip, noise, generator, name=f"L{l}",
                                           counters=counters) for l, w in enumerate(flat)]
        net = cls(architecture, layers, norms=norms, lif=lif, readout=readout,
                  counters=counters)
        if calibration is not None and chip.crossbar.adc_range == "calibrated":
            net.calibrate(calibration)
        return net

    @classmethod
    def from_model(cls, model: Any, chip: ChipConfig, noise: NoiseModel,
                   generator: torch.Generator | None = None, **kwargs) -> "AnalogNetwork":
        """Deploy a float network with ``weights``, ``spec.lif``, ``spec.readout`` and either
        ``architecture`` (and ``norms``) or an MLP ``spec.layers``."""
        arch = getattr(model, "architecture", None)
        if arch is None:
            spec = model.spec
            arch = Architecture.mlp(spec.layers, spec.timesteps)
        norms = list(getattr(model, "norms", [None] * len(model.weights)))
        return cls.deploy(arch, list(model.weights), chip, noise, generator, norms=norms,
                          lif=model.spec.lif, readout=model.spec.readout, **kwargs)

    def to(self, device: torch.device | str) -> "AnalogNetwork":
        """Move the arrays and the batch-norm affines to ``device`` (``DeployedNetwork.to``)."""
        super().to(device)
        for norm in self.norms:
            if norm is not None:
                norm.scale, norm.shift = norm.scale.to(device), norm.shift.to(device)
        return self

    def effective_weights(self) -> list[torch.Tensor]:
        """The weights the arrays really store, in the layers' own shapes (no ADC)."""
        out = []
        for m, layer in zip(self.layers, self.architecture.layers):
            w = m.effective_weight()
            if isinstance(layer, ConvLayer):
                w = w.reshape(layer.out_channels, layer.in_channels, layer.kernel_size,
                              layer.kernel_size)
            out.append(w)
        return out

    # --- one layer ------------------------------------------------------------------------------

    def _patches(self, l: int, h: torch.Tensor) -> torch.Tensor:
        """im2col of ``h (..., C, H, W)``: ``(frames, positions, k*k*C)``."""
        layer = self.architecture.layers[l]
        p = F.unfold(h.reshape(-1, *h.shape[-3:]), layer.kernel_size, padding=layer.padding,
                     stride=layer.stride)
        return p.transpose(1, 2)

    def _chunks(self, l: int, frames: int, map_shape: tuple[int, ...]) -> list[slice]:
        """Slices of the ``frames`` input maps of convolution ``l`` read as one batch."""
        layer, m = self.architecture.layers[l], self.layers[l]
        _, height, width = layer.conv_shape(tuple(map_shape))
        planes = 1 if self._binary(l) else 2 * max(1, self.chip.datapath.input_bits)
        per_frame = height * width * (m.n_in + planes * m.row_tiles * 2 * m.n_out)
        step = max(1, min(frames, CHUNK_VALUES // max(1, per_frame)))
        return [slice(i, i + step) for i in range(0, frames, step)]

    def _binary(self, l: int) -> bool | None:
        """Whether layer ``l``'s input is known to be spikes (an average pool is not)."""
        if l == 0:
            return None
        below = self.architecture.layers[l - 1]
        return None if isinstance(below, ConvLayer) and below.pool == "avg" else True

    def _currents(self, l: int, h: torch.Tensor, phase: str) -> torch.Tensor:
        """Analog currents of layer ``l`` (after batch norm) for its input ``h (T, B, ...)``."""
        layer, m = self.architecture.layers[l], self.layers[l]
        T, B = h.shape[:2]
        if isinstance(layer, ConvLayer):
            _, height, width = layer.conv_shape(tuple(h.shape[2:]))
            flat = h.reshape(T * B, *h.shape[2:])
            cur = torch.cat([m.forward(self._patches(l, flat[c]), phase=phase,
                                       binary=self._binary(l))
                             for c in self._chunks(l, T * B, h.shape[2:])])
            cur = cur.transpose(1, 2).reshape(T, B, layer.out_channels, height, width)
            if self.norms[l] is not None:
                cur = self.norms[l].apply(cur)
            return cur
        return m.forward(h.reshape(T, B, -1), phase=phase, binary=self._binary(l))

    def _pool(self, l: int, s: torch.Tensor) -> torch.Tensor:
        layer = self.architecture.layers[l]
        if not isinstance(layer, ConvLayer) or layer.pool is None:
            return s
        T, B = s.shape[:2]
        fn = F.max_pool2d if layer.pool == "max" else F.avg_pool2d
        out = fn(s.reshape(T * B, *s.shape[2:]), layer.pool_size)
        return out.reshape(T, B, *out.shape[1:])

    def calibrate(self, x: torch.Tensor) -> None:
        """Set every layer's forward ADC range from the activity that ``x`` produces."""
        arch = self.architecture
        h = encode_frames(x.detach().to(self.device), arch.input_shape, arch.timesteps)
        for l, m in enumerate(self.layers):
            layer = arch.layers[l]
            if isinstance(layer, ConvLayer):
                flat = h.reshape(-1, *h.shape[2:])
                chunks = self._chunks(l, flat.shape[0], h.shape[2:])
                m.calibrate(self._patches(l, flat[::len(chunks)]))
            else:
                m.calibrate(h.reshape(*h.shape[:2], -1))
            s, _ = lif_forward_fast(self._currents(l, h, "calibrate"), self.lif)
            h = self._pool(l, s)

    # --- forward --------------------------------------------------------------------------------

    def _readout(self, last: torch.Tensor) -> torch.Tensor:
        out = last.mean(dim=0)
        arch = self.architecture
        if arch.readout == "vote":
            out = out.reshape(out.shape[0], arch.n_classes, arch.vote_group).mean(dim=-1)
        return out

    def forward(self, x: torch.Tensor, *, training: bool = False,
                phase: str = "forward") -> tuple[torch.Tensor, Trace]:
        """Output ``(B, n_classes)`` and the :class:`Trace` (``inputs[l]`` drive layer ``l``:
        pooled spikes or the encoded input; ``membranes[l]`` and ``spikes[l]`` are shaped
        ``(T, B, C, H, W)`` for a convolution, before pooling)."""
        arch, width = self.architecture, self.chip.datapath
        h = encode_frames(x.detach().to(self.device), arch.input_shape, arch.timesteps)
        T, B = h.shape[:2]
        trace = Trace([], [], [])
        for l, m in enumerate(self.layers):
            cur = self._currents(l, h, phase)
            s, u = lif_forward_fast(cur, self.lif)
            n = s[0, 0].numel()
            n_in = h[0, 0].numel()
            in_bytes = vector_bytes(n_in, _word_bits(h, width.input_bits)
                                    if l == 0 or self._binary(l) is None else 1)
            self._count_neuron_stage(m.name, phase, T * B, n, in_bytes, training)
            trace.inputs.append(h)
            trace.membranes.append(u)
            trace.spikes.append(s)
            h = self._pool(l, s)
        n_last = trace.spikes[-1][0, 0].numel()
        self.counters.add(self.layers[-1].name, phase, tile_bytes=T * B * vector_bytes(n_last, 1))
        last = trace.spikes[-1] if self.readout == "spike" else trace.membranes[-1]
        return self._readout(last), trace

    __call__ = forward

    # --- adaptation -----------------------------------------------------------------------------

    def _gradlif(self, l: int, proj: torch.Tensor, u: torch.Tensor, err_bits: int
                 ) -> torch.Tensor:
        """``delta = proj * h(u - theta)`` over the layer's map, counted per
        neuron-timestep."""
        T, B = u.shape[:2]
        n = u[0, 0].numel()
        width = self.chip.datapath
        self.counters.add(self.layers[l].name, "backward", gradlif_ops=T * B * n,
                          buffer_read_bytes=T * B * (vector_bytes(n, width.membrane_bits)
                                                     + vector_bytes(n, err_bits or 16)),
                          buffer_write_bytes=T * B * vector_bytes(n, width.delta_bits))
        return gradlif_delta(self.lif, self.readout, l == self.n_layers - 1, u,
                             proj.reshape(proj.shape[0], B, *u.shape[2:]))

    def _to_matrix_delta(self, l: int, delta: torch.Tensor) -> torch.Tensor:
        """Layer ``l``'s delta at its neurons -> at the matrix outputs: the batch-norm scale
        (digital); a convolution's as ``(T*B, positions, C_out)``, a dense one ``(T, B, n)``."""
        layer = self.architecture.layers[l]
        if not isinstance(layer, ConvLayer):
            return delta
        if self.norms[l] is not None:
            delta = delta * self.norms[l].scale.to(delta.dtype)[:, None, None]
        T, B, C = delta.shape[:3]
        return delta.reshape(T * B, C, -1).transpose(1, 2)

    def _wgu_and_update(self, deltas: list[torch.Tensor], trace: Trace, lr: float
                        ) -> tuple[list[torch.Tensor], list[WriteStats]]:
        """WGU ``dW = -lr * sum over timesteps and positions of delta x input patch``."""
        dws = []
        width = self.chip.datapath
        for l, m in enumerate(self.layers):
            layer, h = self.architecture.layers[l], trace.inputs[l]
            T, B = h.shape[:2]
            d = self._to_matrix_delta(l, deltas[l])
            if isinstance(layer, ConvLayer):
                flat = h.reshape(T * B, *h.shape[2:])
                grad, nonzero = 0, 0
                for c in self._chunks(l, T * B, h.shape[2:]):
                    s = self._patches(l, flat[c])                         # (frames, P, rows)
                    grad = grad + torch.einsum("npo,npi->oi", d[c], s)
                    nonzero += int((s != 0).sum())
                positions = s.shape[1]
            else:
                s = h.reshape(T, B, -1)
                d = d.reshape(d.shape[0], B, -1)
                grad = wgu_product(d.expand(T, *d.shape[1:]), s)
                positions = 1
                nonzero = int((s != 0).sum())
            dws.append(-lr * grad)
            in_bits = _word_bits(h, width.input_bits) if l == 0 or self._binary(l) is None \
                else 1
            self.count_wgu(m, vectors=T * B * positions, nonzero=nonzero, in_bits=in_bits)
        writes = [m.update(dw) for m, dw in zip(self.layers, dws)]
        shaped = [dw.reshape(layer.out_channels, layer.in_channels, layer.kernel_size,
                             layer.kernel_size) if isinstance(layer, ConvLayer) else dw
                  for dw, layer in zip(dws, self.architecture.layers)]
        return shaped, writes

    def _output_error(self, x: torch.Tensor, y: torch.Tensor, loss: str):
        """Forward a training batch; ``(out, trace, loss, e_t (B, n_classes), e_out
        (B, n_outputs), T, B, bits, membranes)``: ``e_out`` is ``e_t`` at the output neurons (a vote
        spreads each class's error evenly over its group)."""
        out, trace = self.forward(x, training=True)
        loss_v, e = output_error(out, y.to(out.device), loss)
        T, B = trace.spikes[-1].shape[:2]
        e_t = e / T
        arch = self.architecture
        e_out = e_t.repeat_interleave(arch.vote_group, dim=-1) / arch.vote_group \
            if arch.readout == "vote" else e_t
        return (out, trace, loss_v, e_t, e_out, T, B, self.chip.datapath.error_bits,
                trace.membranes)

    @torch.no_grad()
    def dfa_step(self, x: torch.Tensor, y: torch.Tensor, feedback: list[AnalogMatrix],
                 lr: float, loss: str = "ce") -> StepResult:
        """One on-chip DFA step: forward, ``B_l e`` in crossbars, GradLIF, WGU, update."""
        self._check_lr(lr)
        hidden, c = self.architecture.hidden_sizes, self.architecture.n_classes
        if len(feedback) != len(hidden):
            raise ValueError(f"need {len(hidden)} feedback matrices, got {len(feedback)}")
        for l, (b, n) in enumerate(zip(feedback, hidden)):
            if b.shape != (n, c):
                raise ValueError(f"feedback {l} is {b.shape}, expected {(n, c)}")
        out, trace, loss_v, e_t, e_out, T, B, eb, us = self._output_error(x, y, loss)
        deltas: list[torch.Tensor] = [None] * self.n_layers  # type: ignore[list-item]
        if feedback:
            feedback[0].counters.add(feedback[0].name, "backward",
                                     tile_bytes=B * vector_bytes(c, eb or 16))
        for l, fb in enumerate(feedback):
            fb.counters = self.counters
            proj = fb.forward(e_t, bits=eb, binary=False, phase="backward")   # once per sample
            self.counters.add(fb.name, "backward",
                              tile_bytes=B * vector_bytes(fb.n_out, eb or 16))
            deltas[l] = self._gradlif(l, proj.unsqueeze(0), us[l], eb)
        deltas[-1] = self._gradlif(self.n_layers - 1, e_out.unsqueeze(0), us[-1], eb)
        dws, writes = self._wgu_and_update(deltas, trace, lr)
        return StepResult(float(loss_v), out, dws, writes)

    def _unpool(self, l: int, spikes: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Error at layer ``l``'s pooled output -> at its neurons (max: the window's first
        maximum; average: spread evenly)."""
        layer = self.architecture.layers[l]
        if not isinstance(layer, ConvLayer) or layer.pool is None:
            return grad.reshape(spikes.shape)
        with torch.enable_grad():
            s = spikes.detach().clone().requires_grad_(True)
            p = self._pool(l, s)
            (g,) = torch.autograd.grad(p, s, grad.reshape(p.shape))
        return g

    @torch.no_grad()
    def bp_step(self, x: torch.Tensor, y: torch.Tensor, lr: float,
                loss: str = "ce") -> StepResult:
        """One on-chip BP step: errors back through transposed reads (per output position of a
        convolution, col2im digital), pooling and GradLIF; WGU and update."""
        self._check_lr(lr)
        out, trace, loss_v, _, e_out, T, B, eb, us = self._output_error(x, y, loss)
        L = self.n_layers
        arch = self.architecture
        deltas: list[torch.Tensor] = [None] * L  # type: ignore[list-item]
        self.counters.add(self.layers[-1].name, "backward",
                          tile_bytes=B * vector_bytes(arch.neurons()[-1], eb or 16))
        deltas[-1] = self._gradlif(L - 1, e_out.unsqueeze(0), us[-1], eb)
        for l in range(L - 2, -1, -1):
            upper, layer = self.layers[l + 1], arch.layers[l + 1]
            d = self._to_matrix_delta(l + 1, deltas[l + 1])
            below = trace.inputs[l + 1]                                   # (T, B, ...) pooled
            if isinstance(layer, ConvLayer):
                parts = []
                for c in self._chunks(l + 1, T * B, below.shape[2:]):
                    b = upper.transpose(d[c], bits=eb, phase="backward")  # (frames, P, rows)
                    parts.append(F.fold(b.transpose(1, 2), below.shape[-2:], layer.kernel_size,
                                        padding=layer.padding, stride=layer.stride))
                back = torch.cat(parts).reshape(below.shape)
            else:
                d = d.expand(T, *d.shape[1:]) if d.shape[0] == 1 else d
                back = upper.transpose(d.reshape(T, B, -1), bits=eb, phase="backward")
            n_in = below[0, 0].numel()
            self.counters.add(upper.name, "backward",
                              tile_bytes=T * B * vector_bytes(n_in, eb or 16))
            back = self._unpool(l, trace.spikes[l], back)
            deltas[l] = self._gradlif(l, back, us[l], eb)
        dws, writes = self._wgu_and_update(deltas, trace, lr)
        return StepResult(float(loss_v), out, dws, writes)
