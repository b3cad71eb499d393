# SPDX-License-Identifier: MIT
"""The devices of one weight matrix on crossbars: tiling, programming, write-verify, updates.

Tiling
    A logical matrix ``W`` (``out x in``) is cut into ``R = ceil(in / rows)`` row tiles (inputs
    drive word lines) and ``C = ceil(out / outputs_per_crossbar)`` column tiles. With the
    differential mapping every output takes two physical columns (``cols // 2`` outputs per
    crossbar); with the offset mapping one column per crossbar is the reference (``cols - 1``).
    Each crossbar has its own devices: every device has a standard-normal "personality" ``z``
    drawn from the chip's ``torch.Generator`` at construction. Devices are stored per logical
    weight (``g_a``, ``g_b`` shaped ``out x in``), which is the same set of devices in a
    different layout; offset reference devices are stored per ``(column tile, row)``.

Programming (``programming.noise_mode``)
    The conductance a device reaches is ``noise.sample(target, z)``. ``"static"``: ``z`` is fixed
    for the chip's lifetime, so re-programming a device to the same level gives the same
    conductance (device-to-device variation that re-programming cannot remove).
    ``"per_write"``: every write draws a new ``z`` (cycle-to-cycle variation).

Write-verify
    ``programming.write_verify = n`` allows up to ``n`` program-verify iterations after the
    first pulse. Each iteration reads every still-pending device once (``verify_reads``);
    devices further than the tolerance (:attr:`ChipConfig.write_tolerance_us`) from the target
    get one corrective pulse (``write_pulses``) that scales their remaining error by
    ``verify_shrink``: after ``i`` corrections
    ``G = target + verify_shrink**i * (sample(target, z_i) - target)`` with ``z_i = z``
    (static) or a fresh draw (per_write). A pure re-write would never help a static device, so
    write-verify is modelled as the partial correction of fine-tuning pulses. Fits of
    NeuRRAM's spread (REFERENCE.md §1) already include that chip's own write-verify, so extra
    iterations here are an optimistic what-if.

Updates (:meth:`DeviceArray.update`)
    ``delta_w`` (weight units, from the digital WGU) becomes a level change ``delta_w / step_w``
    with ``step_w = w_max / unit``, rounded stochastically (``floor(x + U[0, 1))``, unbiased) or
    to nearest, added to the stored level index and clipped to the level range. Only devices
    whose level changed are re-programmed.

Non-idealities (``chip.nonideal``, :mod:`.nonideal`)
    Stuck devices are drawn once at construction (after the personalities, only when switched
    on) and pinned on every write, so writing them has no effect. Drift and IR drop do not
    change the programmed conductances ``g_a``, ``g_b``, ``g_ref``: a read sees
    :meth:`DeviceArray.read_conductances`, the programmed values relaxed to the chip's age
    (each device has its own standard-normal relaxation draw, fixed, so ageing is continuous)
    and attenuated by the wires. With both off the read conductances are the programmed ones.
    :meth:`DeviceArray.advance` ages an array further (``dfasim adapt`` between epochs); a
    device re-written after that relaxes afresh from its write (its own age, a new draw).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...golden.fixed import check_int
from ..activity import ActivityCounters
from ..chip import UPDATE_ROUNDINGS, ChipConfig
from ..rram.device import (device_levels, level_conductance, levels_to_weight, weight_scale,
                           weight_to_levels)
from ..rram.noise import NoiseModel
from .level_update import LevelUpdate, level_update, level_update_applies
from .nonideal import drift_sigma, ir_attenuation, stuck_masks

__all__ = ["WriteStats", "DeviceArray"]


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



class DeviceArray:
    """The RRAM devices holding one logical weight matrix (``out x in``) on one chip.

    One logical weight matrix (``out x in``) on RRAM crossbars of one chip.

    Parameters
    ----------
    n_out, n_in : int
        Logical shape.
    chip : ChipConfig
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
    chip, noise, generator, name, counters
        As given.
    row_tiles, col_tiles : int
        ``R`` and ``C``.
    outputs_per_crossbar : int
        Logical outputs per crossbar (:attr:`ChipConfig.outputs_per_crossbar`).
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
    """

    def __init__(self, n_out: int, n_in: int, chip: ChipConfig, noise: NoiseModel,
                 generator: torch.Generator | None = None, *, name: str = "W",
                 counters: ActivityCounters | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        check_int(n_out, name="n_out", minimum=1)
        check_int(n_in, name="n_in", minimum=1)
        if not isinstance(chip, ChipConfig):
            raise TypeError(f"chip must be a ChipConfig, not {chip!r}")
        chip.validate()
        if not isinstance(noise, NoiseModel):
            raise ValueError(f"noise must be a NoiseModel, not {noise!r}")
        self.n_out, self.n_in = n_out, n_in
        self.chip, self.noise, self.generator = chip, noise, generator
        self.name = name
        self.counters = counters if counters is not None else ActivityCounters()
        self.dtype = dtype
        #: Where the array's tensors live (:meth:`to`); its random draws still come from the
        #: chip's CPU ``generator`` and are moved, so a chip draws the same numbers anywhere.
        self.device = torch.device("cpu")
        self.row_tiles = -(-n_in // chip.crossbar.rows)
        self.outputs_per_crossbar = chip.outputs_per_crossbar
        self.col_tiles = -(-n_out // self.outputs_per_crossbar)
        self.col_tile_of = torch.arange(n_out) // self.outputs_per_crossbar
        # Personalities: drawn once per device, in a fixed order (a, then b or reference).
        self.z_a = torch.randn(n_out, n_in, generator=generator, dtype=dtype)
        if chip.device.differential:
            self.z_b = torch.randn(n_out, n_in, generator=generator, dtype=dtype)
            self.z_ref = None
        else:
            self.z_ref = torch.randn(self.col_tiles, n_in, generator=generator, dtype=dtype)
            self.z_b = None
        ni = chip.nonideal
        # Stuck devices and relaxation draws, per array "a", "b" / "ref"; drawn only when on,
        # so a chip with the effects off draws exactly what it drew before they existed.
        self.stuck: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.z_drift: dict[str, torch.Tensor] = {}
        shapes = {"a": (n_out, n_in)}
        if chip.device.differential:
            shapes["b"] = (n_out, n_in)
        else:
            shapes["ref"] = (self.col_tiles, n_in)
        if ni.stuck:
            for key, shp in shapes.items():
                self.stuck[key] = stuck_masks(shp, ni.stuck_off_rate, ni.stuck_on_rate,
                                              generator)
        if ni.drift:
            for key, shp in shapes.items():
                self.z_drift[key] = torch.randn(shp, generator=generator, dtype=dtype)
        #: Seconds this array has aged since deployment beyond ``nonideal.age_s``
        #: (:meth:`advance`), and the value of that clock at every device's last write.
        self.aged_s = 0.0
        self.written_at: dict[str, torch.Tensor] = {
            key: torch.zeros(shp, dtype=torch.float64) for key, shp in shapes.items()
        } if ni.drift else {}
        self.w_max = 1.0
        self.q = torch.zeros(n_out, n_in, dtype=torch.int64)
        #: Incremented by every write: part of the key of the derived-value cache.
        self._writes = 0
        #: Values derived from the read conductances, by name: ``(key, value)``.
        self._derived: dict[str, tuple[tuple, object]] = {}
        self.g_a = torch.zeros(n_out, n_in, dtype=dtype)
        self.g_b = torch.zeros(n_out, n_in, dtype=dtype)
        self.g_ref = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_out, self.n_in

    @property
    def n_crossbars(self) -> int:
        return self.row_tiles * self.col_tiles

    @property
    def n_tiles(self) -> int:
        """Tiles this matrix occupies (no two layers share a tile, Sec. III)."""
        return -(-self.n_crossbars // self.chip.hierarchy.crossbars_per_tile)

    @property
    def level_step(self) -> float:
        """Weight change of one level, ``w_max / unit``."""
        return self.w_max / self.chip.device.unit

    @property
    def weight_per_us(self) -> float:
        """Weight units per µS of ``G_a - G_b``."""
        dev = self.chip.device
        return self.w_max / (dev.unit * dev.step)

    def to(self, device: torch.device | str) -> "DeviceArray":
        """Move every tensor of the array (conductances, levels, personalities, caches) to
        ``device`` in place and return the array; later reads, updates and draws follow it."""
        device = torch.device(device)

        def moved(value):
            if isinstance(value, torch.Tensor):
                return value.to(device)
            if isinstance(value, dict):
                return {key: moved(item) for key, item in value.items()}
            if isinstance(value, (tuple, list)):
                return type(value)(moved(item) for item in value)
            return value

        for name, value in list(vars(self).items()):
            if name not in ("chip", "noise", "generator", "counters"):
                setattr(self, name, moved(value))
        self.device = device
        return self

    @property
    def _draw_device(self) -> torch.device:
        """Where the chip's generator draws (the CPU for every chip dfasim builds)."""
        return self.generator.device if self.generator is not None else torch.device("cpu")

    def _randn(self, shape) -> torch.Tensor:
        """Standard-normal draws from the chip's generator, moved to the array's device."""
        return torch.randn(shape, generator=self.generator, dtype=self.dtype,
                           device=self._draw_device).to(self.device)

    def _rows_in_tile(self) -> tuple[int, ...]:
        """Rows each row tile drives (the last one may be partial), as Python integers."""
        rows = self.chip.crossbar.rows
        return (rows,) * (self.row_tiles - 1) + (self.n_in - rows * (self.row_tiles - 1),)

    def _outs_in_tile(self) -> tuple[int, ...]:
        """Logical outputs each column tile holds (the last one may be partial)."""
        per = self.outputs_per_crossbar
        return (per,) * (self.col_tiles - 1) + (self.n_out - per * (self.col_tiles - 1),)

    @classmethod
    def from_weight(cls, weight: torch.Tensor, chip: ChipConfig, noise: NoiseModel,
                    generator: torch.Generator | None = None, **kwargs) -> "DeviceArray":
        """Build a matrix shaped like ``weight`` and :meth:`program` it."""
        kwargs.setdefault("dtype", weight.dtype if weight.is_floating_point() else torch.float32)
        m = cls(weight.shape[0], weight.shape[1], chip, noise, generator, **kwargs)
        m.program(weight)
        return m

    def _reach(self, target: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """Conductance reached by one programming attempt (a fresh ``z`` if none is given)."""
        if z is None:
            z = self._randn(target.shape)
        if target.device.type != "cpu":
            # Noise models (polynomials, GPR posteriors) evaluate on the CPU.
            return self.noise.sample(target.cpu(), z.cpu()).to(target.device)
        return self.noise.sample(target, z)

    def _program(self, target: torch.Tensor, z_static: torch.Tensor) -> tuple[torch.Tensor,
                                                                               int, int]:
        """Program devices to ``target`` (µS, 1-D); return ``(G, pulses, verify_reads)``."""
        static = self.chip.programming.noise_mode == "static"
        g = self._reach(target, z_static if static else None)
        pulses, reads = target.numel(), 0
        tol, shrink = self.chip.write_tolerance_us, self.chip.programming.verify_shrink
        pending, n_pending = None, target.numel()     # None: every device (no mask to build)
        for i in range(1, self.chip.programming.write_verify + 1):
            reads += n_pending
            fail = (g - target).abs() > tol
            if pending is not None:
                fail &= pending
            n_fail = int(fail.sum())
            if n_fail == 0:
                break
            pulses += n_fail
            t = target[fail]
            zi = z_static[fail] if static else None
            g_try = self._reach(t, zi)
            g[fail] = torch.clamp(t + shrink ** i * (g_try - t), min=0.0)
            pending, n_pending = fail, n_fail
        return g, pulses, reads

    def _write(self, which: str, mask: torch.Tensor, levels: torch.Tensor
               ) -> tuple[int, int, int]:
        """Re-program devices ``mask`` of array ``which`` ("a", "b" or "ref") to ``levels``;
        return ``(write pulses, verify reads, devices written)``."""
        # The written devices' flat indices, found once (indexing by the mask would search for
        # them again in every gather and scatter), in the mask's row-major order.
        idx = mask.reshape(-1).nonzero().squeeze(1)
        return self._write_at(which, idx, levels.reshape(-1)[idx])

    def _write_at(self, which: str, idx: torch.Tensor, levels: torch.Tensor
                  ) -> tuple[int, int, int]:
        """Re-program the devices at flat indices ``idx`` (ascending) of array ``which`` to
        ``levels``; return ``(write pulses, verify reads, devices written)``."""
        n = idx.numel()
        if n == 0:
            return 0, 0, 0
        g = self.g_a if which == "a" else (self.g_b if which == "b" else self.g_ref)
        z = self.z_a if which == "a" else (self.z_b if which == "b" else self.z_ref)
        target = level_conductance(levels, self.chip.device, self.dtype)
        new, pulses, reads = self._program(target, z.reshape(-1)[idx])
        _scatter(g, idx, new)
        self._writes += 1
        if which in self.stuck:                       # a stuck device ignores the write
            off, on = self.stuck[which]
            g[off] = self.chip.nonideal.stuck_off_us
            g[on] = self.chip.device.g_max_us
        if which in self.written_at and self.aged_s > 0:
            # A re-written device relaxes afresh: its own write time, a new relaxation draw.
            _scatter(self.written_at[which], idx, self.aged_s)
            _scatter(self.z_drift[which], idx, self._randn(n))
        return pulses, reads, n

    def advance(self, seconds: float) -> None:
        """Age the array by ``seconds`` (drift only; the programmed state is unchanged)."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be a non-negative number, not {seconds!r}")
        self.aged_s += float(seconds)

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
        dev = self.chip.device
        self.w_max = weight_scale(weight) if w_max is None else float(w_max)
        if not (math.isfinite(self.w_max) and self.w_max > 0):
            raise ValueError(f"w_max must be a positive number, not {w_max!r}")
        self.q = weight_to_levels(weight.to(self.device, self.dtype), self.w_max, dev)
        k_a, k_b = device_levels(self.q, dev)
        everything = torch.ones(self.shape, dtype=torch.bool, device=self.device)
        pulses, reads, _ = self._write("a", everything, k_a)
        n_dev = self.q.numel()
        if dev.differential:
            p, r, _ = self._write("b", everything, k_b)
            n_dev *= 2
        else:
            self.g_ref = torch.zeros(self.col_tiles, self.n_in, dtype=self.dtype,
                                     device=self.device)
            ref_levels = torch.full(self.g_ref.shape, dev.ref_level, dtype=torch.int64,
                                    device=self.device)
            p, r, _ = self._write("ref", torch.ones(self.g_ref.shape, dtype=torch.bool,
                                                 device=self.device), ref_levels)
            n_dev += self.g_ref.numel()
            self.g_b = self.g_ref[self.col_tile_of]
        stats = WriteStats(weights_changed=self.q.numel(), devices_written=n_dev,
                           write_pulses=pulses + p, verify_reads=reads + r)
        self._record_writes(stats, "deploy")
        return stats

    def target_weight(self) -> torch.Tensor:
        """Weights the level map encodes on ideal devices (``q * w_max / unit``)."""
        return levels_to_weight(self.q, self.w_max, self.chip.device, self.dtype)

    def effective_weight(self) -> torch.Tensor:
        """Weights the analog array really holds, ``(g_a - g_b) * weight_per_us`` (no ADC), of
        the conductances a read sees (:meth:`read_conductances`).

        Kept until the next write, ageing step or change of chip (an ideal-ADC read uses it
        on every call; recomputing it cost more than the matrix product); callers must not
        change it in place.
        """
        def compute() -> torch.Tensor:
            g_a, g_b, _ = self.read_conductances()
            return (g_a - g_b) * self.weight_per_us
        return self._derived_value("effective", (), compute)

    def _derived_value(self, name: str, extra: tuple, compute):
        """``compute()``, kept under ``name`` until the next write, ageing step, change of
        weight scale or of chip, or of ``extra`` (what else the value depends on)."""
        key = (self._writes, self.aged_s, self.w_max, id(self.chip), extra)
        hit = self._derived.get(name)
        if hit is None or hit[0] != key:
            hit = (key, compute())
            self._derived[name] = hit
        return hit[1]

    def __getstate__(self) -> dict:
        # The cache is derived state: saved arrays (adaptation checkpoints) leave it out.
        state = dict(self.__dict__)
        state["_derived"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("_writes", 0)
        state.pop("_effective", None)                 # (the cache's older form)
        state["_derived"] = {}
        # Arrays saved before they had a device, or loaded onto another one (map_location):
        # the device is where their tensors are.
        state["device"] = state["q"].device if "q" in state else torch.device("cpu")
        self.__dict__.update(state)

    def _drifted(self, which: str, g: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        """``g`` relaxed to the chip's age: ``g + drift_scale * sigma_drift(target, age) * z``."""
        ni = self.chip.nonideal
        target = level_conductance(levels, self.chip.device, self.dtype)
        if self.aged_s > 0:
            age = (ni.age_s + self.aged_s - self.written_at[which]).to(self.dtype)
        else:
            age = ni.age_s
        out = (g + ni.drift_scale * drift_sigma(target, age) * self.z_drift[which]
               ).clamp(min=0.0)
        if which in self.stuck:                       # a stuck device does not relax
            off, on = self.stuck[which]
            out = torch.where(off | on, g, out)
        return out

    def read_conductances(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Conductances ``(g_a, g_b, g_ref)`` (µS) that a read sees: the programmed ones after
        relaxation to ``nonideal.age_s`` and first-order IR drop (the programmed tensors
        themselves when both are off)."""
        ni, dev = self.chip.nonideal, self.chip.device
        g_a, g_b, g_ref = self.g_a, self.g_b, self.g_ref
        if not (ni.drift or ni.ir_drop):
            return g_a, g_b, g_ref
        if ni.drift:
            k_a, k_b = device_levels(self.q, dev)
            g_a = self._drifted("a", g_a, k_a)
            if dev.differential:
                g_b = self._drifted("b", g_b, k_b)
            elif g_ref is not None:
                g_ref = self._drifted("ref", g_ref, torch.full(g_ref.shape, dev.ref_level,
                                                               device=self.device))
        if ni.ir_drop:
            g_a, g_b, g_ref = self._ir_dropped(g_a, g_b, g_ref)
        if not dev.differential and g_ref is not None:
            g_b = g_ref[self.col_tile_of]
        return g_a, g_b, g_ref

    def _ir_dropped(self, g_a, g_b, g_ref):
        """Apply :func:`.nonideal.ir_attenuation` in each crossbar's physical layout.

        Rows: input ``r * rows + i`` is row ``i`` of row tile ``r``. Columns (differential):
        output ``c * opc + o`` is the column pair ``2o`` (``G+``), ``2o + 1`` (``G-``) of column
        tile ``c``; offset: column ``o``, the reference in the crossbar's last column.
        """
        ni, xbar = self.chip.nonideal, self.chip.crossbar
        rows, cols, opc = xbar.rows, xbar.cols, self.outputs_per_crossbar
        R, C = self.row_tiles, self.col_tiles
        pad_in, pad_out = R * rows - self.n_in, C * opc - self.n_out
        F = torch.nn.functional

        def tiled(g):                                   # (out, in) -> (R, rows, C, opc)
            g = F.pad(g, (0, pad_in, 0, pad_out))
            return g.reshape(C, opc, R, rows).permute(2, 3, 0, 1)

        def untiled(g):                                 # inverse of tiled
            g = g.permute(2, 3, 0, 1).reshape(C * opc, R * rows)
            return g[:self.n_out, :self.n_in]

        if self.chip.device.differential:
            phys = torch.stack([tiled(g_a), tiled(g_b)], -1).reshape(R, rows, C, 2 * opc)
        else:
            ref = F.pad(g_ref, (0, pad_in)).reshape(C, R, rows).permute(1, 2, 0).unsqueeze(-1)
            phys = torch.cat([tiled(g_a), ref], -1)
        spare = cols - phys.shape[-1]
        if spare:
            phys = F.pad(phys, (0, spare))
        att = ir_attenuation(phys.transpose(1, 2), ni.wire_row_ohm, ni.wire_col_ohm,
                             ni.ir_activity).transpose(1, 2)
        out = (phys * att)[..., :cols - spare]
        if self.chip.device.differential:
            out = out.reshape(R, rows, C, opc, 2)
            return untiled(out[..., 0]), untiled(out[..., 1]), g_ref
        new_ref = out[..., opc].permute(2, 0, 1).reshape(C, R * rows)[:, :self.n_in]
        return untiled(out[..., :opc]), g_b, new_ref

    def _level_update(self, dq: torch.Tensor, u: torch.Tensor | None) -> LevelUpdate:
        """:func:`.level_update.level_update` as tensor operations (on a GPU)."""
        dev = self.chip.device
        lo, hi = dev.q_range
        step = torch.floor(dq + u) if u is not None else torch.round(dq)
        want = self.q + step.to(torch.int64)
        q_new = torch.clamp(want, lo, hi)
        ka_old, kb_old = device_levels(self.q, dev)
        ka_new, kb_new = device_levels(q_new, dev)
        index_a = (ka_new != ka_old).reshape(-1).nonzero().squeeze(1)
        index_b = (kb_new != kb_old).reshape(-1).nonzero().squeeze(1)
        return LevelUpdate(q_new, index_a, ka_new.reshape(-1)[index_a], index_b,
                           kb_new.reshape(-1)[index_b], int((want != q_new).sum()),
                           int((q_new != self.q).sum()))

    def update(self, delta_w: torch.Tensor, *, rounding: str | None = None,
               phase: str = "update") -> WriteStats:
        """Apply a digitally computed weight change; re-program only devices whose level moved.

        Parameters
        ----------
        delta_w : Tensor, ``(out, in)``
            Requested change in weight units (``-lr * grad`` for SGD).
        rounding : str, optional
            ``"stochastic"`` or ``"nearest"``; default ``programming.update_rounding``.
        """
        if tuple(delta_w.shape) != self.shape:
            raise ValueError(f"delta_w shape {tuple(delta_w.shape)} does not match the matrix "
                             f"{self.shape}")
        rounding = self.chip.programming.update_rounding if rounding is None else rounding
        if rounding not in UPDATE_ROUNDINGS:
            raise ValueError(f"rounding must be one of {UPDATE_ROUNDINGS}, not {rounding!r}")
        dq = delta_w.detach().to(self.device, self.dtype) / self.level_step
        u = None
        if rounding == "stochastic":
            u = torch.rand(self.shape, generator=self.generator, dtype=self.dtype,
                           device=self._draw_device).to(self.device)
        dev = self.chip.device
        lo, hi = dev.q_range
        if level_update_applies(self.q, dq):
            change = level_update(self.q, dq, u, lo, hi, dev.differential, dev.ref_level)
        else:
            change = self._level_update(dq, u)
        pulses, reads, n_dev = self._write_at("a", change.index_a, change.levels_a)
        if dev.differential:
            p, r, n_b = self._write_at("b", change.index_b, change.levels_b)
            pulses, reads, n_dev = pulses + p, reads + r, n_dev + n_b
        self.q = change.q_new
        stats = WriteStats(weights_changed=change.changed, clipped=change.clipped,
                           devices_written=n_dev, write_pulses=pulses, verify_reads=reads)
        self._record_writes(stats, phase)
        return stats


def _scatter(target: torch.Tensor, idx: torch.Tensor, values) -> None:
    """``target.view(-1)[idx] = values`` in place, for a non-contiguous target too."""
    if target.is_contiguous():
        target.view(-1)[idx] = values
    else:
        flat = target.reshape(-1)                     # (a copy: written back whole)
        flat[idx] = values
        target.copy_(flat.view(target.shape))
