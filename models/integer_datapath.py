# SPDX-License-Identifier: MIT
"""The integer datapath of on-chip adaptation: partial sums, LIF, GradLIF and WGU as the RTL.

:class:`~dfasim.models.analog_network.AnalogSNN` computes its digital side in float. With an
:class:`IntegerDatapath` as its ``datapath`` (:func:`integer_network`) the same network computes
it with the bit-exact integer functions the RTL blocks are verified against
(``docs/integer-datapath.md``):

* **partial sums**: the crossbar's raw ADC codes (:meth:`AnalogMatrix.adc_codes`) through
  :func:`golden.psum.differential_codes`, :func:`golden.psum.shift_add` (the first layer's
  bit planes) and :func:`golden.psum.psum_accumulate` (row tiles), ``psum_bits`` wide;
* **LIF**: :func:`golden.grad_lif.lif_forward_int_seq`, ``membrane_bits`` wide, one
  :class:`golden.params.GradLIFParams` per layer (threshold and surrogate width in that layer's
  membrane LSBs);
* **GradLIF backward**: :func:`golden.grad_lif.grad_lif_backward_int` on ``error_bits`` error
  codes, ``delta_bits`` deltas;
* **WGU**: :func:`golden.wgu.wgu_accumulate` semantics (``grad_bits`` words saturating after
  every beat, beats in ``(t, b)`` order) and a clear-on-read :func:`golden.wgu.wgu_readout`;
  a multi-bit first layer (no spikes to gate the adders) as an exact multiply-accumulate into a
  word ``input_bits - 1`` bits wider, saturated once and read out shifted back.

Scales between the float network and the codes (worked through in ``docs/integer-datapath.md``)
-----------------------------------------------------------------------------------------------
``c_l`` (weight units per partial-sum code of layer ``l``) is the ADC step times the matrix's
weight scale, ``AdcCodes.scale = lsb_us * w_max / (unit * step_us)``; for the first layer it is
also multiplied by the input step ``s_x`` (inputs are sign-magnitude codes ``x / s_x`` of
``input_bits``). The membrane keeps ``F_l`` fraction bits below the partial-sum LSB (the current
enters the GradLIF unit as ``psum << F_l``, a wiring shift), so one membrane LSB is
``m_l = c_l * 2**-F_l`` and

    threshold code      theta_l = round(threshold / m_l)
    surrogate width     g_l     = round(surrogate.width / m_l)
    F_l                 = max(0, floor(log2(2**(M - 1 - H) * c_l / threshold)))

so that ``theta_l`` lies in ``(2**(M-2-H), 2**(M-1-H)]`` (M = membrane_bits, H =
:data:`MEMBRANE_HEADROOM_BITS`): 10-11 bits of threshold resolution and a membrane range of at
least ``2**H = 16`` thresholds before it saturates. With ``c_l = 0.05`` (say) and the defaults,
``F_l = floor(log2(2**11 * 0.05 / 0.5)) = 7``, ``m_l = 0.05 / 128``, ``theta_l = 1280``,
``g_l = 2560``.

Errors enter the GradLIF unit as ``error_bits`` codes ``err = round(e / 2**E)`` with one
power-of-two exponent ``E`` per layer and batch step, the smallest that fits the batch's largest
error (a block-floating-point max detector; the errors themselves come from float analog reads
and the float loss gradient). The surrogate code ``h = max(0, g_l - |u - theta_l|)`` stands for
``h * m_l / g**2`` (``g`` the float width), so with ``grad_shift_l = ceil(log2 g_l)`` (the
smallest shift that keeps ``g_l * err_max >> grad_shift`` inside the delta word) one delta LSB is
``d_l = m_l / g**2 * 2**E * 2**grad_shift_l`` weight units, and the WGU word ``G`` read out with
shift 0 requests the weight change ``-lr * d_l * G``; the write controller turns it into level
changes as the float path does (:meth:`DeviceArray.update`, ``update_rounding``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..golden.fixed import check_range, int_range
from ..golden.grad_lif import grad_lif_backward_int
from ..golden.loss import output_error
from ..golden.network import Trace, encode
from ..golden.params import GradLIFParams, shift_add_sum_width
from ..golden.psum import differential_codes
from ..golden.wgu import wgu_readout
from .activity import vector_bytes
from .analog_network import AnalogSNN, StepResult
from .crossbar import AnalogMatrix
from .crossbar.encoding import all_patterns, bit_planes, is_binary
from .integer_kernels import lif_forward_seq_fast, wgu_accumulate_fast

__all__ = ["DATAPATHS", "MEMBRANE_HEADROOM_BITS", "LayerFormat", "IntegerTrace",
           "IntegerStats", "IntegerDatapath", "error_codes", "integer_network",
           "layer_format"]

#: Digital datapaths of the adaptation loop: ``"float"`` (the float reference) or
#: ``"integer"`` (this module, the arithmetic of the RTL blocks).
DATAPATHS = ("float", "integer")

#: Membrane bits kept above the threshold (chosen): the membrane register spans at least
#: ``2**4 = 16`` thresholds before it saturates (a constant current ``I`` settles at ``4 I``
#: under leak 0.75); ``IntegerStats.membrane_saturated`` counts how often a rail is reached.
MEMBRANE_HEADROOM_BITS = 4


@dataclass(frozen=True)
class LayerFormat:
    """Integer formats of one layer, fixed once its ADC range and weight scale are known.

    Members
    -------
    psum_scale : float
        ``c_l``: weight units per partial-sum code (first layer: times the input step).
    frac_bits : int
        ``F_l``: membrane fraction bits below the partial-sum LSB (``current = psum << F_l``).
    params : GradLIFParams
        The layer's GradLIF unit: widths, leak shift, threshold and surrogate width codes.
    """

    psum_scale: float
    frac_bits: int
    params: GradLIFParams

    @property
    def membrane_lsb(self) -> float:
        """``m_l = c_l * 2**-F_l``: weight units per membrane code."""
        return math.ldexp(self.psum_scale, -self.frac_bits)


@dataclass
class IntegerTrace:
    """Integer state of the last forward pass, per layer: ``(T, B, n)`` int64 tensors."""

    membranes: list[torch.Tensor] = field(default_factory=list)
    spikes: list[torch.Tensor] = field(default_factory=list)
    psums: list[torch.Tensor] = field(default_factory=list)
    #: Signed first-layer input codes ``(T, B, in)`` (multi-bit inputs only).
    input_codes: torch.Tensor | None = None


@dataclass
class IntegerStats:
    """Saturation counts of the integer datapath since the last :meth:`clear`.

    Members
    -------
    psum_overflow : int
        Partial sums that clamped to ``psum_bits`` (shift-adder or tile accumulator).
    membrane_saturated : int
        Neuron-timesteps whose membrane ``u`` sits at a rail of ``membrane_bits``.
    delta_saturated : int
        Deltas at a rail of ``delta_bits``.
    wgu_overflow : int
        Gradient words that clamped during a step (summed over steps and layers).
    wgu_words : int
        Gradient words accumulated (weights times steps).
    """

    psum_overflow: int = 0
    membrane_saturated: int = 0
    delta_saturated: int = 0
    wgu_overflow: int = 0
    wgu_words: int = 0

    def clear(self) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, 0)

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _leak_shift(leak: float, mem_width: int) -> int:
    """``k`` with ``leak == 1 - 2**-k`` (0 for leak 1): the GradLIF unit's shift-only leak."""
    if leak == 1.0:
        return 0
    for k in range(1, mem_width):
        if 1.0 - math.ldexp(1.0, -k) == leak:
            return k
    raise ValueError(f"the integer datapath needs a leak 1 - 2**-k, not {leak!r}")


