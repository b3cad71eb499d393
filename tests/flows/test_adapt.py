# SPDX-License-Identifier: MIT
"""Adaptation flow: end to end on a tiny network, resume after interruption, bad input."""
import json

import pytest
import torch

from dfasim.flows.adapt import AdaptConfig, adapt, summarise
from dfasim.flows.cli import main
from dfasim.flows.errors import DfasimError
from dfasim.models.analog_network import AnalogSNN


@pytest.fixture(scope="module")
def ckpt(small_checkpoint):
    return small_checkpoint


def _cfg(ckpt, **kw):
    base = dict(checkpoint=str(ckpt), chips=2, epochs=2, noise="crosssim",
                calibration_samples=16)
    return AdaptConfig(**{**base, **kw})


def _strip_times(res):
    return [[h["test_acc"] for h in c["adapt"][r]["history"]] + [c["nonideal_accuracy"]]
            for c in res["chips"] for r in res["rules"]]


def test_adapt_end_to_end(ckpt, tmp_path):
    res = adapt(_cfg(ckpt), tmp_path, progress=False)
    saved = json.loads((tmp_path / "adapt.json").read_text())
    assert saved["summary"] == res["summary"]
    assert len(res["chips"]) == 2 and res["feedback"].startswith("the checkpoint's own")
    for chip in res["chips"]:
        for rule in ("bp", "dfa"):
            hist = chip["adapt"][rule]["history"]
            assert [h["epoch"] for h in hist] == [1, 2]
            counts = chip["adapt"][rule]["epoch_counts"]
            assert counts  # activity of an adaptation epoch, for the cost roll-up
    finals = [c["adapt"]["dfa"]["history"][-1]["test_acc"] for c in res["chips"]]
    assert res["summary"]["dfa"]["mean"] == pytest.approx(sum(finals) / 2)
    # Deployment on noisy devices changes the network: the chips differ from each other.
    assert "nonideal" in summarise(res)


def test_same_seed_same_numbers_and_resume(ckpt, tmp_path, monkeypatch):
    full = adapt(_cfg(ckpt), tmp_path / "full", progress=False)
    real = AnalogSNN.evaluate
    calls = {"n": 0}

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:  # chip 0 deployed, bp done, dfa epoch 1 saved, then killed
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(AnalogSNN, "evaluate", flaky)
    with pytest.raises(KeyboardInterrupt):
        adapt(_cfg(ckpt), tmp_path / "cut", progress=False)
    assert (tmp_path / "cut" / "state" / "chip0-dfa.pt").exists()
    monkeypatch.setattr(AnalogSNN, "evaluate", real)
    resumed = adapt(_cfg(ckpt), tmp_path / "cut", progress=False)
    assert _strip_times(resumed) == _strip_times(full)


@pytest.mark.parametrize("kw,msg", [
    (dict(rules=["sgd"]), "rules must be"),
    (dict(chips=0), "chips must be positive"),
    (dict(noise="/nonexistent/model.pt"), "neither"),
    (dict(device="gpu"), "device must be cpu, cuda or cuda:N"),
])
def test_bad_adapt_config(ckpt, tmp_path, kw, msg):
    with pytest.raises(DfasimError, match=msg):
        adapt(_cfg(ckpt, **kw), tmp_path, progress=False)


def test_network_that_does_not_fit_the_chip(ckpt, tmp_path, capsys):
    rc = main(["adapt", "--checkpoint", str(ckpt), "--max-tiles", "1", "--noise", "crosssim",
               "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "max_tiles=1" in err


def test_bad_conductance_window(ckpt, tmp_path, capsys):
    rc = main(["adapt", "--checkpoint", str(ckpt), "--g-min", "10", "--g-max", "1",
               "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "g_min" in err and len(err.splitlines()) == 1


def test_noise_model_of_wrong_version(ckpt, tmp_path, capsys):
    from dfasim.models.rram.gpr import FORMAT
    bad = tmp_path / "noise.pt"
    torch.save({"format": FORMAT, "version": 99}, bad)
    rc = main(["adapt", "--checkpoint", str(ckpt), "--noise", str(bad),
               "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "version" in err and len(err.splitlines()) == 1, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has a GPU")
def test_cuda_without_gpu_is_one_line_before_any_work(ckpt, tmp_path, capsys):
    rc = main(["adapt", "--checkpoint", str(ckpt), "--device", "cuda", "--noise", "crosssim",
               "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "no CUDA GPU" in err
    assert not (tmp_path / "r").exists()


def test_resumed_state_moves_to_the_run_device(ckpt, tmp_path):
    # Saved states load onto the CPU; the run moves them to its device (here the CPU, which
    # checks that a resumed array knows where its tensors are).
    adapt(_cfg(ckpt, chips=1, epochs=1, rules=["dfa"]), tmp_path, progress=False)
    state = torch.load(tmp_path / "state" / "chip0-dfa.pt", map_location="cpu",
                       weights_only=False)
    assert all(m.device == torch.device("cpu") and m.q.device == m.device
               for m in [*state["snn"].layers, *state["feedback"]])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_adapt_on_cuda_matches_the_cpu_closely(ckpt, tmp_path):
    cpu = adapt(_cfg(ckpt, chips=1, epochs=2), tmp_path / "cpu", progress=False)
    gpu = adapt(_cfg(ckpt, chips=1, epochs=2, device="cuda"), tmp_path / "gpu", progress=False)
    # Same chips, same draws (CPU generators); only float reassociation differs, which can
    # flip an ADC code and with it a few test samples of this tiny network.
    for rule in ("bp", "dfa"):
        assert abs(gpu["summary"][rule]["mean"] - cpu["summary"][rule]["mean"]) < 0.1
    assert gpu["summary"]["nonideal"]["mean"] == pytest.approx(
        cpu["summary"]["nonideal"]["mean"], abs=0.1)
