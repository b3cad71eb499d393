# SPDX-License-Identifier: MIT
"""The compiled level update (``models/crossbar/level_update.py``) against the tensor
operations it replaces: the same new levels, written devices, levels and counts, bit for bit."""
import copy

import pytest
import torch

from dfasim.models.chip import ChipConfig
from dfasim.models.crossbar import AnalogMatrix
from dfasim.models.crossbar import programming as programming_module
from dfasim.models.crossbar.level_update import level_update, level_update_applies
from dfasim.models.rram.noise import PolynomialSpread


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def programmed(mapping="differential", dtype=torch.float32, seed=0):
    cfg = ChipConfig().updated({"device.mapping": mapping})
    w = torch.randn(48, 70, generator=gen(seed), dtype=dtype)
    return AnalogMatrix.from_weight(w, cfg, PolynomialSpread(), gen(seed + 1), dtype=dtype)


def awkward_steps(shape, dtype, seed):
    """Level steps with exact ties, NaN, infinities and steps far outside the range."""
    dq = torch.randn(shape, generator=gen(seed), dtype=dtype) * 3
    flat = dq.view(-1)
    flat[:40] = torch.arange(-20, 20, dtype=dtype) + 0.5          # ties for nearest rounding
    flat[40:50] = torch.arange(-5, 5, dtype=dtype)                 # exact levels
    flat[50] = float("nan")
    flat[51] = float("inf")
    flat[52] = -float("inf")
    flat[53] = 1e30
    flat[54] = -1e12
    return dq


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("stochastic", [True, False])
def test_kernel_equals_the_tensor_operations(mapping, dtype, stochastic):
    m = programmed(mapping, dtype)
    dq = awkward_steps(m.shape, dtype, 3)
    u = torch.rand(m.shape, generator=gen(4), dtype=dtype) if stochastic else None
    if stochastic:
        u.view(-1)[60:70] = 1.0 - dq.view(-1)[60:70].frac()         # dq + u an integer: ties
    dev = m.chip.device
    lo, hi = dev.q_range
    assert level_update_applies(m.q, dq)
    fast = level_update(m.q, dq, u, lo, hi, dev.differential, dev.ref_level)
    ref = m._level_update(dq, u)
    for name in ("q_new", "index_a", "levels_a", "index_b", "levels_b"):
        assert torch.equal(getattr(fast, name), getattr(ref, name)), name
    assert (fast.clipped, fast.changed) == (ref.clipped, ref.changed)
    assert fast.clipped > 0 and fast.changed > 0                  # the corners were exercised
    assert int(fast.q_new.min()) >= lo and int(fast.q_new.max()) <= hi


def test_an_update_writes_what_the_tensor_path_writes(monkeypatch):
    """Whole updates, stochastic rounding, several in a row: the same conductances, levels,
    statistics and counters."""
    m = programmed(seed=5)
    ref = copy.deepcopy(m)
    deltas = [torch.randn(m.shape, generator=gen(10 + i)) * 2 * m.level_step for i in range(3)]
    fast_stats = [m.update(d) for d in deltas]
    monkeypatch.setattr(programming_module, "level_update_applies", lambda q, dq: False)
    ref_stats = [ref.update(d) for d in deltas]
    assert fast_stats == ref_stats
    assert torch.equal(m.q, ref.q)
    assert torch.equal(m.g_a, ref.g_a) and torch.equal(m.g_b, ref.g_b)
    assert m.counters.to_dict() == ref.counters.to_dict()


def test_a_zero_update_writes_nothing():
    m = programmed(seed=6)
    g_a, q = m.g_a.clone(), m.q.clone()
    stats = m.update(torch.zeros(m.shape), rounding="nearest")
    assert (stats.devices_written, stats.weights_changed, stats.clipped) == (0, 0, 0)
    assert torch.equal(m.g_a, g_a) and torch.equal(m.q, q)


def test_gpu_and_integer_tensors_take_the_tensor_path():
    q = torch.zeros(3, dtype=torch.int64)
    assert not level_update_applies(q, torch.zeros(3, dtype=torch.float16))
    assert not level_update_applies(q.to(torch.int32), torch.zeros(3))
    assert not level_update_applies(q, torch.zeros(3, device="meta"))
