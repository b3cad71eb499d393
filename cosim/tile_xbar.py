# SPDX-License-Identifier: MIT
"""dfasim's analog crossbar model as the oracle of a training tile's crossbar port.

:class:`CrossbarOracle` answers the requests of :mod:`golden.tile` (decoded beats of the
``o_req`` port of ``rtl.tile.Tile``) with the ADC codes of an
:class:`~dfasim.models.crossbar.AnalogMatrix`, noisy devices and read noise included, and
applies write requests to its conductances. The RTL co-simulation and the golden each drive
their own oracle built by :func:`layer_oracle` from the same seed, so both see the same codes
as long as they issue the same requests in the same order.
"""
from __future__ import annotations

import torch

from ..golden.tile import TileParams
from ..models.chip import ChipConfig
from ..models.crossbar import AnalogMatrix
from ..models.crossbar.adc import adc_lsb, to_codes
from ..models.rram.noise import NoiseModel

__all__ = ["CrossbarOracle", "layer_oracle", "tile_chip"]


def tile_chip(p: TileParams, *, read_noise: bool = True,
              read_noise_rel: float = 0.01) -> ChipConfig:
    """Chip description whose crossbar matches tile ``p``: ``p.rows`` rows, ``2 * n_out``
    columns (one differential pair per output, one column group), ``adc_bits`` ADCs and a
    partial-sum width of ``acc_width``; read noise as asked."""
    rows, cols = max(p.rows, 2), max(2 * p.n_out, 2)     # a crossbar has >= 2 lines a side
    return ChipConfig().updated({
        "crossbar.rows": rows, "crossbar.cols": cols,
        # Lines sharing an ADC: the default 8 where the crossbar is that large (area only).
        "crossbar.lines_per_adc": min(8, rows, cols),
        "crossbar.adc_bits": p.adc_bits, "datapath.psum_bits": p.acc_width,
        "device.mapping": "differential", "nonideal.read_noise": read_noise,
        "nonideal.read_noise_rel": read_noise_rel,
    })


