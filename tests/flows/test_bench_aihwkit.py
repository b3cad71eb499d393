# SPDX-License-Identifier: MIT
"""``dfasim bench aihwkit``: the spread, the statistics and dfasim's side against hand values;
the aihwkit side itself only where an interpreter with aihwkit is named (slow tier)."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
import torch

from dfasim.flows.bench_aihwkit import (SETTINGS, Setting, bench_aihwkit, error_stats,
                                        layer_problem, run_dfasim, wan2022_programming_spread)
from dfasim.flows.cli import main


def test_spread_is_aihwkits_polynomial_by_hand():
    # sigma(g) = 0.348 + 16.030 x - 43.853 x^2 + 45.393 x^3 - 16.815 x^4, x = g / 40 µS.
    x = 20.0 / 40.0
    by_hand = 0.348 + 16.030 * x - 43.853 * x ** 2 + 45.393 * x ** 3 - 16.815 * x ** 4
    at_40 = 0.348 + 16.030 - 43.853 + 45.393 - 16.815
    _, std = wan2022_programming_spread().mean_std(torch.tensor([20.0, 40.0, 55.0]))
    assert std[0].item() == pytest.approx(by_hand, rel=1e-5)
    assert std[1].item() == pytest.approx(at_40, rel=1e-5)
    assert std[2].item() == pytest.approx(at_40, rel=1e-5)      # held past the fit's 40 µS
    _, doubled = wan2022_programming_spread(2.0).mean_std(torch.tensor([20.0]))
    assert doubled.item() == pytest.approx(2 * by_hand, rel=1e-5)


def test_error_stats_of_a_constant_offset():
    ideal = np.array([[3.0, -4.0], [0.0, 0.0]])            # rms = sqrt(25 / 4) = 2.5
    stats = error_stats(ideal + 0.5, ideal)
    assert stats["rel_rms"] == pytest.approx(0.5 / 2.5)
    assert stats["rel_bias"] == pytest.approx(0.5 / 2.5)
    assert stats["rel_p99_abs"] == pytest.approx(0.5 / 2.5)
    assert stats["correlation"] == pytest.approx(1.0)


def test_dfasim_without_spread_is_the_ideal_product():
    weights, spikes, errors = layer_problem(32, 48, seed=3, spike_rate=0.3)
    run = run_dfasim(Setting("programming", "ideal", noise_scale=0.0), weights, spikes, errors,
                     batch_rows=16, seed=3, g_min_us=1.0, g_max_us=40.0)
    # 16-bit levels: the level rounding alone, at most half a level of max|w| per weight.
    half_level = 0.5 * float(weights.abs().max()) / (2 ** 16 - 1)
    assert np.abs(run["weights"] - weights.numpy()).max() <= half_level * 1.001
    np.testing.assert_allclose(run["forward"], (spikes @ weights.t()).numpy(), atol=1e-4)
    np.testing.assert_allclose(run["backward"], (errors @ weights).numpy(), atol=1e-4)


def test_dfasim_programming_error_matches_the_spread_by_hand():
    weights, spikes, errors = layer_problem(64, 8, seed=1, spike_rate=0.2)
    run = run_dfasim(SETTINGS[0], weights, spikes, errors, batch_rows=8, seed=1,
                     g_min_us=1.0, g_max_us=40.0)
    # Each weight is a pair: G+ = g_min + 39 µS * max(w, 0) / max|w|, G- likewise for -w; the
    # pair's variance is sigma(G+)^2 + sigma(G-)^2, in weight units times (max|w| / 39 µS)^2.
    w = weights.numpy().astype(np.float64)
    w_max = np.abs(w).max()
    g_pos = 1.0 + 39.0 * np.clip(w, 0, None) / w_max
    g_neg = 1.0 + 39.0 * np.clip(-w, 0, None) / w_max

    def sigma(g):
        x = g / 40.0
        return 0.348 + 16.030 * x - 43.853 * x ** 2 + 45.393 * x ** 3 - 16.815 * x ** 4

    expected_var = np.mean(sigma(g_pos) ** 2 + sigma(g_neg) ** 2) * (w_max / 39.0) ** 2
    measured_var = np.mean((run["weights"] - w) ** 2)
    # 4096 pairs: the sample variance is within ~5 %; clamping at 0 µS trims a little.
    assert measured_var == pytest.approx(expected_var, rel=0.08)


def test_cli_without_aihwkit_writes_dfasims_side(tmp_path, capsys):
    rc = main(["bench", "aihwkit", "--size", "16", "--rows", "32", "--batch-rows", "16",
               "--out", str(tmp_path)])
    assert rc == 0
    res = json.loads((tmp_path / "bench_aihwkit.json").read_text())
    assert [r["tile"] for r in res["runs"]] == ["dfasim", "dfasim"]
    assert [r["setting"] for r in res["runs"]] == ["programming", "periphery"]
    assert "| programming | dfasim |" in (tmp_path / "bench_aihwkit.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--spike-rate", "0"], "spike rate must be in (0, 1]"),
    (["--aihwkit-python", "/nonexistent/python"], "cannot run the aihwkit interpreter"),
    (["--aihwkit-python", sys.executable, "--tiles", "cpp"], "the aihwkit side failed"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    try:
        import aihwkit  # noqa: F401
        if "--tiles" in args:
            pytest.skip("this interpreter has aihwkit, so its side would run")
    except ImportError:
        pass
    rc = main(["bench", "aihwkit", "--size", "8", "--rows", "8", "--out", str(tmp_path),
               *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and message in err[0]


@pytest.mark.slow
def test_programming_noise_agrees_with_aihwkit():
    """Both tools draw from the same sigma(G): output errors agree up to sampling."""
    python = os.environ.get("DFASIM_AIHWKIT_PYTHON")
    if not python:
        pytest.skip("set DFASIM_AIHWKIT_PYTHON to an interpreter that has aihwkit")
    res = bench_aihwkit(python=python, size=128, rows=1024, batch_rows=128, tiles=("torch",))
    runs = {(r["setting"], r["tile"]): r for r in res["runs"]}
    ours, theirs = runs["programming", "dfasim"], runs["programming", "aihwkit-torch"]
    assert ours["weight_rel_std"] == pytest.approx(theirs["weight_rel_std"], rel=0.05)
    for direction in ("forward", "backward"):
        assert ours[direction]["rel_rms"] == pytest.approx(theirs[direction]["rel_rms"],
                                                           rel=0.1)
