# SPDX-License-Identifier: MIT
"""amaranth.sim harness of a network of training tiles whose crossbars are Python models.

One :class:`rtl.tile.Tile` per layer runs in one simulation (:class:`TileNetwork`). Around
them, testbench coroutines play the rest of the chip:

* a *crossbar responder* per tile takes each ``o_req`` beat, decodes it into the request
  ``dict`` of :mod:`golden.tile`, asks the layer's oracle (:class:`cosim.tile_xbar.
  CrossbarOracle`: dfasim's analog model) and sends the codes back on ``i_resp``;
* the input feeder writes the samples into the first tile's input buffer, and forwarders
  move each tile's output spikes into the next tile's input buffer (and, for BP, each tile's
  ``o_err`` into the previous tile's ``i_err``);
* the *loss unit* takes the last tile's spikes of a sample, forms the output error
  (:func:`golden.tile.output_error`) and hands it to the last tile and, for DFA, projected by
  the feedback matrices (:func:`golden.tile.project_error`, the B-tile), to the hidden tiles;
* a monitor per tile records membranes, spikes, deltas and the controller state per cycle.

Every port can be stalled at random (``stall``: probability that a consumer is not ready or
a producer holds back in a cycle). ``reset_at`` pulses ``rst`` in the middle of a first step
(with throw-away crossbars) and then runs the measured step from a clean state.

:func:`golden_network` runs :func:`golden.tile.network_step` on the same plan with its own
oracles; the tests compare the two.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth.sim import Simulator

from ..golden.tile import (RULES, TileLayerResult, TileParams, network_step, output_error,
                           project_error)
from ..rtl.common.layouts import XBAR_READ, XBAR_TREAD, XBAR_WRITE
from ..rtl.tile import STATES, Tile
from .sim import PERIOD, SimTimeout, run_simulation

__all__ = ["TileNetwork", "StepPlan", "LayerTrace", "run_network", "golden_network",
           "decode_request", "uci_har_batch", "network_params", "network_case",
           "NETWORK_SIZES", "STATES", "PHASES", "phase_cycles"]

OPS = {XBAR_READ: "read", XBAR_TREAD: "tread", XBAR_WRITE: "write"}


#: Phases of a step and the controller states they take (for cycle counts per phase).
PHASES = {
    "start":    ("IDLE", "CLEAR"),
    "forward":  ("FWD_LOAD", "FWD_REQ", "FWD_WAIT"),
    "backward": ("BWD_ERR", "BWD_DELTA", "BWD_WGU", "BWD_TREQ", "BWD_TWAIT"),
    "update":   ("UPD_CMD", "UPD_WRITE"),
}


def phase_cycles(trace: "LayerTrace") -> dict[str, int]:
    """Cycles of a traced step per phase of :data:`PHASES`."""
    return {phase: sum(trace.state_cycles[s] for s in states)
            for phase, states in PHASES.items()}


class TileNetwork(Elaboratable):
    """One :class:`Tile` per layer in an explicit ``sync`` domain (so that ``cd.rst`` can be
    pulsed); the tiles are connected by the testbench, not by wires.

    Members
    -------
    tiles : list of Tile
    cd : ClockDomain
    """

    def __init__(self, params: Sequence[TileParams]):
        self.tiles = [Tile(**p.hdl_kwargs()) for p in params]
        self.cd = ClockDomain("sync")

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = self.cd
        for n, tile in enumerate(self.tiles):
            m.submodules[f"tile{n}"] = tile
        return m


@dataclass
class StepPlan:
    """One training step of a network: the batch, labels, rule and loss.

    Members
    -------
    spikes_in : Tensor, int64, ``(B, T, n_in)``
        Input spikes of the first layer.
    labels : Sequence[int]
        Class of each sample.
    rule : str
        ``"dfa"`` or ``"bp"``.
    feedback : list of Tensor, optional
        DFA feedback matrices ``(n_out_l, C)`` of the hidden layers.
    gain : int
        Loss gain of :func:`golden.tile.output_error`.
    """

    spikes_in: torch.Tensor
    labels: Sequence[int]
    rule: str = "dfa"
    feedback: list | None = None
    gain: int = 1

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, not {self.rule!r}")


@dataclass
class LayerTrace:
    """What one RTL tile did in a step (the fields of :class:`TileLayerResult` that the RTL
    shows, plus the crossbar traffic and timing).

    Members
    -------
    spikes, u, delta : Tensor, ``(B, T, n_out)``
        From the ``o_fwd`` and ``o_delta`` observation ports.
    out_spikes : Tensor, ``(B, T, n_out)``
        The words read from ``o_spk``.
    err_out : Tensor ``(B, T, n_in)`` or None
        ``o_err`` beats (BP).
    levels : Tensor, ``(n_out, n_in)``
        Level changes of the write requests (row by row).
    requests : list of dict
        Every decoded crossbar request, in order.
    state_cycles : Counter
        Cycles spent in each controller state (of the measured step).
    cycles : int
        Cycles from the command to the return to ``IDLE``.
    """

    spikes: torch.Tensor | None = None
    u: torch.Tensor | None = None
    delta: torch.Tensor | None = None
    out_spikes: torch.Tensor | None = None
    err_out: torch.Tensor | None = None
    levels: torch.Tensor | None = None
    requests: list = field(default_factory=list)
    state_cycles: Counter = field(default_factory=Counter)
    cycles: int = 0


def decode_request(tile: Tile, bits) -> dict:
    """The :mod:`golden.tile` request ``dict`` of an ``o_req`` payload (a ``data.Const``)."""
    p = tile.params
    op = OPS.get(int(bits.op))
    if op == "read":
        return {"op": op, "group": int(bits.group), "drive": [int(v) for v in bits.drive]}
    if op == "tread":
        return {"op": op, "group": int(bits.group), "plane": int(bits.plane),
                "drive_p": [int(v) for v in bits.drive_p],
                "drive_n": [int(v) for v in bits.drive_n]}
    if op == "write":
        return {"op": op, "row": int(bits.row), "level": [int(v) for v in bits.level]}
    raise AssertionError(f"tile {p}: unknown request op {int(bits.op)}")


class _Abort(Exception):
    """The epoch of a coroutine ended (a reset): drop what it was doing."""


class _EpochControl:
    """The epoch now running: 0 (the step, or the one a reset cuts), 1 (the step after the
    reset), -1 (during the reset pulse). Each coroutine runs in one epoch only."""

    def __init__(self):
        self.epoch = 0


async def _put(ctx, ctl, epoch, s, payload, rng, stall):
    while rng.random() < stall:
        await ctx.tick()
        if ctl.epoch != epoch:
            raise _Abort
    ctx.set(s.payload, payload)
    ctx.set(s.valid, 1)
    while True:
        _, _, ready = await ctx.tick().sample(s.ready)
        if ctl.epoch != epoch:
            ctx.set(s.valid, 0)
            raise _Abort
        if ready:
            ctx.set(s.valid, 0)
            return


async def _get(ctx, ctl, epoch, s, rng, stall):
    while True:
        ready = rng.random() >= stall
        ctx.set(s.ready, ready)
        _, _, payload, valid = await ctx.tick().sample(s.payload, s.valid)
        if ctl.epoch != epoch:
            ctx.set(s.ready, 0)
            raise _Abort
        if ready and valid:
            ctx.set(s.ready, 0)
            return payload


def _workers(net: TileNetwork, params, plan: StepPlan, oracles, traces, ctl, epoch: int,
             stall: float, seed: int, done: dict) -> list[Callable]:
    """The coroutines of one step (epoch): they wait for their epoch, then run it."""
    tiles, n_layers = net.tiles, len(net.tiles)
    batch, n_t = plan.spikes_in.shape[0], params[0].timesteps
    errs: list[dict[int, list]] = [dict() for _ in tiles]
    rng_seed = random.Random(seed * 1000 + epoch)

    def rng():
        return random.Random(rng_seed.getrandbits(64))

    def worker(fn):
        async def run(ctx):
            while ctl.epoch < epoch:
                await ctx.tick()
            if ctl.epoch != epoch:
                return
            try:
                await fn(ctx)
            except _Abort:
                pass
        run.__name__ = fn.__name__
        return run

    def command(n):
        async def cmd(ctx):
            propagate = int(plan.rule == "bp" and n > 0)
            await _put(ctx, ctl, epoch, tiles[n].i_cmd,
                       {"batch": batch, "propagate": propagate}, rng(), stall)
        cmd.__name__ = f"cmd{n}"
        return cmd

    def responder(n):
        r = rng()

        async def xbar(ctx):
            tile, writes = tiles[n], 0
            levels = torch.zeros(params[n].n_out, params[n].n_in, dtype=torch.int64)
            while writes < params[n].n_out:
                bits = await _get(ctx, ctl, epoch, tile.o_req, r, stall)
                req = decode_request(tile, bits)
                traces[n].requests.append(req)
                resp = oracles[n](req)
                if req["op"] == "write":
                    levels[req["row"]] = torch.tensor(req["level"])
                    writes += 1
                else:
                    await _put(ctx, ctl, epoch, tile.i_resp, resp, r, stall)
            traces[n].levels = levels
            done[n] = True
        xbar.__name__ = f"xbar{n}"
        return xbar

    def feeder():
        r = rng()

        async def feed(ctx):
            for b in range(batch):
                for t in range(n_t):
                    word = sum(int(v) << j for j, v in enumerate(plan.spikes_in[b, t]))
                    await _put(ctx, ctl, epoch, tiles[0].i_spk,
                               {"data": word, "last": int(t == n_t - 1)}, r, stall)
        return feed

    def forwarder(n):
        r = rng()

        async def fwd(ctx):
            for _ in range(batch * n_t):
                beat = await _get(ctx, ctl, epoch, tiles[n].o_spk, r, stall)
                await _put(ctx, ctl, epoch, tiles[n + 1].i_spk,
                           {"data": int(beat.data), "last": int(beat.last)}, r, stall)
        fwd.__name__ = f"spk{n}"
        return fwd

    def loss_unit():
        r = rng()
        last = params[-1]

        async def loss(ctx):
            words = []
            for b in range(batch):
                frame = []
                for _ in range(n_t):
                    beat = await _get(ctx, ctl, epoch, tiles[-1].o_spk, r, stall)
                    frame.append([(int(beat.data) >> j) & 1 for j in range(last.n_out)])
                words.append(frame)
                s = torch.tensor(frame, dtype=torch.int64)
                e = output_error(s, int(plan.labels[b]), gain=plan.gain,
                                 err_width=last.err_width)
                errs[-1][b] = [e.tolist()] * n_t
                if plan.rule == "dfa":
                    for n in range(n_layers - 1):
                        fb = torch.as_tensor(plan.feedback[n], dtype=torch.int64)
                        proj = project_error(fb, e, err_width=params[n].err_width)
                        errs[n][b] = [proj.tolist()] * n_t
            traces[-1].out_spikes = torch.tensor(words, dtype=torch.int64)
        return loss

    def err_feeder(n):
        r = rng()

        async def feed(ctx):
            for b in range(batch):
                while b not in errs[n]:
                    await ctx.tick()
                    if ctl.epoch != epoch:
                        raise _Abort
                for t in range(n_t):
                    await _put(ctx, ctl, epoch, tiles[n].i_err, {"err": errs[n][b][t]},
                               r, stall)
        feed.__name__ = f"err{n}"
        return feed

    def err_forwarder(n):
        r = rng()

        async def fwd(ctx):
            got = []
            for _ in range(batch * n_t):
                beat = await _get(ctx, ctl, epoch, tiles[n].o_err, r, stall)
                err = [int(v) for v in beat.err]
                got.append(err)
                await _put(ctx, ctl, epoch, tiles[n - 1].i_err, {"err": err}, r, stall)
            traces[n].err_out = torch.tensor(got, dtype=torch.int64).reshape(
                batch, n_t, params[n].n_in)
        fwd.__name__ = f"bperr{n}"
        return fwd

    def monitor(n):
        tile = tiles[n]

        async def mon(ctx):
            fwd, deltas, started = [], [], False
            async for _, rst, fv, f, dv, d, state, busy in ctx.tick().sample(
                    tile.o_fwd_valid, tile.o_fwd, tile.o_delta_valid, tile.o_delta,
                    tile.o_state, tile.o_busy):
                if ctl.epoch != epoch:
                    return
                if rst:
                    continue
                if busy:
                    started = True
                if started:
                    traces[n].state_cycles[STATES[state]] += 1
                if fv:
                    fwd.append(([int(v) for v in f.spike], [int(v) for v in f.u]))
                    traces[n].spikes = _shape([s for s, _ in fwd], batch, n_t)
                    traces[n].u = _shape([u for _, u in fwd], batch, n_t)
                if dv:
                    deltas.append([int(v) for v in d.delta])
                    traces[n].delta = _shape(deltas, batch, n_t)
                if started and not busy and done.get(n):
                    traces[n].cycles = sum(traces[n].state_cycles.values())
                    return
        mon.__name__ = f"mon{n}"
        return mon

    crit = [command(n) for n in range(n_layers)] + [responder(n) for n in range(n_layers)]
    crit += [feeder(), loss_unit()] + [forwarder(n) for n in range(n_layers - 1)]
    crit += [err_feeder(n) for n in range(n_layers)
             if plan.rule == "dfa" or n == n_layers - 1]
    if plan.rule == "bp":
        crit += [err_forwarder(n) for n in range(1, n_layers)]
    return [worker(fn) for fn in crit], [worker(monitor(n)) for n in range(n_layers)]


def _shape(rows: list, batch: int, n_t: int) -> torch.Tensor:
    t = torch.tensor(rows, dtype=torch.int64)
    if len(rows) == batch * n_t:
        return t.reshape(batch, n_t, -1)
    return t


def run_network(params: Sequence[TileParams], plan: StepPlan, oracles: Sequence, *,
                stall: float = 0.0, seed: int = 0, reset_at: int | None = None,
                warmup_oracles: Sequence | None = None, max_cycles: int = 200_000,
                vcd: str | Path | None = None) -> list[LayerTrace]:
    """Simulate one training step of the tiles of ``params`` and return a trace per layer.

    Parameters
    ----------
    params : sequence of TileParams
        One per layer; layer ``l + 1`` has ``n_in = n_out`` of layer ``l``.
    plan : StepPlan
    oracles : sequence of CrossbarOracle
        The crossbar of each layer (changed by the step's writes).
    stall : float
        Probability of a stall per cycle on every port (both directions), ``0 <= stall < 1``.
    seed : int
        Seed of the stalls.
    reset_at : int, optional
        Run a first step on ``warmup_oracles`` (default: ``oracles``; give copies, since a
        step consumes read noise), pulse ``rst`` for 2 cycles after ``reset_at`` cycles of
        it, then run the measured step from scratch.
    max_cycles : int
        Limit of the whole simulation; :class:`SimTimeout` beyond.
    vcd : path, optional
        Write a waveform dump.
    """
    if not 0.0 <= stall < 1.0:
        raise ValueError(f"stall must be in [0, 1), not {stall!r}")
    net = TileNetwork(params)
    ctl = _EpochControl()
    traces = [LayerTrace() for _ in params]
    done: dict = {}
    sim = Simulator(net)
    sim.add_clock(PERIOD)
    first_epoch = 0
    if reset_at is not None:
        warm = warmup_oracles if warmup_oracles is not None else oracles
        wtraces = [LayerTrace() for _ in params]
        crit0, mon0 = _workers(net, params, plan, warm, wtraces, ctl, 0, stall, seed, {})
        for fn in crit0 + mon0:
            sim.add_testbench(fn, background=True)
        first_epoch = 1
    crit, mons = _workers(net, params, plan, oracles, traces, ctl, first_epoch, stall,
                          seed, done)
    pending = {fn.__name__ for fn in crit + mons}

    def track(fn):
        async def run(ctx):
            await fn(ctx)
            pending.discard(fn.__name__)
        return run

    if reset_at is not None:
        async def supervisor(ctx):
            # Plain ticks: ``repeat`` and ``until`` raise DomainReset across the pulse.
            for _ in range(reset_at):
                await ctx.tick()
            ctl.epoch = -1                       # every epoch-0 coroutine drops out
            await ctx.tick()
            ctx.set(net.cd.rst, 1)
            for _ in range(2):
                await ctx.tick()
            ctx.set(net.cd.rst, 0)
            ctl.epoch = 1
        sim.add_testbench(supervisor)
    for fn in crit + mons:
        sim.add_testbench(track(fn))

    async def watchdog(ctx):
        await ctx.delay(max_cycles * PERIOD)
        raise SimTimeout(f"tile step: {sorted(pending)} did not finish within {max_cycles} "
                         f"cycles")
    sim.add_testbench(watchdog, background=True)
    run_simulation(sim, vcd)
    return traces


def golden_network(params: Sequence[TileParams], plan: StepPlan,
                   oracles: Sequence) -> list[TileLayerResult]:
    """:func:`golden.tile.network_step` of ``plan`` on ``oracles``."""
    return network_step(params, plan.spikes_in, plan.labels, oracles, rule=plan.rule,
                        feedback=plan.feedback, gain=plan.gain)


def uci_har_batch(windows, batch: int, timesteps: int, *, seed: int, channels: int = 9
                  ) -> tuple[torch.Tensor, list[int]]:
    """``batch`` real UCI-HAR test windows as ``(B, T, channels)`` spikes, and their labels.

    ``windows`` is ``(x_test, y_test)`` of the offline copy (``(N, 128, 9)`` and the labels);
    the caller loads it (the data layer is not cosim's to import). Each 128-sample window is
    averaged over ``128 / T`` samples per timestep, and a channel spikes where its average lies
    above the window's mean of that channel (threshold encoding). The windows are drawn with
    ``seed``.
    """
    x_all, y_all = windows
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(x_all), generator=gen)[:batch].tolist()
    x = torch.as_tensor(x_all[idx], dtype=torch.float32)[..., :channels]     # (B, 128, C)
    n = x.shape[1] // timesteps
    x = x[:, :n * timesteps].reshape(batch, timesteps, n, channels).mean(2)
    spikes = (x > x.mean(1, keepdim=True)).to(torch.int64)
    labels = [int(v) - int(y_all.min()) for v in y_all[idx]]
    return spikes, labels


#: The test network: UCI-HAR's 9 channels -> 8 hidden -> 6 classes; the first layer's rows
#: are split in two row groups of 5 (reads per timestep: 2), the second has one group.
NETWORK_SIZES = (9, 8, 6)


def network_params(*, timesteps: int = 8, max_batch: int = 4, **overrides
                   ) -> list[TileParams]:
    """The tile parameters of the test network (:data:`NETWORK_SIZES`).

    Threshold 3 partial-sum LSBs keeps the hidden layer firing at a few tens of percent on
    the encoded UCI-HAR windows; ``overrides`` apply to both layers.
    """
    sizes = NETWORK_SIZES
    kw = dict(timesteps=timesteps, max_batch=max_batch, threshold=3)
    kw.update(overrides)
    rows = [5, None]
    return [TileParams(n_in=sizes[n], n_out=sizes[n + 1], rows=rows[n], **kw)
            for n in range(len(sizes) - 1)]


def network_case(rule: str, *, seed: int, batch: int = 4, timesteps: int = 8,
                 spikes_in: torch.Tensor | None = None, labels=None, gain: int = 2,
                 weight_mean: float = 0.0, windows=None, **overrides):
    """The seeded stimulus shared by both test tiers: ``(params, plan, make_oracles)``.

    The inputs are ``batch`` real UCI-HAR windows (:func:`uci_har_batch` of ``windows`` with
    ``seed``) unless ``spikes_in`` and ``labels`` are given; ``None`` when neither is. The DFA
    feedback matrices are uniform in ``-3 .. 3`` from ``seed``. ``make_oracles()`` builds a
    fresh crossbar per layer from ``seed`` (weights, device spread, read noise), so repeated
    calls give crossbars that answer identically. ``weight_mean`` shifts the random weights
    (:func:`cosim.tile_xbar.layer_oracle`); ``overrides`` go to :func:`network_params`.
    """
    from .tile_xbar import layer_oracle

    params = network_params(timesteps=timesteps, max_batch=max(batch, 1), **overrides)
    if spikes_in is None:
        if windows is None:
            return None
        spikes_in, labels = uci_har_batch(windows, batch, timesteps, seed=seed,
                                          channels=params[0].n_in)
    gen = torch.Generator().manual_seed(seed + 1)
    n_c = params[-1].n_out
    feedback = [torch.randint(-3, 4, (p.n_out, n_c), generator=gen) for p in params[:-1]]
    plan = StepPlan(spikes_in, list(labels), rule=rule, feedback=feedback, gain=gain)

    def make_oracles():
        return [layer_oracle(p, seed=seed * 100 + 10 + n, weight_mean=weight_mean)
                for n, p in enumerate(params)]
    return params, plan, make_oracles
