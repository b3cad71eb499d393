# SPDX-License-Identifier: MIT
"""Behavioural model of one weight matrix tiled onto analog RRAM crossbars, with event counts.

Tiling
    A logical matrix ``W`` (``out x in``) is cut into ``R = ceil(in / rows)`` row tiles (inputs
    drive word lines) and ``C = ceil(out / outputs_per_crossbar)`` column tiles. With the
    differential mapping every output takes two physical columns (``cols // 2`` outputs per
    crossbar); with the offset mapping one column per crossbar is the reference (``cols - 1``).
    Each crossbar has its own devices: every device has a standard-normal "personality" ``z``
    drawn from the chip's ``torch.Generator`` at construction. Devices are stored per logical
    weight (``g_a``, ``g_b`` shaped ``out x in``), which is the same set of devices in a
    different layout; offset reference devices are stored per ``(column tile, row)``.

Programming (``noise_mode``)
    The conductance a device reaches is ``noise.sample(target, z)``. ``"static"``: ``z`` is fixed
    for the chip's lifetime, so re-programming a device to the same level gives the same
    conductance (device-to-device variation that re-programming cannot remove).
    ``"per_write"``: every write draws a new ``z`` (cycle-to-cycle variation).

Write-verify
    ``write_verify = n`` allows up to ``n`` program-verify iterations after the first pulse. Each
    iteration reads every still-pending device once (``verify_reads``); devices further than
    ``verify_tolerance`` µS from the target get one corrective pulse (``write_pulses``) that
    scales their remaining error by ``verify_shrink``: after ``i`` corrections
    ``G = target + verify_shrink**i * (sample(target, z_i) - target)`` with ``z_i = z``
    (static) or a fresh draw (per_write). A pure re-write would never help a static device, so
    write-verify is modelled as the partial correction of fine-tuning pulses. Note that fits of
    NeuRRAM's spread (REFERENCE.md §1) already include that chip's own write-verify, so extra
    iterations here are an optimistic what-if.

Forward read (``forward``)
    Each input vector of each row tile is one read of the ``C`` crossbars of that row tile.
    1-bit spikes drive rows directly (Table II: 1-bit spike decoder). Multi-bit inputs (the
    first layer's real-valued samples, DFA errors on the feedback matrices) are sign-magnitude
    quantised to ``input_bits`` (or ``bits``) against each vector's own max-abs (a per-vector
    scale kept digitally) and applied bit-serially: one 1-bit read per magnitude bit plane, and
    separate passes for positive and negative inputs so every column current stays positive.
    Every physical column current ``sum_j G_j * s_j`` (µS at unit read voltage) goes to an
    unsigned ``adc_bits`` ADC. The digital side forms ``pos - neg`` codes
    (:func:`golden.psum.differential_codes`), combines bit planes with weights ``2**k``
    (:func:`golden.psum.shift_add` with 1-bit slices, saturating once to ``psum_bits``) and
    accumulates row tiles with saturation after every add (:func:`golden.psum.psum_accumulate`);
    the tests check this equality. The result is scaled back to weight units.

Skip-zero rule
    A read whose input lines are all zero is skipped: the decoder sees nothing to drive, no
    crossbar is activated and no ADC converts (the code would be 0 anyway). The input vector is
    still fetched from the buffer to find that out.

ADC full scale (``adc_range``)
    ``"calibrated"``: set once per matrix and direction from the ``adc_percentile`` percentile of
    the column (or row) currents of the non-skipped reads of a calibration batch
    (:meth:`AnalogMatrix.calibrate`, or automatically on the first read); ``"max"``:
    ``rows * g_max`` forward and ``cols * g_max`` transposed, which never clips;
    ``"fixed"``: ``adc_full_scale`` µS. Codes are ``clamp(round(I / lsb), 0, 2**adc_bits - 1)``
    with ``lsb = full_scale / (2**adc_bits - 1)``. ``adc_bits = 0`` is an ideal ADC (no
    quantisation, no clipping) and ``input_bits = 0`` / ``error_bits = 0`` ideal analog drivers,
    for ablations.

Transposed read (``transpose``, BP only)
    ``W^T e`` on the same devices with the row-side ADCs of a transposable crossbar: errors
    drive the columns and row currents are converted. Errors are sign-magnitude quantised to
    ``error_bits`` per vector and applied bit-serially. For a differential pair the sign is
    handled in two column phases per bit plane: phase P drives ``G+`` columns with the bits of
    positive errors and ``G-`` columns with the bits of negative errors, phase N the opposite;
    ``code_P - code_N`` is the signed code. Column tiles are accumulated like row tiles forward.
    With the offset mapping phase P drives positive and phase N negative errors, and the
    reference term ``g_ref * sum(bits)`` is subtracted digitally with the nominal reference
    conductance (the reference column cannot be driven from the column side).

Updates (``update``)
    ``delta_w`` (weight units, from the digital WGU) becomes a level change ``delta_w / step_w``
    with ``step_w = w_max / unit``, rounded stochastically (``floor(x + U[0, 1))``, unbiased) or
    to nearest, added to the stored level index and clipped to the level range. Only devices
    whose level changed are re-programmed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .activity import ActivityCounters, vector_bytes
from .rram.device import (DeviceConfig, device_levels, level_conductance, levels_to_weight,
                          weight_scale, weight_to_levels)
from .rram.noise import NoiseModel

__all__ = ["ADC_RANGES", "NOISE_MODES", "ROUNDINGS", "CrossbarConfig", "WriteStats", "AdcCodes",
           "AnalogMatrix"]

ADC_RANGES = ("calibrated", "max", "fixed")
NOISE_MODES = ("static", "per_write")
ROUNDINGS = ("stochastic", "nearest")

#: Word width used for buffer traffic of an ideal (unquantised) analog input or error.
_ANALOG_WORD_BITS = 16


def _check_int(value, name: str, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (
            hi is not None and value > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an integer {rng}, not {value!r}")


@dataclass
class CrossbarConfig:
    """Crossbar geometry, peripherals and write policy shared by all matrices of a chip.

    Members
    -------
    rows, cols : int
        Crossbar size (Table II: 256 x 256).
    adc_bits : int
        Column (and row) ADC resolution (Table II: 4); 0 is an ideal ADC.
    adc_range : str
        Full-scale policy: ``"calibrated"``, ``"max"`` or ``"fixed"`` (module docstring).
    adc_percentile : float
        Percentile of observed currents used as full scale by ``"calibrated"``.
    adc_full_scale : float or None
        Full scale in µS for ``"fixed"``.
    input_bits : int
        Sign-magnitude width of multi-bit (non-spike) inputs applied bit-serially; 0: ideal.
    error_bits : int
        Sign-magnitude width of errors (transposed reads and DFA feedback reads); 0: ideal.
    psum_bits : int
        Signed width of the shift-adder and partial-sum accumulator (``golden/psum.py``: 16).
    device : DeviceConfig
        Conductance window, cell bits and mapping.
    noise_mode : str
        ``"static"`` (fixed device personality) or ``"per_write"`` (new draw every write).
    write_verify : int
        Maximum program-verify iterations after the first pulse (0: none).
    verify_tolerance : float or None
        Accepted ``|G - target|`` in µS; None: half a level step.
    verify_shrink : float
        Factor on the remaining error per corrective pulse, in ``[0, 1)``.
    update_rounding : str
        ``"stochastic"`` (default) or ``"nearest"`` rounding of level changes.
    crossbars_per_tile : int
        Table II: 4 PEs x 4 crossbars = 16.
    max_tiles : int or None
        Tile budget of the chip for the network's layers (None: unlimited).
    """

    rows: int = 256
    cols: int = 256
    adc_bits: int = 4
    adc_range: str = "calibrated"
    adc_percentile: float = 99.9
    adc_full_scale: float | None = None
    input_bits: int = 8
    error_bits: int = 8
    psum_bits: int = 16
    device: DeviceConfig = field(default_factory=DeviceConfig)
    noise_mode: str = "static"
    write_verify: int = 0
    verify_tolerance: float | None = None
    verify_shrink: float = 0.5
    update_rounding: str = "stochastic"
    crossbars_per_tile: int = 16
    max_tiles: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the offending value if the configuration is unusable."""
        _check_int(self.rows, "rows", 1)
        _check_int(self.cols, "cols", 2)
        _check_int(self.adc_bits, "adc_bits", 0, 24)
        if self.adc_range not in ADC_RANGES:
            raise ValueError(f"adc_range must be one of {ADC_RANGES}, not {self.adc_range!r}")
        p = self.adc_percentile
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 100:
            raise ValueError(f"adc_percentile must be in (0, 100], not {p!r}")
        if self.adc_range == "fixed":
            fs = self.adc_full_scale
            if isinstance(fs, bool) or not isinstance(fs, (int, float)) or not (
                    math.isfinite(fs) and fs > 0):
                raise ValueError(f"adc_range='fixed' needs a positive adc_full_scale (µS), "
                                 f"not {fs!r}")
        for name in ("input_bits", "error_bits"):
            v = getattr(self, name)
            _check_int(v, name, 0, 24)
            if v == 1:
                raise ValueError(f"{name} must be 0 (ideal) or >= 2 (sign + magnitude), not 1")
        _check_int(self.psum_bits, "psum_bits", 2, 62)
        if not isinstance(self.device, DeviceConfig):
            raise ValueError(f"device must be a DeviceConfig, not {self.device!r}")
        self.device.validate()
        if self.noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, not "
                             f"{self.noise_mode!r}")
        _check_int(self.write_verify, "write_verify", 0)
        tol = self.verify_tolerance
        if tol is not None and (isinstance(tol, bool) or not isinstance(tol, (int, float))
                                or not (math.isfinite(tol) and tol >= 0)):
            raise ValueError(f"verify_tolerance must be None or >= 0 µS, not {tol!r}")
        r = self.verify_shrink
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r < 1:
            raise ValueError(f"verify_shrink must be in [0, 1), not {r!r}")
        if self.update_rounding not in ROUNDINGS:
            raise ValueError(f"update_rounding must be one of {ROUNDINGS}, not "
                             f"{self.update_rounding!r}")
        _check_int(self.crossbars_per_tile, "crossbars_per_tile", 1)
        if self.max_tiles is not None:
            _check_int(self.max_tiles, "max_tiles", 1)

    @property
    def outputs_per_crossbar(self) -> int:
        """Logical outputs per crossbar: ``cols // 2`` (differential) or ``cols - 1`` (offset)."""
        if self.device.mapping == "differential":
            return self.cols // 2
        return self.cols - 1

    @property
    def tolerance(self) -> float:
        """Write-verify tolerance in µS (half a level step unless set)."""
        if self.verify_tolerance is None:
            return 0.5 * self.device.step
        return float(self.verify_tolerance)


