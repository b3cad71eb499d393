# SPDX-License-Identifier: MIT
"""Compiled reads of 0/1 line drives: each active line adds its devices' conductances to the
line currents, and the ADCs convert them, in one pass per read.

A crossbar read of a binary drive is a sum, over the driven lines, of those lines' conductances:
spikes drive rows in a forward read, one bit plane of sign-magnitude errors drives columns in a
transposed read. The tensor path forms it as a dense product (every line times 0 or 1) followed
by separate passes for the ADC transfer, the differential codes and the plane sum, each over
tensors of tens of megabytes per batch. The drives are sparse (on the UCI-HAR adaptation
workload 26–46 % of spikes and 7–35 % of error bits per plane are ones), so the kernels here add
only the driven lines' rows, in a current buffer that stays in the first-level cache, and
convert it at once.

Numerics. Each line current is the float sum of the driven lines' conductances (in ADC LSB
units), in ascending line order by groups of eight (each group summed pairwise, then added),
where the tensor path's product sums all lines (zeros included) in the BLAS library's order: the
same currents up to float reassociation, like the same product on another CPU. Everything after
the currents is exact: ``code = clamp(rint(I), 0, top)`` with round half to even and NaN
passing the clamp (:func:`.adc.to_codes`), differences of codes and their plane sums, small
integers times powers of two, summed in the read's own float type (as the tensor path sums
them), exact in any order while they stay below ``2**24`` in float32 (a 4-bit ADC and 8-bit
words reach at most ``2 * 15 * 127``; all the kernels' constants are of that type, so nothing
is computed in float64 on the way). A sum does
not depend on the thread count (every read is summed by one thread), so the same inputs give the
same bits on any number of threads. ``tests/models/test_sparse_read.py`` bounds the currents
against float64 products and checks the codes and counts against the tensor path.

Where a kernel does not apply (a GPU tensor, a half type, read noise, an ideal ADC) the tensor
path runs; :class:`.matrix.AnalogMatrix` decides.
"""
from __future__ import annotations

import numba
import numpy as np
import torch

from ..parallel_kernels import chunk_count, run_parallel

__all__ = ["kernels_apply", "spike_read_codes", "error_read_codes", "error_read_currents",
           "lookup_read_psums"]

#: Reads per parallel chunk: enough work to amortise a chunk's start, small enough to balance.
_READS_PER_CHUNK = 256

#: ``_LOG2_MOD37[(1 << k) % 37] == k`` for ``k < 36``: the index of a word's lowest set bit
#: from its isolated power of two (the residues of ``2**k`` modulo 37 are distinct).
_LOG2_MOD37 = np.zeros(37, dtype=np.int64)
for _k in range(36):
    _LOG2_MOD37[(1 << _k) % 37] = _k


def kernels_apply(*tensors: torch.Tensor) -> bool:
    """Whether the compiled reads take these tensors: CPU, float32 or float64, no gradient."""
    return all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64)
               and not t.requires_grad for t in tensors)


def _run(kernel, n_reads: int, *args) -> None:
    """``kernel(*args, chunks)`` over slices of ``_READS_PER_CHUNK`` reads, in parallel."""
    run_parallel(kernel, *args, chunk_count(n_reads, _READS_PER_CHUNK))


@numba.njit(cache=True, nogil=True, inline="always")
def _adc_code(current, zero, top):
    """``clamp(rint(current), 0, top)``: round half to even; NaN passes, as in ``torch.clamp``
    (``zero`` and ``top`` are of the current's type)."""
    code = np.rint(current)
    code = zero if code < zero else code         # (selects, not branches: they vectorise)
    return top if code > top else code


@numba.njit(cache=True, nogil=True, inline="always")
def _add_rows(current, rows, index, count):
    """``current[p] += sum_q rows[index[q], p]`` over ``q < count``, eight rows at a
    time: the rows are summed pairwise in registers and the current is loaded and stored once
    per group instead of once per row (a fixed order, so always the same bits)."""
    columns = current.shape[0]
    q = 0
    while q + 8 <= count:
        a, b, c, d = index[q], index[q + 1], index[q + 2], index[q + 3]
        e, f, g, h = index[q + 4], index[q + 5], index[q + 6], index[q + 7]
        for p in range(columns):
            current[p] += (((rows[a, p] + rows[b, p])
                            + (rows[c, p] + rows[d, p]))
                           + ((rows[e, p] + rows[f, p])
                              + (rows[g, p] + rows[h, p])))
        q += 8
    if q + 4 <= count:
        a, b, c, d = index[q], index[q + 1], index[q + 2], index[q + 3]
        for p in range(columns):
            current[p] += ((rows[a, p] + rows[b, p])
                           + (rows[c, p] + rows[d, p]))
        q += 4
    while q < count:
        a = index[q]
        for p in range(columns):
            current[p] += rows[a, p]
        q += 1


