# SPDX-License-Identifier: MIT
"""``dfasim adapt`` on a convolutional checkpoint: deployed as an AnalogNetwork, BP and DFA
adapted, the activity counted per output position and priced with the architecture."""
import pytest

from dfasim.flows import adapt as adapt_mod
from dfasim.flows import train as train_mod
from dfasim.flows.adapt import AdaptConfig, adapt
from dfasim.flows.config import NeuronConfig, TrainConfig
from dfasim.flows.cost import cost_report as run_cost
from dfasim.golden.architecture import Architecture
from dfasim.golden.networks import dvs_gesture_convnet
from dfasim.models.activity import ActivityCounters
from dfasim.models.chip import ChipConfig
from dfasim.models.cost.report import cost_report
from dfasim.models.cost.workload import activity_workload

from .fixtures import frames_dataset

TINY = dvs_gesture_convnet(input_shape=(2, 8, 8), n_classes=3, timesteps=4, channels=(4, 4),
                           hidden=16, vote_group=2, name="tiny-conv-adapt")


@pytest.fixture
def conv_ckpt(tmp_path, monkeypatch):
    frames_dataset(monkeypatch, TINY, 16, 8, (train_mod, adapt_mod))
    train_mod.train(TrainConfig(dataset="frames", layers="tiny-conv-adapt", rule="dfa", epochs=1,
                                batch_size=8, lr=1e-2, neuron=NeuronConfig(threshold=0.3)),
                    tmp_path / "pre", progress=False)
    return tmp_path / "pre" / "checkpoint.pt"


def test_adapt_a_convolutional_checkpoint(conv_ckpt, tmp_path):
    cfg = AdaptConfig(checkpoint=str(conv_ckpt), chips=1, epochs=1, noise="crosssim",
                      calibration_samples=8, batch_size=8)
    res = adapt(cfg, tmp_path / "run", progress=False)
    arch = Architecture.from_dict(res["architecture"])
    assert arch == TINY
    assert res["layers"] == [128, 4 * 8 * 8, 4 * 4 * 4, 16, 6]
    assert res["feedback"].startswith("the checkpoint's own")
    chip = res["chips"][0]
    counts = {r: ActivityCounters.from_dict(chip["adapt"][r]["epoch_counts"])
              for r in ("bp", "dfa")}
    # L0: one read per output position (8 x 8) per timestep and sample, all-zero patches
    # skipped; every neuron of the 4 x 8 x 8 map is updated each timestep.
    fwd = counts["dfa"].get("L0", "forward")
    assert 0 < fwd.reads <= 16 * 4 * 64 * 14 and fwd.lif_ops == 16 * 4 * 256
    assert counts["bp"].total("reads", layer="L1", phase="backward") > 0
    assert counts["dfa"].total("reads", layer="B0", phase="backward") > 0
    w = activity_workload(counts, res["layers"], 4, 8, architecture=arch)
    assert w.samples == pytest.approx(16)
    rep = cost_report(w, ChipConfig(), name="tiny-conv")
    assert rep["schemes"]["dfa"]["energy_pj"]["total"] > 0
    assert rep["schemes"]["bp"]["mapping"]["layers"]["L0"]["reads_per_timestep"] == 64
    # The cost flow reads the architecture from adapt.json, in both modes.
    for mode in ("activity", "dense"):
        report = run_cost(tmp_path / "run" / "adapt.json", mode=mode)
        assert report["schemes"]["bp"]["mapping"]["layers"]["L0"]["reads_per_timestep"] == 64
        assert report["network"]["architecture"]["name"] == "tiny-conv-adapt"
