# SPDX-License-Identifier: MIT
"""Golden-model regression of one RTL block outside pytest, with functional coverage.

:data:`REGRESSIONS` maps a block name to a :class:`RegressionSpec`: its component, HDL
parameters, cocotb testbench (:mod:`cosim.testbenches`), the environment variable that carries
the run's JSON configuration and how ``N`` vectors become that configuration. A new block is one
more entry. :func:`run_regression` emits and builds the block, runs every cocotb test of its
testbench with one seed (a random test of ``N`` vectors and a directed corner test: reset in
mid-stream, saturation, lengths), and returns the mismatches (one per failing test: a test stops
at its first), the coverage the simulator exported and the run's statistics. The command line
and the reports are in ``flows/rtl_verify.py``.
"""
from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from .errors import CosimError
from .runner import VERILATOR_MISSING, CocotbFailure, run_cocotb, verilator_bin
from .testbenches.coverage import COVER_POINTS, COVERAGE_FILE, OUT_ENV, STATS_FILE

__all__ = ["RegressionSpec", "REGRESSIONS", "run_regression", "read_coverage",
           "expected_points"]


def _component(cls_path: str) -> Callable[..., Any]:
    """Return a factory that imports ``module:Class`` only when a block is built (amaranth is
    not needed to list the registry)."""
    module, _, name = cls_path.partition(":")

    def build(**params):
        import importlib

        return getattr(importlib.import_module(module), name)(**params)
    return build


@dataclass(frozen=True)
class RegressionSpec:
    """How to run the golden-model regression of one block.

    Members
    -------
    module : str
        Verilog top-level module name.
    build : callable
        ``build(**hdl)`` returns the Amaranth component.
    hdl : dict
        HDL parameters of the regression build (constructor keywords).
    tb_module : str
        The cocotb testbench module.
    config_env : str
        Environment variable that carries the testbench's JSON configuration.
    config : callable
        ``config(dut, hdl, n)`` returns the testbench configuration for ``n`` random vectors
        from the built component ``dut`` and its HDL parameters (without the seed offsets,
        which :func:`run_regression` adds).
    unit : str
        What one vector is, for the report.
    default_vectors : int
        Random vectors of a default run.
    run : dict
        Stream settings added to the configuration: ``gap`` (probability of an input bubble)
        and ``stall`` (of an output stall), 20 % each as in the pytest tier.
    """

    module: str
    build: Callable[..., Any]
    hdl: Mapping[str, Any]
    tb_module: str
    config_env: str
    config: Callable[[Any, Mapping[str, Any], int], dict]
    unit: str
    default_vectors: int
    run: dict = field(default_factory=lambda: {"gap": 0.2, "stall": 0.2})


def _grad_lif_config(dut, hdl, n):
    steps = hdl["max_timesteps"]
    return {"lanes": hdl["lanes"], "max_timesteps": steps, "steps": steps,
            "samples": math.ceil(n / steps), "params": {}}


def _shift_add_config(dut, hdl, n):
    # The code width follows from the ADC width in differential mode: read it off the block.
    return {"lanes": dut.lanes, "slices": dut.slices, "slice_bits": dut.slice_bits,
            "code_width": dut.code_width, "acc_width": dut.acc_width, "adc_bits": dut.adc_bits,
            "beats": n}


#: The blocks ``dfasim rtl verify`` knows, at the HDL parameters of the paper's design point
#: (the first parameter set of each block's pytest entry).
REGRESSIONS: dict[str, RegressionSpec] = {
    "grad_lif": RegressionSpec(
        "grad_lif", _component("dfasim.rtl.neuron:GradLIF"),
        {"lanes": 16, "max_timesteps": 16}, "dfasim.cosim.testbenches.grad_lif",
        "GRADLIF_CONFIG", _grad_lif_config, "forward beats (each with a backward beat)", 2048),
    "psum": RegressionSpec(
        "psum_accumulator", _component("dfasim.rtl.accum:PsumAccumulator"),
        {"lanes": 16, "in_width": 16, "acc_width": 16}, "dfasim.cosim.testbenches.psum",
        "PSUM_CONFIG", lambda dut, hdl, n: {**hdl, "beats": n}, "input beats", 2048),
    "shift_add": RegressionSpec(
        "shift_adder", _component("dfasim.rtl.accum:ShiftAdder"),
        {"lanes": 16, "slices": 4, "slice_bits": 4, "adc_bits": 4, "acc_width": 16},
        "dfasim.cosim.testbenches.shift_add", "SHIFT_ADD_CONFIG", _shift_add_config,
        "input beats", 2048),
    "wgu": RegressionSpec(
        "wgu", _component("dfasim.rtl.wgu:WGU"),
        {"rows": 8, "cols": 16, "grad_width": 16, "delta_width": 8, "shift": 0,
         "out_width": 16, "rounding": "floor"}, "dfasim.cosim.testbenches.wgu", "WGU_CONFIG",
        lambda dut, hdl, n: {**hdl, "pairs": math.ceil(n / hdl["rows"])},
        "update beats (one row of a (t, b) pair)", 2048),
    "pingpong": RegressionSpec(
        "ping_pong_buffer", _component("dfasim.rtl.buffer:PingPongBuffer"),
        {"depth": 16, "width": 16, "signed": False}, "dfasim.cosim.testbenches.pingpong",
        "PINGPONG_CONFIG", lambda dut, hdl, n: {**hdl, "words": n}, "words", 2048),
}


