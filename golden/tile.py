# SPDX-License-Identifier: MIT
"""Bit-exact reference of one training tile: forward, backward and update of one layer.

The tile (``rtl.tile.Tile``) chains the existing blocks around a crossbar; this module chains
their golden functions in the same order, with the crossbar as an *oracle*: a callable that
takes one request (a ``dict``, the decoded :func:`rtl.common.layouts.XbarRequestLayout` beat)
and returns the ADC codes of that read, or applies a write. The same golden therefore works
with any crossbar model (``cosim.tile_xbar`` wraps dfasim's analog model); RTL and golden see
the same codes as long as each drives its own oracle, built from the same seed, with the same
sequence of requests, which is the order fixed here.

One step of one layer for a batch of ``B`` samples, per sample ``b`` (sample-major: the
GradLIF unit keeps one membrane per neuron and a store of ``T`` timesteps):

1. *Forward*, for ``t = 0 .. T-1`` and row group ``r = 0 .. R-1``: a read request drives the
   spikes of inputs ``r * rows ..`` (:func:`read_request`); the codes go through
   ``psum.differential_codes`` and ``psum.shift_add`` (one slice) and ``psum.psum_stream``
   (one group per timestep, ``R`` beats) into ``grad_lif.lif_forward_int_seq``.
2. *Backward*, for ``t = 0 .. T-1``: ``delta = grad_lif.grad_lif_backward_int(u, err)``; with
   ``propagate`` (BP), for each row group ``r`` and magnitude bit ``k`` of the sign-magnitude
   ``delta`` a transposed read (:func:`tread_request`), then ``shift_add`` of the ``K`` plane
   codes (1-bit slices), ``>> bp_shift`` and saturation to ``err_width``: the error of the
   previous layer, ``W^T delta``.
3. *Gradient*: ``wgu.wgu_accumulate`` of ``delta (x) spikes_in`` in sample-major order.

After the batch, ``wgu.wgu_readout`` gives the level change of every weight, and one write
request per output row (:func:`write_request`) hands it to the crossbar.

Errors carry the sign of the descent direction (``target - output``), so the level changes are
added to the weights as they are.

:class:`TileParams` is torch-free (the RTL imports it); the functions import torch when called.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .params import (MAX_DEPTH, MAX_WIDTH, GradLIFParams, PingPongParams, PsumParams,
                     ShiftAddParams, WGUParams, check_bool, check_choice, check_depth,
                     check_int, check_width)

__all__ = ["TileParams", "TileLayerResult", "read_request", "tread_request", "write_request",
           "tile_forward", "tile_backward", "tile_update", "tile_step", "output_error",
           "project_error", "network_step", "RULES"]

#: Training rules of :func:`network_step`.
RULES = ("dfa", "bp")

#: Largest batch of one step: the sample counter of the controller (a 16-bit register).
MAX_BATCH = 1 << 16

Oracle = Callable[[dict], Any]


@dataclass(frozen=True, kw_only=True)
class TileParams:
    """Parameters of one training tile (keyword-only, validated, torch-free).

    Parameters
    ----------
    n_in : int
        Inputs of the layer (crossbar rows in use), ``1 .. 63``: the spikes of one timestep
        are one word of the input buffer.
    n_out : int
        Outputs (neurons, GradLIF lanes, WGU rows), ``1 .. 63`` (one output-buffer word).
    timesteps : int
        ``T``, timesteps per sample (the membrane store depth), ``1 .. 2**20``.
    max_batch : int
        Most samples per step, ``1 .. 2**16``. Default 4.
    rows : int or None
        Crossbar rows per row group (one read), ``1 .. n_in``; ``None``: ``n_in`` (one group).
    adc_bits : int
        ADC code width, ``1 .. 16``. Default 4.
    acc_width : int
        Signed width of the forward partial sums (shift-adder and accumulator outputs) and so
        of the GradLIF current, ``adc_bits + 1 .. 62``. Default 12.
    tacc_width : int
        Signed width of the transposed-read sum, ``adc_bits + 1 .. 62``. Default 16.
    bp_shift : int
        Right shift from the transposed-read sum to the propagated error, ``0 .. tacc_width``.
        Default 0.
    grad_width, wgu_shift, level_width, rounding
        WGU word width, readout shift, readout (level change) width and rounding
        (:class:`golden.params.WGUParams` ``grad_width``, ``shift``, ``out_width``,
        ``rounding``). Defaults 16, 0, 8, ``"floor"``.
    buffer_words : int or None
        Depth of each ping-pong buffer in words (a power of two; two banks): a bank holds one
        sample, so ``buffer_words / 2 >= timesteps``. ``None``: the smallest such depth.
    mem_width, frac_bits, leak_shift, threshold, reset, sg_width, grad_shift, err_width, \
