# SPDX-License-Identifier: MIT
"""Bad input and interrupted writes: one test per failure class of the bad-input campaign."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dfasim.flows import noise as noise_flow
from dfasim.flows.adapt import AdaptConfig, adapt, load_noise_model
from dfasim.flows.cli import main
from dfasim.flows.config import TrainConfig
from dfasim.flows.cost import cost_report
from dfasim.flows.errors import DfasimError
from dfasim.flows.fileio import remove_stale_temporaries, write_json
from dfasim.flows.reproduce import ReproduceConfig, reproduce
from dfasim.flows.train import train
from dfasim.models.rram.gpr import GPRNoiseModel

from .fixtures import without_wall_times

TINY_TRAIN = dict(dataset="basic_motions", layers="6-8-4", epochs=1, batch_size=10)


def _one_line_error(capsys, needle: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfasim: error:") and "\n" not in err and "Traceback" not in err, err
    assert needle in err, err
    return err


def _tiny_reproduce(**adapt_kw) -> ReproduceConfig:
    cfg = ReproduceConfig(dataset="basic_motions")
    cfg.train = TrainConfig(**{**TINY_TRAIN, "epochs": 2})
    for key, value in {"chips": 2, "epochs": 1, "noise": "crosssim", "calibration_samples": 16,
                       **adapt_kw}.items():
        setattr(cfg.adapt, key, value)
    return cfg


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_binary_input_file_is_a_one_line_error(tmp_path, capsys):
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary, not text")
    for command in (["train", "--config", str(binary), "--out", str(tmp_path / "t")],
                    ["reproduce", "--config", str(binary), "--out", str(tmp_path / "r")]):
        assert main([*command, "--quiet"]) == 2
        _one_line_error(capsys, "not UTF-8 text")
    # `dfasim cost --adapt bin.json` reads its input through the same reader.
    with pytest.raises(DfasimError, match="not UTF-8 text") as err:
        cost_report(binary)
    assert len(str(err.value).splitlines()) == 1
    assert not (tmp_path / "t").exists() and not (tmp_path / "r").exists()


def test_sizes_that_cannot_fit_are_refused_before_allocating(tmp_path, capsys):
    # 10⁹ neurons in one layer: refused on memory, naming need and availability.
    with pytest.raises(DfasimError, match=r"too big: it needs about .* of memory, this "
                                          r"machine has .* available memory"):
        train(TrainConfig(**{**TINY_TRAIN, "layers": "6-1000000000-4"}), tmp_path / "big")
    # 10¹² timesteps of a static dataset, through the command line: one line, exit 2.
    assert main(["train", "--dataset", "digits", "--timesteps", "1000000000000", "--out",
                 str(tmp_path / "long"), "--quiet"]) == 2
    _one_line_error(capsys, "too big")
    # Adaptation on 10¹² chips: memory is fine, the compute is refused on time.
    ckpt_dir = tmp_path / "ckpt"
    train(TrainConfig(**TINY_TRAIN), ckpt_dir, progress=False)
    cfg = AdaptConfig(checkpoint=str(ckpt_dir / "checkpoint.pt"), chips=10 ** 12,
                      noise="crosssim")
    with pytest.raises(DfasimError, match=r"too long: .* at least .* years"):
        adapt(cfg, tmp_path / "adapt", progress=False)
    for refused in ("big", "long", "adapt"):
        assert not (tmp_path / refused).exists()


def test_unwritable_output_folder_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    # An --out that cannot be created (a file where a folder should be): refused before the fit.
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["noise", "fit", "neurram", "--out", str(blocker / "sub"), "--epochs", "1",
                 "--quiet"]) == 2
    _one_line_error(capsys, "cannot write to")

    # The folder becomes unwritable during the fit: one line, the earlier results stay as they
    # were, and no temporary is left behind.
    out = tmp_path / "noise" / "noise_neurram.pt"          # where --out DIR puts the model
    noise_flow.noise_fit("neurram", out, epochs=1, progress=False)
    before = {p: p.read_bytes() for p in sorted(out.parent.iterdir())}
    real_fit = GPRNoiseModel.fit.__func__

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    def fit_then_lock(cls, *args, **kwargs):
        model = real_fit(cls, *args, **kwargs)
        monkeypatch.setattr(os, "replace", denied)
        return model

    monkeypatch.setattr(GPRNoiseModel, "fit", classmethod(fit_then_lock))
    assert main(["noise", "fit", "neurram", "--out", str(out.parent), "--epochs", "1", "--seed",
                 "1", "--quiet"]) == 2
    _one_line_error(capsys, "Permission denied")
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in sorted(out.parent.iterdir())} == before


def test_rejected_run_leaves_no_trace_and_shows_the_real_error(tmp_path):
    bad = _tiny_reproduce()
    bad.train.layers = "9-8-4"
    out = tmp_path / "run"
    with pytest.raises(DfasimError, match="first layer has 9 inputs"):
        reproduce(bad, out, progress=False)
    assert not out.exists()
    with pytest.raises(DfasimError, match="neither one of"):
        reproduce(_tiny_reproduce(noise="missing.pt"), out, progress=False)
    assert not out.exists()
    # The corrected command is accepted in the same folder...
    reproduce(_tiny_reproduce(), out, progress=False)
    # ...and a bad request into a folder holding another run names its own error, not the
    # folder's "different configuration".
    with pytest.raises(DfasimError, match="first layer has 9 inputs"):
        reproduce(bad, out, progress=False)
    # The same for train and adapt.
    with pytest.raises(DfasimError, match="first layer has 9 inputs"):
        train(TrainConfig(**{**TINY_TRAIN, "layers": "9-8-4"}), tmp_path / "t")
    assert not (tmp_path / "t").exists()
    for kw, needle in ((dict(dataset="digits"), "does not fit dataset digits"),
                       (dict(noise="missing.pt"), "neither one of")):
        cfg = AdaptConfig(checkpoint=str(out / "train" / "checkpoint.pt"), noise="crosssim")
        for key, value in kw.items():
            setattr(cfg, key, value)
        with pytest.raises(DfasimError, match=needle):
            adapt(cfg, tmp_path / "a", progress=False)
        assert not (tmp_path / "a").exists()


def test_noise_model_without_report_is_completed_without_refitting(tmp_path):
    kw = dict(g_min=1.0, g_max=10.0, epochs=1, seed=0, progress=False)
    load_noise_model("neurram", tmp_path, **kw)
    model = tmp_path / "noise_neurram.pt"
    report, plot = noise_flow.report_paths(model)
    fitted = {p: p.read_bytes() for p in (model, report, plot)}
    stamp = model.stat().st_mtime_ns
    # Killed between the model and its report: only the model is on disk.
    report.unlink()
    plot.unlink()
    _, desc = load_noise_model("neurram", tmp_path, **kw)
    assert model.stat().st_mtime_ns == stamp                # not fitted again
    assert {p: p.read_bytes() for p in (model, report, plot)} == fitted
    assert desc == "GPR noise model noise_neurram.pt"       # relative to the run folder


def test_stale_temporaries_are_removed_live_ones_kept(tmp_path):
    dead = _dead_pid()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = tmp_path / f".results.json.tmp{dead}"
        live_other = tmp_path / f".results.json.tmp{sleeper.pid}"
        mine = tmp_path / f".other.json.tmp{os.getpid()}"
        nested = tmp_path / "adapt" / "state" / f".chip0.pt.tmp{dead}"
        nested.parent.mkdir(parents=True)
        for p in (stale, live_other, mine, nested):
            p.write_bytes(b"half")
        # Writing the same target again removes its stale temporaries only.
        write_json(tmp_path / "results.json", {"ok": True})
        assert not stale.exists() and live_other.exists() and nested.exists()
        # At run start the whole run folder is swept; live writers keep their files.
        assert remove_stale_temporaries(tmp_path) == [nested]
        assert live_other.exists() and mine.exists()
        # A train run sweeps its folder when it starts.
        (tmp_path / "t").mkdir()
        half = tmp_path / "t" / f".train_state.pt.tmp{dead}"
        half.write_bytes(b"half")
        train(TrainConfig(**TINY_TRAIN), tmp_path / "t", progress=False)
        assert not half.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_results_do_not_depend_on_the_run_folder(tmp_path):
    # A GPR noise model (fitted into the run folder) and two folders at different depths.
    cfg = _tiny_reproduce(noise="neurram", noise_epochs=1)
    a, b = tmp_path / "a", tmp_path / "deeper" / "b"
    reproduce(cfg, a, progress=False)
    reproduce(_tiny_reproduce(noise="neurram", noise_epochs=1), b, progress=False)
    assert (a / "results.json").read_bytes() == (b / "results.json").read_bytes()
    for name in ("report.md", "cost/cost.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    adapts = [without_wall_times(json.loads((d / "adapt" / "adapt.json").read_text()))
              for d in (a, b)]
    assert adapts[0] == adapts[1]
    assert adapts[0]["checkpoint"] == "../train/checkpoint.pt"
    for name in ("results.json", "report.md", "cost/cost.json", "adapt/adapt.json",
                 "train/metrics.json"):
        assert str(tmp_path) not in (a / name).read_text(), name
