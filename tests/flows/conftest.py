# SPDX-License-Identifier: MIT
"""Fixtures shared by the flow tests."""
import pytest

from dfasim.flows import train as train_mod
from dfasim.flows.config import TrainConfig


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory):
    """A 6-16-4 network trained with DFA for 3 epochs on BasicMotions (the adaptation tests'
    starting point), trained once per test session."""
    out = tmp_path_factory.mktemp("pre")
    train_mod.train(TrainConfig(dataset="basic_motions", rule="dfa", layers="6-16-4", epochs=3),
                    out, progress=False)
    return out / "checkpoint.pt"