delta_width
        GradLIF parameters (:class:`golden.params.GradLIFParams`; the current width is
        ``acc_width``). The defaults count in partial-sum LSBs: ``frac_bits = 0``,
        threshold 4, surrogate half-width 4, ``grad_shift = 2``.

    Raises
    ------
    TypeError
        A parameter has the wrong type.
    ValueError
        A parameter is out of range (no inputs or outputs, ``rows > n_in``, a buffer too small
        for one sample, ...); the message names the value.
    """

    n_in: int
    n_out: int
    timesteps: int
    max_batch: int = 4
    rows: int | None = None
    adc_bits: int = 4
    acc_width: int = 12
    tacc_width: int = 16
    bp_shift: int = 0
    grad_width: int = 16
    wgu_shift: int = 0
    level_width: int = 8
    rounding: str = "floor"
    buffer_words: int | None = None
    mem_width: int = 16
    frac_bits: int = 0
    leak_shift: int = 2
    threshold: int = 4
    reset: str = "hard"
    sg_width: int = 4
    grad_shift: int = 2
    err_width: int = 8
    delta_width: int = 8
    lif: GradLIFParams = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        n_in = check_int(self.n_in, name="n_in", minimum=1)
        if n_in > MAX_WIDTH:
            raise ValueError(f"n_in={n_in!r}: one timestep of the layer ({n_in} spikes) does "
                             f"not fit a {MAX_WIDTH}-bit input-buffer word")
        put("n_in", n_in)
        n_out = check_int(self.n_out, name="n_out", minimum=1)
        if n_out > MAX_WIDTH:
            raise ValueError(f"n_out={n_out!r}: one timestep of output spikes does not fit a "
                             f"{MAX_WIDTH}-bit output-buffer word")
        put("n_out", n_out)
        put("timesteps", check_depth(self.timesteps, name="timesteps"))
        put("max_batch", check_int(self.max_batch, name="max_batch", minimum=1,
                                   maximum=MAX_BATCH))
        rows = n_in if self.rows is None else self.rows
        put("rows", check_int(rows, name="rows", minimum=1, maximum=n_in))
        adc = check_width(self.adc_bits, name="adc_bits", maximum=16)
        put("adc_bits", adc)
        put("acc_width", check_int(self.acc_width, name="acc_width", minimum=adc + 1,
                                   maximum=MAX_WIDTH - 1))
        put("tacc_width", check_int(self.tacc_width, name="tacc_width", minimum=adc + 1,
                                    maximum=MAX_WIDTH - 1))
        put("bp_shift", check_int(self.bp_shift, name="bp_shift", minimum=0,
                                  maximum=self.tacc_width))
        check_choice(self.rounding, name="rounding", choices=("floor", "half_up"))
        check_choice(self.reset, name="reset", choices=("hard", "soft", "none"))
        put("lif", GradLIFParams(
            mem_width=self.mem_width, frac_bits=self.frac_bits, leak_shift=self.leak_shift,
            threshold=self.threshold, reset=self.reset, current_width=self.acc_width,
            sg_width=self.sg_width, grad_shift=self.grad_shift, err_width=self.err_width,
            delta_width=self.delta_width))
        words = self.buffer_words
        if words is None:
            words = max(2, 1 << (2 * self.timesteps - 1).bit_length())
        words = check_depth(words, name="buffer_words", minimum=2, maximum=MAX_DEPTH,
                            power_of_two=True)
        if words // 2 < self.timesteps:
            raise ValueError(f"buffer_words={words!r}: a bank of {words // 2} words is too "
                             f"small for one sample of timesteps={self.timesteps!r}")
        put("buffer_words", words)
        # Build every block's parameters once, so that a size the blocks refuse fails here.
        self.wgu_params, self.psum_params, self.fwd_shift_add, self.bwd_shift_add
        PingPongParams(depth=words, width=n_in)
        PingPongParams(depth=words, width=n_out)

    @property
    def groups(self) -> int:
        """``R``, row groups (reads) per timestep: ``ceil(n_in / rows)``."""
        return -(-self.n_in // self.rows)

    @property
    def planes(self) -> int:
        """``K``, magnitude bit planes of a transposed read: ``delta_width`` (``|delta|`` can
        reach ``2**(delta_width - 1)``)."""
        return self.delta_width

    @property
    def resp_lanes(self) -> int:
        """Lanes of a crossbar response: ``max(n_out, rows)``."""
        return max(self.n_out, self.rows)

    @property
    def wgu_params(self) -> WGUParams:
        return WGUParams(rows=self.n_out, cols=self.n_in, grad_width=self.grad_width,
                         delta_width=self.delta_width, shift=self.wgu_shift,
                         out_width=self.level_width, rounding=self.rounding)

    @property
    def psum_params(self) -> PsumParams:
        return PsumParams(lanes=self.n_out, in_width=self.acc_width, acc_width=self.acc_width)

    @property
    def fwd_shift_add(self) -> ShiftAddParams:
        """Forward shift-adder: the code pair of each output, one slice."""
        return ShiftAddParams(lanes=self.n_out, slices=1, acc_width=self.acc_width,
                              adc_bits=self.adc_bits)

    @property
    def bwd_shift_add(self) -> ShiftAddParams:
        """Transposed shift-adder: ``K`` 1-bit planes of each row of a group."""
        return ShiftAddParams(lanes=self.rows, slices=self.planes, slice_bits=1,
                              acc_width=self.tacc_width, adc_bits=self.adc_bits)

    def hdl_kwargs(self) -> dict[str, Any]:
        """The constructor arguments of ``rtl.tile.Tile`` (and of this class)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__
                if name != "lif"}


