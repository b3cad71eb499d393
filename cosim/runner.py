# SPDX-License-Identifier: MIT
"""Run cocotb testbenches on the Verilog of an Amaranth component from a pytest test."""
from __future__ import annotations

import os
import re
from pathlib import Path
from xml.etree import ElementTree

from .verilog import emit

__all__ = ["run_cocotb", "build_dir_for", "CocotbFailure"]


class CocotbFailure(AssertionError):
    """A cocotb run failed, errored or ran no test; the message lists the failing tests."""


def build_dir_for(request) -> Path:
    """Return ``<rootdir>/build/cocotb/<node id>``: one directory per pytest node.

    Parallel workers that emit different parameters must never share a build directory.
    """
    node = re.sub(r"[^\w.-]+", "-", request.node.nodeid).strip("-")
    return Path(request.config.rootpath) / "build" / "cocotb" / node


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


def run_cocotb(component, name: str, tb_module: str, request, *, sim: str = "icarus",
               env: dict | None = None, waves: bool | None = None, seed: int | None = None,
               testcase: str | None = None, build_args=()) -> Path:
    """Emit ``component`` as module ``name``, build it with ``sim`` and run ``tb_module``.

    Parameters
    ----------
    component : wiring.Component
        The design under test, emitted with :func:`cosim.verilog.emit` into the node's build
        directory (:func:`build_dir_for`).
    name : str
        Verilog top-level module name (snake_case block name).
    tb_module : str
        Importable module holding the ``@cocotb.test()`` coroutines.
    request : pytest.FixtureRequest
        The calling test's ``request``; it names the build directory and supplies ``--waves``.
    sim : str
        cocotb simulator name; ``"icarus"`` (default) or ``"verilator"``.
    env : dict, optional
        Extra environment variables for the simulator process (strings).
    waves : bool, optional
        Dump waveforms; ``None`` follows the ``--waves`` command-line option.
    seed : int, optional
        Exported as ``DFASIM_SEED`` (the stimulus seed) and used as cocotb's random seed.
    testcase : str, optional
        Run only this cocotb test (a name or a regular expression).
    build_args : sequence of str
        Extra simulator build arguments.

    Returns
    -------
    Path
        The results file, after checking that at least one test ran and none failed.

    Raises
    ------
    CocotbFailure
        A test failed or errored, the simulator crashed, or no test ran.
    """
    from cocotb_tools.runner import get_runner

    if waves is None:
        waves = bool(request.config.getoption("--waves", default=False))
    build_dir = build_dir_for(request)
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

    runner = get_runner(sim)
    runner.build(sources=[src], hdl_toplevel=name, build_dir=build_dir, always=True,
                 timescale=("1ns", "1ps"), waves=waves, build_args=list(build_args))
    xml = build_dir / "results.xml"
    test_kw = dict(hdl_toplevel=name, test_module=tb_module, build_dir=build_dir,
                   test_dir=build_dir, extra_env=extra_env, waves=waves,
                   results_xml=str(xml.resolve()), testcase=testcase, seed=seed,
                   timescale=("1ns", "1ps"))
    crashed = None
    try:
        runner.test(**test_kw)
    except SystemExit as exc:           # the runner exits on failures under pytest
        crashed = exc
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
