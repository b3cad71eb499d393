# SPDX-License-Identifier: MIT
"""Shared pytest options and fixtures: waveform dumps, the stimulus seed, the cocotb tier."""
from __future__ import annotations

import shutil

import pytest

from dfasim.golden.stimulus import SEED_ENV, default_seed


def pytest_addoption(parser):
    parser.addoption("--waves", action="store_true", default=False,
                     help="dump waveforms (FST under Icarus) of cocotb runs into their "
                          "build/cocotb/<test> directory")


def pytest_collection_modifyitems(config, items):
    if shutil.which("iverilog") is not None:
        return
    skip = pytest.mark.skip(reason="cocotb tier needs Icarus Verilog: `iverilog` is not on "
                                   "PATH (apt-get install iverilog)")
    for item in items:
        if "cocotb" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def seed() -> int:
    """Stimulus seed: ``$DFASIM_SEED`` if set (replay a failure with it), else 0."""
    return default_seed()


def pytest_report_header(config):
    return f"stimulus seed: {default_seed()} (set {SEED_ENV} to change)"