# -- requests ------------------------------------------------------------------------------------

def _bits(values) -> list[int]:
    return [int(v) for v in values]


def read_request(p: TileParams, group: int, spikes) -> dict:
    """Forward read of row group ``group`` with the ``n_in`` input ``spikes`` of a timestep."""
    lo = group * p.rows
    drive = _bits(spikes[lo:lo + p.rows])
    return {"op": "read", "group": group, "drive": drive + [0] * (p.rows - len(drive))}


def tread_request(p: TileParams, group: int, plane: int, delta) -> dict:
    """Transposed read of ``group``: bit ``plane`` of ``|delta|`` in phase P (positive) / N."""
    d = _bits(delta)
    bit = [(abs(v) >> plane) & 1 for v in d]
    return {"op": "tread", "group": group, "plane": plane,
            "drive_p": [b if v > 0 else 0 for b, v in zip(bit, d)],
            "drive_n": [b if v < 0 else 0 for b, v in zip(bit, d)]}


def write_request(row: int, level) -> dict:
    """Write of output row ``row``: the level change of each of its weights."""
    return {"op": "write", "row": row, "level": _bits(level)}


# -- one layer -----------------------------------------------------------------------------------

def tile_forward(p: TileParams, spikes_in, xbar: Oracle):
    """Forward pass of one sample: ``spikes_in (T, n_in)`` -> ``(spikes, u, psum_ovf)``.

    ``spikes`` and ``u`` (the stored pre-reset membranes) are ``(T, n_out)``; ``psum_ovf``
    ``(T, n_out)`` flags a clamped partial sum. Issues ``T * R`` read requests, ``t`` outer.
    """
    import torch

    from .grad_lif import lif_forward_int_seq
    from .psum import differential_codes, psum_stream, shift_add

    n_t, groups = p.timesteps, p.groups
    pos, neg = [], []
    for t in range(n_t):
        row = _bits(spikes_in[t])
        for r in range(groups):
            resp = xbar(read_request(p, r, row))
            pos.append(_bits(resp["pos"][:p.n_out]))
            neg.append(_bits(resp["neg"][:p.n_out]))
    codes = differential_codes(torch.tensor(pos, dtype=torch.int64),
                               torch.tensor(neg, dtype=torch.int64), adc_bits=p.adc_bits)
    fsa = p.fwd_shift_add
    psum, _ = shift_add(codes[None], slice_bits=fsa.slice_bits, code_width=fsa.code_width,
                        acc_width=p.acc_width)
    last = torch.tensor([r == groups - 1 for _ in range(n_t) for r in range(groups)])
    current, ovf = psum_stream(psum, last, acc_width=p.acc_width, in_width=p.acc_width)
    spikes, u = lif_forward_int_seq(current, p.lif)
    return spikes, u, ovf


