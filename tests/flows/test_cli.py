# SPDX-License-Identifier: MIT
"""The command line: success paths print results; bad input prints one line and exits 2."""
import argparse
import importlib.metadata
import json
import subprocess
import sys

import pytest
import torch

from dfasim.golden.options import TRAINING_RULES

from dfasim.flows.cli import build_parser, main
from dfasim.flows.cli import data as data_command
from dfasim.flows.datasets import DatasetError
from dfasim.flows.errors import DfasimError
from dfasim.golden import options

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


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has a GPU")
@pytest.mark.parametrize("action", [["gpu"], ["adapt", "--device", "cuda"]])
def test_gpu_benchmarks_without_gpu(tmp_path, capsys, action):
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(b"")
    _one_line_error(capsys, main(["bench", *action, "--checkpoint", str(ckpt),
                                  "--out", str(tmp_path / "b")]), "cuda")
    assert not (tmp_path / "b").exists()


def test_gpu_table_from_the_figures():
    from dfasim.flows.cli.bench import gpu_table

    def train(rate):
        return {"rules": {r: {"sample_timesteps_per_second": rate} for r in TRAINING_RULES}}

    def adapt(seconds):
        return {"rules": {r: {"seconds_per_epoch": seconds} for r in ("dfa", "bp")}}

    res = {"cpu": "x86_64", "gpu": "Card", "torch_threads": 2, "torch": "2.x",
           "dataset": "uci_har", "train": {"cpu": train(1000.0), "cuda": train(8000.0)},
           "adapt": {"cpu": adapt(6.0), "cuda": adapt(1.5)},
           "speedup": {"train": {r: 8.0 for r in TRAINING_RULES},
                       "adapt": {"dfa": 4.0, "bp": 4.0}}}
    table = gpu_table(res)
    assert "GPU: Card" in table
    assert "| adapt (s/epoch) | dfa | 6.00 | 1.50 | 4.0x |" in table
    assert "| train (sample-timesteps/s) | dfa | 1,000 | 8,000 | 8.0x |" in table


def test_data_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "basic_motions" in out and "uci_har" in out


def test_bench_train_writes_throughput(tmp_path, capsys):
    rc = main(["bench", "train", "--dataset", "basic_motions", "--rules", "dfa",
               "--batches", "1", "--batch-size", "4", "--out", str(tmp_path)])
    assert rc == 0 and "sample-timesteps/s" in capsys.readouterr().out
    import json
    res = json.loads((tmp_path / "bench_train.json").read_text())
    assert res["rules"]["dfa"]["sample_timesteps_per_second"] > 0


def test_bench_adapt_profile_lists_the_costliest_functions(small_checkpoint, tmp_path, capsys):
    rc = main(["bench", "adapt", "--checkpoint", str(small_checkpoint), "--batch-size", "20",
               "--profile", "6", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    import json
    res = json.loads((tmp_path / "bench_adapt.json").read_text())
    for rule in ("dfa", "bp"):
        rows = res["rules"][rule]["profile"]
        assert len(rows) == 6
        own = [r["own_s"] for r in rows]
        assert own == sorted(own, reverse=True) and own[0] > 0
        assert all(r["calls"] >= 1 and r["cumulative_s"] >= r["own_s"] for r in rows)
        assert rows[0]["function"] in out


def test_bench_adapt_repeats_report_the_median(small_checkpoint, tmp_path, capsys):
    import json
    import statistics

    rc = main(["bench", "adapt", "--checkpoint", str(small_checkpoint), "--batch-size", "20",
               "--repeats", "3", "--out", str(tmp_path)])
    assert rc == 0 and "median of 3" in capsys.readouterr().out
    res = json.loads((tmp_path / "bench_adapt.json").read_text())
    for rule in ("dfa", "bp"):
        entry = res["rules"][rule]
        assert len(entry["epoch_seconds"]) == 3 and min(entry["epoch_seconds"]) > 0
        assert entry["seconds_per_epoch"] == statistics.median(entry["epoch_seconds"])
        assert entry["achieved_flops"] == entry["epoch_flops"] / entry["seconds_per_epoch"]


def test_bench_adapt_needs_one_repeat_at_least(small_checkpoint):
    from dfasim.flows.bench import bench_adapt
    from dfasim.flows.errors import DfasimError

    with pytest.raises(DfasimError, match="repeats must be at least 1"):
        bench_adapt(str(small_checkpoint), ["dfa"], repeats=0)


def test_bench_adapt_profile_must_be_positive(small_checkpoint, tmp_path, capsys):
    rc = main(["bench", "adapt", "--checkpoint", str(small_checkpoint), "--profile", "0",
               "--out", str(tmp_path)])
    _one_line_error(capsys, rc, "--profile: must be a positive integer")
    assert not (tmp_path / "bench_adapt.json").exists()


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


def test_train_takes_a_named_network(tmp_path, capsys):
    assert main(TRAIN + ["--layers", "basic_motions", "--out", str(tmp_path)]) == 0
    assert "6-256-128-64-4" in capsys.readouterr().out


def test_rtl_synth_bad_parameter_is_one_line_before_any_banner(tmp_path, capsys):
    rc = main(["rtl", "synth", "grad_lif", "--param", "lanes=0", "--out", str(tmp_path)])
    _one_line_error(capsys, rc, "lanes")


# --- the parser tree: fast to build, every action self-described, registry-derived choices ---

LEAF_COMMANDS = {
    "train", "evaluate", "data list", "adapt", "noise fit", "noise show", "rtl verilog",
    "rtl synth", "rtl verify", "bench train", "bench conv", "bench adapt", "bench gpu",
    "bench noise", "bench rtl", "bench simulate", "bench aihwkit", "cost adapt", "cost network",
    "cost table1", "cost sweep",
    "simulate", "reproduce", "nir export", "nir import", "macro run",
    "explore"}


def _parsers(parser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


def _leaves() -> dict[str, argparse.ArgumentParser]:
    return {" ".join(path): p for path, p in _parsers(build_parser())
            if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)}


def _option(parser, name):
    (action,) = [a for a in parser._actions if name in a.option_strings or a.dest == name]
    return action


def test_building_the_parser_imports_no_heavy_module():
    code = ("import sys\nfrom dfasim.flows.cli import build_parser, main\nbuild_parser()\n"
            "assert main(['--help']) == 0\n"
            "print([m for m in ('torch', 'gpytorch', 'matplotlib', 'amaranth', 'numpy') "
            "if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_the_command_tree():
    assert set(_leaves()) == LEAF_COMMANDS
    for name, parser in _leaves().items():
        assert callable(parser.get_default("handler")), name


def test_every_command_and_option_has_help():
    missing = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest for a in action._choices_actions if a.help}
                missing += [" ".join(path + (n,)) for n in action.choices if n not in helped]
            elif not action.help:
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings)}"
                               f"{action.dest}")
    assert not missing


