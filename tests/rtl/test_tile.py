# amaranth: UnusedElaboratable=no
# SPDX-License-Identifier: MIT
"""Tier 1: the training tile under amaranth.sim against golden.tile, crossbars from the model.

A 2-layer network (9 UCI-HAR channels -> 8 -> 6 classes, T = 8, one Tile per layer in one
simulation) runs one DFA and one BP step on a batch of real UCI-HAR windows; every layer's
spikes, membranes, deltas, propagated errors and level-change requests must equal
``golden.tile.network_step`` on its own copy of the same seeded crossbars, and the writes
must leave both crossbar models in the same state. Directed cases: random stalls on every
port, a reset in the middle of a step, and narrow widths that saturate every stage.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from dfasim.cosim.tile import golden_network, network_case, run_network
from dfasim.golden.stimulus import make_rng
from dfasim.rtl.tile import Tile
from tests.uci_har_windows import UCI_HAR_MISSING, uci_har_windows

__all__: list[str] = []


def _case(rule, seed, **kw):
    case = network_case(rule, seed=seed, windows=uci_har_windows(), **kw)
    if case is None:
        pytest.skip(UCI_HAR_MISSING)
    return case


@pytest.fixture
def vcd(request):
    """``--waves``: the waveform file of the test, under ``build/tile/``; else ``None``."""
    if not request.config.getoption("--waves", default=False):
        return None
    node = re.sub(r"[^\w.-]+", "-", request.node.nodeid).strip("-")
    return Path(request.config.rootpath) / "build" / "tile" / f"{node}.vcd"


def check_step(params, plan, make_oracles, *, stall=0.0, seed=0, reset_at=None, vcd=None):
    """Run the RTL and the golden on equal crossbars; assert every observable is equal."""
    print(f"tile step: rule={plan.rule} seed={seed} stall={stall} reset_at={reset_at}")
    gold_x = make_oracles()
    gold = golden_network(params, plan, gold_x)
    rtl_x = make_oracles()
    traces = run_network(params, plan, rtl_x, stall=stall, seed=seed, reset_at=reset_at,
                         warmup_oracles=make_oracles() if reset_at is not None else None,
                         vcd=vcd)
    for n, (g, r) in enumerate(zip(gold, traces)):
        where = f"layer {n} (rule={plan.rule}, seed={seed}, stall={stall})"
        assert torch.equal(r.spikes, g.spikes), f"{where}: spikes differ"
        assert torch.equal(r.u, g.u), f"{where}: membranes differ"
        assert torch.equal(r.delta, g.delta), f"{where}: deltas differ"
        assert torch.equal(r.levels, g.levels), f"{where}: level changes differ"
        if g.err_out is None:
            assert r.err_out is None, f"{where}: unexpected o_err beats"
        else:
            assert torch.equal(r.err_out, g.err_out), f"{where}: propagated errors differ"
        # The write requests reached the model: both crossbars hold the same levels.
        assert torch.equal(rtl_x[n].matrix.q, gold_x[n].matrix.q), f"{where}: crossbar levels"
        assert torch.equal(rtl_x[n].matrix.g_a, gold_x[n].matrix.g_a), f"{where}: conductances"
        kinds = [q["op"] for q in rtl_x[n].log]
        assert kinds == [q["op"] for q in gold_x[n].log], f"{where}: request sequence"
    assert torch.equal(traces[-1].out_spikes, gold[-1].spikes)
    return gold, traces


# -- full steps on UCI-HAR --------------------------------------------------------------------

@pytest.mark.parametrize("rule", ["dfa", "bp"])
def test_network_step_uci_har(rule, seed, vcd):
    params, plan, make_oracles = _case(rule, seed)
    gold, traces = check_step(params, plan, make_oracles, seed=seed, vcd=vcd)
    # The step is not trivial: the hidden layer fires, deltas and weight changes happen.
    assert 0.02 < gold[0].spikes.float().mean() < 0.9
    for g in gold:
        assert bool(g.delta.ne(0).any()) and bool(g.levels.ne(0).any())
    if rule == "bp":
        assert gold[1].err_out is not None and bool(gold[1].err_out.ne(0).any())
        assert traces[1].state_cycles["BWD_TREQ"] > 0
    else:
        assert traces[1].state_cycles["BWD_TREQ"] == 0


# -- directed cases ---------------------------------------------------------------------------

@pytest.mark.parametrize("rule", ["dfa", "bp"])
def test_back_pressure_every_port(rule, seed, vcd):
    # Every producer holds back and every consumer stalls 35 % of the cycles, crossbar
    # included; two batch samples keep the run short.
    params, plan, make_oracles = _case(rule, seed, batch=2)
    check_step(params, plan, make_oracles, stall=0.35, seed=seed + 7, vcd=vcd)


@pytest.mark.parametrize("reset_at", [37, 260])
def test_reset_mid_step_then_clean_step(reset_at, seed, vcd):
    # Cycle 37 falls in the first forward pass, 260 in the backward pass of BP with
    # transposed reads outstanding; the step after the reset must be exact.
    params, plan, make_oracles = _case("bp", seed, batch=2)
    check_step(params, plan, make_oracles, stall=0.1, seed=seed, reset_at=reset_at, vcd=vcd)


def test_saturation(seed, vcd):
    # Narrow widths: partial sums (5 bits; two row groups of up to +-15 each), membranes
    # (6 bits), errors, deltas (4 bits), transposed sums, WGU words (6 bits) and level changes
    # (3 bits) all clamp somewhere in the step. Dense random inputs on mostly positive weights
    # drive the sums high.
    n_t, batch = 4, 3
    spikes = (torch.rand(batch, n_t, 9, generator=make_rng(seed)) < 0.8).to(torch.int64)
    narrow = dict(acc_width=5, mem_width=6, threshold=2, sg_width=8, grad_shift=0,
                  err_width=6, delta_width=4, tacc_width=6, grad_width=6, level_width=3)
    params, plan, make_oracles = network_case("bp", seed=seed, batch=batch, timesteps=n_t,
                                              spikes_in=spikes, labels=[0, 3, 5], gain=8,
                                              weight_mean=0.3, **narrow)
    gold, _ = check_step(params, plan, make_oracles, stall=0.2, seed=seed, vcd=vcd)
    assert bool(gold[0].psum_overflow.any()), "no partial sum saturated"
    assert any(bool(g.grad_overflow.any()) for g in gold), "no WGU word saturated"
    lo, hi = -(1 << 2), (1 << 2) - 1
    assert any(bool(((g.levels == lo) | (g.levels == hi)).any()) for g in gold)
    assert any(bool((g.delta.abs() >= 7).any()) for g in gold), "no delta at its limit"


# -- constructor ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, text", [
    (dict(n_in=8, n_out=0, timesteps=4), ValueError, "n_out must be >= 1, not 0"),
    (dict(n_in=0, n_out=4, timesteps=4), ValueError, "n_in must be >= 1, not 0"),
    (dict(n_in=64, n_out=4, timesteps=4), ValueError, "n_in=64"),
    (dict(n_in=8, n_out=64, timesteps=4), ValueError, "n_out=64"),
    (dict(n_in=8, n_out=4, timesteps=0), ValueError, "timesteps must be >= 1, not 0"),
    (dict(n_in=8, n_out=4, timesteps=8, buffer_words=8), ValueError,
     "buffer_words=8: a bank of 4 words is too small for one sample of timesteps=8"),
    (dict(n_in=8, n_out=4, timesteps=8, buffer_words=24), ValueError, "power of two, not 24"),
    (dict(n_in=8, n_out=4, timesteps=4, rows=9), ValueError, "rows must be <= 8, not 9"),
    (dict(n_in=8, n_out=4, timesteps=4, acc_width=4), ValueError,
     "acc_width must be >= 5, not 4"),
    (dict(n_in=8, n_out=4, timesteps=4, max_batch=0), ValueError,
     "max_batch must be >= 1, not 0"),
    (dict(n_in=8, n_out=4, timesteps=4, reset="hardest"), ValueError, "'hardest'"),
    (dict(n_in=8, n_out=4, timesteps=4, rounding=1), TypeError, "not 1"),
    (dict(n_in="8", n_out=4, timesteps=4), TypeError, "n_in must be an integer, not '8'"),
    (dict(n_in=8, n_out=4.0, timesteps=4), TypeError, "n_out must be an integer, not 4.0"),
    (dict(n_in=8, n_out=4, timesteps=4, bp_shift=-1), ValueError, "not -1"),
])
def test_constructor_rejects(kwargs, exc, text):
    with pytest.raises(exc, match=None) as info:
        Tile(**kwargs)
    assert text in str(info.value)


def test_constructor_positional_and_properties():
    with pytest.raises(TypeError):
        Tile(8, 4, 4)                                   # keyword-only
    t = Tile(n_in=9, n_out=8, timesteps=8, rows=5)
    assert (t.n_in, t.n_out, t.timesteps, t.rows, t.groups, t.planes) == (9, 8, 8, 5, 2, 8)
    assert t.params.buffer_words == 16
    with pytest.raises(AttributeError):
        t.n_in = 3