def tile_backward(p: TileParams, u, err, xbar: Oracle, *, propagate: bool):
    """Backward pass of one sample: ``(delta (T, n_out), err_out (T, n_in) or None)``.

    ``err (T, n_out)`` is the error of each timestep (``err_width`` bits). With ``propagate``
    each timestep issues ``R * K`` transposed reads (``r`` outer, plane ``k`` inner).
    """
    import torch

    from .fixed import asr, saturate
    from .grad_lif import grad_lif_backward_int
    from .psum import differential_codes, shift_add

    delta = grad_lif_backward_int(u, err, p.lif)
    if not check_bool(propagate, name="propagate"):
        return delta, None
    bsa = p.bwd_shift_add
    out = torch.zeros(p.timesteps, p.groups * p.rows, dtype=torch.int64)
    for t in range(p.timesteps):
        d = _bits(delta[t])
        for r in range(p.groups):
            pos, neg = [], []
            for k in range(p.planes):
                resp = xbar(tread_request(p, r, k, d))
                pos.append(_bits(resp["pos"][:p.rows]))
                neg.append(_bits(resp["neg"][:p.rows]))
            codes = differential_codes(torch.tensor(pos, dtype=torch.int64),
                                       torch.tensor(neg, dtype=torch.int64),
                                       adc_bits=p.adc_bits)
            total, _ = shift_add(codes, slice_bits=1, code_width=bsa.code_width,
                                 acc_width=p.tacc_width)
            out[t, r * p.rows:(r + 1) * p.rows] = saturate(asr(total, p.bp_shift),
                                                            p.err_width)
    return delta, out[:, :p.n_in]


def tile_update(p: TileParams, delta, spikes_in, xbar: Oracle):
    """Accumulate a batch's ``delta (B, T, n_out) (x) spikes_in (B, T, n_in)`` from a cleared
    WGU in sample-major order, read it out and request the writes.

    Returns ``(grad, grad_overflow, levels)``: the WGU words and their sticky overflow flags
    before the readout, and the level changes ``(n_out, n_in)`` written row by row.
    """
    import torch

    from .wgu import wgu_accumulate, wgu_readout

    w = p.wgu_params
    grad = torch.zeros(p.n_out, p.n_in, dtype=torch.int64)
    ovf = torch.zeros(p.n_out, p.n_in, dtype=torch.bool)
    for b in range(delta.shape[0]):
        grad, o = wgu_accumulate(grad, delta[b][:, None], spikes_in[b][:, None],
                                 grad_width=w.grad_width, delta_width=w.delta_width)
        ovf |= o
    levels, _ = wgu_readout(grad, grad_width=w.grad_width, shift=w.shift,
                            out_width=w.out_width, rounding=w.rounding, clear=True)
    for i in range(p.n_out):
        xbar(write_request(i, levels[i]))
    return grad, ovf, levels


@dataclass
class TileLayerResult:
    """Everything one tile computes in one step of a batch of ``B`` samples.

    Members
    -------
    spikes, u, psum_overflow, delta : Tensor, ``(B, T, n_out)``
        Output spikes, stored membranes, clamped partial sums (bool) and deltas.
    err_out : Tensor ``(B, T, n_in)`` or None
        The propagated error (BP, ``propagate``), else ``None``.
    err_in : Tensor, ``(B, T, n_out)``
        The error the tile was given at each timestep.
    grad, grad_overflow, levels : Tensor, ``(n_out, n_in)``
        WGU words before the readout, their sticky overflow flags and the level changes
        requested from the crossbar.
    """

    spikes: Any
    u: Any
    psum_overflow: Any
    delta: Any
    err_out: Any
    grad: Any
    grad_overflow: Any
    levels: Any
    err_in: Any = None


def tile_step(p: TileParams, spikes_in, err, xbar: Oracle, *,
              propagate: bool = False) -> TileLayerResult:
    """One step of one layer whose errors ``err (B, T, n_out)`` are known in advance.

    ``spikes_in`` is ``(B, T, n_in)`` 0/1. Sample by sample: forward, backward; then the
    update (:func:`tile_update`).
    """
    import torch

    batch = spikes_in.shape[0]
    if not 1 <= batch <= p.max_batch:
        raise ValueError(f"batch {batch!r} outside 1 .. max_batch={p.max_batch!r}")
    fwd, bwd = [], []
    for b in range(batch):
        s, u, o = tile_forward(p, spikes_in[b], xbar)
        fwd.append((s, u, o))
        bwd.append(tile_backward(p, u, err[b], xbar, propagate=propagate))
    delta = torch.stack([d for d, _ in bwd])
    grad, g_ovf, levels = tile_update(p, delta, spikes_in, xbar)
    return TileLayerResult(
        spikes=torch.stack([f[0] for f in fwd]), u=torch.stack([f[1] for f in fwd]),
        psum_overflow=torch.stack([f[2] for f in fwd]), delta=delta,
        err_out=torch.stack([e for _, e in bwd]) if propagate else None,
        grad=grad, grad_overflow=g_ovf, levels=levels, err_in=err)