def test_each_action_has_only_its_own_options():
    opts = {name: {o for a in p._actions for o in a.option_strings}
            for name, p in _leaves().items()}
    assert opts["bench noise"] == {"-h", "--help", "--out"}
    assert "--checkpoint" not in opts["bench train"] | opts["bench rtl"]
    assert "--sims" not in opts["bench train"] and "--dataset" not in opts["bench rtl"]
    assert "--mode" not in opts["cost network"] and "--random" in opts["cost sweep"]
    assert opts["noise show"] == {"-h", "--help"}
    for name in LEAF_COMMANDS - {"evaluate", "data list", "noise show"}:
        assert "--out" in opts[name], name


def test_choices_come_from_the_registries():
    from dfasim.flows.datasets.registry import DATASETS
    from dfasim.flows.rtl import BLOCKS

    leaves = _leaves()
    train = leaves["train"]
    assert tuple(_option(train, "--dataset").choices) == tuple(DATASETS)
    for flag, names in (("--rule", options.TRAINING_RULES), ("--loss", options.LOSSES),
                        ("--readout", options.READOUTS), ("--neuron", options.NEURON_MODELS),
                        ("--reset", options.RESETS), ("--dfa-error", options.DFA_ERRORS),
                        ("--surrogate", options.SURROGATE_NAMES)):
        assert _option(train, flag).choices is names
    for name in ("rtl verilog", "rtl synth"):
        assert tuple(_option(leaves[name], "block").choices) == tuple(BLOCKS)
    assert _option(leaves["adapt"], "--lr-schedule").choices is options.LR_SCHEDULES
    assert _option(leaves["adapt"], "--rules").type.names is options.ADAPT_RULES


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dfasim {importlib.metadata.version('dfasim')}"


@pytest.mark.parametrize("argv,needle", [
    ([], "COMMAND"),
    (["bench"], "ACTION"),
    (["bench", "noise", "--dataset", "uci_har"], "unrecognized arguments: --dataset"),
    (["cost", "--adapt", "adapt.json"], "invalid choice: 'adapt.json'"),
    (["train", "--rule", "backprop"], "invalid choice: 'backprop'"),
    (["train", "--layers", "9,x"], "layer sizes joined by dashes"),
    (["cost", "network", "resnet"], "layer sizes joined by dashes"),
    (["adapt", "--rules", "bp,sgd"], "unknown adaptation rule 'sgd'"),
    (["cost", "sweep", "--random", "0"], "positive integer"),
    (["rtl", "verilog", "alu"], "invalid choice: 'alu'"),
])
def test_usage_errors_are_one_line(capsys, argv, needle):
    _one_line_error(capsys, main(argv), needle)


# --- the one error boundary ----------------------------------------------------------------

@pytest.mark.parametrize("exc", [
    ValueError("bad value\nsecond line"), TypeError("bad type"), OSError("disk full"),
    FileNotFoundError(2, "No such file or directory", "x.toml"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    json.JSONDecodeError("Expecting value", "{", 1), DfasimError("bad input"),
    DatasetError("dataset files missing"),
])
def test_user_errors_from_any_layer_are_one_line(monkeypatch, capsys, exc):
    def fail(args):
        raise exc

    monkeypatch.setattr(data_command, "run_list", fail)
    _one_line_error(capsys, main(["data", "list"]), str(exc).splitlines()[0])


def test_cosim_errors_are_one_line(monkeypatch, capsys):
    from dfasim.cosim.errors import CosimError

    def fail(args):
        raise CosimError("simulator crashed")

    monkeypatch.setattr(data_command, "run_list", fail)
    _one_line_error(capsys, main(["data", "list"]), "simulator crashed")


def test_debug_shows_the_traceback(monkeypatch):
    def fail(args):
        raise ValueError("bad value")

    monkeypatch.setattr(data_command, "run_list", fail)
    monkeypatch.setenv("DFASIM_DEBUG", "1")
    with pytest.raises(ValueError, match="bad value"):
        main(["data", "list"])


def test_bugs_are_not_hidden(monkeypatch):
    def fail(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(data_command, "run_list", fail)
    with pytest.raises(RuntimeError):
        main(["data", "list"])


def test_interrupt(monkeypatch, capsys):
    def fail(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data_command, "run_list", fail)
    assert main(["data", "list"]) == 130
    assert "interrupted" in capsys.readouterr().err
