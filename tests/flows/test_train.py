# SPDX-License-Identifier: MIT
"""Train flow: determinism, resume after interruption, metrics and checkpoints."""
import json

import pytest
import torch

from dfasim.flows import train as train_mod
from dfasim.flows.checkpoint import load_checkpoint
from dfasim.flows.config import TrainConfig
from dfasim.flows.data_prep import prepare_data
from dfasim.flows.errors import DfasimError
from dfasim.flows.evaluation import evaluate

SMALL = dict(dataset="basic_motions", layers="6-24-4", epochs=3, batch_size=10)


def _cfg(**kw):
    return TrainConfig(**{**SMALL, **kw})


@pytest.mark.parametrize("rule", ["bptt", "dfa", "sdfa"])
def test_same_seed_same_checkpoint_bytes(tmp_path, rule):
    m1 = train_mod.train(_cfg(rule=rule), tmp_path / "a", progress=False)
    train_mod.train(_cfg(rule=rule), tmp_path / "b", progress=False)
    a = (tmp_path / "a" / "checkpoint.pt").read_bytes()
    assert a == (tmp_path / "b" / "checkpoint.pt").read_bytes()
    train_mod.train(_cfg(rule=rule, seed=1), tmp_path / "c", progress=False)
    assert a != (tmp_path / "c" / "checkpoint.pt").read_bytes()
    assert len(m1["history"]) == 3 and 0.0 <= m1["test_accuracy"] <= 1.0


def test_resume_after_interruption_is_bit_identical(tmp_path, monkeypatch):
    cfg = _cfg(rule="dfa", epochs=4)
    train_mod.train(cfg, tmp_path / "full", progress=False)

    real_evaluate = train_mod.evaluate
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # epochs 1 and 2 are saved, epoch 3 dies
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_mod, "evaluate", flaky)
    with pytest.raises(KeyboardInterrupt):
        train_mod.train(cfg, tmp_path / "cut", progress=False)
    state = torch.load(tmp_path / "cut" / "train_state.pt", weights_only=True)
    assert state["epoch"] == 2 and not (tmp_path / "cut" / "checkpoint.pt").exists()
    monkeypatch.setattr(train_mod, "evaluate", real_evaluate)
    m = train_mod.train(cfg, tmp_path / "cut", progress=False)
    assert [h["epoch"] for h in m["history"]] == [1, 2, 3, 4]
    assert ((tmp_path / "cut" / "checkpoint.pt").read_bytes()
            == (tmp_path / "full" / "checkpoint.pt").read_bytes())


def test_changed_config_in_same_dir_is_refused(tmp_path):
    train_mod.train(_cfg(epochs=1), tmp_path, progress=False)
    with pytest.raises(DfasimError, match="different configuration"):
        train_mod.train(_cfg(epochs=1, lr=0.1), tmp_path, progress=False)
    train_mod.train(_cfg(epochs=1, lr=0.1), tmp_path, overwrite=True, progress=False)


def test_outputs_and_checkpoint_roundtrip(tmp_path):
    m = train_mod.train(_cfg(rule="dfa"), tmp_path, progress=False)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test_accuracy"] == m["test_accuracy"]
    assert saved["layers"] == [6, 24, 4] and saved["timesteps"] == 100
    assert saved["checkpoint"] == "checkpoint.pt"      # relative to the run folder
    assert "[train]" in (tmp_path / "config.toml").read_text()
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ck.rule == "dfa" and sorted(ck.feedback) == ["B0"]
    data = prepare_data("basic_motions")
    acc = evaluate(ck.model, data.x_test, data.y_test)
    assert acc == pytest.approx(m["test_accuracy"])


@pytest.mark.parametrize("kw,msg", [
    (dict(layers="9-24-4"), "first layer has 9 inputs"),
    (dict(layers="6-24-5"), "dataset basic_motions has 4 classes"),
    (dict(timesteps=50), "sequence of 100 samples"),
    (dict(dataset="mnist-ish"), "mnist"),
    (dict(epochs=0), "epochs must be positive"),
])
def test_bad_training_input(tmp_path, kw, msg):
    with pytest.raises(DfasimError, match=msg):
        train_mod.train(_cfg(**kw), tmp_path, progress=False)


def test_bptt_learns_basic_motions(tmp_path):
    # The embedded default must actually be learnable by the reference network.
    m = train_mod.train(TrainConfig(dataset="basic_motions", layers="6-64-4", epochs=15,
                                    batch_size=10), tmp_path, progress=False)
    assert m["test_accuracy"] >= 0.85, m["history"]
