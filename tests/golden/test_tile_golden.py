# SPDX-License-Identifier: MIT
"""golden.tile on an exact integer crossbar: the composition means what it should.

With 0/1 conductances and an ADC that counts (codes = exact line sums), a forward read of a
layer is ``W x`` and a transposed read of the bit planes of ``delta`` is ``W^T delta``, so the
tile golden must reduce to the plain integer formulas of its blocks.
"""
from __future__ import annotations

import pytest
import torch

from dfasim.golden.fixed import asr, saturate
from dfasim.golden.grad_lif import grad_lif_backward_int, lif_forward_int_seq
from dfasim.golden.stimulus import make_rng
from dfasim.golden.tile import (TileParams, network_step, output_error, project_error,
                                tile_step, tread_request)
from dfasim.golden.wgu import wgu_readout

__all__: list[str] = []


class ExactCrossbar:
    """Codes are exact line sums of 0/1 devices ``Wp`` (positive) and ``Wn`` (negative)."""

    def __init__(self, p: TileParams, seed: int):
        g = make_rng(seed)
        self.p = p
        self.wp = (torch.rand(p.n_out, p.n_in, generator=g) < 0.4).to(torch.int64)
        self.wn = (torch.rand(p.n_out, p.n_in, generator=g) < 0.4).to(torch.int64)
        self.requests = []

    @property
    def w(self):
        return self.wp - self.wn

    def _pad(self, v):
        v = [int(x) for x in v]
        return v + [0] * (self.p.resp_lanes - len(v))

    def __call__(self, req):
        self.requests.append(req)
        p = self.p
        lo = req.get("group", 0) * p.rows
        hi = min(p.n_in, lo + p.rows)
        if req["op"] == "read":
            x = torch.tensor(req["drive"][:hi - lo], dtype=torch.int64)
            return {"pos": self._pad(self.wp[:, lo:hi] @ x),
                    "neg": self._pad(self.wn[:, lo:hi] @ x)}
        if req["op"] == "tread":
            dp = torch.tensor(req["drive_p"], dtype=torch.int64)
            dn = torch.tensor(req["drive_n"], dtype=torch.int64)
            wp, wn = self.wp[:, lo:hi], self.wn[:, lo:hi]
            return {"pos": self._pad(dp @ wp + dn @ wn), "neg": self._pad(dp @ wn + dn @ wp)}
        return None


@pytest.mark.parametrize("rows", [9, 4])
def test_tile_step_is_the_integer_layer(rows, seed):
    p = TileParams(n_in=9, n_out=6, timesteps=5, max_batch=3, rows=rows, threshold=1,
                   bp_shift=1)
    xb = ExactCrossbar(p, seed)
    g = make_rng(seed + 1)
    x = (torch.rand(3, 5, 9, generator=g) < 0.5).to(torch.int64)
    err = torch.randint(-100, 100, (3, 5, 6), generator=g)
    res = tile_step(p, x, err, xb, propagate=True)
    print(f"seed={seed} rows={rows}")

    current = torch.einsum("oi,bti->bto", xb.w, x)             # |W x| <= 9: no saturation
    for b in range(3):
        s, u = lif_forward_int_seq(current[b], p.lif)
        assert torch.equal(res.spikes[b], s) and torch.equal(res.u[b], u)
        assert torch.equal(res.delta[b], grad_lif_backward_int(u, err[b], p.lif))
    back = torch.einsum("oi,bto->bti", xb.w, res.delta)         # W^T delta, exact
    assert torch.equal(res.err_out, saturate(asr(back, p.bp_shift), p.err_width))
    grad = torch.einsum("bto,bti->oi", res.delta, x)
    assert torch.equal(res.grad, grad)
    assert torch.equal(res.levels, wgu_readout(grad, grad_width=16, out_width=8)[0])
    # Requests: per sample T * R reads then T * R * K transposed reads; then n_out writes.
    ops = [r["op"] for r in xb.requests]
    per_sample = ["read"] * (5 * p.groups) + ["tread"] * (5 * p.groups * p.planes)
    assert ops == per_sample * 3 + ["write"] * 6
    assert [r["row"] for r in xb.requests[-6:]] == list(range(6))


def test_tread_planes_rebuild_delta():
    p = TileParams(n_in=4, n_out=3, timesteps=1)
    for d in range(-128, 128):
        delta = [d, -d if d > -128 else 0, 0]
        total = [0, 0, 0]
        for k in range(p.planes):
            req = tread_request(p, 0, k, delta)
            for j in range(3):
                assert not (req["drive_p"][j] and req["drive_n"][j])
                total[j] += (req["drive_p"][j] - req["drive_n"][j]) << k
        assert total == delta


def test_network_step_dfa_errors(seed):
    ps = [TileParams(n_in=9, n_out=8, timesteps=4, threshold=1),
          TileParams(n_in=8, n_out=6, timesteps=4, threshold=1)]
    xbs = [ExactCrossbar(p, seed + n) for n, p in enumerate(ps)]
    g = make_rng(seed)
    x = (torch.rand(2, 4, 9, generator=g) < 0.6).to(torch.int64)
    fb = [torch.randint(-3, 4, (8, 6), generator=g)]
    res = network_step(ps, x, [1, 4], xbs, rule="dfa", feedback=fb, gain=3)
    for b, label in enumerate([1, 4]):
        e = output_error(res[1].spikes[b], label, gain=3, err_width=8)
        assert torch.equal(res[1].delta[b], grad_lif_backward_int(res[1].u[b],
                                                                  e.expand(4, 6), ps[1].lif))
        proj = project_error(fb[0], e, err_width=8).expand(4, 8)
        assert torch.equal(res[0].delta[b], grad_lif_backward_int(res[0].u[b], proj,
                                                                  ps[0].lif))
    assert res[0].err_out is None and res[1].err_out is None


def test_network_step_bp_chains_errors(seed):
    ps = [TileParams(n_in=9, n_out=8, timesteps=4, threshold=1),
          TileParams(n_in=8, n_out=6, timesteps=4, threshold=1, bp_shift=2)]
    xbs = [ExactCrossbar(p, seed + n) for n, p in enumerate(ps)]
    x = (torch.rand(2, 4, 9, generator=make_rng(seed)) < 0.6).to(torch.int64)
    res = network_step(ps, x, [0, 5], xbs, rule="bp", gain=3)
    assert res[0].err_out is None
    for b in range(2):
        assert torch.equal(res[0].delta[b], grad_lif_backward_int(res[0].u[b],
                                                                  res[1].err_out[b], ps[0].lif))


def test_output_error():
    s = torch.tensor([[1, 0, 1], [1, 0, 0]])
    assert output_error(s, 1, gain=2, err_width=8).tolist() == [-4, 4, -2]
    assert output_error(s, 1, gain=100, err_width=8).tolist() == [-128, 127, -100]


def test_params_torch_free_and_defaults():
    p = TileParams(n_in=9, n_out=8, timesteps=8, rows=5)
    assert (p.groups, p.planes, p.resp_lanes, p.buffer_words) == (2, 8, 8, 16)
    assert p.lif.current_width == p.acc_width
    assert TileParams(**p.hdl_kwargs()) == p