# -- a network of tiles --------------------------------------------------------------------------

def output_error(spikes_out, label: int, *, gain: int, err_width: int):
    """Error of the output layer for one sample: ``sat(gain * (T * onehot(label) - count))``.

    ``spikes_out`` is ``(T, C)``; the result ``(C,)`` (``err_width`` bits) is the descent
    direction of a spike-count loss, the same for every timestep.
    """
    import torch

    from .fixed import saturate

    n_t, n_c = spikes_out.shape
    target = torch.zeros(n_c, dtype=torch.int64)
    target[int(label)] = n_t
    return saturate(check_int(gain, name="gain", minimum=0) * (target - spikes_out.sum(0)),
                    err_width)


def project_error(B, e, *, err_width: int):
    """DFA projection of the output error by the fixed feedback matrix: ``sat(B @ e)``.

    ``B`` is ``(n_out, C)`` and ``e`` ``(C,)``, both ``int64``; the product is exact.
    """
    from .fixed import saturate

    return saturate(B @ e, err_width)


def network_step(params: Sequence[TileParams], spikes_in, labels, xbars: Sequence[Oracle], *,
                 rule: str, feedback: Sequence | None = None, gain: int = 1
                 ) -> list[TileLayerResult]:
    """One training step of a feed-forward network of tiles (one tile per layer).

    Per sample ``b``: every layer's forward pass in order; the output error
    (:func:`output_error` of the last layer's spikes and ``labels[b]``); then every layer's
    backward pass from the last: with ``rule="dfa"`` hidden layer ``l`` gets
    ``project_error(feedback[l], e)`` at every timestep, with ``"bp"`` the ``err_out`` of
    layer ``l + 1`` (which then propagates). After the batch each layer updates.
    Every crossbar sees its requests in the order of a standalone tile run.

    Returns one :class:`TileLayerResult` per layer.
    """
    import torch

    check_choice(rule, name="rule", choices=RULES)
    n_layers = len(params)
    if n_layers < 1 or len(xbars) != n_layers:
        raise ValueError(f"need one crossbar per layer, got {len(xbars)} for {n_layers}")
    if rule == "dfa" and (feedback is None or len(feedback) < n_layers - 1):
        raise ValueError("rule='dfa' needs a feedback matrix for every hidden layer")
    batch = spikes_in.shape[0]
    rec = [dict(spikes=[], u=[], ovf=[], delta=[], err_out=[], x=[], err=[]) for _ in params]
    for b in range(batch):
        x = spikes_in[b]
        us = []
        for p, xb, r in zip(params, xbars, rec):
            s, u, o = tile_forward(p, x, xb)
            r["x"].append(x)
            r["spikes"].append(s)
            r["u"].append(u)
            r["ovf"].append(o)
            us.append(u)
            x = s
        last = params[-1]
        e = output_error(x, int(labels[b]), gain=gain, err_width=last.err_width)
        err = e.expand(last.timesteps, -1)
        for layer in range(n_layers - 1, -1, -1):
            p = params[layer]
            if layer < n_layers - 1:
                if rule == "dfa":
                    err = project_error(torch.as_tensor(feedback[layer], dtype=torch.int64), e,
                                        err_width=p.err_width).expand(p.timesteps, -1)
                else:
                    err = rec[layer + 1]["err_out"][-1]
            propagate = rule == "bp" and layer > 0
            delta, err_out = tile_backward(p, us[layer], err, xbars[layer],
                                           propagate=propagate)
            rec[layer]["err"].append(err)
            rec[layer]["delta"].append(delta)
            rec[layer]["err_out"].append(err_out)
    results = []
    for p, xb, r in zip(params, xbars, rec):
        delta, x = torch.stack(r["delta"]), torch.stack(r["x"])
        grad, g_ovf, levels = tile_update(p, delta, x, xb)
        prop = r["err_out"][0] is not None
        results.append(TileLayerResult(
            spikes=torch.stack(r["spikes"]), u=torch.stack(r["u"]),
            psum_overflow=torch.stack(r["ovf"]), delta=delta,
            err_out=torch.stack(r["err_out"]) if prop else None,
            grad=grad, grad_overflow=g_ovf, levels=levels, err_in=torch.stack(r["err"])))
    return results