def layer_format(psum_scale: float, lif, datapath) -> LayerFormat:
    """The :class:`LayerFormat` of a layer whose partial-sum code is ``psum_scale`` weight units.

    ``lif`` is the network's :class:`golden.lif.LIFConfig`, ``datapath`` the chip's
    :class:`models.chip.DatapathConfig`. The working is in the module docstring.

    Raises
    ------
    ValueError
        A neuron the GradLIF unit cannot compute (surrogate other than the triangle, a leak
        that is not ``1 - 2**-k``, ``decay_input``, ``fire="ge"``), or a threshold outside the
        membrane register.
    """
    if lif.surrogate.name != "triangle":
        raise ValueError(f"the integer datapath has the triangle surrogate only, not "
                         f"{lif.surrogate.name!r}")
    if lif.decay_input and lif.neuron == "lif":
        raise ValueError("the integer datapath has no decay_input neuron")
    if lif.fire != "gt":
        raise ValueError(f"the integer datapath fires on u > threshold, not fire={lif.fire!r}")
    if not (math.isfinite(psum_scale) and psum_scale > 0):
        raise ValueError(f"partial-sum scale must be a positive number, not {psum_scale!r}")
    mem = int(datapath.membrane_bits)
    theta_real = float(lif.threshold)
    top = mem - 1 - MEMBRANE_HEADROOM_BITS
    frac = max(0, math.floor(math.log2(math.ldexp(psum_scale, top) / theta_real)))
    lsb = math.ldexp(psum_scale, -frac)
    theta = max(1, round(theta_real / lsb))
    if theta > int_range(mem)[1]:
        raise ValueError(f"threshold {theta_real!r} is {theta} membrane codes, more than "
                         f"membrane_bits={mem} hold")
    g = max(1, round(float(lif.surrogate.width) / lsb))
    g = min(g, 1 << mem)
    err = int(datapath.error_bits) or 8
    params = GradLIFParams(
        mem_width=mem, frac_bits=frac, leak_shift=_leak_shift(lif.effective_leak, mem),
        threshold=theta, reset=lif.reset, current_width=int(datapath.psum_bits) + frac,
        sg_width=g, grad_shift=(g - 1).bit_length(), err_width=err,
        delta_width=int(datapath.delta_bits))
    return LayerFormat(psum_scale=float(psum_scale), frac_bits=frac, params=params)


