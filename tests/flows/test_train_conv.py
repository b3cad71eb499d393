# SPDX-License-Identifier: MIT
"""``dfasim train`` with a convolutional named network on a sequence of frames."""
import pytest
import torch

from dfasim.flows import train as train_mod
from dfasim.flows.checkpoint import load_checkpoint
from dfasim.flows.config import NeuronConfig, TrainConfig
from dfasim.flows.errors import DfasimError
from dfasim.flows.evaluation import evaluate
from dfasim.golden import networks
from dfasim.golden.conv import SpikingNetwork
from dfasim.golden.networks import NamedArchitecture, dvs_gesture_convnet

from .fixtures import frames_dataset

TINY = dvs_gesture_convnet(input_shape=(2, 8, 8), n_classes=3, timesteps=4, channels=(4, 4),
                           hidden=16, vote_group=2, name="tiny-conv")


@pytest.fixture
def frames(monkeypatch):
    return frames_dataset(monkeypatch, TINY, 24, 12, (train_mod,))


def _cfg(**kw):
    return TrainConfig(**{**dict(dataset="frames", layers="tiny-conv", epochs=2, batch_size=8,
                                 lr=1e-2, neuron=NeuronConfig(threshold=0.3)), **kw})


@pytest.mark.parametrize("rule", ["bptt", "dfa", "sdfa"])
def test_conv_training_checkpoint_and_determinism(tmp_path, frames, rule):
    m = train_mod.train(_cfg(rule=rule), tmp_path / "a", progress=False)
    assert m["architecture"]["name"] == "tiny-conv" and m["timesteps"] == 4
    assert m["layers"] == [128, 4 * 8 * 8, 4 * 4 * 4, 16, 6]
    ckpt = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    assert isinstance(ckpt.model, SpikingNetwork)
    assert ckpt.model.architecture == TINY
    acc = evaluate(ckpt.model, torch.from_numpy(frames.x_test), torch.from_numpy(frames.y_test))
    assert acc == m["test_accuracy"]
    train_mod.train(_cfg(rule=rule), tmp_path / "b", progress=False)
    assert ((tmp_path / "a" / "checkpoint.pt").read_bytes()
            == (tmp_path / "b" / "checkpoint.pt").read_bytes())


def test_conv_resume_is_bit_identical(tmp_path, frames, monkeypatch):
    cfg = _cfg(rule="sdfa", epochs=3)
    train_mod.train(cfg, tmp_path / "full", progress=False)
    real = train_mod.evaluate
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "evaluate", flaky)
    with pytest.raises(KeyboardInterrupt):
        train_mod.train(cfg, tmp_path / "cut", progress=False)
    monkeypatch.setattr(train_mod, "evaluate", real)
    train_mod.train(cfg, tmp_path / "cut", progress=False)
    assert ((tmp_path / "cut" / "checkpoint.pt").read_bytes()
            == (tmp_path / "full" / "checkpoint.pt").read_bytes())


def test_authors_options_reach_the_rule(tmp_path, frames):
    neuron = NeuronConfig(leak=0.5, threshold=1.0, surrogate="atan", surrogate_width=2.0,
                          decay_input=True, fire="ge")
    m = train_mod.train(_cfg(rule="sdfa", epochs=1, neuron=neuron, mse_reduction="mean"),
                        tmp_path, progress=False)
    assert m["config"]["neuron"]["fire"] == "ge" and m["config"]["mse_reduction"] == "mean"
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt.model.spec.lif.decay_input and ckpt.model.spec.lif.fire == "ge"


def test_conv_network_that_does_not_fit_is_refused(tmp_path, frames, monkeypatch):
    other = dvs_gesture_convnet(input_shape=(2, 16, 16), n_classes=3, timesteps=4,
                                channels=(4,), hidden=8, vote_group=1, name="other")
    monkeypatch.setitem(networks.ARCHITECTURES, "other",
                        NamedArchitecture("other", other, "frames", "test"))
    with pytest.raises(DfasimError, match="inputs"):
        train_mod.train(_cfg(layers="other"), tmp_path, progress=False)
    with pytest.raises(DfasimError, match="timesteps"):
        train_mod.train(_cfg(timesteps=3), tmp_path, progress=False)
    with pytest.raises(DfasimError, match="mse_reduction"):
        train_mod.train(_cfg(mse_reduction="median"), tmp_path, progress=False)
    assert not any(tmp_path.iterdir())


def test_init_gain_scales_the_initial_weights(tmp_path, frames):
    a = train_mod.make_model(train_mod.network_spec(_cfg(), frames), torch.Generator(), 1.0)
    b = train_mod.make_model(train_mod.network_spec(_cfg(), frames), torch.Generator(), 3.0)
    for wa, wb in zip(a.weights, b.weights):
        assert torch.allclose(3.0 * wa, wb)
    with pytest.raises(DfasimError, match="init_gain"):
        train_mod.train(_cfg(init_gain=0.0), tmp_path, progress=False)


def test_command_line_takes_conv_networks_and_the_authors_options(monkeypatch, tmp_path):
    from dfasim.flows.cli import main

    seen = {}

    def fake_train(cfg, out, **kw):
        seen["cfg"] = cfg
        return {"dataset": cfg.dataset, "rule": cfg.rule, "layers": [1, 1], "timesteps": 30,
                "test_accuracy": 0.0, "n_test": 1,
                "architecture": {"name": cfg.layers}}

    monkeypatch.setattr(train_mod, "train", fake_train)
    argv = ["train", "--layers", "pipesdfa-dvsgesture-vgg11", "--rule", "sdfa", "--leak", "0.5",
            "--threshold", "1", "--surrogate", "atan", "--surrogate-width", "2",
            "--decay-input", "--fire", "ge", "--loss", "mse", "--mse-reduction", "mean",
            "--init-gain", "6", "--out", str(tmp_path)]
    assert main(argv) == 0
    cfg = seen["cfg"]
    assert cfg.layers == "pipesdfa-dvsgesture-vgg11" and cfg.mse_reduction == "mean"
    assert cfg.init_gain == 6.0
    lif = cfg.neuron.to_lif()
    assert (lif.leak, lif.threshold, lif.decay_input, lif.fire) == (0.5, 1.0, True, "ge")
    assert (lif.surrogate.name, lif.surrogate.width) == ("atan", 2.0)
    assert main(["train", "--fire", "geq", "--out", str(tmp_path)]) == 2