def _tile_hdl() -> dict:
    """The hidden layer of the tile tests' network: 9 -> 8, two row groups, T = 8."""
    from ..golden.tile import TileParams

    return TileParams(n_in=9, n_out=8, timesteps=8, max_batch=4, rows=5,
                      threshold=3).hdl_kwargs()


REGRESSIONS["tile"] = RegressionSpec(
    "tile", _component("dfasim.rtl.tile:Tile"), _tile_hdl(), "dfasim.cosim.testbenches.tile",
    "TILE_VERIFY_CONFIG",
    lambda dut, hdl, n: {"params": dict(hdl), "timesteps_total": n, "batch": hdl["max_batch"]},
    "sample-timesteps (a step is max_batch samples x T, DFA and BP alternating)", 512,
    run={"stall": 0.25})


def expected_points(block: str) -> dict[str, tuple[str, ...]]:
    """Return ``{"block.point": bins}`` of every cover point the block's testbench samples."""
    return {f"{block}.{name}": bins for name, (_, bins) in COVER_POINTS.get(block, {}).items()}


def read_coverage(path: str | Path, block: str) -> dict[str, dict[str, int]]:
    """Read a ``coverage_db.export_to_yaml`` file back as ``{"block.point": {bin: hits}}``.

    Every point of :func:`expected_points` is present (with zero hits when the file lacks
    it, e.g. a simulator that crashed before the export); points in the file that are not
    expected are kept too.
    """
    import yaml

    path = Path(path)
    raw = yaml.safe_load(path.read_text()) if path.is_file() else None
    got: dict[str, dict[str, int]] = {}
    for name, entry in (raw or {}).items():
        bins = (entry or {}).get("bins:_hits")
        if bins is not None:
            got[name] = {str(k): int(v) for k, v in bins.items()}
    out = {name: {b: got.get(name, {}).get(b, 0) for b in bins}
           for name, bins in expected_points(block).items()}
    for name, bins in got.items():
        out.setdefault(name, bins)
    return out


_SEED = re.compile(r"\bseed=(\d+)")


def _failures(xml: Path) -> list[dict[str, Any]]:
    """One entry per failed or errored cocotb test in ``xml``: its name and first message."""
    out = []
    if not xml.is_file():
        return out
    for case in ElementTree.parse(xml).getroot().iter("testcase"):
        for tag in ("failure", "error"):
            for bad in case.findall(tag):
                message = " ".join((bad.get("message") or bad.text or "").split())
                m = _SEED.search(message)
                out.append({"test": case.get("name"), "kind": tag, "message": message,
                            "vector_seed": int(m.group(1)) if m else None})
    return out


def run_regression(block: str, *, vectors: int, sim: str, seed: int, build_dir: str | Path,
                   extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run the golden-model regression of ``block`` and return its raw result.

    Parameters
    ----------
    block : str
        A key of :data:`REGRESSIONS`.
    vectors : int
        Random vectors (the spec's ``unit``) of the random test; the directed corner test adds
        its own.
    sim : str
        ``"icarus"`` or ``"verilator"``.
    seed : int
        Stimulus seed of both tests (and cocotb's random seed).
    build_dir : str or Path
        Build directory (Verilog, simulator build, logs, ``results.xml``, coverage).
    extra : mapping, optional
        Further testbench configuration, e.g. ``{"inject_mismatch": k}`` (psum: corrupt the
        golden sum of group ``k``, to check that a mismatch is reported).

    Returns
    -------
    dict
        ``hdl``, ``config`` (the testbench configuration), ``failures`` (one per failed test:
        ``test``, ``kind``, ``message``, ``vector_seed``), ``crashed`` (the simulator ended
        without results), ``coverage`` (:func:`read_coverage`), ``stats`` (vectors and cycles
        per test), ``build_s`` and ``test_s``.
    """
    try:
        spec = REGRESSIONS[block]
    except KeyError:
        raise CosimError(f"unknown block {block!r}; choose from "
                         f"{', '.join(REGRESSIONS)}") from None
    if sim == "verilator" and verilator_bin() is None:
        # Checked before the block is built: a component never emitted warns when collected.
        raise CosimError(VERILATOR_MISSING)
    build_dir = Path(build_dir).resolve()
    out = build_dir / "verify"
    out.mkdir(parents=True, exist_ok=True)
    for name in (COVERAGE_FILE, STATS_FILE):
        (out / name).unlink(missing_ok=True)
    (build_dir / "results.xml").unlink(missing_ok=True)
    hdl = dict(spec.hdl)
    dut = spec.build(**hdl)
    config = {**spec.config(dut, hdl, vectors), **spec.run, "seed_offsets": [0], **(extra or {})}
    timings: dict[str, float] = {}
    crashed = None
    t0 = time.perf_counter()
    try:
        run_cocotb(dut, spec.module, spec.tb_module, sim=sim,
                   build_dir=build_dir, seed=seed, timings=timings, quiet=True,
                   env={spec.config_env: json.dumps(config), OUT_ENV: str(out)})
    except CocotbFailure as exc:
        if not (build_dir / "results.xml").is_file():
            crashed = " ".join(str(exc).split())
    wall = time.perf_counter() - t0
    stats_path = out / STATS_FILE
    stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    return {"hdl": hdl, "config": config, "failures": _failures(build_dir / "results.xml"),
            "crashed": crashed, "coverage": read_coverage(out / COVERAGE_FILE, block),
            "stats": stats, "build_s": timings.get("build_s"), "test_s": timings.get("test_s"),
            "wall_s": wall, "build_dir": str(build_dir)}