class CrossbarOracle:
    """Answer tile crossbar requests from an :class:`AnalogMatrix` (``n_out x n_in``).

    * ``read``: the matrix's :meth:`~AnalogMatrix.adc_codes` of the group's drive (other rows
      0), i.e. the code pair of every output, with a fresh read-noise draw per read.
    * ``tread``: the row-side ADC codes of the two column phases of one error bit plane
      (phase P: ``G+`` columns driven by ``drive_p``, ``G-`` columns by ``drive_n``; phase N
      swapped), computed from :meth:`~AnalogMatrix.read_conductances` with the same read-noise
      law as the model's transposed read, and the model's ADC transfer.
    * ``write``: :meth:`~AnalogMatrix.update` with ``level * level_step`` on the row (nearest
      rounding, so exactly ``level`` level steps before clipping to the level range).

    Parameters
    ----------
    matrix : AnalogMatrix
        A programmed, differential matrix of shape ``(p.n_out, p.n_in)`` whose crossbars have
        ``p.rows`` rows when ``p.groups > 1``.
    p : TileParams
    tread_full_scale_us : float, optional
        ADC full scale of transposed reads; default the matrix's, else ``n_out * g_max`` (a
        plane drives at most ``n_out`` lines: never clips).

    Members
    -------
    matrix, params
        As given.
    log : list of dict
        Every request, in order.
    """

    def __init__(self, matrix: AnalogMatrix, p: TileParams, *,
                 tread_full_scale_us: float | None = None):
        if tuple(matrix.shape) != (p.n_out, p.n_in):
            raise ValueError(f"matrix shape {tuple(matrix.shape)} does not match the tile "
                             f"({p.n_out}, {p.n_in})")
        if not matrix.chip.device.differential:
            raise ValueError("the tile's transposed read needs the differential mapping")
        if p.groups > 1 and matrix.chip.crossbar.rows != p.rows:
            raise ValueError(f"crossbar rows {matrix.chip.crossbar.rows} != tile rows {p.rows}")
        self.matrix, self.params = matrix, p
        fs = tread_full_scale_us or matrix.full_scale.get("transpose") \
            or p.n_out * matrix.chip.device.g_max_us
        self._tread_lsb = adc_lsb(float(fs), p.adc_bits)
        self.log: list[dict] = []

    def _pad(self, codes) -> list[int]:
        out = [int(c) for c in codes]
        return out + [0] * (self.params.resp_lanes - len(out))

    def __call__(self, req: dict) -> dict | None:
        self.log.append(req)
        op = req["op"]
        if op == "read":
            return self._read(req["group"], req["drive"])
        if op == "tread":
            return self._tread(req["group"], req["drive_p"], req["drive_n"])
        if op == "write":
            self._write(req["row"], req["level"])
            return None
        raise ValueError(f"unknown crossbar request op {op!r}")

    def _read(self, group: int, drive) -> dict:
        p, m = self.params, self.matrix
        x = torch.zeros(1, p.n_in, dtype=m.dtype)
        lo = group * p.rows
        for j, bit in enumerate(drive):
            if lo + j < p.n_in:
                x[0, lo + j] = float(bit)
        codes = m.adc_codes(x)                                   # pos, neg (R, 1, out)
        tile = min(group, codes.pos.shape[0] - 1) if p.groups > 1 else 0
        return {"pos": self._pad(codes.pos[tile, 0]), "neg": self._pad(codes.neg[tile, 0])}

    def _tread(self, group: int, drive_p, drive_n) -> dict:
        p, m = self.params, self.matrix
        lo, hi = group * p.rows, min(p.n_in, (group + 1) * p.rows)
        g_a, g_b, _ = m.read_conductances()
        ga, gb = g_a[:, lo:hi], g_b[:, lo:hi]                     # (out, rows of the group)
        dp = torch.tensor([float(v) for v in drive_p], dtype=m.dtype)
        dn = torch.tensor([float(v) for v in drive_n], dtype=m.dtype)
        cur_p = dp @ ga + dn @ gb
        cur_n = dp @ gb + dn @ ga
        sigma = m.read_sigma_us
        if sigma:
            # Every driven column adds an independent device draw to each row current.
            std = sigma * float(torch.sqrt((dp * dp + dn * dn).sum()))
            eps = torch.randn((2, hi - lo), generator=m.generator, dtype=m.dtype)
            cur_p, cur_n = cur_p + std * eps[0], cur_n + std * eps[1]
        pos = to_codes(cur_p / self._tread_lsb, p.adc_bits).to(torch.int64)
        neg = to_codes(cur_n / self._tread_lsb, p.adc_bits).to(torch.int64)
        return {"pos": self._pad(pos), "neg": self._pad(neg)}

    def _write(self, row: int, level) -> None:
        p, m = self.params, self.matrix
        if not any(int(v) for v in level):
            return
        delta_w = torch.zeros(p.n_out, p.n_in, dtype=m.dtype)
        delta_w[row] = torch.tensor([float(v) for v in level], dtype=m.dtype) * m.level_step
        m.update(delta_w, rounding="nearest")


def layer_oracle(p: TileParams, *, seed: int, chip: ChipConfig | None = None,
                 noise: NoiseModel | None = None, weight_scale: float = 0.3,
                 weight_mean: float = 0.0, calibration: torch.Tensor | None = None
                 ) -> CrossbarOracle:
    """Build a seeded layer crossbar: random weights programmed on noisy devices.

    The weights are ``N(weight_mean, weight_scale**2)`` from ``seed``; ``noise`` defaults to the
    polynomial programming spread of the device model; ``chip`` to :func:`tile_chip`. With
    ``adc_range="calibrated"`` the forward ADC range is set from ``calibration (N, n_in)``
    spikes (default: seeded Bernoulli(0.5) spikes). Two calls with the same arguments give
    oracles that answer the same request sequence identically.
    """
    from ..models.rram.noise import PolynomialSpread

    gen = torch.Generator().manual_seed(seed)
    chip = tile_chip(p) if chip is None else chip
    noise = PolynomialSpread() if noise is None else noise
    weight = torch.randn(p.n_out, p.n_in, generator=gen) * weight_scale + weight_mean
    matrix = AnalogMatrix.from_weight(weight, chip, noise, generator=gen)
    if calibration is None:
        calibration = (torch.rand(64, p.n_in, generator=gen) < 0.5).to(torch.float32)
    matrix.calibrate(x=calibration)
    return CrossbarOracle(matrix, p)