@dataclass
class WriteStats:
    """Outcome of one :meth:`AnalogMatrix.program` or :meth:`AnalogMatrix.update`.

    Members
    -------
    weights_changed : int
        Weights whose level index changed.
    clipped : int
        Weights whose requested level lay outside the level range.
    devices_written : int
        Devices programmed (first pulse).
    write_pulses : int
        All programming pulses, write-verify corrections included.
    verify_reads : int
        Verify reads of write-verify.
    """

    weights_changed: int = 0
    clipped: int = 0
    devices_written: int = 0
    write_pulses: int = 0
    verify_reads: int = 0


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


def _percentile(values: torch.Tensor, p: float) -> float:
    """``p``-th percentile (nearest rank) of a 1-D tensor of any length."""
    n = values.numel()
    if n == 0:
        return 0.0
    k = min(n, max(1, math.ceil(p / 100.0 * n)))
    return float(values.reshape(-1).kthvalue(k).values)


def _is_binary(x: torch.Tensor) -> bool:
    return bool(((x == 0) | (x == 1)).all())


#: Largest row count read through the pattern lookup of :meth:`AnalogMatrix._tile_psums`.
_LOOKUP_MAX_ROWS = 10
_PATTERNS: dict[tuple[int, torch.dtype], torch.Tensor] = {}


