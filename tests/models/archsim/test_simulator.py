# SPDX-License-Identifier: MIT
"""One simulated epoch on the Table II chip: spills, energy lines, bad input, the pipelines'
order on the PipeSDFA networks, agreement with the analytical roll-up."""
from __future__ import annotations

import math

import pytest

from dfasim.golden.networks import NETWORKS, architecture_of
from dfasim.models.archsim import DATAFLOWS, simulate
from dfasim.models.chip import ChipConfig
from dfasim.models.cost import DenseSpec, dense_workload, evaluate
from dfasim.models.cost.area import area_model
from dfasim.models.cost.mapping import matrix_uses
from dfasim.models.cost.leakage import leakage_power_uw


def workload(layers, timesteps, samples, batch_size, chip):
    spec = DenseSpec(layers=list(layers), timesteps=timesteps, samples_per_epoch=samples,
                     batch_size=batch_size)
    return dense_workload(spec, chip)


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_small_state_fits_on_chip(dataflow):
    # 4-3-2, T = 3, batch 2: a few hundred bytes live at once, far below 16 KB + 4 KB tiles.
    chip = ChipConfig()
    sim = simulate(workload([4, 3, 2], 3, 4, 2, chip), chip, dataflow)
    assert sim.occupancy.spilled_bytes == 0
    assert sim.energy_pj["dram_spill"] == 0 and sim.dram_bytes["spill"] == 0
    assert 0 < sim.onchip_demand_bytes < 4096
    for name, peak in sim.buffer_peak_bytes.items():
        assert peak <= sim.buffer_capacity_bytes[name]


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_large_state_spills_and_pays_for_it(dataflow):
    # UCI-HAR's widths at T = 128: one sample's first-layer membranes alone are
    # 128 neurons x 128 timesteps x 2 bytes = 32 KB, beyond every buffer of Table II.
    chip = ChipConfig()
    sim = simulate(workload([9, 128, 64, 32, 6], 128, 8, 4, chip), chip, dataflow)
    assert sim.occupancy.spilled_bytes > 32 * 1024
    assert sim.spilled_bytes_by_kind["membrane"] > 0
    batches = 2
    per_batch = sim.occupancy.spilled_bytes / sim.simulated_batches
    # Written once and read back once, 8 bits a byte, 3.9 pJ/bit (NeuroSim HBM2).
    assert sim.dram_bytes["spill"] == pytest.approx(2 * per_batch * batches)
    assert sim.energy_pj["dram_spill"] == pytest.approx(2 * per_batch * batches * 8 * 3.9)


def test_spills_stop_at_the_reported_capacity():
    # A global buffer as large as the peak demand takes everything: no spill.
    chip = ChipConfig()
    work = workload([9, 128, 64, 32, 6], 32, 8, 4, chip)
    tight = simulate(work, chip, "dfa")
    assert tight.occupancy.spilled_bytes > 0
    roomy_kb = math.ceil(tight.onchip_demand_bytes / 1024) + 1
    roomy = chip.updated({"buffers.global_kb": float(roomy_kb)})
    assert simulate(work, roomy, "dfa").occupancy.spilled_bytes == 0


def test_energy_lines():
    chip = ChipConfig()
    work = workload([4, 3, 2], 3, 4, 2, chip)
    sim = simulate(work, chip, "dfa")
    rollup = evaluate(work, chip, "dfa")
    dynamic = sum(v for k, v in sim.energy_pj.items()
                  if k not in ("dram_dataset", "dram_spill", "leakage"))
    assert dynamic == pytest.approx(float(rollup.energy_total))
    # Dataset: 4 samples x (4 values x 3 timesteps x 8 bits + 8-bit label) x 3.9 pJ/bit.
    assert sim.energy_pj["dram_dataset"] == pytest.approx(4 * (4 * 3 * 8 + 8) * 3.9)
    # Leakage: the standby power of the allocated chip (µW) times the makespan (ns), 1e-3 pJ.
    power = leakage_power_uw(chip, sim.mapping, area_model(chip, sim.mapping))
    assert sim.energy_pj["leakage"] == pytest.approx(float(power["total"]) * sim.makespan_ns
                                                     * 1e-3)


def test_same_input_same_result():
    chip = ChipConfig()
    work = workload([9, 32, 6], 8, 12, 4, chip)
    first = simulate(work, chip, "pipesdfa").to_dict()
    assert simulate(work, chip, "pipesdfa").to_dict() == first


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_extrapolation_on_the_chip(dataflow):
    # Real durations (unequal, non-integer): six batches in full against three extrapolated.
    chip = ChipConfig()
    work = workload([9, 32, 16, 6], 6, 12, 2, chip)
    full = simulate(work, chip, dataflow, simulated_batches=6)
    rule = simulate(work, chip, dataflow)
    assert rule.schedule_makespan_ns == pytest.approx(full.schedule_makespan_ns, rel=1e-9)


def test_bad_input_is_one_line():
    chip = ChipConfig()
    work = workload([4, 3, 2], 3, 4, 2, chip)
    with pytest.raises(ValueError, match="dataflow must be one of bp, dfa, pipelayer, "
                                         "pipesdfa, not 'systolic'"):
        simulate(work, chip, "systolic")
    with pytest.raises(ValueError, match="buffers.tile_kb must be a positive number"):
        simulate(work, chip.updated({"buffers.tile_kb": -1.0}), "bp")
    big = workload([2312, 1000, 1000, 10], 10, 4, 2, chip)
    with pytest.raises(ValueError, match="needs 9 tiles for PipeSDFA .*hierarchy.max_tiles=2"):
        simulate(big, chip.updated({"hierarchy.max_tiles": 2}), "pipesdfa")
    with pytest.raises(ValueError, match="simulated_batches must be a positive integer"):
        simulate(work, chip, "bp", simulated_batches=0)


