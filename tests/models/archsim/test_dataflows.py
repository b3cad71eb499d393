# SPDX-License-Identifier: MIT
"""The four dataflows against schedules worked by hand (docs/simulator.md).

The tiny case: a 4-3-2 network, T = 3, batch 2, one copy of each layer and of B, with integer
durations (ns) chosen so that every contention shows:

    load 1, loss 1, proj 2
    layer 0: send 1, fwd 2, lif 1, glif 1, esend 1, wgu 1, write 2
    layer 1: send 1, fwd 1, lif 1, glif 1, tmvm 2, bsend 1, wgu 1, write 2

The comments below each test give the hand derivation; ``op(kind, layer, sample, t)`` is
``[start, end]`` of one operation.
"""
from __future__ import annotations

import numpy as np
import pytest

from dfasim.models.archsim import OpTimes, LayerTimes, simulate
from dfasim.models.chip import ChipConfig
from dfasim.models.cost import DenseSpec, dense_workload

LAYER0 = LayerTimes(send_ns=1, fwd_ns=2, lif_ns=1, glif_ns=1, tmvm_ns=0, bsend_ns=0,
                    esend_ns=1, wgu_ns=1, write_ns=2)
LAYER1 = LayerTimes(send_ns=1, fwd_ns=1, lif_ns=1, glif_ns=1, tmvm_ns=2, bsend_ns=1,
                    esend_ns=1, wgu_ns=1, write_ns=2)
TIMES = OpTimes(layers=(LAYER0, LAYER1), load_ns=1, loss_ns=1, proj_ns=2)


def tiny(dataflow: str, batches: int = 1, simulated_batches: int = 3):
    chip = ChipConfig().updated({"mapping.b_duplication": 1})
    spec = DenseSpec(layers=[4, 3, 2], timesteps=3, samples_per_epoch=2 * batches,
                     batch_size=2)
    return simulate(dense_workload(spec, chip), chip, dataflow, times=TIMES,
                    simulated_batches=simulated_batches)


def op(sim, kind, layer=-1, sample=-1, timestep=-1, batch=-1):
    """``[start, end]`` of the one operation matching the given fields."""
    schedule = sim.schedule
    mask = schedule.ops_of(kind)
    for name, value in (("layer", layer), ("sample", sample), ("timestep", timestep),
                        ("batch", batch)):
        if value >= 0:
            mask = mask & (getattr(schedule, name) == value)
    (index,) = np.flatnonzero(mask)
    return [float(schedule.start[index]), float(schedule.end[index])]


def test_forward_phase_by_hand():
    # Sample 0: load [0,1]; link0 sends t0..t2 at [1,2] [2,3] [3,4]; tile0 reads [2,4] [4,6]
    # [6,8]; lif0 [4,5] [6,7] [8,9]; layer 1 follows each lif0 by send 1, fwd 1, lif 1:
    # lif1 [7,8] [9,10] [11,12]; loss [12,13].
    # Sample 1 enters layer 0 when layer 0 has finished sample 0 (lif0 t2 ends at 9):
    # sends [9,10] [10,11] [11,12], reads [10,12] [12,14] [14,16], lif0 [12,13] [14,15]
    # [16,17]; layer 1: lif1 [15,16] [17,18] [19,20]; loss [20,21].
    sim = tiny("dfa")
    assert [op(sim, "fwd", 0, 0, t) for t in range(3)] == [[2, 4], [4, 6], [6, 8]]
    assert [op(sim, "lif", 1, 0, t) for t in range(3)] == [[7, 8], [9, 10], [11, 12]]
    assert op(sim, "loss", sample=0) == [12, 13]
    assert [op(sim, "send", 0, 1, t) for t in range(3)] == [[9, 10], [10, 11], [11, 12]]
    assert [op(sim, "lif", 0, 1, t) for t in range(3)] == [[12, 13], [14, 15], [16, 17]]
    assert [op(sim, "lif", 1, 1, t) for t in range(3)] == [[15, 16], [17, 18], [19, 20]]
    assert op(sim, "loss", sample=1) == [20, 21]


def test_dfa_by_hand():
    # Backward after the batch's forward (21): proj on the one B copy [21,23] [23,25]; errors
    # to layer 0 [23,24] [25,26]; GradLIF layer 0: sample 0 [24,27], sample 1 [27,30] (its
    # first step was ready at 26 but sample 0's last step, also ready, is older); layer 1 from
    # the loss at 21: sample 0 [21,24], sample 1 [24,27]. Update after 30: each layer's bank
    # accumulates 6 steps [30,36]; writes [36,38].
    sim = tiny("dfa")
    assert [op(sim, "proj", sample=s) for s in range(2)] == [[21, 23], [23, 25]]
    assert [op(sim, "glif", 0, 1, t) for t in (2, 1, 0)] == [[27, 28], [28, 29], [29, 30]]
    assert [op(sim, "glif", 1, 1, t) for t in (2, 1, 0)] == [[24, 25], [25, 26], [26, 27]]
    assert op(sim, "wgu", 0, 1, 0) == [35, 36]
    assert op(sim, "write", 0) == [36, 38] and op(sim, "write", 1) == [36, 38]
    assert sim.schedule_makespan_ns == 38