def error_codes(err: torch.Tensor, width: int) -> tuple[torch.Tensor, int]:
    """Quantise float errors to ``width``-bit signed codes with one power-of-two scale.

    Returns ``(codes int64, E)`` with ``err ~= codes * 2**E``: ``E`` is the smallest exponent
    for which the largest ``|err|`` rounds into ``[-(2**(width-1) - 1), 2**(width-1) - 1]``
    (symmetric, as a sign-magnitude source); rounding is to nearest, ties to even. All zeros
    give ``E = 0``.
    """
    qmax = (1 << (width - 1)) - 1
    e = err.detach().double()
    amax = float(e.abs().max()) if e.numel() else 0.0
    if not math.isfinite(amax):
        raise ValueError("error holds NaN or infinity")
    if amax == 0.0:
        return torch.zeros(e.shape, dtype=torch.int64, device=e.device), 0
    exp = math.ceil(math.log2(amax / qmax))
    if round(math.ldexp(amax, -exp)) > qmax:  # log2 rounding at an exact power of two
        exp += 1
    codes = torch.round(e * math.ldexp(1.0, -exp)).clamp_(-qmax, qmax).to(torch.int64)
    return codes, exp


class IntegerDatapath:
    """The integer digital side of an :class:`AnalogSNN`: forward, DFA and BP steps.

    The analog reads (forward, DFA's ``B e``, BP's ``W^T delta``) are the network's own
    :class:`AnalogMatrix` reads; everything after the ADCs up to the level-change request is
    integer (module docstring). Event counts are those of the float path.

    Parameters
    ----------
    input_scale : float, optional
        ``s_x``: input units per code of the first layer's ``input_bits`` sign-magnitude inputs.
        ``None``: set by :meth:`calibrate` or the first forward pass from the largest ``|x|``.

    Members
    -------
    formats : list of LayerFormat or None
        Per layer, set by the first forward pass (once the ADC ranges are calibrated).
    last : IntegerTrace
        Integer membranes, spikes and partial sums of the last forward pass.
    stats : IntegerStats
        Saturation counts.
    """

    name = "integer"

    def __init__(self, input_scale: float | None = None) -> None:
        self.input_scale = input_scale
        self.formats: list[LayerFormat | None] = []
        self.last = IntegerTrace()
        self.stats = IntegerStats()

    def __getstate__(self) -> dict:
        # The last pass's integer tensors are scratch (tens of MB for a test batch of UCI-HAR):
        # a saved or copied chip carries its formats and counts, not them.
        return {**self.__dict__, "last": IntegerTrace()}

    # --- formats ---------------------------------------------------------------------------------

    def calibrate(self, snn, x: torch.Tensor) -> float:
        """Set ``s_x`` from inputs ``x``: their largest magnitude is the full-scale code."""
        qmax = self._input_qmax(snn)
        amax = float(x.detach().abs().max()) if x.numel() else 0.0
        self.input_scale = amax / qmax if amax > 0 else 1.0
        return self.input_scale

    @staticmethod
    def _input_qmax(snn) -> int:
        bits = snn.chip.datapath.input_bits
        if bits < 2:
            raise ValueError(f"the integer datapath needs datapath.input_bits >= 2, not {bits}")
        return (1 << (bits - 1)) - 1

    def _format(self, snn, l: int, psum_scale: float) -> LayerFormat:
        while len(self.formats) < snn.n_layers:
            self.formats.append(None)
        if self.formats[l] is None:
            self.formats[l] = layer_format(psum_scale, snn.spec.lif, snn.chip.datapath)
        return self.formats[l]

    # --- partial sums ----------------------------------------------------------------------------

    def _signed_codes(self, snn, m: AnalogMatrix, drives: torch.Tensor
                      ) -> tuple[torch.Tensor, float]:
        """Signed slice codes ``pos - neg`` ``(R, ..., out)`` of binary ``drives (..., in)``
        (:func:`golden.psum.differential_codes` on :meth:`AnalogMatrix.adc_codes`), and the
        weight units per code.

        A one-tile matrix of at most ``LOOKUP_MAX_ROWS`` rows read without read noise converts
        each of the ``2**in`` input patterns once and looks the codes up, as the float read
        does: the same codes, far fewer currents.
        """
        if m.reads_by_lookup:
            sig, scale = self._pattern_codes(snn, m)                   # (1, 2**n, out)
            idx = (drives @ (2.0 ** torch.arange(m.n_in, dtype=drives.dtype,
                                                 device=drives.device))).long()
            return sig[:, idx], scale
        codes = m.adc_codes(drives)                                    # (R, ..., out)
        return (differential_codes(codes.pos, codes.neg, adc_bits=snn.chip.crossbar.adc_bits),
                codes.scale)

    def _pattern_codes(self, snn, m: AnalogMatrix) -> tuple[torch.Tensor, float]:
        """Signed codes ``(1, 2**in, out)`` of every binary drive pattern of a matrix read by
        lookup (:attr:`AnalogMatrix.reads_by_lookup`), and the weight units per code."""
        table = m.adc_codes(all_patterns(m.n_in, m.dtype, m.device))
        return (differential_codes(table.pos, table.neg, adc_bits=snn.chip.crossbar.adc_bits),
                table.scale)

    def _accumulate(self, snn, slices: torch.Tensor, code_width: int) -> torch.Tensor:
        """Shift-adder over slices ``(K, R, ..., out)`` (slice ``k`` weighs ``2**k``), then the
        row-tile accumulator, both ``psum_bits`` wide: ``(..., out)``.

        :func:`golden.psum.shift_add` then :func:`golden.psum.psum_accumulate`, bit for bit,
        with the input checks done once: the slices are combined exactly and saturated once,
        the row tiles added in order with a clamp after every add (sticky overflow).
        """
        psum_bits = snn.chip.datapath.psum_bits
        check_range(slices, code_width, name="slice codes")
        shift_add_sum_width(slices=slices.shape[0], slice_bits=1, code_width=code_width)
        lo, hi = int_range(psum_bits)
        total = slices[0].clone()
        for k in range(1, slices.shape[0]):
            total += slices[k] << k
        tiles = total.clamp(lo, hi)
        overflow = (tiles != total).any(0)
        acc = tiles[0]
        for r in range(1, tiles.shape[0]):
            summed = acc + tiles[r]
            acc = summed.clamp(lo, hi)
            overflow |= acc != summed
        self.stats.psum_overflow += int(overflow.sum())
        return acc

    def _psum_spikes(self, snn, m: AnalogMatrix, s: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Partial sums ``(..., out)`` of binary inputs from the ADC codes, and ``c``."""
        sig, scale = self._signed_codes(snn, m, s)
        return self._accumulate(snn, sig.unsqueeze(0), snn.chip.crossbar.adc_bits + 1), scale

    def _psum_input(self, snn, m: AnalogMatrix, x: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Partial sums of multi-bit first-layer inputs: sign-magnitude codes ``x / s_x`` of
        ``input_bits``, one binary read per (bit plane, sign), planes combined by the
        shift-adder with their significance and sign."""
        dp = snn.chip.datapath
        qmax = self._input_qmax(snn)
        if self.input_scale is None:
            self.calibrate(snn, x)
        xd = x.detach().double()
        mag = torch.clamp(torch.round(xd.abs() / self.input_scale), 0, qmax).to(torch.int64)
        sign = torch.sign(xd)
        self.last.input_codes = mag * sign.to(torch.int64)
        if m.reads_by_lookup:
            return self._psum_input_lookup(snn, m, mag, sign)
        planes, _ = bit_planes(mag, sign, dp.input_bits, m.dtype)      # (K, 2, ..., in)
        sig, scale = self._signed_codes(snn, m, planes)                # (R, K, 2, ..., out)
        # (K, R, ..., out): plane k has significance 2**k, negative inputs subtract.
        slices = (sig[:, :, 0] - sig[:, :, 1]).transpose(0, 1)
        return (self._accumulate(snn, slices, snn.chip.crossbar.adc_bits + 2),
                scale * self.input_scale)

    def _psum_input_lookup(self, snn, m: AnalogMatrix, mag: torch.Tensor, sign: torch.Tensor
                           ) -> tuple[torch.Tensor, float]:
        """:meth:`_psum_input` of a one-tile matrix read without read noise, the same integers:
        each of the ``2**in`` drive patterns is converted once, and a vector's partial sum is
        the sum over its bit planes ``k`` of ``2**k`` times the signed codes of its
        positive-input pattern minus those of its negative-input pattern, formed exactly (a
        float64 bag sum of integers far below ``2**53``) and saturated once to ``psum_bits``
        (the shift-adder; one row tile leaves the accumulator nothing to clamp)."""
        planes_n = snn.chip.datapath.input_bits - 1
        shift_add_sum_width(slices=planes_n, slice_bits=1,
                            code_width=snn.chip.crossbar.adc_bits + 2)
        table, scale = self._pattern_codes(snn, m)                        # (1, 2**in, out)
        sig = table[0].double()
        flat = mag.reshape(-1, m.n_in)
        flat_sign = sign.reshape(-1, m.n_in)
        bit = torch.arange(planes_n, device=mag.device)
        place = 1 << torch.arange(m.n_in, device=mag.device)
        # Pattern index of plane k of the positive (negative) entries: bit j of the index is
        # bit k of input j's magnitude where the input has that sign.
        indices = torch.cat([
            (((torch.where(flat_sign > 0, flat, 0)[:, None, :] >> bit[:, None]) & 1)
             * place).sum(-1),
            (((torch.where(flat_sign < 0, flat, 0)[:, None, :] >> bit[:, None]) & 1)
             * place).sum(-1)], 1)                                        # (N, 2K)
        weights = torch.cat([2.0 ** bit, -(2.0 ** bit)]).to(torch.float64)
        total = torch.nn.functional.embedding_bag(
            indices, sig, per_sample_weights=weights.expand(indices.shape), mode="sum")
        lo, hi = int_range(snn.chip.datapath.psum_bits)
        total = total.to(torch.int64)
        psum = total.clamp(lo, hi)
        self.stats.psum_overflow += int((psum != total).sum())
        return psum.reshape(*mag.shape[:-1], m.n_out), scale * self.input_scale

    # --- forward ---------------------------------------------------------------------------------

    def forward(self, snn, x: torch.Tensor, *, training: bool = False,
                phase: str = "forward") -> tuple[torch.Tensor, Trace]:
        """:meth:`AnalogSNN.forward` on the integer datapath.

        The trace holds float spikes and the membranes in weight units (``u * m_l``) for
        callers of the float interface; the integer values are in :attr:`last`.
        """
        if snn.spec.readout != "spike":
            raise ValueError("the integer datapath reads out spike counts, not membranes")
        width = snn.chip.datapath
        h = encode(x.detach().to(snn.device), snn.spec.timesteps)
        T, B = h.shape[:2]
        trace = Trace([], [], [])
        self.last = IntegerTrace()
        for l, m in enumerate(snn.layers):
            binary = bool(l) or is_binary(h)
            # The float read counts the events (reads, conversions, buffer traffic) exactly as
            # the float path does; its currents are not used.
            m.forward(h, phase=phase, binary=True if l else None)
            if binary:
                psum, scale = self._psum_spikes(snn, m, h)
            else:
                psum, scale = self._psum_input(snn, m, h)
            fmt = self._format(snn, l, scale)
            p = fmt.params
            s, u = lif_forward_seq_fast(psum << fmt.frac_bits, p)
            lo, hi = int_range(p.mem_width)
            self.stats.membrane_saturated += int(((u == lo) | (u == hi)).sum())
            in_bytes = vector_bytes(m.n_in, 1 if binary else (width.input_bits or 16))
            snn._count_neuron_stage(m.name, phase, T * B, m.n_out, in_bytes, training)
            self.last.psums.append(psum)
            self.last.membranes.append(u)
            self.last.spikes.append(s)
            s_f = s.to(m.dtype)
            trace.inputs.append(h)
            trace.membranes.append(u.to(m.dtype) * fmt.membrane_lsb)
            trace.spikes.append(s_f)
            h = s_f
        last = snn.layers[-1]
        snn.counters.add(last.name, phase, tile_bytes=T * B * vector_bytes(last.n_out, 1))
        return trace.spikes[-1].mean(dim=0), trace

    # --- backward --------------------------------------------------------------------------------

    def _gradlif(self, snn, l: int, err: torch.Tensor, T: int
                 ) -> tuple[torch.Tensor, float]:
        """GradLIF backward of layer ``l``: delta codes ``(T, B, n)`` and the delta LSB.

        ``err`` (weight units of the loss gradient) is ``(B, n)`` (the same every timestep) or
        ``(T, B, n)``; it is quantised to ``error_bits`` codes with one exponent.
        """
        fmt = self.formats[l]
        p = fmt.params
        u = self.last.membranes[l]
        n = u.shape[-1]
        B = u.shape[1]
        name = snn.layers[l].name
        width = snn.chip.datapath
        snn.counters.add(name, "backward", gradlif_ops=T * B * n,
                         buffer_read_bytes=T * B * (vector_bytes(n, width.membrane_bits)
                                                    + vector_bytes(n, p.err_width)),
                         buffer_write_bytes=T * B * vector_bytes(n, width.delta_bits))
        codes, exp = error_codes(err, p.err_width)
        if codes.dim() == 2:
            codes = codes.unsqueeze(0)
        delta = grad_lif_backward_int(u, codes.expand_as(u), p)
        lo, hi = int_range(p.delta_width)
        self.stats.delta_saturated += int(((delta == lo) | (delta == hi)).sum())
        g = float(snn.spec.lif.surrogate.width)
        lsb = fmt.membrane_lsb / (g * g) * math.ldexp(1.0, exp + p.grad_shift)
        return delta, lsb

    def _wgu_and_update(self, snn, deltas: list[tuple[torch.Tensor, float]], trace: Trace,
                        lr: float):
        """WGU accumulation of every layer over the batch step, clear-on-read, then the
        requested change ``-lr * d_l * G`` goes to the write controller."""
        width = snn.chip.datapath
        dws, writes = [], []
        for l, m in enumerate(snn.layers):
            d, lsb = deltas[l]
            s = trace.inputs[l]
            binary = bool(l) or is_binary(s)
            zeros = torch.zeros(m.shape, dtype=torch.int64, device=m.device)
            if binary:
                s_int = s.to(torch.int64) if l == 0 else self.last.spikes[l - 1]
                G, ovf = wgu_accumulate_fast(zeros, d, s_int, grad_width=width.grad_bits,
                                             delta_width=width.delta_bits)
                update, _ = wgu_readout(G, grad_width=width.grad_bits, clear=True)
                dw = update.to(m.dtype) * (-lr * lsb)
            else:
                # Multi-bit first-layer inputs: the golden WGU gates its adders with 1-bit
                # spikes, so this layer is modelled as an exact multiply-accumulate of delta and
                # input codes into a word input_bits - 1 bits wider, saturated once, and read
                # out shifted back by input_bits - 1 (floor) to a grad_bits word.
                x_int = self.last.input_codes
                shift = width.input_bits - 1
                wide = width.grad_bits + shift
                exact = (d.reshape(-1, m.n_out).double().t()
                         @ x_int.reshape(-1, m.n_in).double()).to(torch.int64)
                lo, hi = int_range(wide)
                G = exact.clamp(lo, hi)
                ovf = G != exact
                update, _ = wgu_readout(G, grad_width=wide, shift=shift,
                                        out_width=width.grad_bits, clear=True)
                dw = update.to(m.dtype) * (-lr * lsb * self.input_scale
                                           * math.ldexp(1.0, shift))
            self.stats.wgu_overflow += int(ovf.sum())
            self.stats.wgu_words += G.numel()
            dws.append(dw)
            snn.count_wgu(m, vectors=d.shape[0] * d.shape[1], nonzero=int(torch.count_nonzero(s)),
                          in_bits=1 if binary else (width.input_bits or 16))
        writes = [m.update(dw) for m, dw in zip(snn.layers, dws)]
        return dws, writes

    def _start(self, snn, x, y, loss):
        out, trace = self.forward(snn, x, training=True)
        loss_v, e = output_error(out, y.to(out.device), loss)
        T, B = trace.spikes[-1].shape[:2]
        return out, trace, loss_v, e / T, T, B

    def dfa_step(self, snn, x: torch.Tensor, y: torch.Tensor, feedback: list[AnalogMatrix],
                 lr: float, loss: str = "ce"):
        """:meth:`AnalogSNN.dfa_step` on the integer datapath (same checks and counts)."""
        snn._check_lr(lr)
        if len(feedback) != snn.n_layers - 1:
            raise ValueError(f"need {snn.n_layers - 1} feedback matrices, got {len(feedback)}")
        out, trace, loss_v, e_t, T, B = self._start(snn, x, y, loss)
        eb = snn.chip.datapath.error_bits
        c = snn.spec.n_classes
        deltas: list = [None] * snn.n_layers
        if feedback:
            feedback[0].counters.add(feedback[0].name, "backward",
                                     tile_bytes=B * vector_bytes(c, eb or 16))
        for l, fb in enumerate(feedback):
            fb.counters = snn.counters
            proj = fb.forward(e_t, bits=eb, binary=False, phase="backward")
            snn.counters.add(fb.name, "backward", tile_bytes=B * vector_bytes(fb.n_out, eb or 16))
            deltas[l] = self._gradlif(snn, l, proj, T)
        deltas[-1] = self._gradlif(snn, snn.n_layers - 1, e_t, T)
        dws, writes = self._wgu_and_update(snn, deltas, trace, lr)
        return StepResult(float(loss_v), out, dws, writes)

    def bp_step(self, snn, x: torch.Tensor, y: torch.Tensor, lr: float, loss: str = "ce"):
        """:meth:`AnalogSNN.bp_step` on the integer datapath: the deltas of layer ``l + 1``
        (codes times their LSB) go back through the transposed read of ``W_{l+1}``."""
        snn._check_lr(lr)
        out, trace, loss_v, e_t, T, B = self._start(snn, x, y, loss)
        eb = snn.chip.datapath.error_bits
        L = snn.n_layers
        deltas: list = [None] * L
        snn.counters.add(snn.layers[-1].name, "backward",
                         tile_bytes=B * vector_bytes(snn.spec.n_classes, eb or 16))
        deltas[-1] = self._gradlif(snn, L - 1, e_t, T)
        for l in range(L - 2, -1, -1):
            upper = snn.layers[l + 1]
            d, lsb = deltas[l + 1]
            back = upper.transpose(d.to(upper.dtype) * lsb, bits=eb, phase="backward")
            snn.counters.add(upper.name, "backward",
                             tile_bytes=T * B * vector_bytes(upper.n_in, eb or 16))
            deltas[l] = self._gradlif(snn, l, back, T)
        dws, writes = self._wgu_and_update(snn, deltas, trace, lr)
        return StepResult(float(loss_v), out, dws, writes)



def integer_network(snn: AnalogSNN, calibration: torch.Tensor | None = None) -> AnalogSNN:
    """Put the deployed ``snn`` on the integer datapath (in place; it keeps its devices) and
    return it; ``calibration`` inputs ``(B, T, C)`` set the first layer's input step ``s_x``
    (else the first forward pass does).

    Raises
    ------
    TypeError
        ``snn`` is not an :class:`AnalogSNN` (convolutional networks have no integer path).
    ValueError
        A neuron, read-out or width the integer blocks cannot compute (checked now, so that a
        deployment fails rather than its first step).
    """
    if not isinstance(snn, AnalogSNN):
        raise TypeError(f"the integer datapath runs an AnalogSNN, not {type(snn).__name__}")
    if snn.chip.crossbar.adc_bits < 1:
        raise ValueError("the integer datapath needs a quantising ADC, not adc_bits=0")
    if snn.spec.readout != "spike":
        raise ValueError("the integer datapath reads out spike counts, not membranes")
    # The formats' scales come with the first read, once the ADC ranges are known; the neuron
    # model and the widths are checked here.
    layer_format(1.0, snn.spec.lif, snn.chip.datapath)
    datapath = IntegerDatapath()
    datapath._input_qmax(snn)
    if calibration is not None:
        datapath.calibrate(snn, calibration)
    snn.datapath = datapath
    return snn
