# SPDX-License-Identifier: MIT
"""``dfasim macro run``: a tiny end-to-end run on real N-MNIST and DVS clips, the golden network
bin for bin against the macro, bad parameters as one line with exit 2."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from dfasim.flows.cli import main
from dfasim.flows.macro import GoldenNetwork, clip_weights
from dfasim.models.macro import MacroConfig, PEConfig
from dfasim.models.macro.energy import COMPONENTS
from dfasim.models.macro.network import MacroNetwork

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _shared_events():
    from dfasim.flows.datasets import paths
    for d in paths.resolve_data_dirs():
        if (d / "events" / "nmnist_slayer" / "NMNISTsmall" / "1.bs2").is_file() and (
                d / "events" / "dvs128_clips_slayer" / "1.bs2").is_file():
            return d
    pytest.skip("shared/datasets/events (N-MNIST subset, DVS clips) is not beside this checkout")


def test_tiny_run_writes_the_report(tmp_path, capsys):
    _shared_events()
    out = tmp_path / "m"
    rc = main(["macro", "run", "--train-limit", "40", "--test-limit", "10", "--epochs", "1",
               "--bins", "12", "--hidden", "16", "--clips", "1", "--out", str(out), "--quiet"])
    assert rc == 0 and capsys.readouterr().out == ""
    res = json.loads((out / "macro.json").read_text())
    assert res["sizes"] == [578, 16, 10] and res["data"]["test"] == 10
    assert set(res["accuracy"]) == {"golden_software", "macro_software",
                                    "golden_hardware_aware", "macro_hardware_aware"}
    e = res["energy"]
    assert sum(e["split_percent"].values()) == pytest.approx(100.0)
    assert e["energy_j"] == pytest.approx(sum(e["components_j"][c] for c in COMPONENTS))
    # 12 input bins + 1 inter-layer bin of 100 ns + 20 ns settling.
    assert e["latency_s"] == pytest.approx(13 * 100e-9 + 20e-9)
    # The raster neuron spikes identically at k = 1 and k = 50,000 (times x k).
    assert res["raster"]["spikes"]["1"] == res["raster"]["spikes"]["50000"]
    assert res["raster"]["max_abs_difference_s"] < 1e-9
    (clip,) = res["clips"]["clips"]
    assert clip["clip"] == "1.bs2" and clip["latency_s"] == pytest.approx(302e-7 + 20e-9)
    assert res["clips"]["pes"] == 321
    assert (out / "raster.png").read_bytes()[:8] == PNG_MAGIC
    report = (out / "report.md").read_text()
    assert "| tia |" in report and "55.76" in report and "1.bs2" in report


@pytest.mark.parametrize("args,key", [(["--time-scale", "0"], "macro.time_scale"),
                                      (["--time-scale", "-5"], "macro.time_scale"),
                                      (["--c-mem", "0"], "macro.neuron.c_mem_f"),
                                      (["--levels", "40"], "macro.pe.levels"),
                                      (["--clips", "11"], "clips"),
                                      (["--hidden", "x"], "--hidden"),
                                      (["--dataset", "dvs_gesture", "--hidden", "64"],
                                       "--hidden")])
def test_bad_parameters_are_one_line(tmp_path, capsys, args, key):
    rc = main(["macro", "run", "--out", str(tmp_path), *args])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and key in err, err
    assert "levels" not in key or "at most 38 levels" in err


def test_golden_network_equals_the_macro_bin_for_bin():
    # Aligned refractory, ideal devices, the hardware-aware golden network evaluated with its
    # quantised weights: the macro's rasters equal the golden layers' in every bin and layer.
    torch.manual_seed(3)
    ideal = replace(PEConfig(), sigma_us=0.0, stuck_off_fraction=0.0, g_off_us=0.0)
    macro = replace(MacroConfig(), pe=ideal,
                    neuron=replace(MacroConfig().neuron, refractory="aligned"))
    sizes = (60, 24, 5)
    net = GoldenNetwork(sizes, macro, hardware=True, init_gain=6.0).double().eval()
    rng = np.random.default_rng(4)
    x = (rng.random((30, 3, 60)) < 0.15).astype(np.float64)
    spikes, h = [], torch.from_numpy(x)
    with torch.no_grad():
        for i, layer in enumerate(net.layers):
            layer.noisy = False
            s, _ = layer(h)
            spikes.append(s.numpy())
            h = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
    q = [np.clip(np.rint(np.clip(w, -1, 1) * 14), -14, 14) / 14 for w in net.weights()]
    run = MacroNetwork(q, macro, rng=0).run(x)
    assert spikes[0].sum() > 10 and spikes[1].sum() > 0
    for golden, chip in zip(spikes, run.counts):
        np.testing.assert_array_equal(golden, chip)
    with torch.no_grad():
        np.testing.assert_array_equal(net(torch.from_numpy(x)).numpy(), run.output_counts)


def test_clip_weights_are_the_stated_draw():
    w = clip_weights((800, 480, 120, 11), 8.0, seed=0)
    assert [a.shape for a in w] == [(480, 800), (120, 480), (11, 120)]
    assert np.abs(w[0]).max() <= 8 / np.sqrt(800)
    np.testing.assert_array_equal(w[2], clip_weights((800, 480, 120, 11), 8.0, 0)[2])


def test_dvs_gesture_path_on_a_precut_layout(tmp_path):
    # The command's DVS128 Gesture path (pad 6, 7 x 7 pool, 800-480-120-11), exercised on a
    # few random recordings in the pre-cut layout (the real dataset is not available offline).
    rng = np.random.default_rng(5)
    for split, trial, classes in (("Train", "user01_led", (0, 4, 10)),
                                  ("Test", "user25_led", (2, 7))):
        folder = tmp_path / f"ibmGesture{split}" / trial
        folder.mkdir(parents=True)
        for c in classes:
            n = 400
            ev = np.stack([rng.integers(0, 128, n), rng.integers(0, 128, n),
                           rng.integers(0, 2, n), np.sort(rng.uniform(0, 1450, n))], axis=1)
            np.save(folder / f"{c}.npy", ev.astype(np.float64))
    out = tmp_path / "out"
    rc = main(["macro", "run", "--dataset", "dvs_gesture", "--data-dir", str(tmp_path),
               "--bins", "6", "--epochs", "1", "--clips", "0", "--no-hardware-aware",
               "--out", str(out), "--quiet"])
    assert rc == 0
    res = json.loads((out / "macro.json").read_text())
    assert res["sizes"] == [800, 480, 120, 11] and res["pes"] == 321
    assert res["data"]["train"] == 3 and res["data"]["test"] == 2
    assert set(res["accuracy"]) == {"golden_software", "macro_software"} and "clips" not in res
