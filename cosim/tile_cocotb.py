# SPDX-License-Identifier: MIT
"""cocotb tier of the training tile: one layer's Verilog with the crossbar model in Python.

The pytest side (``tests/cosim/test_tile_cocotb.py``) runs :func:`golden.tile.network_step`
on the shared seeded stimulus (:func:`cosim.tile.network_case`) and stores, per layer, the
inputs the golden gave the tile (input spikes, errors) and what it expects back in an ``.npz``
named by ``$TILE_CONFIG`` (JSON: the tile parameters, the crossbar seed, the stall
probability, the file). Here one cycle loop drives every port of the generated ``tile``
module: it offers the command, spikes and errors with random gaps, stalls every output at
random, answers each crossbar request from a :class:`cosim.tile_xbar.CrossbarOracle` rebuilt
from the same seed (so its codes are the golden's), records the observation strobes, and
finally compares spikes, membranes, deltas, propagated errors and level changes.

:func:`drive_tile` is the loop; it also runs several steps in a row for the long tier.
"""
from __future__ import annotations

import json
import os
import random

import numpy as np
import torch

__all__ = ["drive_tile", "CONFIG_ENV", "INPUTS"]

#: Environment variable holding the JSON configuration of a run.
CONFIG_ENV = "TILE_CONFIG"

#: Every input of the ``tile`` module (driven to 0 before the clock starts: Icarus is 4-state).
INPUTS = ("i_cmd__valid", "i_cmd__payload", "i_spk__valid", "i_spk__payload",
          "i_err__valid", "i_err__payload", "i_resp__valid", "i_resp__payload",
          "o_req__ready", "o_spk__ready", "o_err__ready")


async def drive_tile(dut, p, oracle, spikes_in, errors, *, propagate: bool, rng, stall: float,
                     log=None, busy_cmd_cycles: int = 0) -> dict:
    """Run one step of ``p.n_out`` x ``p.n_in`` tile ``dut`` (already reset) and return what
    it did: ``spikes``, ``u``, ``delta`` ``(B, T, n_out)``, ``out_spikes``, ``err_out``,
    ``levels`` and ``cycles``.

    ``spikes_in`` is ``(B, T, n_in)`` and ``errors`` ``(B, T, n_out)`` (lists or tensors).
    ``busy_cmd_cycles``: once the step runs, offer another command for that many cycles and
    check that the busy tile refuses it (``i_cmd.ready`` low), then withdraw it.
    """
    from cocotb.triggers import FallingEdge, ReadOnly

    from ..rtl.common.layouts import (PingPongWordLayout, TileCommandLayout, TileErrLayout,
                                      XbarRequestLayout, XbarResponseLayout)
    from .tile import decode_request

    batch, n_t = len(spikes_in), p.timesteps
    req_l = XbarRequestLayout(n_in=p.n_in, n_out=p.n_out, rows=p.rows, groups=p.groups,
                              planes=p.planes, level_width=p.level_width)
    resp_l = XbarResponseLayout(p.resp_lanes, p.adc_bits)
    err_in_l = TileErrLayout(p.n_out, p.err_width)
    err_out_l = TileErrLayout(p.n_in, p.err_width)
    spk_l = PingPongWordLayout(p.n_out)

    class _Decoder:                       # decode_request only reads ``tile.params``
        params = p

    def word(bits) -> int:
        return sum(int(v) << j for j, v in enumerate(bits))

    pending = {
        "cmd": [TileCommandLayout(p.max_batch).const(
            {"batch": batch, "propagate": int(propagate)}).as_bits()],
        "spk": [PingPongWordLayout(p.n_in).const(
            {"data": word(spikes_in[b][t]), "last": int(t == n_t - 1)}).as_bits()
            for b in range(batch) for t in range(n_t)],
        "err": [err_in_l.const({"err": [int(v) for v in errors[b][t]]}).as_bits()
                for b in range(batch) for t in range(n_t)],
        "resp": [],
    }
    ports = {"cmd": "i_cmd", "spk": "i_spk", "err": "i_err", "resp": "i_resp"}
    offering = {k: False for k in ports}
    out = dict(spikes=[], u=[], delta=[], out_spikes=[], err_out=[],
               levels=torch.zeros(p.n_out, p.n_in, dtype=torch.int64), cycles=0)
    writes, started, cycles = 0, False, 0
    probe = busy_cmd_cycles
    limit = 200 * batch * n_t * (p.groups + 2) * (p.planes + 2) + 10_000
    while True:
        await FallingEdge(dut.clk)
        for key, port in ports.items():
            if not offering[key] and pending[key] and rng.random() >= stall:
                offering[key] = True
                getattr(dut, f"{port}__payload").value = pending[key][0]
            getattr(dut, f"{port}__valid").value = offering[key]
        probing = probe > 0 and started and not pending["cmd"]
        if probing:
            dut.i_cmd__valid.value = 1
            probe -= 1
        take = {port: rng.random() >= stall for port in ("o_req", "o_spk", "o_err")}
        for port, ready in take.items():
            getattr(dut, f"{port}__ready").value = ready
        await ReadOnly()
        if probing:
            assert not dut.i_cmd__ready.value, f"the tile took a command {cycles} cycles into " \
                "a step"
        for key, port in ports.items():
            if offering[key] and getattr(dut, f"{port}__ready").value:
                pending[key].pop(0)
                offering[key] = False
        if take["o_req"] and dut.o_req__valid.value:
            req = decode_request(_Decoder, req_l.from_bits(dut.o_req__payload.value
                                                           .to_unsigned()))
            if log is not None:
                log.append(req)
            resp = oracle(req)
            if req["op"] == "write":
                out["levels"][req["row"]] = torch.tensor(req["level"])
                writes += 1
            else:
                pending["resp"].append(resp_l.const(resp).as_bits())
        if take["o_spk"] and dut.o_spk__valid.value:
            v = spk_l.from_bits(dut.o_spk__payload.value.to_unsigned())
            out["out_spikes"].append([(int(v.data) >> j) & 1 for j in range(p.n_out)])
        if take["o_err"] and dut.o_err__valid.value:
            v = err_out_l.from_bits(dut.o_err__payload.value.to_unsigned())
            out["err_out"].append([int(e) for e in v.err])
        if dut.o_fwd_valid.value:
            f = _fwd_layout(p).from_bits(dut.o_fwd.value.to_unsigned())
            out["spikes"].append([int(s) for s in f.spike])
            out["u"].append([int(u) for u in f.u])
        if dut.o_delta_valid.value:
            d = _delta_layout(p).from_bits(dut.o_delta.value.to_unsigned())
            out["delta"].append([int(x) for x in d.delta])
        busy = bool(dut.o_busy.value)
        started |= busy
        if started:
            cycles += 1
        if started and not busy and writes == p.n_out:
            break
        assert cycles < limit, (f"tile stalled after {cycles} cycles: {writes} writes, "
                                f"{len(pending['spk'])} spike words and {len(pending['err'])} "
                                f"errors not taken")
    for key in ("spikes", "u", "delta", "out_spikes"):
        out[key] = torch.tensor(out[key], dtype=torch.int64).reshape(batch, n_t, p.n_out)
    out["err_out"] = (torch.tensor(out["err_out"], dtype=torch.int64).reshape(batch, n_t,
                                                                            p.n_in)
                      if propagate else None)
    out["cycles"] = cycles
    return out