def _all_patterns(n: int, dtype: torch.dtype) -> torch.Tensor:
    """All ``2**n`` binary vectors of length ``n``; row ``p`` has bit ``j`` of ``p`` at ``j``."""
    key = (n, dtype)
    if key not in _PATTERNS:
        p = torch.arange(1 << n).unsqueeze(1)
        _PATTERNS[key] = ((p >> torch.arange(n)) & 1).to(dtype)
    return _PATTERNS[key]


def _planes(mag: torch.Tensor, sign: torch.Tensor, bits: int, dtype: torch.dtype
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Bit planes of sign-magnitude codes: ``(K, 2, N, n)`` 0/1 drives and weights ``2**k``.

    ``[:, 0]`` holds the bits of positive entries, ``[:, 1]`` of negative ones.
    """
    k = torch.arange(bits - 1, dtype=torch.int32)
    b = ((mag.to(torch.int32).unsqueeze(0) >> k.view(-1, *([1] * mag.dim()))) & 1).to(dtype)
    d = torch.stack([b * (sign > 0).to(dtype), b * (sign < 0).to(dtype)], 1)
    return d, (2.0 ** k).to(dtype)


def _sign_magnitude(x: torch.Tensor, bits: int
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Quantise ``x`` (``N x n``) per row to sign-magnitude: ``(mag int64, sign, scale[N])``.

    ``x ~= sign * mag * scale[:, None]`` with ``mag`` in ``[0, 2**(bits-1) - 1]``.
    """
    qmax = (1 << (bits - 1)) - 1
    amax = x.abs().amax(dim=-1)
    scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    mag = torch.clamp(torch.round(x.abs() / scale[:, None]), 0, qmax).to(torch.int64)
    return mag, torch.sign(x), scale


class AnalogMatrix:
    """One logical weight matrix (``out x in``) on RRAM crossbars of one chip.

    Parameters
    ----------
    n_out, n_in : int
        Logical shape.
    cfg : CrossbarConfig
    noise : NoiseModel
        Conductance reached for a target conductance.
    generator : torch.Generator, optional
        Source of device personalities, per-write draws and stochastic rounding.
    name : str
        Key of this matrix in the activity counters.
    counters : ActivityCounters, optional
        Where events are counted (a private one if not given).
    dtype : torch.dtype
        Floating type of conductances and results.

    Members
    -------
    cfg, noise, generator, name, counters
        As given.
    row_tiles, col_tiles : int
        ``R`` and ``C``.
    w_max : float
        Deployment scale (max ``|w|`` at :meth:`program`).
    q : Tensor, int64, ``(out, in)``
        Level index of every weight (the controller's target map).
    g_a, g_b : Tensor, ``(out, in)``
        Conductances (µS) reached by the positive / negative device of each weight; offset
        mapping: ``g_b`` is the reference device of the weight's row in its crossbar.
    g_ref : Tensor or None, ``(C, in)``
        Offset reference devices.
    z_a, z_b, z_ref : Tensor
        Device personalities (standard normal).
    full_scale : dict[str, float or None]
        ADC full scale (µS) of the ``"forward"`` and ``"transpose"`` reads.
    """

    def __init__(self, n_out: int, n_in: int, cfg: CrossbarConfig, noise: NoiseModel,
                 generator: torch.Generator | None = None, *, name: str = "W",
                 counters: ActivityCounters | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        _check_int(n_out, "n_out", 1)
        _check_int(n_in, "n_in", 1)
        cfg.validate()
        if not isinstance(noise, NoiseModel):
            raise ValueError(f"noise must be a NoiseModel, not {noise!r}")
        self.n_out, self.n_in = n_out, n_in
        self.cfg, self.noise, self.generator = cfg, noise, generator
        self.name = name
        self.counters = counters if counters is not None else ActivityCounters()
        self.dtype = dtype
        dev = cfg.device
        self.row_tiles = -(-n_in // cfg.rows)
        self.opx = cfg.outputs_per_crossbar
        self.col_tiles = -(-n_out // self.opx)
        self.col_tile_of = torch.arange(n_out) // self.opx
        # Personalities: drawn once per device, in a fixed order (a, then b or reference).
        self.z_a = torch.randn(n_out, n_in, generator=generator, dtype=dtype)
        if dev.mapping == "differential":
            self.z_b = torch.randn(n_out, n_in, generator=generator, dtype=dtype)
            self.z_ref = None
        else:
            self.z_ref = torch.randn(self.col_tiles, n_in, generator=generator, dtype=dtype)
            self.z_b = None
        self.w_max = 1.0
        self.q = torch.zeros(n_out, n_in, dtype=torch.int64)
        self.g_a = torch.zeros(n_out, n_in, dtype=dtype)
        self.g_b = torch.zeros(n_out, n_in, dtype=dtype)
        self.g_ref = None
        self.full_scale: dict[str, float | None] = {"forward": None, "transpose": None}
        if cfg.adc_range == "max":
            self.full_scale = {"forward": cfg.rows * dev.g_max,
                               "transpose": cfg.cols * dev.g_max}
        elif cfg.adc_range == "fixed":
            self.full_scale = {"forward": float(cfg.adc_full_scale),
                               "transpose": float(cfg.adc_full_scale)}

    # --- geometry -------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_out, self.n_in

    @property
    def n_crossbars(self) -> int:
        return self.row_tiles * self.col_tiles

    @property
    def n_tiles(self) -> int:
        """Tiles this matrix occupies (no two layers share a tile, Sec. III)."""
        return -(-self.n_crossbars // self.cfg.crossbars_per_tile)

    @property
    def level_step(self) -> float:
        """Weight change of one level, ``w_max / unit``."""
        return self.w_max / self.cfg.device.unit

    @property
    def weight_per_us(self) -> float:
        """Weight units per µS of ``G_a - G_b``."""
        dev = self.cfg.device
        return self.w_max / (dev.unit * dev.step)

    def _rows_in_tile(self) -> torch.Tensor:
        r = torch.full((self.row_tiles,), self.cfg.rows, dtype=torch.int64)
        r[-1] = self.n_in - self.cfg.rows * (self.row_tiles - 1)
        return r

    def _outs_in_tile(self) -> torch.Tensor:
        c = torch.full((self.col_tiles,), self.opx, dtype=torch.int64)
        c[-1] = self.n_out - self.opx * (self.col_tiles - 1)
        return c

    @classmethod
    def from_weight(cls, weight: torch.Tensor, cfg: CrossbarConfig, noise: NoiseModel,
                    generator: torch.Generator | None = None, **kwargs) -> "AnalogMatrix":
        """Build a matrix shaped like ``weight`` and :meth:`program` it."""
        kwargs.setdefault("dtype", weight.dtype if weight.is_floating_point() else torch.float32)
        m = cls(weight.shape[0], weight.shape[1], cfg, noise, generator, **kwargs)
        m.program(weight)
        return m

    # --- programming ----------------------------------------------------------------------------

    def _reach(self, target: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """Conductance reached by one programming attempt (a fresh ``z`` if none is given)."""
        if z is None:
            z = torch.randn(target.shape, generator=self.generator, dtype=self.dtype)
        return self.noise.sample(target, z)

    def _program(self, target: torch.Tensor, z_static: torch.Tensor) -> tuple[torch.Tensor,
                                                                               int, int]:
        """Program devices to ``target`` (µS, 1-D); return ``(G, pulses, verify_reads)``."""
        static = self.cfg.noise_mode == "static"
        g = self._reach(target, z_static if static else None)
        pulses, reads = target.numel(), 0
        tol, shrink = self.cfg.tolerance, self.cfg.verify_shrink
        pending = torch.ones(target.shape, dtype=torch.bool)
        for i in range(1, self.cfg.write_verify + 1):
            reads += int(pending.sum())
            fail = pending & ((g - target).abs() > tol)
            n_fail = int(fail.sum())
            if n_fail == 0:
                break
            pulses += n_fail
            t = target[fail]
            zi = z_static[fail] if static else None
            g_try = self._reach(t, zi)
            g[fail] = torch.clamp(t + shrink ** i * (g_try - t), min=0.0)
            pending = fail
        return g, pulses, reads

    def _write(self, which: str, mask: torch.Tensor, levels: torch.Tensor) -> tuple[int, int]:
        """Re-program devices ``mask`` of array ``which`` ("a", "b" or "ref") to ``levels``."""
        n = int(mask.sum())
        if n == 0:
            return 0, 0
        g = self.g_a if which == "a" else (self.g_b if which == "b" else self.g_ref)
        z = self.z_a if which == "a" else (self.z_b if which == "b" else self.z_ref)
        target = level_conductance(levels[mask], self.cfg.device, self.dtype)
        new, pulses, reads = self._program(target, z[mask])
        g[mask] = new
        return pulses, reads

    def _record_writes(self, stats: WriteStats, phase: str) -> None:
        self.counters.add(self.name, phase, write_pulses=stats.write_pulses,
                          verify_reads=stats.verify_reads, devices_written=stats.devices_written)

    def program(self, weight: torch.Tensor, w_max: float | None = None) -> WriteStats:
        """Deploy ``weight`` (``out x in``): set ``w_max``, levels, and program every device.

        ``w_max`` defaults to ``max |weight|``. Counted under phase ``"deploy"``.
        """
        if tuple(weight.shape) != self.shape:
            raise ValueError(f"weight shape {tuple(weight.shape)} does not match the matrix "
                             f"{self.shape}")
        dev = self.cfg.device
        self.w_max = weight_scale(weight) if w_max is None else float(w_max)
        if not (math.isfinite(self.w_max) and self.w_max > 0):
            raise ValueError(f"w_max must be a positive number, not {w_max!r}")
        self.q = weight_to_levels(weight.to(self.dtype), self.w_max, dev)
        k_a, k_b = device_levels(self.q, dev)
        everything = torch.ones(self.shape, dtype=torch.bool)
        pulses, reads = self._write("a", everything, k_a)
        n_dev = self.q.numel()
        if dev.mapping == "differential":
            p, r = self._write("b", everything, k_b)
            n_dev *= 2
        else:
            self.g_ref = torch.zeros(self.col_tiles, self.n_in, dtype=self.dtype)
            ref_levels = torch.full(self.g_ref.shape, dev.ref_level, dtype=torch.int64)
            p, r = self._write("ref", torch.ones(self.g_ref.shape, dtype=torch.bool), ref_levels)
            n_dev += self.g_ref.numel()
            self.g_b = self.g_ref[self.col_tile_of]
        stats = WriteStats(weights_changed=self.q.numel(), devices_written=n_dev,
                           write_pulses=pulses + p, verify_reads=reads + r)
        self._record_writes(stats, "deploy")
        return stats

    def target_weight(self) -> torch.Tensor:
        """Weights the level map encodes on ideal devices (``q * w_max / unit``)."""
        return levels_to_weight(self.q, self.w_max, self.cfg.device, self.dtype)

    def effective_weight(self) -> torch.Tensor:
        """Weights the analog array really holds, ``(g_a - g_b) * weight_per_us`` (no ADC)."""
        return (self.g_a - self.g_b) * self.weight_per_us

    # --- updates --------------------------------------------------------------------------------

    def update(self, delta_w: torch.Tensor, *, rounding: str | None = None,
               phase: str = "update") -> WriteStats:
        """Apply a digitally computed weight change; re-program only devices whose level moved.

        Parameters
        ----------
        delta_w : Tensor, ``(out, in)``
            Requested change in weight units (``-lr * grad`` for SGD).
        rounding : str, optional
            ``"stochastic"`` or ``"nearest"``; default ``cfg.update_rounding``.
        """
        if tuple(delta_w.shape) != self.shape:
            raise ValueError(f"delta_w shape {tuple(delta_w.shape)} does not match the matrix "
                             f"{self.shape}")
        rounding = self.cfg.update_rounding if rounding is None else rounding
        if rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {ROUNDINGS}, not {rounding!r}")
        dq = delta_w.detach().to(self.dtype) / self.level_step
        if rounding == "stochastic":
            u = torch.rand(self.shape, generator=self.generator, dtype=self.dtype)
            step = torch.floor(dq + u)
        else:
            step = torch.round(dq)
        dev = self.cfg.device
        lo, hi = dev.q_range
        want = self.q + step.to(torch.int64)
        q_new = torch.clamp(want, lo, hi)
        clipped = int((want != q_new).sum())
        changed = q_new != self.q
        ka_old, kb_old = device_levels(self.q, dev)
        ka_new, kb_new = device_levels(q_new, dev)
        mask_a = ka_new != ka_old
        pulses, reads = self._write("a", mask_a, ka_new)
        n_dev = int(mask_a.sum())
        if dev.mapping == "differential":
            mask_b = kb_new != kb_old
            p, r = self._write("b", mask_b, kb_new)
            pulses, reads, n_dev = pulses + p, reads + r, n_dev + int(mask_b.sum())
        self.q = q_new
        stats = WriteStats(weights_changed=int(changed.sum()), clipped=clipped,
                           devices_written=n_dev, write_pulses=pulses, verify_reads=reads)
        self._record_writes(stats, phase)
        return stats

    # --- drive patterns -------------------------------------------------------------------------

    def _drives(self, x: torch.Tensor, bits: int, binary: bool | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Split inputs ``(N, n)`` into non-negative line drives.

        Returns ``(drives (K, N, n), weights (K,), scale (N,), word_bits)``: the signed input is
        ``scale[:, None] * sum_k weights[k] * drives[k]``. Spikes give one drive; bit-serial
        inputs one 0/1 drive per (bit plane, sign) that is not all zero; an ideal
        (``bits = 0``) analog input one drive per sign present.
        """
        ones = torch.ones(x.shape[0], dtype=x.dtype)
        if binary if binary is not None else _is_binary(x):
            return x.unsqueeze(0), torch.ones(1, dtype=x.dtype), ones, 1
        if bits == 0:
            d = torch.stack([x.clamp(min=0), (-x).clamp(min=0)])
            w = torch.tensor([1.0, -1.0], dtype=x.dtype)
            keep = d.reshape(2, -1).any(-1)
            return d[keep], w[keep], ones, _ANALOG_WORD_BITS
        mag, sign, scale = _sign_magnitude(x, bits)
        d, w = _planes(mag, sign, bits, x.dtype)                 # (K', 2, N, n), (K',)
        d = d.reshape(-1, *x.shape)
        w = torch.stack([w, -w], 1).reshape(-1)
        keep = d.reshape(d.shape[0], -1).any(-1)
        if not bool(keep.any()):
            keep[0] = True
        return d[keep], w[keep], scale, bits

    def _count_reads(self, phase: str, act: torch.Tensor, *, xbars_per_read: int,
                     lines_per_tile: torch.Tensor, conv_per_read, adds_per_read,
                     n_vectors: int, in_bytes: int, out_bytes: int) -> None:
        """Count reads from active-line counts ``act (..., tiles)`` (zero: read skipped)."""
        nz_tile = (act > 0).reshape(-1, act.shape[-1]).sum(0)
        conv_per_read = torch.as_tensor(conv_per_read)
        adds_per_read = torch.as_tensor(adds_per_read)
        self.counters.add(
            self.name, phase,
            reads=int(nz_tile.sum()) * xbars_per_read,
            active_rows=int(act.sum()) * xbars_per_read,
            rows_driven=int((nz_tile * lines_per_tile).sum()) * xbars_per_read,
            adc_conversions=int((nz_tile * conv_per_read).sum()),
            psum_adds=int((nz_tile * adds_per_read).sum()),
            buffer_read_bytes=n_vectors * in_bytes,
            buffer_write_bytes=n_vectors * out_bytes)

    def _lsb(self, full_scale: float) -> float:
        """ADC step in µS for a full scale in µS."""
        return full_scale / ((1 << self.cfg.adc_bits) - 1)

    def _to_codes(self, current_lsb: torch.Tensor) -> torch.Tensor:
        """ADC transfer on currents already in LSB units (in place): round, clip to the range."""
        return current_lsb.round_().clamp_(0, (1 << self.cfg.adc_bits) - 1)

    def _accumulate(self, tile_psum: torch.Tensor) -> torch.Tensor:
        """Saturate tile sums ``(R, ..., out)`` once, then accumulate tiles saturating each add."""
        if self.cfg.adc_bits == 0:
            return tile_psum.sum(0)
        hi = float((1 << (self.cfg.psum_bits - 1)) - 1)
        lo = -hi - 1
        tile_psum = torch.clamp(tile_psum, lo, hi)
        acc = tile_psum[0]
        for r in range(1, tile_psum.shape[0]):
            acc = torch.clamp(acc + tile_psum[r], lo, hi)
        return acc

    # --- forward reads --------------------------------------------------------------------------

    def _columns(self) -> torch.Tensor:
        """Physical column conductances ``(P, in)``: ``g_a`` rows, then ``g_b`` or references."""
        if self.cfg.device.mapping == "differential":
            return torch.cat([self.g_a, self.g_b], 0)
        return torch.cat([self.g_a, self.g_ref], 0)

    def _column_currents(self, drives: torch.Tensor, unit: float = 1.0) -> torch.Tensor:
        """Currents ``(K, N, R, P)`` of every physical column of every row tile, in ``unit`` µS."""
        g = self._columns() if unit == 1.0 else self._columns() / unit
        if self.row_tiles == 1:
            return (drives @ g.t()).unsqueeze(2)
        pad = self.row_tiles * self.cfg.rows - self.n_in
        d = torch.nn.functional.pad(drives, (0, pad))
        gp = torch.nn.functional.pad(g, (0, pad))
        d = d.reshape(*drives.shape[:2], self.row_tiles, self.cfg.rows)
        gp = gp.reshape(g.shape[0], self.row_tiles, self.cfg.rows)
        return torch.einsum("knrj,prj->knrp", d, gp)

    def _split_codes(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Positive and negative (or reference) codes per logical output."""
        pos = codes[..., :self.n_out]
        if self.cfg.device.mapping == "differential":
            return pos, codes[..., self.n_out:]
        return pos, codes[..., self.n_out:][..., self.col_tile_of]

    def _active_lines(self, drives: torch.Tensor, n_lines: int, size: int, tiles: int
                      ) -> torch.Tensor:
        """Active-line counts ``(K, N, tiles)`` of drives ``(K, N, n_lines)`` per tile."""
        on = drives != 0
        if tiles == 1:
            return on.sum(-1, keepdim=True)
        return torch.stack([on[..., t * size:(t + 1) * size].sum(-1) for t in range(tiles)], -1)

    def _full_scale(self, direction: str, currents_fn) -> float:
        fs = self.full_scale[direction]
        if fs is None:
            fs = self._calibrate(direction, currents_fn())
        return fs

    def _calibrate(self, direction: str, currents: torch.Tensor) -> float:
        """Set the ``direction`` full scale from a percentile of observed read currents."""
        fs = _percentile(currents.reshape(-1).float(), self.cfg.adc_percentile)
        # An idle calibration batch must not give a zero range: keep at least one device.
        fs = max(fs, self.cfg.device.g_max)
        self.full_scale[direction] = fs
        return fs

    def calibrate(self, x: torch.Tensor | None = None, err: torch.Tensor | None = None, *,
                  bits: int | None = None) -> dict[str, float | None]:
        """Set the ADC full scale of forward reads from inputs ``x`` and/or of transposed reads
        from errors ``err`` (``adc_range="calibrated"`` only; other policies are fixed).

        Only the currents of non-skipped reads count. Returns ``full_scale``.
        """
        if self.cfg.adc_range != "calibrated":
            return dict(self.full_scale)
        if x is not None:
            x2 = x.detach().to(self.dtype).reshape(-1, self.n_in)
            drives, *_ = self._drives(x2, self.cfg.input_bits if bits is None else bits)
            self._calibrate("forward", self._observed_forward(drives))
        if err is not None:
            e2 = err.detach().to(self.dtype).reshape(-1, self.n_out)
            planes, *_ = self._error_planes(e2, self.cfg.error_bits if bits is None else bits)
            self._calibrate("transpose", self._observed_transpose(planes))
        return dict(self.full_scale)

    def _observed_forward(self, drives: torch.Tensor) -> torch.Tensor:
        cur = self._column_currents(drives)
        act = self._active_lines(drives, self.n_in, self.cfg.rows, self.row_tiles)
        return cur[act > 0]

    def _signed_codes(self, drives: torch.Tensor, fs: float) -> tuple[torch.Tensor, float]:
        """ADC codes ``pos - neg`` ``(K, N, R, out)`` of drives ``(K, N, in)``, and the LSB."""
        lsb = self._lsb(fs)
        pos, neg = self._split_codes(self._to_codes(self._column_currents(drives, lsb)))
        return pos - neg, lsb

    def _tile_psums(self, drives: torch.Tensor, w: torch.Tensor, fs: float
                    ) -> tuple[torch.Tensor, float]:
        """Shift-added signed codes per row tile, ``(R, N, out)``, and the LSB.

        A one-tile matrix with few rows and 0/1 drives reads each of the ``2**in`` possible
        patterns once and looks the codes up: the same codes, far fewer currents to convert.
        """
        K, N, n = drives.shape
        if self.row_tiles == 1 and n <= _LOOKUP_MAX_ROWS and _is_binary(drives):
            patterns = _all_patterns(n, drives.dtype)                     # (2**n, n)
            table, lsb = self._signed_codes(patterns.unsqueeze(0), fs)
            idx = (drives @ (2.0 ** torch.arange(n, dtype=drives.dtype))).long()  # (K, N)
            # counts[n, p] = sum of plane weights of sample n whose pattern is p.
            counts = torch.zeros(N, table.shape[1], dtype=drives.dtype)
            counts.scatter_add_(1, idx.t(), w.expand(N, K).contiguous())
            return (counts @ table[0, :, 0]).unsqueeze(0), lsb
        sig, lsb = self._signed_codes(drives, fs)
        return torch.einsum("k,knro->rno", w, sig), lsb

    def forward(self, x: torch.Tensor, *, bits: int | None = None, binary: bool | None = None,
                phase: str = "forward") -> torch.Tensor:
        """Analog ``x @ W^T`` through ADCs: ``x (..., in)`` -> currents ``(..., out)``, weights.

        ``bits`` overrides ``cfg.input_bits`` for multi-bit inputs (spikes are always 1-bit);
        ``binary`` skips the check whether ``x`` holds spikes. Events are counted under
        ``(name, phase)``.
        """
        if x.shape[-1] != self.n_in:
            raise ValueError(f"input has {x.shape[-1]} features, the matrix expects {self.n_in}")
        lead = x.shape[:-1]
        x2 = x.detach().to(self.dtype).reshape(-1, self.n_in)
        bits = self.cfg.input_bits if bits is None else bits
        drives, w, scale, word_bits = self._drives(x2, bits, binary)
        act = self._active_lines(drives, self.n_in, self.cfg.rows, self.row_tiles)
        dev = self.cfg.device
        n_conv = 2 * self.n_out if dev.mapping == "differential" else self.n_out + self.col_tiles
        self._count_reads(phase, act, xbars_per_read=self.col_tiles,
                          lines_per_tile=self._rows_in_tile(), conv_per_read=n_conv,
                          adds_per_read=2 * self.n_out, n_vectors=x2.shape[0],
                          in_bytes=vector_bytes(self.n_in, word_bits),
                          out_bytes=vector_bytes(self.n_out, self.cfg.psum_bits))
        if self.cfg.adc_bits == 0:
            # A linear (ideal) ADC commutes with the plane sum and the tile sum: one matmul.
            signed = torch.einsum("k,kni->ni", w, drives)
            out = (signed @ self.effective_weight().t()) * scale[:, None]
            return out.reshape(*lead, self.n_out)
        fs = self._full_scale("forward", lambda: self._observed_forward(drives))
        tile_psum, lsb = self._tile_psums(drives, w, fs)
        acc = self._accumulate(tile_psum)
        out = acc * (lsb * self.weight_per_us) * scale[:, None]
        return out.reshape(*lead, self.n_out)

    __call__ = forward

    def adc_codes(self, spikes: torch.Tensor) -> AdcCodes:
        """Raw codes of one binary read ``spikes (..., in)``: ``pos, neg (R, ..., out)``.

        ``scale * psum_accumulate(differential_codes(pos, neg))`` equals :meth:`forward`
        (without counting). Needs a quantising ADC (``adc_bits >= 1``).
        """
        if self.cfg.adc_bits == 0:
            raise ValueError("adc_codes needs a quantising ADC, not adc_bits=0")
        x2 = spikes.detach().to(self.dtype).reshape(-1, self.n_in)
        if not _is_binary(x2):
            raise ValueError("adc_codes takes binary spikes; multi-bit inputs are bit-serial")
        drives = x2.unsqueeze(0)
        fs = self._full_scale("forward", lambda: self._observed_forward(drives))
        lsb = self._lsb(fs)
        codes = self._to_codes(self._column_currents(drives, lsb))
        pos, neg = self._split_codes(codes[0])              # (N, R, out)
        shape = (self.row_tiles, *spikes.shape[:-1], self.n_out)
        pos = pos.permute(1, 0, 2).reshape(shape).to(torch.int64)
        neg = neg.permute(1, 0, 2).reshape(shape).to(torch.int64)
        return AdcCodes(pos, neg, lsb * self.weight_per_us)

    # --- transposed reads -----------------------------------------------------------------------

    def _error_planes(self, e: torch.Tensor, bits: int
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Bit planes ``(K, 2, N, out)`` (``[:, 0]`` positive, ``[:, 1]`` negative errors).

        Returns ``(planes, weights (K,), scale (N,), word_bits)``; all-zero planes are dropped.
        """
        if bits == 0:
            planes = torch.stack([e.clamp(min=0), (-e).clamp(min=0)]).unsqueeze(0)
            return (planes, torch.ones(1, dtype=e.dtype), torch.ones(e.shape[0], dtype=e.dtype),
                    _ANALOG_WORD_BITS)
        mag, sign, scale = _sign_magnitude(e, bits)
        planes, w = _planes(mag, sign, bits, e.dtype)
        keep = planes.reshape(planes.shape[0], -1).any(-1)
        if not bool(keep.any()):
            keep[0] = True
        return planes[keep], w[keep], scale, bits

    @property
    def _tile_width(self) -> int:
        """Outputs per column tile as laid out for transposed reads (no padding if one tile)."""
        return self.opx if self.col_tiles > 1 else self.n_out

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
        phases."""
        K, _, N, _ = planes.shape
        C, width = self.col_tiles, self._tile_width
        d = self._tiled_drive(planes).permute(3, 0, 2, 1, 4)              # (C, K, N, 2, width)
        ga = self._tiled_columns(self.g_a / unit)
        shape = (C, K, N, self.n_in)
        if self.cfg.device.mapping == "differential":
            gb = self._tiled_columns(self.g_b / unit)
            # Phase P: G+ columns see positive-error bits, G- columns negative ones; N swaps.
            m = torch.cat([torch.cat([ga, gb], 1), torch.cat([gb, ga], 1)], -1)
            cur = torch.bmm(d.reshape(C, K * N, 2 * width), m)           # (C, KN, 2 in)
            return cur[..., :self.n_in].reshape(shape), cur[..., self.n_in:].reshape(shape)
        cur = torch.bmm(d.reshape(C, K * N * 2, width), ga).reshape(C, K, N, 2, self.n_in)
        return cur[:, :, :, 0], cur[:, :, :, 1]

    def _transpose_activity(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Active column counts per tile, ``(K, N, C)``, of phases P and N."""
        # Differential: each non-zero error bit drives one line in each phase.
        on = ((planes[:, 0] != 0) | (planes[:, 1] != 0)).to(planes.dtype)
        if self.cfg.device.mapping == "differential":
            a = self._active_lines(on, self.n_out, self._tile_width, self.col_tiles)
            return a, a
        return (self._active_lines(planes[:, 0], self.n_out, self._tile_width, self.col_tiles),
                self._active_lines(planes[:, 1], self.n_out, self._tile_width, self.col_tiles))

    def _observed_transpose(self, planes: torch.Tensor) -> torch.Tensor:
        i_p, i_n = self._row_currents(planes)
        a_p, a_n = self._transpose_activity(planes)
        on_p = (a_p > 0).permute(2, 0, 1)
        on_n = (a_n > 0).permute(2, 0, 1)
        return torch.cat([i_p[on_p].reshape(-1), i_n[on_n].reshape(-1)])

    def transpose(self, err: torch.Tensor, *, bits: int | None = None,
                  phase: str = "backward") -> torch.Tensor:
        """Analog ``err @ W`` (i.e. ``W^T e``) with row-side ADCs: ``(..., out)`` -> ``(..., in)``.

        ``bits`` overrides ``cfg.error_bits``. Events are counted under ``(name, phase)``.
        """
        if err.shape[-1] != self.n_out:
            raise ValueError(f"error has {err.shape[-1]} features, the matrix expects "
                             f"{self.n_out}")
        lead = err.shape[:-1]
        e2 = err.detach().to(self.dtype).reshape(-1, self.n_out)
        bits = self.cfg.error_bits if bits is None else bits
        planes, w, scale, word_bits = self._error_planes(e2, bits)
        a_p, a_n = self._transpose_activity(planes)
        dev = self.cfg.device
        lines = self._outs_in_tile() * dev.devices_per_weight
        for act in (a_p, a_n):
            self._count_reads(phase, act, xbars_per_read=self.row_tiles, lines_per_tile=lines,
                              conv_per_read=self.n_in, adds_per_read=self.n_in,
                              n_vectors=0, in_bytes=0, out_bytes=0)
        self.counters.add(self.name, phase,
                          buffer_read_bytes=e2.shape[0] * vector_bytes(self.n_out, word_bits),
                          buffer_write_bytes=e2.shape[0] * vector_bytes(self.n_in,
                                                                        self.cfg.psum_bits))
        if self.cfg.adc_bits == 0:
            signed = torch.einsum("k,kno->no", w, planes[:, 0] - planes[:, 1])
            if dev.mapping == "offset":  # the reference is subtracted digitally, nominal g_ref
                w_eff = (self.g_a - dev.g_ref) * self.weight_per_us
            else:
                w_eff = self.effective_weight()
            out = (signed @ w_eff) * scale[:, None]
            return out.reshape(*lead, self.n_in)
        fs = self._full_scale("transpose", lambda: self._observed_transpose(planes))
        lsb = self._lsb(fs)
        i_p, i_n = self._row_currents(planes, lsb)
        sig = self._to_codes(i_p) - self._to_codes(i_n)                   # (C, K, N, in)
        if dev.mapping == "offset":
            # Digital reference: the nominal g_ref times the signed count of driven columns.
            n_p = self._tiled_drive(planes[:, 0]).sum(-1)                 # (K, N, C)
            n_n = self._tiled_drive(planes[:, 1]).sum(-1)
            ref = (n_p - n_n).permute(2, 0, 1).unsqueeze(-1) * (dev.g_ref / lsb)
            sig = sig - ref
        tile_psum = torch.einsum("k,ckni->cni", w, sig)
        acc = self._accumulate(tile_psum)
        out = acc * (lsb * self.weight_per_us) * scale[:, None]
        return out.reshape(*lead, self.n_in)