PIPESDFA_MLPS = ["pipesdfa-nmnist-2fc", "pipesdfa-nmnist-3fc", "pipesdfa-nmnist-4fc",
                 "pipesdfa-nmnist-5fc", "pipesdfa-shd", "pipesdfa-braille"]


@pytest.mark.parametrize("name", PIPESDFA_MLPS)
def test_pipesdfa_never_slower_than_pipelayer(name):
    network = NETWORKS[name]
    chip = ChipConfig()
    work = workload(network.layers, network.timesteps, 400, 16, chip)
    pipelayer = simulate(work, chip, "pipelayer", simulated_batches=2)
    pipesdfa = simulate(work, chip, "pipesdfa", simulated_batches=2)
    assert pipesdfa.makespan_ns <= pipelayer.makespan_ns


def test_agreement_with_the_rollup_uci_har():
    # Where the two models describe the same schedule (bp and dfa: phases separated by
    # barriers, the forward pipelined over the batch's vectors), the epoch agrees within 3 %
    # (measured: bp -1.0 %, dfa +1.8 %; docs/simulator.md explains the difference).
    network = NETWORKS["uci_har"]
    chip = ChipConfig()
    work = workload(network.layers, network.timesteps, 7352, 50, chip)
    for scheme in ("bp", "dfa"):
        sim = simulate(work, chip, scheme, simulated_batches=2)
        rollup = float(evaluate(work, chip, scheme).latency_total)
        assert sim.schedule_makespan_ns == pytest.approx(rollup, rel=0.03)


@pytest.mark.parametrize("name", ["pipesdfa-dvsgesture-convnet", "pipesdfa-dvsgesture-vgg11"])
def test_convolutional_networks(name):
    # Convolutions are im2col matrices read once per output position; SDFA's one feedback
    # matrix projects onto the widest neuron map, so the B tiles must hold it (b_tiles set).
    chip = ChipConfig().updated({"mapping.b_tiles": 1024})
    spec = DenseSpec(layers=[1, 1], timesteps=4, samples_per_epoch=32, batch_size=8,
                     architecture=architecture_of(name))
    work = dense_workload(spec, chip)
    pipelayer = simulate(work, chip, "pipelayer")
    pipesdfa = simulate(work, chip, "pipesdfa")
    assert pipesdfa.makespan_ns <= pipelayer.makespan_ns
    # Convolutions have many output positions per timestep, each a read of its matrix.
    uses = matrix_uses(work.layers, work.architecture)
    assert uses[0].positions > 1
    assert pipesdfa.onchip_demand_bytes > 0 and pipesdfa.occupancy.spilled_bytes > 0


def test_feedback_matrix_folded_onto_rows():
    # B of 524,288 x 11 (the ConvNet's first map): 256 // 11 = 23 row groups of 11 rows per
    # crossbar; 524,288 / 128 differential outputs = 4,096 column blocks -> ceil(4096 / 23) =
    # 179 crossbars instead of 4,096, and a projection reads the 23 groups in turn.
    chip = ChipConfig().updated({"mapping.b_tiles": 12})   # 12 x 16 = 192 crossbars >= 179
    spec = DenseSpec(layers=[1, 1], timesteps=2, samples_per_epoch=4, batch_size=2,
                     architecture=architecture_of("pipesdfa-dvsgesture-convnet"))
    work = dense_workload(spec, chip)
    sim = simulate(work, chip, "pipesdfa")
    assert sim.mapping.b_crossbars == [179.0] and sim.mapping.b_dup == 1.0
    # The 23 row groups are read one after the other, each a bit-serial 8-bit error
    # (2 x 7 planes) of 10 ns read pulse + 256 columns / 32 ADCs x 5 ns conversions:
    # 23 x 14 x (10 + 8 x 5) = 16,100 ns.
    assert sim.times.proj_ns == pytest.approx(23 * 14 * (10 + 8 * 5))
    with pytest.raises(ValueError, match="SDFA feedback matrix needs 179 crossbars"):
        simulate(work, chip.updated({"mapping.b_tiles": 11}), "pipesdfa")


def test_write_verify_lengthens_the_write():
    # Dense counts: 1 % of the 4 x 3 x 2 devices of W_0 per batch = 0.24 pulses -> 1 pulse of
    # 50 ns on its one crossbar. The verify reads the counts hold are priced at a cell read
    # (10 ns pulse) plus a 4-bit conversion (5 ns) each.
    chip = ChipConfig()
    work = workload([4, 3, 2], 3, 4, 2, chip)
    plain = simulate(work, chip, "dfa")
    assert plain.times.layers[0].write_ns == pytest.approx(50)
    cells = work.counts["dfa"][("L0", "update")]
    cells["verify_reads"] = 2 * 3.0       # 3 verify reads per batch, 2 batches
    verified = simulate(work, chip, "dfa")
    assert verified.times.layers[0].write_ns == pytest.approx(50 + 3 * (10 + 5))
