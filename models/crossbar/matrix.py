# SPDX-License-Identifier: MIT
"""Analog reads of a programmed matrix: forward ``x W^T`` and transposed ``e W``, with counts.

Forward read (:meth:`AnalogMatrix.forward`)
    Each input vector of each row tile is one read of the ``C`` crossbars of that row tile,
    driven as :mod:`.encoding` describes. Every physical column current goes to an unsigned ADC
    (:mod:`.adc`). The digital side forms ``pos - neg`` codes
    (:func:`golden.psum.differential_codes`), combines bit planes with weights ``2**k``
    (:func:`golden.psum.shift_add` with 1-bit slices, saturating once to ``psum_bits``) and
    accumulates row tiles with saturation after every add (:func:`golden.psum.psum_accumulate`);
    the tests check this equality. The result is scaled back to weight units.

Skip-zero rule
    A read whose input lines are all zero is skipped: the decoder sees nothing to drive, no
    crossbar is activated and no ADC converts (the code would be 0 anyway). The input vector is
    still fetched from the buffer to find that out.

Transposed read (:meth:`AnalogMatrix.transpose`, BP only)
    ``W^T e`` on the same devices with the row-side ADCs of a transposable crossbar: errors
    drive the columns and row currents are converted. Errors are sign-magnitude quantised to
    ``error_bits`` per vector and applied bit-serially. For a differential pair the sign is
    handled in two column phases per bit plane: phase P drives ``G+`` columns with the bits of
    positive errors and ``G-`` columns with the bits of negative errors, phase N the opposite;
    ``code_P - code_N`` is the signed code. Column tiles are accumulated like row tiles forward.
    With the offset mapping phase P drives positive and phase N negative errors, and the
    reference term ``g_ref * sum(bits)`` is subtracted digitally with the nominal reference
    conductance (the reference column cannot be driven from the column side).

Non-idealities (``chip.nonideal``, :mod:`.nonideal`)
    Reads see :meth:`DeviceArray.read_conductances` (drift to the chip's age, IR drop). With
    read noise on, every physical line current of every read (each bit plane and phase is its
    own read) gets ``read_noise_rel * g_max * sqrt(sum of squared drives) * eps`` with a fresh
    ``eps ~ N(0, 1)`` from the chip's generator, which equals a fresh draw per device per read;
    the pattern look-up of small one-tile reads is then bypassed, and an ideal ADC
    (``adc_bits = 0``) adds the same noise summed over planes.

Compiled reads (:mod:`.sparse_read`)
    On the CPU, with a quantising ADC and no read noise, forward reads of 0/1 drives, the
    pattern look-up of multi-bit inputs and differential transposed reads run as compiled
    kernels that sum only the driven lines and convert in the same pass; the tensor operations
    below remain the path of GPU tensors, ideal ADCs, read noise and offset-mapped transposed
    reads. The same codes up to float reassociation of the line currents, the same counts
    (``docs/adaptation-loop.md``, "Speed, third round").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..activity import ActivityCounters, vector_bytes
from ..chip import ChipConfig
from ..rram.noise import NoiseModel
from .adc import accumulate_tiles, adc_lsb, percentile, to_codes
from .encoding import (ANALOG_WORD_BITS, LOOKUP_MAX_ROWS, all_patterns, all_planes_present,
                       bit_planes, is_binary, sign_magnitude)
from .programming import DeviceArray
from .sparse_read import (error_read_codes, error_read_currents, kernels_apply,
                          lookup_read_psums, spike_read_codes)

__all__ = ["AdcCodes", "AnalogMatrix"]

#: Bytes of row currents per slice of a noise-free transposed read: a few MB stay in the caches
#: and are reused by the allocator instead of being mapped (and page-faulted) afresh.
_SLICE_BYTES = 1 << 22


@dataclass
class AdcCodes:
    """Raw ADC codes of one binary read, for co-simulation with the RTL.

    Members
    -------
    pos, neg : Tensor, int64, shape ``(R, ..., out)``
        Unsigned codes of the positive and negative column of each output in each row tile
        (offset mapping: ``neg`` is the code of the crossbar's reference column, repeated for
        every output of that crossbar).
    scale : float
        Weight units per code: the forward current is ``scale * psum_accumulate(pos - neg)``.
    """

    pos: torch.Tensor
    neg: torch.Tensor
    scale: float



class AnalogMatrix(DeviceArray):
    """A :class:`DeviceArray` read through DACs and ADCs, counting every event.

    Parameters are those of :class:`DeviceArray`.

    Members
    -------
    full_scale : dict[str, float or None]
        ADC full scale (µS) of the ``"forward"`` and ``"transpose"`` reads (None until
        calibrated).
    """

    def __init__(self, n_out: int, n_in: int, chip: ChipConfig, noise: NoiseModel,
                 generator: torch.Generator | None = None, *, name: str = "W",
                 counters: ActivityCounters | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(n_out, n_in, chip, noise, generator, name=name, counters=counters,
                         dtype=dtype)
        xbar, g_max = chip.crossbar, chip.device.g_max_us
        self.full_scale: dict[str, float | None] = {"forward": None, "transpose": None}
        if xbar.adc_range == "max":
            self.full_scale = {"forward": xbar.rows * g_max, "transpose": xbar.cols * g_max}
        elif xbar.adc_range == "fixed":
            self.full_scale = {"forward": float(xbar.adc_full_scale_us),
                               "transpose": float(xbar.adc_full_scale_us)}

    def _drives(self, x: torch.Tensor, bits: int, binary: bool | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Split inputs ``(N, n)`` into non-negative line drives.

        Returns ``(drives (K, N, n), weights (K,), scale (N,), word_bits)``: the signed input is
        ``scale[:, None] * sum_k weights[k] * drives[k]``. Spikes give one drive; bit-serial
        inputs one 0/1 drive per (bit plane, sign) that is not all zero; an ideal
        (``bits = 0``) analog input one drive per sign present.
        """
        ones = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
        if binary if binary is not None else is_binary(x):
            return x.unsqueeze(0), torch.ones(1, dtype=x.dtype, device=x.device), ones, 1
        if bits == 0:
            d = torch.stack([x.clamp(min=0), (-x).clamp(min=0)])
            w = torch.tensor([1.0, -1.0], dtype=x.dtype, device=x.device)
            keep = d.reshape(2, -1).any(-1)
            return d[keep], w[keep], ones, ANALOG_WORD_BITS
        mag, sign, scale = sign_magnitude(x, bits)
        d, w = bit_planes(mag, sign, bits, x.dtype)                 # (K', 2, N, n), (K',)
        d = d.reshape(-1, *x.shape)
        w = torch.stack([w, -w], 1).reshape(-1)
        if all_planes_present(mag, sign > 0, bits) and all_planes_present(mag, sign < 0, bits):
            return d, w, scale, bits                # every (plane, sign) drive is non-zero
        keep = d.reshape(d.shape[0], -1).any(-1)
        if not bool(keep.any()):
            keep[0] = True
        if bool(keep.all()):                       # the usual case: no copy of the planes
            return d, w, scale, bits
        return d[keep], w[keep], scale, bits

    def _count_reads(self, phase: str, act: torch.Tensor, *, xbars_per_read: int,
                     lines_per_tile: tuple[int, ...], conv_per_read: int, adds_per_read: int,
                     n_vectors: int, in_bytes: int, out_bytes: int) -> None:
        """Count reads from active-line counts ``act (..., tiles)`` (zero: read skipped);
        ``lines_per_tile`` holds each tile's line count."""
        tiles = act.shape[-1]
        # A handful of sums over a few thousand counts: numpy and Python integers cost a
        # fraction of torch's dispatch for arrays this small (a GPU's counts come over once).
        counts = act.reshape(-1, tiles).cpu().numpy()
        active = int(counts.sum(dtype=np.int64))
        if tiles == 1:                # numpy's whole-array count is a single fast pass
            nz_tile = [int(np.count_nonzero(counts))]
        else:                         # (its per-axis count converts the array to bool first)
            nz_tile = [int(np.count_nonzero(counts[:, t])) for t in range(tiles)]
        reads = sum(nz_tile)
        rows = sum(n * lines for n, lines in zip(nz_tile, lines_per_tile))
        self.counters.add(
            self.name, phase,
            reads=reads * xbars_per_read,
            active_rows=active * xbars_per_read,
            rows_driven=rows * xbars_per_read,
            adc_conversions=reads * conv_per_read,
            psum_adds=reads * adds_per_read,
            buffer_read_bytes=n_vectors * in_bytes,
            buffer_write_bytes=n_vectors * out_bytes)

    def _lsb(self, full_scale: float) -> float:
        return adc_lsb(full_scale, self.chip.crossbar.adc_bits)

    def _to_codes(self, current_lsb: torch.Tensor) -> torch.Tensor:
        return to_codes(current_lsb, self.chip.crossbar.adc_bits)

    @property
    def _psum_max(self) -> int:
        """Largest partial sum the saturating accumulator holds."""
        return (1 << (self.chip.datapath.psum_bits - 1)) - 1

    def _accumulate_bounded(self, tile_psum: torch.Tensor, bound: int) -> torch.Tensor:
        """:meth:`_accumulate` in place of tile sums ``(R, ..., out)`` whose magnitudes cannot
        exceed ``bound``: one tile that cannot reach the partial-sum range needs no saturation
        (the clamp would change nothing), so that pass over the sums is skipped."""
        if tile_psum.shape[0] == 1 and bound <= self._psum_max:
            return tile_psum[0]
        return self._accumulate(tile_psum, inplace=True)

    def _accumulate(self, tile_psum: torch.Tensor, *, inplace: bool = False) -> torch.Tensor:
        return accumulate_tiles(tile_psum, self.chip.crossbar.adc_bits,
                                self.chip.datapath.psum_bits, inplace=inplace)

    def _columns(self) -> torch.Tensor:
        """Physical column conductances ``(P, in)``: ``g_a`` rows, then ``g_b`` or references."""
        g_a, g_b, g_ref = self.read_conductances()
        if self.chip.device.differential:
            return torch.cat([g_a, g_b], 0)
        return torch.cat([g_a, g_ref], 0)

    @property
    def reads_by_lookup(self) -> bool:
        """Whether a binary read may convert each of the ``2**in`` drive patterns once and look
        the codes up (one row tile of at most ``LOOKUP_MAX_ROWS`` rows, no read noise: every
        read of a pattern gives the same codes)."""
        return self.row_tiles == 1 and self.n_in <= LOOKUP_MAX_ROWS and not self.read_sigma_us

    @property
    def read_sigma_us(self) -> float:
        """Read-noise standard deviation per device and read, µS (0 when off)."""
        ni = self.chip.nonideal
        return ni.read_noise_rel * self.chip.device.g_max_us if ni.read_noise else 0.0

    def _compiled_reads(self, x: torch.Tensor) -> bool:
        """Whether reads of ``x`` run the compiled kernels of :mod:`.sparse_read`: a CPU float
        tensor, a quantising ADC and no read noise (whose draws keep the tensor path's order)."""
        return (self.chip.crossbar.adc_bits != 0 and not self.read_sigma_us
                and kernels_apply(x))

    @property
    def _neg_column(self) -> torch.Tensor:
        """Per logical output, the physical column (of :meth:`_columns`) subtracted from its
        own: its ``G-`` column, or its crossbar's reference column (CPU, for the kernels)."""
        if self.chip.device.differential:
            return torch.arange(self.n_out, device="cpu") + self.n_out
        return self.col_tile_of.cpu() + self.n_out

    def _noise(self, std: torch.Tensor) -> torch.Tensor:
        """``std * eps``, a fresh standard-normal ``eps`` per element."""
        return std * self._randn(std.shape)

    def _tile_sq_sums(self, drives: torch.Tensor) -> torch.Tensor:
        """Squared drives summed per row tile: ``(K, N, R, 1)``."""
        sq = drives * drives
        if self.row_tiles == 1:
            return sq.sum(-1)[..., None, None]
        pad = self.row_tiles * self.chip.crossbar.rows - self.n_in
        sq = torch.nn.functional.pad(sq, (0, pad))
        return sq.reshape(*sq.shape[:2], self.row_tiles, -1).sum(-1, keepdim=True)

    def _noisy_column_currents(self, drives: torch.Tensor, unit: float = 1.0) -> torch.Tensor:
        """:meth:`_column_currents` plus read noise (when on), in ``unit`` µS."""
        cur = self._column_currents(drives, unit)
        sigma = self.read_sigma_us
        if sigma:
            cur = cur + self._noise((sigma / unit) * torch.sqrt(
                self._tile_sq_sums(drives)).expand(cur.shape))
        return cur

    def _column_currents(self, drives: torch.Tensor, unit: float = 1.0) -> torch.Tensor:
        """Currents ``(K, N, R, P)`` of every physical column of every row tile, in ``unit`` µS."""
        g = self._columns() if unit == 1.0 else self._columns() / unit
        if self.row_tiles == 1:
            return (drives @ g.t()).unsqueeze(2)
        pad = self.row_tiles * self.chip.crossbar.rows - self.n_in
        d = torch.nn.functional.pad(drives, (0, pad))
        gp = torch.nn.functional.pad(g, (0, pad))
        d = d.reshape(*drives.shape[:2], self.row_tiles, self.chip.crossbar.rows)
        gp = gp.reshape(g.shape[0], self.row_tiles, self.chip.crossbar.rows)
        return torch.einsum("knrj,prj->knrp", d, gp)

    def _split_codes(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Positive and negative (or reference) codes per logical output."""
        pos = codes[..., :self.n_out]
        if self.chip.device.differential:
            return pos, codes[..., self.n_out:]
        return pos, codes[..., self.n_out:][..., self.col_tile_of]

    def _active_lines(self, drives: torch.Tensor, n_lines: int, size: int, tiles: int, *,
                      binary: bool = False) -> torch.Tensor:
        """Active-line counts ``(K, N, tiles)`` of drives ``(K, N, n_lines)`` per tile.

        ``binary`` says the drives hold only 0 and 1, whose float sum is the count exactly
        (one pass instead of a comparison and a sum).
        """
        on = drives if binary else drives != 0
        # Byte and boolean sums promote to int64 through a strided copy, several times slower
        # than summing into int32 (counts of lines fit with room to spare).
        acc = None if on.is_floating_point() else torch.int32
        if tiles == 1:
            counts = on.sum(-1, keepdim=True, dtype=acc)
        else:
            counts = torch.stack([on[..., t * size:(t + 1) * size].sum(-1, dtype=acc)
                                  for t in range(tiles)], -1)
        return counts.to(torch.int64)

    def _full_scale(self, direction: str, currents_fn) -> float:
        fs = self.full_scale[direction]
        if fs is None:
            fs = self._calibrate(direction, currents_fn())
        return fs

    def _calibrate(self, direction: str, currents: torch.Tensor) -> float:
        """Set the ``direction`` full scale from a percentile of observed read currents."""
        fs = percentile(currents.reshape(-1).float(), self.chip.crossbar.adc_percentile)
        # An idle calibration batch must not give a zero range: keep at least one device.
        fs = max(fs, self.chip.device.g_max_us)
        self.full_scale[direction] = fs
        return fs

    def calibrate(self, x: torch.Tensor | None = None, err: torch.Tensor | None = None, *,
                  bits: int | None = None) -> dict[str, float | None]:
        """Set the ADC full scale of forward reads from inputs ``x`` and/or of transposed reads
        from errors ``err`` (``adc_range="calibrated"`` only; other policies are fixed).

        Only the currents of non-skipped reads count. Returns ``full_scale``.
        """
        if self.chip.crossbar.adc_range != "calibrated":
            return dict(self.full_scale)
        if x is not None:
            x2 = x.detach().to(self.device, self.dtype).reshape(-1, self.n_in)
            drives, *_ = self._drives(x2, self.chip.datapath.input_bits if bits is None else bits)
            self._calibrate("forward", self._observed_forward(drives))
        if err is not None:
            e2 = err.detach().to(self.device, self.dtype).reshape(-1, self.n_out)
            error_bits = self.chip.datapath.error_bits if bits is None else bits
            planes, *_ = self._error_planes(e2, error_bits)
            self._calibrate("transpose", self._observed_transpose(planes))
        return dict(self.full_scale)

    def _observed_forward(self, drives: torch.Tensor) -> torch.Tensor:
        cur = self._column_currents(drives)
        act = self._active_lines(drives, self.n_in, self.chip.crossbar.rows, self.row_tiles)
        return cur[act > 0]

    def _signed_codes(self, drives: torch.Tensor, fs: float) -> tuple[torch.Tensor, float]:
        """ADC codes ``pos - neg`` ``(K, N, R, out)`` of drives ``(K, N, in)``, and the LSB."""
        lsb = self._lsb(fs)
        pos, neg = self._split_codes(self._to_codes(self._noisy_column_currents(drives, lsb)))
        return pos - neg, lsb

    def _tile_psums(self, drives: torch.Tensor, w: torch.Tensor, fs: float, *,
                    binary: bool | None = None) -> tuple[torch.Tensor, float]:
        """Shift-added signed codes per row tile, ``(R, N, out)``, and the LSB.

        A one-tile matrix with few rows and 0/1 drives reads each of the ``2**in`` possible
        patterns once and looks the codes up: the same codes, far fewer currents to convert.
        """
        K, N, n = drives.shape
        if self.reads_by_lookup and (binary if binary is not None else is_binary(drives)):
            patterns = all_patterns(n, drives.dtype, drives.device)      # (2**n, n)
            table, lsb = self._signed_codes(patterns.unsqueeze(0), fs)
            idx = (drives @ (2.0 ** torch.arange(n, dtype=drives.dtype, device=drives.device))
                   ).long()                                                       # (K, N)
            # Sample n's psum is sum_k w[k] * table[idx[k, n]]: a weighted bag of table rows.
            # Codes and plane weights are small integers, so the float sums are exact in any
            # order (the same values as a dense pattern-count matrix times the table).
            psum = torch.nn.functional.embedding_bag(
                idx.t().contiguous(), table[0, :, 0].contiguous(), mode="sum",
                per_sample_weights=w.expand(N, K).contiguous())
            return psum.unsqueeze(0), lsb
        sig, lsb = self._signed_codes(drives, fs)
        if K == 1 and float(w[0]) == 1.0:
            # Spikes: one drive of weight 1, whose weighted sum is the codes themselves.
            return sig[0].transpose(0, 1), lsb
        return torch.einsum("k,knro->rno", w, sig), lsb

    def forward(self, x: torch.Tensor, *, bits: int | None = None, binary: bool | None = None,
                phase: str = "forward") -> torch.Tensor:
        """Analog ``x @ W^T`` through ADCs: ``x (..., in)`` -> currents ``(..., out)``, weights.

        ``bits`` overrides ``datapath.input_bits`` for multi-bit inputs (spikes are always 1-bit);
        ``binary`` skips the check whether ``x`` holds spikes. Events are counted under
        ``(name, phase)``.
        """
        if x.shape[-1] != self.n_in:
            raise ValueError(f"input has {x.shape[-1]} features, the matrix expects {self.n_in}")
        lead = x.shape[:-1]
        x2 = x.detach().to(self.device, self.dtype).reshape(-1, self.n_in)
        bits = self.chip.datapath.input_bits if bits is None else bits
        spikes = binary if binary is not None else is_binary(x2)
        if not self.reads_by_lookup and self._compiled_reads(x2):
            if spikes:                           # one drive of weight 1: no planes to form
                out = self._compiled_forward(x2.unsqueeze(0), None, phase,
                                             n_vectors=x2.shape[0], word_bits=1)
                return out.reshape(*lead, self.n_out)
            if bits != 0:
                drives, w, scale, word_bits = self._drives(x2, bits, spikes)
                out = self._compiled_forward(drives, w, phase, n_vectors=x2.shape[0],
                                             word_bits=word_bits)
                return out.mul_(scale[:, None]).reshape(*lead, self.n_out)
        elif not spikes and bits >= 2 and self.reads_by_lookup and self._compiled_reads(x2):
            return self._lookup_forward(x2, bits, phase).reshape(*lead, self.n_out)
        drives, w, scale, word_bits = self._drives(x2, bits, spikes)
        # Spikes and bit planes are 0/1; only an ideal (bits = 0) analog input is not.
        act = self._active_lines(drives, self.n_in, self.chip.crossbar.rows, self.row_tiles,
                                 binary=spikes or bits != 0)
        self._count_forward(phase, act, n_vectors=x2.shape[0], word_bits=word_bits)
        dev = self.chip.device
        if self.chip.crossbar.adc_bits == 0:
            # A linear (ideal) ADC commutes with the plane sum and the tile sum: one matmul.
            signed = torch.einsum("k,kni->ni", w, drives)
            out = signed @ self.effective_weight().t()
            sigma = self.read_sigma_us
            if sigma:
                # Per output: its own column and its G- (or the crossbar's shared reference).
                std = sigma * self.weight_per_us * torch.sqrt(
                    torch.einsum("k,kn->n", w * w, (drives * drives).sum(-1)))[:, None]
                pos = self._noise(std.expand(-1, self.n_out))
                if dev.differential:
                    neg = self._noise(std.expand(-1, self.n_out))
                else:
                    neg = self._noise(std.expand(-1, self.col_tiles))[:, self.col_tile_of]
                out = out + pos - neg
            out = out * scale[:, None]
            return out.reshape(*lead, self.n_out)
        fs = self._full_scale("forward", lambda: self._observed_forward(drives))
        # (an ideal analog drive may still hold only 0 and 1: then the lookup checks it)
        tile_psum, lsb = self._tile_psums(drives, w, fs,
                                          binary=True if spikes or bits != 0 else None)
        # The accumulated codes are a fresh tensor: scale them in place (spikes have unit scale,
        # and x * 1 is x, so that product is skipped).
        out = self._accumulate(tile_psum, inplace=True).mul_(lsb * self.weight_per_us)
        if not spikes:
            out.mul_(scale[:, None])
        return out.reshape(*lead, self.n_out)

    __call__ = forward

    def _count_forward(self, phase: str, act: torch.Tensor, *, n_vectors: int,
                       word_bits: int) -> None:
        """Count forward reads from active-row counts ``act (K, N, R)``."""
        dev = self.chip.device
        n_conv = 2 * self.n_out if dev.differential else self.n_out + self.col_tiles
        self._count_reads(phase, act, xbars_per_read=self.col_tiles,
                          lines_per_tile=self._rows_in_tile(), conv_per_read=n_conv,
                          adds_per_read=2 * self.n_out, n_vectors=n_vectors,
                          in_bytes=vector_bytes(self.n_in, word_bits),
                          out_bytes=vector_bytes(self.n_out, self.chip.datapath.psum_bits))

    def _compiled_forward(self, drives: torch.Tensor, w: torch.Tensor | None, phase: str, *,
                          n_vectors: int, word_bits: int) -> torch.Tensor:
        """Forward read of 0/1 drives ``(K, N, in)`` of plane weights ``w (K,)`` (None: one
        drive of weight 1, spikes) by :func:`.sparse_read.spike_read_codes`: the accumulated
        row tiles ``(N, out)`` in weight units, before the inputs' scale."""
        K, N, _ = drives.shape
        fs = self._full_scale("forward", lambda: self._observed_forward(drives))
        lsb = self._lsb(fs)
        top = (1 << self.chip.crossbar.adc_bits) - 1
        unit = lsb * self.weight_per_us
        # Spikes on one row tile need no saturation (a code difference cannot reach the
        # partial-sum range): the kernel scales the codes to weight units as it writes them.
        direct = w is None and self.row_tiles == 1 and top <= self._psum_max
        codes, act = spike_read_codes(drives.reshape(K * N, self.n_in), self._columns() / lsb,
                                      self.chip.crossbar.rows, self._neg_column,
                                      self.chip.crossbar.adc_bits,
                                      unit=unit if direct else 1.0)      # (R, K*N, out)
        R = codes.shape[0]
        # (reads counted per row tile: the order of the reads does not matter)
        self._count_forward(phase, act, n_vectors=n_vectors, word_bits=word_bits)
        if direct:
            return codes[0]
        if w is None:
            tile_psum = codes                   # spikes: one drive of weight 1
            bound = top
        else:
            tile_psum = torch.einsum("k,rkno->rno", w, codes.reshape(R, K, N, self.n_out))
            bound = top * int(w.abs().sum())
        return self._accumulate_bounded(tile_psum, bound).mul_(unit)

    def _lookup_forward(self, x2: torch.Tensor, bits: int, phase: str) -> torch.Tensor:
        """Forward read of multi-bit inputs ``(N, in)`` on a small one-tile matrix: quantised
        and every (bit plane, sign) read looked up in the codes of all ``2**in`` drive patterns
        by :func:`.sparse_read.lookup_read_psums`, without forming the planes."""
        fs = self._full_scale("forward",
                              lambda: self._observed_forward(self._drives(x2, bits, False)[0]))
        # A fixed matrix (a DFA feedback matrix) reads the same table every batch: it is kept
        # until the conductances (or the range) change.
        table, lsb = self._derived_value(
            "pattern_codes", (fs, x2.dtype, x2.device), lambda: self._signed_codes(
                all_patterns(self.n_in, x2.dtype, x2.device).unsqueeze(0), fs))
        # A table row is a code difference (at most top); each plane adds the rows of its
        # positive read and subtracts those of its negative one, with weight 2**k.
        top = (1 << self.chip.crossbar.adc_bits) - 1
        bound = 2 * top * ((1 << (bits - 1)) - 1)
        unit = lsb * self.weight_per_us
        if bound <= self._psum_max:
            # No saturation can happen: the kernel writes the sums in weight units.
            out, act, _ = lookup_read_psums(x2, bits, table[0, :, 0], unit=unit)
        else:
            psum, act, scale = lookup_read_psums(x2, bits, table[0, :, 0])
            out = self._accumulate(psum.unsqueeze(0), inplace=True)
            out.mul_(unit).mul_(scale[:, None])
        self._count_forward(phase, act.unsqueeze(-1), n_vectors=x2.shape[0], word_bits=bits)
        return out

    def adc_codes(self, spikes: torch.Tensor) -> AdcCodes:
        """Raw codes of one binary read ``spikes (..., in)``: ``pos, neg (R, ..., out)``.

        ``scale * psum_accumulate(differential_codes(pos, neg))`` equals :meth:`forward`
        (without counting). Needs a quantising ADC (``adc_bits >= 1``).
        """
        if self.chip.crossbar.adc_bits == 0:
            raise ValueError("adc_codes needs a quantising ADC, not adc_bits=0")
        x2 = spikes.detach().to(self.device, self.dtype).reshape(-1, self.n_in)
        if not is_binary(x2):
            raise ValueError("adc_codes takes binary spikes; multi-bit inputs are bit-serial")
        drives = x2.unsqueeze(0)
        fs = self._full_scale("forward", lambda: self._observed_forward(drives))
        lsb = self._lsb(fs)
        shape = (self.row_tiles, *spikes.shape[:-1], self.n_out)
        if self._compiled_reads(x2):
            # The forward read's own kernel, so that these codes are the ones it sums.
            codes, _ = spike_read_codes(x2, self._columns() / lsb, self.chip.crossbar.rows,
                                        self._neg_column, self.chip.crossbar.adc_bits,
                                        raw=True)                          # (R, N, P)
            pos, neg = self._split_codes(codes)
        else:
            codes = self._to_codes(self._noisy_column_currents(drives, lsb))
            pos, neg = self._split_codes(codes[0])              # (N, R, out)
            pos, neg = pos.permute(1, 0, 2), neg.permute(1, 0, 2)
        pos = pos.reshape(shape).to(torch.int64)
        neg = neg.reshape(shape).to(torch.int64)
        return AdcCodes(pos, neg, lsb * self.weight_per_us)

    def _error_planes(self, e: torch.Tensor, bits: int, *, as_bytes: bool = False
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Bit planes ``(K, 2, N, out)`` (``[:, 0]`` positive, ``[:, 1]`` negative errors).

        Returns ``(planes, weights (K,), scale (N,), word_bits)``; all-zero planes are dropped.
        ``as_bytes`` keeps quantised planes as uint8 0/1 (the read converts them slice by slice).
        """
        if bits == 0:
            planes = torch.stack([e.clamp(min=0), (-e).clamp(min=0)]).unsqueeze(0)
            return (planes, torch.ones(1, dtype=e.dtype, device=e.device),
                    torch.ones(e.shape[0], dtype=e.dtype, device=e.device),
                    ANALOG_WORD_BITS)
        mag, sign, scale = sign_magnitude(e, bits)
        # Stored (K, N, 2, out): the layout :meth:`_row_currents` drives without a copy.
        planes, w = bit_planes(mag, sign, bits, torch.uint8 if as_bytes else e.dtype,
                               sign_inner=True)
        w = w.to(e.dtype)
        if all_planes_present(mag, sign != 0, bits):
            return planes, w, scale, bits
        keep = torch.any(planes, dim=(1, 2, 3)).to(torch.bool)     # (bytes give bytes)
        if not bool(keep.any()):
            keep[0] = True
        if bool(keep.all()):                       # the usual case: no copy of the planes
            return planes, w, scale, bits
        return planes[keep], w[keep], scale, bits

    @property
    def _tile_width(self) -> int:
        """Outputs per column tile as laid out for transposed reads (no padding if one tile)."""
        return self.outputs_per_crossbar if self.col_tiles > 1 else self.n_out

    def _tiled_columns(self, g: torch.Tensor) -> torch.Tensor:
        """``(out, in)`` -> ``(C, width, in)`` with zero padding of the last column tile."""
        pad = self.col_tiles * self._tile_width - self.n_out
        if pad:
            g = torch.nn.functional.pad(g, (0, 0, 0, pad))
        return g.reshape(self.col_tiles, self._tile_width, self.n_in)

    def _tiled_drive(self, d: torch.Tensor) -> torch.Tensor:
        """``(..., out)`` -> ``(..., C, width)``."""
        pad = self.col_tiles * self._tile_width - self.n_out
        if pad:
            d = torch.nn.functional.pad(d, (0, pad))
        return d.reshape(*d.shape[:-1], self.col_tiles, self._tile_width)

    def _row_currents(self, planes: torch.Tensor, unit: float = 1.0
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Row currents ``(I_P, I_N)``, each ``(C, K, N, in)`` in ``unit`` µS, of the two column
        phases (views of :meth:`_phase_currents`)."""
        cur = self._phase_currents(planes, unit)
        return cur[:, :, :, 0], cur[:, :, :, 1]

    def _phase_currents(self, planes: torch.Tensor, unit: float = 1.0) -> torch.Tensor:
        """Row currents ``(C, K, N, 2, in)`` in ``unit`` µS; ``[..., 0, :]`` is phase P,
        ``[..., 1, :]`` phase N. One tensor, so the ADC quantises both phases in one pass."""
        K, _, N, _ = planes.shape
        C, width = self.col_tiles, self._tile_width
        if self.chip.device.differential:
            # Phase P: G+ columns see positive-error bits, G- columns negative ones; N swaps:
            # I_P = pos G+ + neg G-, I_N = pos G- + neg G+. A line carries a positive or a
            # negative bit, never both, so with S = (pos + neg)(G+ + G-) and
            # D = (pos - neg)(G+ - G-), I_P = (S + D) / 2 and I_N = (S - D) / 2: two products
            # instead of four. The same currents up to float rounding (docs/adaptation-loop.md,
            # "Speed").
            summed, diff = self._sum_and_difference(planes, unit)
            cur = torch.empty(C, K, N, 2, self.n_in, dtype=summed.dtype, device=summed.device)
            torch.add(summed, diff, out=cur[:, :, :, 0])
            torch.sub(summed, diff, out=cur[:, :, :, 1])
            return cur.mul_(0.5)
        # Planes from :meth:`_error_planes` are stored (K, N, 2, out): with one column tile this
        # permute is that storage order and the reshapes below are free.
        d = self._tiled_drive(planes).permute(3, 0, 2, 1, 4)              # (C, K, N, 2, width)
        ga = self._tiled_columns(self.read_conductances()[0] / unit)
        return torch.bmm(d.reshape(C, K * N * 2, width), ga).reshape(C, K, N, 2, self.n_in)

    def _sum_and_difference(self, planes: torch.Tensor, unit: float = 1.0
                            ) -> tuple[torch.Tensor, torch.Tensor]:
        """``S = (pos + neg)(G+ + G-)`` and ``D = (pos - neg)(G+ - G-)``, each
        ``(C, K, N, in)`` in ``unit`` µS, of a differential pair's error planes: the row
        currents of phases P and N are ``(S + D) / 2`` and ``(S - D) / 2``."""
        K, _, N, _ = planes.shape
        C, width = self.col_tiles, self._tile_width
        d = self._tiled_drive(planes).permute(3, 0, 2, 1, 4)              # (C, K, N, 2, width)
        g_a, g_b, _ = self.read_conductances()
        ga = self._tiled_columns(g_a / unit)
        gb = self._tiled_columns(g_b / unit)
        pos, neg = d[:, :, :, 0], d[:, :, :, 1]                           # (C, K, N, width)
        summed = torch.bmm((pos + neg).reshape(C, K * N, width), ga + gb)
        diff = torch.bmm((pos - neg).reshape(C, K * N, width), ga - gb)
        return summed.reshape(C, K, N, self.n_in), diff.reshape(C, K, N, self.n_in)

    def _transpose_activity(self, planes: torch.Tensor, *, binary: bool = False
                            ) -> tuple[torch.Tensor, torch.Tensor]:
        """Active column counts per tile, ``(K, N, C)``, of phases P and N.

        ``binary``: the planes are 0/1 bit planes, whose positive and negative halves never
        overlap, so their sum marks the driven lines and counts them exactly.
        """
        size, tiles = self._tile_width, self.col_tiles
        if self.chip.device.differential:
            # Each non-zero error bit drives one line in each phase.
            if binary:
                on = planes[:, 0] + planes[:, 1]
            else:
                on = ((planes[:, 0] != 0) | (planes[:, 1] != 0)).to(planes.dtype)
            a = self._active_lines(on, self.n_out, size, tiles, binary=True)
            return a, a
        return (self._active_lines(planes[:, 0], self.n_out, size, tiles, binary=binary),
                self._active_lines(planes[:, 1], self.n_out, size, tiles, binary=binary))

    def _observed_transpose(self, planes: torch.Tensor) -> torch.Tensor:
        i_p, i_n = self._row_currents(planes)
        a_p, a_n = self._transpose_activity(planes)
        on_p = (a_p > 0).permute(2, 0, 1)
        on_n = (a_n > 0).permute(2, 0, 1)
        return torch.cat([i_p[on_p].reshape(-1), i_n[on_n].reshape(-1)])

    def transpose(self, err: torch.Tensor, *, bits: int | None = None,
                  phase: str = "backward") -> torch.Tensor:
        """Analog ``err @ W`` (i.e. ``W^T e``) with row-side ADCs: ``(..., out)`` -> ``(..., in)``.

        ``bits`` overrides ``datapath.error_bits``. Events are counted under ``(name, phase)``.
        """
        if err.shape[-1] != self.n_out:
            raise ValueError(f"error has {err.shape[-1]} features, the matrix expects "
                             f"{self.n_out}")
        lead = err.shape[:-1]
        e2 = err.detach().to(self.device, self.dtype).reshape(-1, self.n_out)
        bits = self.chip.datapath.error_bits if bits is None else bits
        if bits >= 2 and self.chip.device.differential and self._compiled_reads(e2):
            return self._compiled_transpose(e2, bits, phase).reshape(*lead, self.n_in)
        # Quantised, noise-free reads keep the planes as bytes until each slice is read: a batch's
        # float planes are tens of MB, written once and read once.
        sliced = bits != 0 and self.chip.crossbar.adc_bits != 0 and not self.read_sigma_us
        planes, w, scale, word_bits = self._error_planes(e2, bits, as_bytes=sliced)
        self._count_transpose(phase, *self._transpose_activity(planes, binary=bits != 0),
                              e2.shape[0], word_bits)
        dev = self.chip.device
        if self.chip.crossbar.adc_bits == 0:
            signed = torch.einsum("k,kno->no", w, planes[:, 0] - planes[:, 1])
            if not dev.differential:  # the reference is subtracted digitally, nominal g_ref
                w_eff = (self.read_conductances()[0] - dev.g_ref) * self.weight_per_us
            else:
                w_eff = self.effective_weight()
            out = signed @ w_eff
            sigma = self.read_sigma_us
            if sigma:
                # Each phase reads every row once; differential: both phases drive all lines.
                sq = torch.einsum("k,kn->n", w * w, (planes * planes).sum((1, 3)))
                std = sigma * self.weight_per_us * torch.sqrt(sq)[:, None]
                out = out + self._noise(std.expand(-1, self.n_in))
                if dev.differential:
                    out = out - self._noise(std.expand(-1, self.n_in))
            out = out * scale[:, None]
            return out.reshape(*lead, self.n_in)
        fs = self._full_scale("transpose",
                              lambda: self._observed_transpose(planes.to(self.dtype)))
        lsb = self._lsb(fs)
        N = planes.shape[2]
        if not sliced:
            # Read noise keeps one pass, so that its draws come in the same order.
            acc = self._accumulate(self._transpose_tile_psums(planes, w, lsb), inplace=True)
        else:
            # Slices of vectors whose currents stay in cache (a whole batch's can be tens of MB,
            # each pass over them a trip to memory); every element is computed as in one pass.
            per_vector = self.col_tiles * planes.shape[0] * 2 * self.n_in * w.element_size()
            step = max(1, _SLICE_BYTES // per_vector)
            acc = torch.empty(N, self.n_in, dtype=self.dtype, device=self.device)
            for n0 in range(0, N, step):
                part = planes[:, :, n0:n0 + step].to(self.dtype)
                acc[n0:n0 + step] = self._accumulate(self._transpose_tile_psums(part, w, lsb),
                                                     inplace=True)
        out = acc.mul_(lsb * self.weight_per_us).mul_(scale[:, None])
        return out.reshape(*lead, self.n_in)

    def _count_transpose(self, phase: str, act_p: torch.Tensor, act_n: torch.Tensor,
                         n_vectors: int, word_bits: int) -> None:
        """Count a transposed read's reads from the active-column counts ``(K, N, C)`` of its
        phases P and N, and its buffer traffic."""
        per_weight = self.chip.device.devices_per_weight
        lines = tuple(n * per_weight for n in self._outs_in_tile())
        for act in (act_p, act_n):
            self._count_reads(phase, act, xbars_per_read=self.row_tiles, lines_per_tile=lines,
                              conv_per_read=self.n_in, adds_per_read=self.n_in,
                              n_vectors=0, in_bytes=0, out_bytes=0)
        self.counters.add(self.name, phase,
                          buffer_read_bytes=n_vectors * vector_bytes(self.n_out, word_bits),
                          buffer_write_bytes=n_vectors * vector_bytes(
                              self.n_in, self.chip.datapath.psum_bits))

    def _compiled_transpose(self, e2: torch.Tensor, bits: int, phase: str) -> torch.Tensor:
        """Differential transposed read of errors ``(N, out)`` by
        :func:`.sparse_read.error_read_codes` (no planes formed): ``(N, in)`` weight units."""
        mag, sign, scale = sign_magnitude(e2, bits)
        g_a, g_b, _ = self.read_conductances()
        fs = self.full_scale["transpose"]
        if fs is None:
            # The currents of the reads that happen (a phase with no driven line is skipped).
            currents, act = error_read_currents(mag, sign, g_a, g_b, self._tile_width, bits - 1)
            fs = self._calibrate("transpose", currents[act.permute(2, 0, 1) > 0])
        lsb = self._lsb(fs)
        codes, act = error_read_codes(mag, sign, g_a / lsb, g_b / lsb, self._tile_width,
                                      bits - 1, self.chip.crossbar.adc_bits)  # (C, N, in)
        # A driven line is driven in both phases.
        self._count_transpose(phase, act, act, e2.shape[0], bits)
        top = (1 << self.chip.crossbar.adc_bits) - 1
        out = self._accumulate_bounded(codes, top * ((1 << (bits - 1)) - 1))
        return out.mul_(lsb * self.weight_per_us).mul_(scale[:, None])

    def _transpose_tile_psums(self, planes: torch.Tensor, w: torch.Tensor, lsb: float
                              ) -> torch.Tensor:
        """Shift-added signed codes per column tile, ``(C, N, in)``, of error bit planes
        ``(K, 2, N, out)`` read through ADCs of step ``lsb``."""
        dev = self.chip.device
        phases = self._phase_currents(planes, lsb)                       # (C, K, N, 2, in)
        i_p, i_n = phases[:, :, :, 0], phases[:, :, :, 1]
        sigma = self.read_sigma_us
        if sigma:
            t_p = self._tiled_drive(planes[:, 0] * planes[:, 0]).sum(-1)      # (K, N, C)
            t_n = self._tiled_drive(planes[:, 1] * planes[:, 1]).sum(-1)
            if dev.differential:
                t_p = t_n = t_p + t_n
            for cur, t in ((i_p, t_p), (i_n, t_n)):
                std = (sigma / lsb) * torch.sqrt(t.permute(2, 0, 1)).unsqueeze(-1)
                cur.add_(self._noise(std.expand(cur.shape)))
        # Both phases through the ADC in one pass each (element-wise, so the same codes).
        self._to_codes(phases)
        sig = i_p - i_n                                                   # (C, K, N, in)
        if not dev.differential:
            # Digital reference: the nominal g_ref times the signed count of driven columns.
            n_p = self._tiled_drive(planes[:, 0]).sum(-1)                 # (K, N, C)
            n_n = self._tiled_drive(planes[:, 1]).sum(-1)
            ref = (n_p - n_n).permute(2, 0, 1).unsqueeze(-1) * (dev.g_ref / lsb)
            sig = sig - ref
        return torch.einsum("k,ckni->cni", w, sig)