@numba.njit(cache=True, nogil=True, parallel=True)
def _spike_read_loop(drives, line_rows, tile_rows, neg_column, top, raw, unit, codes, active,
                     chunks):
    """Reads of 0/1 drives ``(N, lines)`` through row tiles of ``tile_rows`` lines, in
    ``chunks`` parallel slices.

    ``line_rows (lines, P)``: every input line's conductances to the ``P`` physical columns, in
    LSB units. ``raw``: ``codes (R, N, P)`` receives every column's code; else
    ``codes (R, N, out)`` receives ``(code[o] - code[neg_column[o]]) * unit``. ``active (N, R)``:
    driven lines per read.
    """
    n_reads = drives.shape[0]
    lines, columns = line_rows.shape
    tiles = active.shape[1]
    outputs = neg_column.shape[0]
    zero = line_rows.dtype.type(0.0)
    ceiling = line_rows.dtype.type(top)
    scale = line_rows.dtype.type(unit)
    # Differential columns ([G+ | G-]: output o's negative column is outputs + o) are read
    # without the gather, which keeps the last loop vectorised.
    paired = True
    for o in range(outputs):
        if neg_column[o] != outputs + o:
            paired = False
    for chunk in numba.prange(chunks):
        current = np.empty(columns, dtype=line_rows.dtype)
        ones = np.empty(tile_rows, dtype=np.int64)
        for n in range(n_reads * chunk // chunks, n_reads * (chunk + 1) // chunks):
            for r in range(tiles):
                for p in range(columns):
                    current[p] = zero
                count = 0
                for j in range(r * tile_rows, min((r + 1) * tile_rows, lines)):
                    # The list of driven lines, built without a branch per line (a random
                    # branch costs more than the store).
                    ones[count] = j
                    count += drives[n, j] == 1
                _add_rows(current, line_rows, ones, count)
                active[n, r] = count
                for p in range(columns):
                    current[p] = _adc_code(current[p], zero, ceiling)
                out = codes[r, n]               # (1-D views inside the parallel loop vectorise)
                if raw:
                    for p in range(columns):
                        out[p] = current[p]
                elif paired:
                    for o in range(outputs):
                        out[o] = (current[o] - current[outputs + o]) * scale
                else:
                    for o in range(outputs):
                        out[o] = (current[o] - current[neg_column[o]]) * scale


def spike_read_codes(drives: torch.Tensor, columns: torch.Tensor, tile_rows: int,
                     neg_column: torch.Tensor, adc_bits: int, *, raw: bool = False,
                     unit: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """ADC codes of a forward read of 0/1 drives, and the driven lines per read.

    Parameters
    ----------
    drives : Tensor ``(N, lines)``
        One read per row, 0/1: spikes or one bit plane of multi-bit inputs (a 1 drives its line;
        callers pass nothing else, the tensor path's contract for binary reads).
    columns : Tensor ``(P, lines)``
        Physical column conductances in ADC LSB units (``G / lsb``).
    tile_rows : int
        Lines per row tile: each tile is its own read with its own currents.
    neg_column : Tensor ``(out,)`` of int64
        For each logical output, the physical column whose code is subtracted (its ``G-``
        column, or its crossbar's reference column).
    adc_bits : int
    raw : bool
        Return every physical column's code ``(R, N, P)`` instead of the differences
        ``(R, N, out)``.
    unit : float
        Multiplies the differences as they are written (rounded once, in the drives' dtype,
        as ``codes.mul_(unit)`` would): weight units per code when no saturation follows.

    Returns
    -------
    codes : Tensor, the drives' dtype
    active : Tensor ``(N, R)`` of int32
        Driven lines per read (0: the read is skipped and its codes are 0).
    """
    n_reads, lines = drives.shape
    tiles = -(-lines // tile_rows)
    line_rows = columns.t().contiguous().to(drives.dtype)
    width = columns.shape[0] if raw else neg_column.shape[0]
    codes = torch.empty(tiles, n_reads, width, dtype=drives.dtype, device="cpu")
    active = torch.empty(n_reads, tiles, dtype=torch.int32, device="cpu")
    _run(_spike_read_loop, n_reads, drives.contiguous().numpy(), line_rows.numpy(), tile_rows,
         neg_column.to(torch.int64).contiguous().numpy(), (1 << adc_bits) - 1, raw, unit,
         codes.numpy(), active.numpy())
    return codes, active


@numba.njit(cache=True, nogil=True, parallel=True)
def _error_read_loop(magnitude, sign, rows, tile_width, planes, top, log2_mod37, raw, codes,
                     currents, active, chunks):
    """Transposed reads of sign-magnitude errors ``(N, out)``, in ``chunks`` parallel slices.

    ``rows (2 * out, 2 * in)``: row ``j`` is error line ``j``'s ``[G+ | G-]`` conductances in
    LSB units, row ``out + j`` its ``[G- | G+]``: a positive error bit drives ``G+`` in phase P
    and ``G-`` in phase N, a negative one the opposite, so a driven line adds the first to
    ``[I_P | I_N]`` of its plane when positive and the second when negative. ``codes
    (C, N, in)`` receives ``sum_k 2**k (code(I_P,k) - code(I_N,k))`` per column tile, ``active
    (planes, N, C)`` the driven lines per plane and tile. ``raw``: ``currents (C, planes, N,
    2 * in)`` receives ``[I_P | I_N]`` instead of the codes (for the ADC range calibration).
    A line visits only its set bits (lowest first, found without a branch per plane); each
    plane's rows are then summed by :func:`_add_rows`.
    """
    n_reads = magnitude.shape[0]
    outputs, double = rows.shape[0] // 2, rows.shape[1]
    inputs = double // 2
    tiles = active.shape[2]
    zero = rows.dtype.type(0.0)
    two = rows.dtype.type(2.0)              # (an integer literal would promote to float64)
    ceiling = rows.dtype.type(top)
    for chunk in numba.prange(chunks):
        current = np.empty((planes, double), dtype=rows.dtype)
        index = np.empty((planes, tile_width), dtype=np.int64)
        count = np.empty(planes, dtype=np.int64)
        for n in range(n_reads * chunk // chunks, n_reads * (chunk + 1) // chunks):
            for c in range(tiles):
                for k in range(planes):
                    count[k] = 0
                for j in range(c * tile_width, min((c + 1) * tile_width, outputs)):
                    s = sign[n, j]
                    if s == 0:
                        continue
                    row = j if s > 0 else outputs + j
                    bits = magnitude[n, j]
                    while bits != 0:
                        low = bits & -bits
                        k = log2_mod37[low % 37]
                        bits ^= low
                        index[k, count[k]] = row
                        count[k] += 1
                for k in range(planes):
                    active[k, n, c] = count[k]
                    plane = current[k]          # (1-D views inside the parallel loop vectorise)
                    for i in range(double):
                        plane[i] = zero
                    _add_rows(plane, rows, index[k], count[k])
                if raw:
                    for k in range(planes):
                        plane = current[k]
                        out = currents[c, k, n]
                        for i in range(double):
                            out[i] = plane[i]
                    continue
                out = codes[c, n]
                for i in range(inputs):
                    out[i] = zero
                weight = rows.dtype.type(1.0)
                for k in range(planes):
                    phase_p = current[k, :inputs]
                    phase_n = current[k, inputs:]
                    for i in range(inputs):
                        out[i] += weight * (_adc_code(phase_p[i], zero, ceiling)
                                            - _adc_code(phase_n[i], zero, ceiling))
                    weight = weight * two


def _error_read(magnitude, sign, g_plus, g_minus, tile_width, planes, adc_bits, raw):
    n_reads, outputs = magnitude.shape
    tiles = -(-outputs // tile_width)
    dtype = g_plus.dtype
    inputs = g_plus.shape[1]
    rows = torch.cat([torch.cat([g_plus, g_minus], 1), torch.cat([g_minus, g_plus], 1)], 0)
    signs = ((sign > 0).to(torch.int8) - (sign < 0).to(torch.int8)).contiguous()
    if raw:
        codes = torch.empty(1, 1, 1, dtype=dtype, device="cpu")
        currents = torch.empty(tiles, planes, n_reads, 2 * inputs, dtype=dtype, device="cpu")
    else:
        codes = torch.empty(tiles, n_reads, inputs, dtype=dtype, device="cpu")
        currents = torch.empty(1, 1, 1, 1, dtype=dtype, device="cpu")
    active = torch.empty(max(planes, 1), n_reads, tiles, dtype=torch.int32, device="cpu")
    # Magnitudes of undriven lines (NaN errors give undefined integers) are never looked at.
    _run(_error_read_loop, n_reads, magnitude.to(torch.int64).contiguous().numpy(),
         signs.numpy(), rows.contiguous().numpy(), tile_width, planes, (1 << adc_bits) - 1,
         _LOG2_MOD37, raw, codes.numpy(), currents.numpy(), active.numpy())
    return (currents if raw else codes), active[:planes]


def error_read_codes(magnitude: torch.Tensor, sign: torch.Tensor, g_plus: torch.Tensor,
                     g_minus: torch.Tensor, tile_width: int, planes: int, adc_bits: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Plane-summed signed ADC codes of a differential transposed read of error bit planes.

    Parameters
    ----------
    magnitude : Tensor ``(N, out)`` of integers
        Sign-magnitude codes of the errors (:func:`.encoding.sign_magnitude`); bit ``k`` drives
        the line in plane ``k``.
    sign : Tensor ``(N, out)``
        The errors' signs; lines whose sign is neither positive nor negative (0, NaN) are not
        driven.
    g_plus, g_minus : Tensor ``(out, in)``
        ``G+`` and ``G-`` conductances in ADC LSB units (``G / lsb``), the float type of the
        read.
    tile_width : int
        Error lines per column tile (each tile is its own read).
    planes : int
        Magnitude bit planes (``error_bits - 1``, at most 35).
    adc_bits : int

    Returns
    -------
    codes : Tensor ``(C, N, in)``
        ``sum_k 2**k (code_P,k - code_N,k)`` per column tile, before the tiles' saturating sum.
    active : Tensor ``(planes, N, C)`` of int32
        Driven lines per plane and read (the same in both phases).
    """
    return _error_read(magnitude, sign, g_plus, g_minus, tile_width, planes, adc_bits, False)


def error_read_currents(magnitude: torch.Tensor, sign: torch.Tensor, g_plus: torch.Tensor,
                        g_minus: torch.Tensor, tile_width: int, planes: int
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """The line currents of :func:`error_read_codes` before the ADCs, for calibrating its range.

    Returns ``currents (C, planes, N, 2, in)`` (``[..., 0, :]`` phase P, ``[..., 1, :]`` phase
    N, in the units of ``g_plus``) and ``active (planes, N, C)``.
    """
    currents, active = _error_read(magnitude, sign, g_plus, g_minus, tile_width, planes, 1,
                                   True)
    return currents.reshape(*currents.shape[:3], 2, g_plus.shape[1]), active


@numba.njit(cache=True, nogil=True, parallel=True)
def _lookup_loop(inputs, qmax, table, planes, scaled, unit, psums, active, scales, chunks):
    """Bit-serial reads of inputs ``(N, lines)``, sign-magnitude quantised per read, looked up
    in the codes of every drive pattern ``table (2**lines, out)``, in ``chunks`` parallel slices.

    Quantisation as :func:`.encoding.sign_magnitude`, operation for operation in the inputs'
    precision: ``scale = amax / qmax`` (1 where ``amax`` is 0 or NaN), ``mag = clamp(rint(|x|
    / scale), 0, qmax)``; entries whose sign is neither positive nor negative (0, NaN) drive no
    line, and a NaN magnitude sets no bit (the tensor path's integer conversion of NaN has no
    low bits set). ``scales (N,)`` receives the scales.

    Plane ``k`` of the positive entries is one read, driving pattern ``sum_j bit_k 2**j``, of
    weight ``+2**k``; of the negative entries one of weight ``-2**k``. ``psums (N, out)`` gets
    their weighted sum, ``active (2 * planes, N)`` the driven lines of each read (plane-major,
    positive first, as the tensor path orders its drives). The codes are small integers, their
    products with powers of two and their sums exact, so any order gives the same bits.
    ``scaled``: each sum is written as ``(sum * unit) * scale``, the two products rounded in
    the table's type as ``psums.mul_(unit).mul_(scales[:, None])`` rounds them.
    """
    n_reads, lines = inputs.shape
    outputs = table.shape[1]
    zero = table.dtype.type(0.0)
    # Constants of the table's type: an integer literal would promote the sums to float64
    # (the same values, at half the vector width and with conversions).
    two = table.dtype.type(2.0)
    four = table.dtype.type(4.0)
    one = inputs.dtype.type(1.0)
    q_top = inputs.dtype.type(qmax)
    unit_t = table.dtype.type(unit)
    for chunk in numba.prange(chunks):
        positive = np.empty(planes + 1, dtype=np.int64)
        negative = np.empty(planes + 1, dtype=np.int64)
        magnitude = np.empty(lines, dtype=np.int64)
        sign = np.empty(lines, dtype=np.int64)
        for n in range(n_reads * chunk // chunks, n_reads * (chunk + 1) // chunks):
            amax = abs(inputs[n, 0])
            for j in range(1, lines):
                value = abs(inputs[n, j])
                if value > amax or value != value:
                    amax = value if amax == amax else amax
            scale = amax / q_top if amax > 0 else one
            scales[n] = scale
            for j in range(lines):
                x = inputs[n, j]
                sign[j] = 1 if x > 0 else (-1 if x < 0 else 0)
                level = np.rint(abs(x) / scale)
                level = q_top if level > q_top else level
                magnitude[j] = np.int64(level) if level == level else 0
            # Every plane's two patterns and line counts, without a branch per line.
            for k in range(planes):
                pattern_pos = 0
                pattern_neg = 0
                count_pos = 0
                count_neg = 0
                for j in range(lines):
                    bit = (magnitude[j] >> k) & 1
                    is_pos = bit * (sign[j] > 0)
                    is_neg = bit * (sign[j] < 0)
                    pattern_pos |= is_pos << j
                    pattern_neg |= is_neg << j
                    count_pos += is_pos
                    count_neg += is_neg
                positive[k] = pattern_pos
                negative[k] = pattern_neg
                active[2 * k, n] = count_pos
                active[2 * k + 1, n] = count_neg
            # Row 0 of the table (no line driven) is zero, so absent patterns add nothing.
            # (1-D views inside the parallel loop vectorise.)
            out = psums[n]
            for o in range(outputs):
                out[o] = zero
            weight = table.dtype.type(1.0)
            k = 0
            while k + 2 <= planes:
                row_a, row_b = table[positive[k]], table[negative[k]]
                row_c, row_d = table[positive[k + 1]], table[negative[k + 1]]
                for o in range(outputs):
                    out[o] += (weight * (row_a[o] - row_b[o])
                               + (weight * two) * (row_c[o] - row_d[o]))
                weight = weight * four
                k += 2
            if k < planes:
                row_a, row_b = table[positive[k]], table[negative[k]]
                for o in range(outputs):
                    out[o] += weight * (row_a[o] - row_b[o])
            if scaled:
                step = table.dtype.type(scale)
                for o in range(outputs):
                    out[o] = (out[o] * unit_t) * step


def lookup_read_psums(inputs: torch.Tensor, bits: int, table: torch.Tensor, *,
                      unit: float | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Shift-added signed codes of multi-bit inputs read bit-serially by pattern lookup.

    Parameters
    ----------
    inputs : Tensor ``(N, lines)``
        Each row one input vector, quantised to ``bits``-bit sign-magnitude against its own
        max-abs exactly as :func:`.encoding.sign_magnitude` does; a line is driven in plane
        ``k`` of its sign when bit ``k`` of its magnitude is set.
    bits : int
        Sign-magnitude word width (``bits - 1`` magnitude planes), 2 to 63.
    table : Tensor ``(2**lines, out)``
        Signed codes of every drive pattern (row ``p`` drives line ``j`` iff bit ``j`` of ``p``);
        row 0, no line driven, is zero.
    unit : float, optional
        Given, the sums are scaled as they are written, ``(psum * unit) * scale`` (rounded as
        ``psums.mul_(unit).mul_(scale[:, None])`` would round them): the read in weight units
        where no saturation follows.

    Returns
    -------
    psums : Tensor ``(N, out)``, the table's dtype
        ``sum_k 2**k (table[pos_k] - table[neg_k])``: small integers, exact in any order, so
        bit for bit the tensor path's weighted sum of looked-up rows (times ``unit * scale``
        when ``unit`` is given).
    active : Tensor ``(2 * planes, N)`` of int32
        Driven lines of each (plane, sign) read.
    scale : Tensor ``(N,)``
        Each input's quantisation step (the inputs' dtype).
    """
    n_reads = inputs.shape[0]
    planes = bits - 1
    psums = torch.empty(n_reads, table.shape[1], dtype=table.dtype, device="cpu")
    active = torch.empty(2 * planes, n_reads, dtype=torch.int32, device="cpu")
    scale = torch.empty(n_reads, dtype=inputs.dtype, device="cpu")
    _run(_lookup_loop, n_reads, inputs.detach().contiguous().numpy(), (1 << planes) - 1,
         table.contiguous().numpy(), planes, unit is not None,
         1.0 if unit is None else float(unit), psums.numpy(), active.numpy(), scale.numpy())
    return psums, active, scale