def _fwd_layout(p):
    """Layout of the ``o_fwd`` observation port of tile ``p``."""
    from ..rtl.common.layouts import GradLIFOutputLayout

    return GradLIFOutputLayout(p.n_out, p.mem_width, p.timesteps)


def _delta_layout(p):
    """Layout of the ``o_delta`` observation port of tile ``p``."""
    from ..rtl.common.layouts import GradLIFDeltaLayout

    return GradLIFDeltaLayout(p.n_out, p.delta_width)


async def _reset(dut) -> None:
    from .streams import start_and_reset

    await start_and_reset(dut, INPUTS, cycles=3)


def _config() -> dict:
    return json.loads(os.environ[CONFIG_ENV])


def _oracle(cfg, p):
    from .tile_xbar import layer_oracle

    return layer_oracle(p, seed=cfg["xbar_seed"], weight_mean=cfg.get("weight_mean", 0.0))


try:
    import cocotb
except ImportError:                        # the module is also imported outside a simulator
    cocotb = None

if cocotb is not None:
    @cocotb.test()
    async def test_tile_layer_step(dut):
        """One layer's step equals the golden: spikes, membranes, deltas, errors, levels."""
        from ..golden.tile import TileParams

        cfg = _config()
        p = TileParams(**cfg["params"])
        steps = cfg.get("steps", 1)
        with np.load(cfg["npz"]) as z:
            data = {k: torch.as_tensor(z[k]) for k in z.files}
        oracle = _oracle(cfg, p)
        rng = random.Random(cfg["stall_seed"])
        await _reset(dut)
        total = 0
        for step in range(steps):
            got = await drive_tile(dut, p, oracle, data["spikes_in"], data["err_in"],
                                   propagate=cfg["propagate"], rng=rng, stall=cfg["stall"])
            total += got["cycles"]
            where = f"step {step} (seed {cfg['xbar_seed']}, stall {cfg['stall']})"
            for key in ("spikes", "u", "delta"):
                assert torch.equal(got[key], data[f"{key}_{step}"]), f"{where}: {key} differ"
            assert torch.equal(got["out_spikes"], data[f"spikes_{step}"]), f"{where}: o_spk"
            assert torch.equal(got["levels"], data[f"levels_{step}"]), f"{where}: levels"
            if cfg["propagate"]:
                assert torch.equal(got["err_out"], data[f"err_out_{step}"]), f"{where}: o_err"
            if steps > 1 and (step + 1) % 10 == 0:
                dut._log.info("step %d of %d equal to golden (%d cycles so far)", step + 1,
                              steps, total)
        dut._log.info("%d step(s), %d timesteps: equal to golden in %d cycles", steps,
                      steps * int(data["spikes_in"].shape[0]) * p.timesteps, total)
