# SPDX-License-Identifier: MIT
"""The command line: success paths print results; bad input prints one line and exits 2."""
import pytest
import torch

from dfasim.flows.cli import main

TRAIN = ["train", "--dataset", "basic_motions", "--layers", "6-16-4", "--epochs", "1",
         "--batch-size", "20", "--quiet"]


def _one_line_error(capsys, rc, needle):
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("dfasim: error:") and needle in err, err


def test_train_and_evaluate(tmp_path, capsys):
    assert main(TRAIN + ["--rule", "sdfa", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and (tmp_path / "checkpoint.pt").exists()
    assert main(["evaluate", str(tmp_path / "checkpoint.pt")]) == 0
    assert "basic_motions: test accuracy" in capsys.readouterr().out


def test_unknown_dataset(tmp_path, capsys):
    _one_line_error(capsys, main(["train", "--dataset", "cifar", "--out", str(tmp_path)]),
                    "cifar")


def test_layers_do_not_fit(tmp_path, capsys):
    rc = main(TRAIN + ["--layers", "9-16-4", "--out", str(tmp_path)])
    _one_line_error(capsys, rc, "first layer has 9 inputs")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"\x80\x04not a zip"])
def test_corrupt_checkpoint(tmp_path, capsys, content):
    p = tmp_path / "checkpoint.pt"
    p.write_bytes(content)
    _one_line_error(capsys, main(["evaluate", str(p)]), "corrupt")


def test_foreign_checkpoint(tmp_path, capsys):
    p = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, p)
    _one_line_error(capsys, main(["evaluate", str(p)]), "not a dfasim")


def test_missing_checkpoint(tmp_path, capsys):
    _one_line_error(capsys, main(["evaluate", str(tmp_path / "nope.pt")]), "does not exist")


@pytest.mark.parametrize("text,needle", [
    ("[train\nrule = 1", "not valid TOML"),
    ("[train]\nwobble = 3\n", "unknown key 'wobble'"),
    ("[train]\nepochs = 'many'\n", "epochs"),
    ("[other]\n", "no [train] table"),
    ("[train]\n[train.neuron]\nleak = 2.0\n", "leak"),
])
def test_bad_config(tmp_path, capsys, text, needle):
    cfg = tmp_path / "run.toml"
    cfg.write_text(text)
    _one_line_error(capsys, main(["train", "--config", str(cfg), "--out", str(tmp_path)]),
                    needle)


def test_config_file_is_used(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[train]\ndataset = "basic_motions"\nlayers = "6-8-4"\nepochs = 1\n'
                   'rule = "dfa"\n')
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert "6-8-4" in capsys.readouterr().out
    assert 'rule = "dfa"' in (tmp_path / "r" / "config.toml").read_text()


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has a GPU")
def test_cuda_without_gpu(tmp_path, capsys):
    _one_line_error(capsys, main(TRAIN + ["--device", "cuda", "--out", str(tmp_path)]), "cuda")


def test_data_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "basic_motions" in out and "uci_har" in out


def test_bench_train_writes_throughput(tmp_path, capsys):
    out = tmp_path / "b.json"
    rc = main(["bench", "train", "--dataset", "basic_motions", "--rules", "dfa",
               "--batches", "1", "--batch-size", "4", "--out", str(out)])
    assert rc == 0 and "sample-timesteps/s" in capsys.readouterr().out
    import json
    res = json.loads(out.read_text())
    assert res["rules"]["dfa"]["sample_timesteps_per_second"] > 0


def test_adapt_epoch_flops_formula():
    from dfasim.flows.bench import adapt_epoch_flops
    # 2 layers 3-4-2, T=5, N=10: forward 2*5*10*(12+8) = 2000 per pass.
    assert adapt_epoch_flops([3, 4, 2], 5, 10, "dfa") == 2 * 2000 + 2 * 10 * 4 * 2
    assert adapt_epoch_flops([3, 4, 2], 5, 10, "bp") == 2 * 2000 + 2 * 5 * 10 * 8


def test_nan_in_data_is_one_line(tmp_path, capsys):
    from .fixtures import basic_motions_with_missing_value
    basic_motions_with_missing_value(tmp_path, "TRAIN")
    rc = main(TRAIN + ["--data-dir", str(tmp_path), "--out", str(tmp_path / "run")])
    _one_line_error(capsys, rc, "NaN")
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_rtl_verilog_command(tmp_path, capsys):
    assert main(["rtl", "verilog", "psum", "--param", "lanes=2", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "psum_accumulator.v").read_text().startswith("/*")
    rc = main(["rtl", "verilog", "grad_lif", "--param", "lanes=0", "--out", str(tmp_path)])
    _one_line_error(capsys, rc, "lanes")
