# SPDX-License-Identifier: MIT
"""Functional cover points of the block testbenches, sampled with cocotb-coverage.

:data:`COVER_POINTS` names every cover point of every block with its bins; it is plain data,
read both by the testbenches (inside the simulator) and by the report
(:mod:`cosim.regression`), so the two cannot disagree on what should be hit. Inside the
simulator, :func:`cover_points` registers a block's points in ``cocotb_coverage``'s
``coverage_db`` and returns one sampler per point; :func:`backpressure_monitor` samples
``valid & ~ready`` on every stream of the block once per cycle; :func:`export` writes the
database (YAML) and the run statistics (JSON) into the folder named by :data:`OUT_ENV`. Only a
run that sets :data:`OUT_ENV` (``dfasim rtl verify``) collects coverage; without it (the pytest
tier) the samplers and the monitor do nothing.
Content points (saturation, threshold equality, group lengths, ...) are sampled from a chunk's
golden values once all of its output beats were checked equal to them, so a hit stands for a
value the RTL produced.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["COVER_POINTS", "TILE_STATES", "TILE_TRANSITIONS", "OUT_ENV", "COVERAGE_FILE",
           "STATS_FILE", "cover_points", "backpressure_monitor", "monitored", "record", "export",
           "count_values", "count_extremes", "seed_offsets", "enabled"]

#: Environment variable naming the folder a run writes its coverage and statistics into.
OUT_ENV = "DFASIM_VERIFY_OUT"
#: ``coverage_db.export_to_yaml`` output, inside the :data:`OUT_ENV` folder.
COVERAGE_FILE = "coverage.yml"
#: Vectors and cycles per cocotb test (JSON), inside the :data:`OUT_ENV` folder.
STATS_FILE = "stats.json"

#: ``{block: {point: (description, bins)}}``; a point's full name is ``block.point``.
COVER_POINTS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "grad_lif": {
        "u_saturation": ("pre-reset membrane u at the top (pos) / bottom (neg) of mem_width",
                         ("pos", "neg")),
        "delta_saturation": ("delta at the top (pos) / bottom (neg) of delta_width",
                             ("pos", "neg")),
        "threshold_equal": ("u == threshold: no spike (strict compare), surrogate at its peak",
                            ("hit",)),
        "spike": ("a lane fires (u > threshold) / stays silent", ("fire", "silent")),
        "reset_mid_stream": ("rst while beats are in flight, then a clean checked chunk",
                             ("hit",)),
        "backpressure": ("valid & ~ready on each stream", ("i", "i_err", "o", "o_delta")),
    },
    "psum": {
        "sum_saturation": ("group sum at the top (pos) / bottom (neg) of acc_width",
                           ("pos", "neg")),
        "overflow": ("sticky overflow flag set in a group result", ("set",)),
        "group_length": ("groups of 1 beat and of the stimulus maximum (max_group) beats",
                         ("1", "max")),
        "reset_mid_stream": ("rst while beats are in flight, then a clean checked chunk",
                             ("hit",)),
        "backpressure": ("valid & ~ready on each stream", ("i", "o")),
    },
    "shift_add": {
        "psum_saturation": ("combined partial sum at the top (pos) / bottom (neg) of acc_width",
                            ("pos", "neg")),
        "overflow": ("overflow flag set in a result", ("set",)),
        "slice_code_extremes": ("a slice code at its maximum / minimum (differential mode: "
                                "+-(2**adc_bits - 1))", ("max", "min")),
        "reset_mid_stream": ("rst while beats are in flight, then a clean checked chunk",
                             ("hit",)),
        "backpressure": ("valid & ~ready on each stream", ("i", "o")),
    },
    "wgu": {
        "update_saturation": ("readout update at the top (pos) / bottom (neg) of out_width",
                              ("pos", "neg")),
        "overflow": ("sticky overflow flag set in a readout row", ("set",)),
        "readout": ("readout with clear-on-read / keeping the memory", ("clear", "keep")),
        "window_length": ("accumulation windows of 1 pair and of the stimulus maximum "
                          "(max_window) pairs", ("1", "max")),
        "reset_mid_stream": ("rst while beats are in flight, then a clean checked chunk",
                             ("hit",)),
        "backpressure": ("valid & ~ready on each stream", ("i", "i_cmd", "o")),
    },
    "pingpong": {
        "frame_length": ("frames of 1 word and of a full bank (depth/2 words)", ("1", "bank")),
        "bank_swap": ("a frame starts after the writer waited with both banks full / without "
                      "waiting", ("both_full", "no_wait")),
        "data_extremes": ("words at the bottom (min) / top (max) of the data range pass through",
                          ("min", "max")),
        "reset_mid_stream": ("rst while beats are in flight, then a clean checked chunk",
                             ("hit",)),
        "backpressure": ("valid & ~ready on each stream", ("i", "o")),
    },
}

#: Every transition of the tile controller's FSM (the ``m.next`` assignments of
#: ``rtl/tile/tile.py``, ``docs/rtl-tile.md`` "Controller FSM"); a reset adds ``* -> IDLE``.
TILE_TRANSITIONS = (
    "IDLE->CLEAR", "CLEAR->FWD_LOAD", "FWD_LOAD->FWD_REQ", "FWD_REQ->FWD_LOAD",
    "FWD_REQ->FWD_WAIT", "FWD_WAIT->BWD_ERR", "BWD_ERR->BWD_DELTA", "BWD_DELTA->BWD_WGU",
    "BWD_WGU->BWD_TREQ", "BWD_WGU->BWD_TWAIT", "BWD_TREQ->BWD_TWAIT", "BWD_TWAIT->BWD_ERR",
    "BWD_TWAIT->FWD_LOAD", "BWD_TWAIT->UPD_CMD", "UPD_CMD->UPD_WRITE", "UPD_WRITE->IDLE")
#: The tile controller's states (``rtl.tile.STATES``, repeated here so that the report can be
#: read without importing amaranth; a test checks that the two agree).
TILE_STATES = ("IDLE", "CLEAR", "FWD_LOAD", "FWD_REQ", "FWD_WAIT", "BWD_ERR", "BWD_DELTA",
               "BWD_WGU", "BWD_TREQ", "BWD_TWAIT", "UPD_CMD", "UPD_WRITE")
COVER_POINTS["tile"] = {
    "state": ("cycles in each controller state", TILE_STATES),
    "transition": ("each transition of the controller FSM", TILE_TRANSITIONS),
    "reset_mid_stream": ("rst in the forward / backward pass of a step, then a clean checked "
                       "step", ("forward", "backward")),
    "rule": ("checked steps without (dfa) and with (bp) error propagation", ("dfa", "bp")),
    "backpressure": ("valid & ~ready on each stream",
                     ("i_cmd", "i_spk", "i_err", "i_resp", "o_req", "o_spk", "o_err")),
}

_STATS: dict[str, dict[str, int]] = {}


def seed_offsets(config: dict) -> list[int]:
    """Return the seed offsets of a block's random test: two seeds by default (the pytest
    tier), ``config["seed_offsets"]`` when given (one seed for a replayable regression)."""
    return list(config.get("seed_offsets", [0, 1]))


def enabled() -> bool:
    """Whether this run collects coverage: ``$DFASIM_VERIFY_OUT`` names a folder for it."""
    return bool(os.environ.get(OUT_ENV, "").strip())


def _ignore(value: str, n: int = 1) -> None:
    return None


def cover_points(block: str) -> dict[str, Callable[[str, int], None]]:
    """Register the cover points of ``block`` and return ``{point: sample(bin, n=1)}``.

    Each point is a ``cocotb_coverage.coverage.CoverPoint`` named ``block.point`` whose bins
    are the strings of :data:`COVER_POINTS`; ``sample(bin, n)`` records ``n`` hits of ``bin``.
    Registering twice (a second test in the same simulator) returns samplers of the same
    points, so hits add up over the tests of one run. A run that does not collect coverage
    (:func:`enabled`, e.g. the pytest tier) gets samplers that do nothing, so it pays nothing.
    """
    if not enabled():
        return dict.fromkeys(COVER_POINTS[block], _ignore)
    from cocotb_coverage.coverage import CoverPoint

    samplers = {}
    for point, (_, bins) in COVER_POINTS[block].items():
        @CoverPoint(f"{block}.{point}", bins=list(bins))
        def hit(value):
            return None

        def sample(value: str, n: int = 1, _hit=hit, _bins=bins, _point=point) -> None:
            if value not in _bins:
                raise ValueError(f"{block}: {value!r} is not a bin of {_point!r}: {_bins}")
            for _ in range(n):
                _hit(value)
        samplers[point] = sample
    return samplers


async def backpressure_monitor(dut, streams: Iterable[str],
                               sample: Callable[[str, int], None]) -> None:
    """Sample ``sample(stream)`` in every cycle in which ``stream`` has ``valid & ~ready``.

    Runs forever (start it with ``cocotb.start_soon`` and cancel it at the end of the test).
    The signals are read in the read-only phase after the falling edge, i.e. the values the
    next rising edge samples, after every driver has written them. The hit count is the
    number of stalled cycles of the stream. Returns at once when the run collects no coverage
    (:func:`enabled`): the per-cycle reads are the monitor's whole cost.
    """
    from cocotb.triggers import FallingEdge, ReadOnly

    if not enabled():
        return

    ports = [(name, getattr(dut, f"{name}__valid"), getattr(dut, f"{name}__ready"))
             for name in streams]
    while True:
        await FallingEdge(dut.clk)
        await ReadOnly()
        for name, valid, ready in ports:
            if valid.value and not ready.value:
                sample(name)


@contextlib.contextmanager
def monitored(dut, streams: Iterable[str], sample: Callable[[str, int], None]):
    """Run :func:`backpressure_monitor` on ``streams`` (none: no monitor) for the body of a
    test; at its end (also a failing one) stop the monitor and :func:`export` the cumulative
    coverage."""
    import cocotb

    streams = tuple(streams)
    monitor = cocotb.start_soon(backpressure_monitor(dut, streams, sample)) if streams else None
    try:
        yield
    finally:
        if monitor is not None:
            monitor.cancel()
        export()


def count_values(values: Iterable, *targets: int) -> list[int]:
    """Return how many of the (nested lists of) ``values`` equal each of ``targets``."""
    counts = dict.fromkeys(targets, 0)
    stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif item in counts:
            counts[item] += 1
    return [counts[t] for t in targets]


def count_extremes(values: Iterable, width: int) -> tuple[int, int]:
    """Return how many of the (nested) ``values`` equal the top / bottom of ``width`` signed
    bits: the hits of a saturating output's ``pos`` and ``neg`` bins."""
    top, bottom = count_values(values, (1 << (width - 1)) - 1, -(1 << (width - 1)))
    return top, bottom


def record(test: str, *, vectors: int, cycles: int) -> None:
    """Add ``vectors`` checked vectors and ``cycles`` clock cycles to the statistics of
    ``test``."""
    entry = _STATS.setdefault(test, {"vectors": 0, "cycles": 0})
    entry["vectors"] += vectors
    entry["cycles"] += cycles


def export() -> Path | None:
    """Write the coverage database and the statistics into ``$DFASIM_VERIFY_OUT``, if set.

    Called at the end of every test (also a failing one), so the files always hold the
    cumulative state of the run; returns the folder, or ``None`` when nothing was asked for.
    """
    if not enabled():
        return None
    folder = os.environ[OUT_ENV].strip()
    from cocotb_coverage.coverage import coverage_db

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    coverage_db.export_to_yaml(str(out / COVERAGE_FILE))
    (out / STATS_FILE).write_text(json.dumps(_STATS, indent=1, sort_keys=True) + "\n")
    return out
