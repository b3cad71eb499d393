# SPDX-License-Identifier: MIT
"""``dfasim bench conv``: the real DVS clips become the epoch's frames; networks that do not take
2x128x128 frames are refused in one line."""
import pytest

from dfasim.flows.bench import bench_conv_epoch, dvs_clip_frames
from dfasim.flows.datasets.paths import Search
from dfasim.flows.errors import DfasimError

#: Events per clip, from shared/datasets/events/README.md.
CLIP_EVENTS = (63471, 84260, 113063, 151879, 181179, 124244, 159617, 101288, 141773, 85936)


@pytest.fixture(scope="module")
def clips_present():
    if Search("dvs128 clips").find("events/dvs128_clips_slayer") is None:
        pytest.skip("the DVS clips of shared/datasets/events are not available")


def test_clip_frames_hold_every_event(clips_present):
    frames = dvs_clip_frames(3)
    assert tuple(frames.shape) == (10, 3, 2, 128, 128)
    assert [int(f.sum()) for f in frames] == list(CLIP_EVENTS)


def test_only_networks_of_dvs_frames(clips_present):
    with pytest.raises(DfasimError, match=r"takes \(2312,\) inputs"):
        bench_conv_epoch("pipesdfa-nmnist-2fc", ["dfa"])
