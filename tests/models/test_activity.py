# SPDX-License-Identifier: MIT
"""Activity counters: bookkeeping, merging, serialisation, and the network's digital counts."""
import json

import pytest
import torch

from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.models.activity import FIELDS, PHASES, UNITS, ActivityCounters, Counts, vector_bytes
from dfasim.models.analog_network import AnalogSNN, deploy_feedback
from dfasim.models.chip import ChipConfig
from dfasim.models.rram.noise import IdealDevice


def test_every_counter_has_a_unit():
    assert set(UNITS) == set(FIELDS)
    assert PHASES == ("deploy", "forward", "backward", "update")


def test_add_total_and_merge():
    a = ActivityCounters()
    a.add("L0", "forward", reads=3, adc_conversions=10)
    a.add("L0", "forward", reads=2)
    a.add("L1", "backward", reads=5, gradlif_ops=7)
    assert a.get("L0", "forward").reads == 5
    assert a.get("L9", "update") == Counts()
    assert a.total("reads") == 10
    assert a.total("reads", layer="L0") == 5 and a.total("reads", phase="backward") == 5
    b = ActivityCounters()
    b.add("L1", "backward", reads=1)
    b.add("B0", "backward", tile_bytes=12)
    c = a + b
    assert c.total("reads") == 11 and c.total("tile_bytes") == 12
    assert a.total("reads") == 10                           # + does not modify its operands
    a += b
    assert a == c
    assert c.layers == ["B0", "L0", "L1"] and c.phases == ["backward", "forward"]
    c.clear()
    assert c.total("reads") == 0
    with pytest.raises(ValueError, match="unknown counter 'energy'"):
        a.add("L0", "forward", energy=1)
    with pytest.raises(ValueError, match="unknown counter 'watts'"):
        a.total("watts")


def test_json_round_trip():
    a = ActivityCounters()
    a.add("L0", "forward", reads=3, buffer_read_bytes=7)
    a.add("L2", "update", write_pulses=4)
    text = a.to_json()
    data = json.loads(text)
    assert data["layers"]["L0"]["forward"]["reads"] == 3
    assert data["units"]["reads"].startswith("crossbar activations")
    assert ActivityCounters.from_json(text) == a
    assert ActivityCounters.from_dict(a.to_dict()) == a


def test_vector_bytes_are_byte_aligned():
    assert vector_bytes(128, 1) == 16 and vector_bytes(9, 1) == 2
    assert vector_bytes(9, 8) == 9 and vector_bytes(6, 16) == 12 and vector_bytes(0, 8) == 0


def test_network_digital_counts():
    layers, T, B = (5, 12, 3), 4, 6
    g = torch.Generator().manual_seed(0)
    model = SpikingMLP(NetworkSpec(layers, T), generator=g)
    with torch.no_grad():
        for w in model.weights:
            w.mul_(4.0)
    x = torch.randn(B, T, layers[0], generator=g)
    y = torch.randint(0, 3, (B,), generator=g)
    cfg = ChipConfig()
    snn = AnalogSNN.deploy(model, cfg, IdealDevice(), g, calibration=x)
    fb = deploy_feedback(model.spec, cfg, IdealDevice(), g, counters=snn.counters)
    snn.counters.clear()
    _, trace = snn.forward(x)
    c = snn.counters
    assert c.total("lif_ops") == T * B * (12 + 3)
    # Per sample-timestep: 12 16-bit partial sums (24 bytes) and 12 spikes (2 bytes); no
    # membranes are stored outside training.
    assert c.get("L0", "forward").buffer_write_bytes == T * B * (24 + 2)
    assert c.get("L1", "forward").tile_bytes == T * B * (2 + 1)   # 12 spikes in, 3 out
    c.clear()
    res = snn.dfa_step(x, y, fb, lr=0.01)
    assert c.total("gradlif_ops", phase="backward") == T * B * (12 + 3)
    macs = sum(m.n_out * int((s != 0).sum()) for m, s in zip(snn.layers, trace.inputs))
    assert c.total("wgu_macs", phase="update") == macs
    assert c.get("L0", "update").write_pulses == res.writes[0].write_pulses
    assert c.get("B0", "backward").reads > 0