def test_bp_by_hand():
    # Layer 1 first: GradLIF sample 0 [21,24], sample 1 [24,27]; each step's transposed read
    # on the one tile copy: [22,24] [24,26] [26,28] (sample 0), [28,30] [30,32] [32,34]
    # (sample 1), each followed by its error on link 1, the last [34,35]. Layer 0 after that
    # barrier: [35,38] and [38,41]. Update on the one WGU bank (it holds one layer's
    # gradients), layer 1 first: [41,47], write 1 [47,49]; then layer 0 [49,55], write 0
    # [55,57].
    sim = tiny("bp")
    reads = [op(sim, "tmvm", 1, s, t) for s in range(2) for t in (2, 1, 0)]
    assert reads == [[22, 24], [24, 26], [26, 28], [28, 30], [30, 32], [32, 34]]
    assert op(sim, "bsend", 1, 1, 0) == [34, 35]
    assert [op(sim, "glif", 0, s, 0) for s in range(2)] == [[37, 38], [40, 41]]
    assert op(sim, "write", 1) == [47, 49] and op(sim, "write", 0) == [55, 57]
    assert op(sim, "wgu", 0, 0, 2) == [49, 50]
    assert sim.schedule_makespan_ns == 57


def test_pipelayer_by_hand():
    # Whole-sample stages: forward layer 0 T x (1 + 2 + 1) = 12, layer 1 T x 3 = 9; backward
    # layer 1 T x (1 + 2 + 1) = 12, layer 0 T x 1 = 3; WGU T x 1 = 3.
    # Sample 0: F0 [1,13], F1 [13,22], loss [22,23], B1 [23,35], B0 [35,38].
    # Sample 1: F0 [13,25]; F1 waits for the tile held by sample 0's transposed reads until
    # 35: [35,44]; loss [44,45]; B1 [45,57]; B0 [57,60]; WGU layer 0 [60,63]; writes: layer 1
    # [60,62], layer 0 [63,65]. The next batch waits for the update: it ends at 130.
    sim = tiny("pipelayer")
    assert op(sim, "fwd", 1, 1) == [35, 44]
    assert op(sim, "glif", 1, 1) == [45, 57]
    assert op(sim, "write", 1) == [60, 62] and op(sim, "write", 0) == [63, 65]
    assert sim.schedule_makespan_ns == 65
    assert tiny("pipelayer", batches=2).batch_end_ns == [65, 130]


def test_pipesdfa_by_hand():
    # Sample 0's backward starts at its loss (13) while sample 1 runs forward: proj [13,15],
    # error [15,16], GradLIF layer 0 [16,19] takes the neuron unit from sample 1's LIF (older
    # work wins the tie), so sample 1's lif0 t2 runs at [19,20]; layer 1 GradLIF [13,16]
    # delays sample 1's lif1 t0 to [16,17]. Sample 1: lif1 t2 [22,23], loss [23,24], proj
    # [24,26], error [26,27], GradLIF layer 0 [27,30], layer 1 [24,27]; WGU layer 0 ends 31,
    # layer 1 ends 28; writes: layer 1 [28,30], layer 0 [31,33].
    sim = tiny("pipesdfa")
    assert op(sim, "lif", 0, 1, 2) == [19, 20]
    assert op(sim, "lif", 1, 1, 0) == [16, 17]
    assert op(sim, "loss", sample=1) == [23, 24]
    assert op(sim, "write", 1) == [28, 30] and op(sim, "write", 0) == [31, 33]
    assert sim.schedule_makespan_ns == 33


def test_pipelines_order():
    # The three pipeline levels beat the phase-separated dataflows and PipeLayer here.
    spans = {flow: tiny(flow).schedule_makespan_ns
             for flow in ("bp", "dfa", "pipelayer", "pipesdfa")}
    assert spans == {"bp": 57, "dfa": 38, "pipelayer": 65, "pipesdfa": 33}


@pytest.mark.parametrize("dataflow", ["bp", "dfa", "pipelayer", "pipesdfa"])
def test_extrapolation_matches_full_simulation(dataflow):
    # Six batches: scheduled in full, and from three by the rule end(3) + 3 (end(3) - end(2)).
    full = tiny(dataflow, batches=6, simulated_batches=6)
    rule = tiny(dataflow, batches=6, simulated_batches=3)
    assert rule.simulated_batches == 3 and full.simulated_batches == 6
    assert rule.schedule_makespan_ns == pytest.approx(full.schedule_makespan_ns, rel=1e-9)
