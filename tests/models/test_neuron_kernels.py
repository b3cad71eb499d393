# SPDX-License-Identifier: MIT
"""The compiled neuron and ADC kernels of the adaptation loop against the tensor operations they
replace: the same bits, NaN, infinities and exact ties included, and the golden functions where
a kernel does not apply."""
import pytest
import torch

from dfasim.golden.lif import LIFConfig, lif_forward
from dfasim.golden.surrogate import Surrogate
from dfasim.models.analog_network import _count_nonzero
from dfasim.models.neuron_kernels import kernel_applies, lif_forward_fast, surrogate_fast

from .lif_cases import lif_cases

SPECIALS = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal as bit patterns (so NaN equals NaN and -0.0 differs from 0.0)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    as_int = torch.int32 if a.dtype == torch.float32 else torch.int64
    return torch.equal(a.contiguous().view(as_int), b.contiguous().view(as_int))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_lif_equals_golden_bit_for_bit(dtype):
    for cfg, cur, _ in lif_cases(dtype, 0.6):
        cur[7, 1, :5] = torch.tensor(SPECIALS, dtype=dtype)
        ref = lif_forward(cur, cfg)
        fast = lif_forward_fast(cur, cfg)
        assert same_bits(fast[0], ref[0]) and same_bits(fast[1], ref[1]), cfg


def test_compiled_lif_takes_any_layout_and_rank():
    cfg = LIFConfig()
    cur = torch.randn(30, 17, 6, generator=gen(2)).transpose(1, 2)   # not contiguous
    for x in (cur, cur[:, 0], cur[:, :, :, None]):
        ref, fast = lif_forward(x, cfg), lif_forward_fast(x, cfg)
        assert all(same_bits(a, b) for a, b in zip(ref, fast))


def test_compiled_lif_falls_back_where_it_does_not_apply():
    cfg = LIFConfig()
    cur = torch.randn(20, 3, 4, generator=gen(3))
    v0 = torch.randn(3, 4, generator=gen(4))
    assert not kernel_applies(cur, v0)
    assert all(same_bits(a, b) for a, b in zip(lif_forward(cur, cfg, v0),
                                                 lif_forward_fast(cur, cfg, v0)))
    half = cur.half()
    assert not kernel_applies(half)
    assert all(torch.equal(a, b) for a, b in zip(lif_forward(half, cfg),
                                                  lif_forward_fast(half, cfg)))
    grad = cur.clone().requires_grad_()
    assert not kernel_applies(grad)
    spikes, _ = lif_forward_fast(grad, cfg)
    spikes.sum().backward()                              # the surrogate path is kept
    assert grad.grad is not None and grad.grad.abs().sum() > 0
    assert not kernel_applies(cur[:0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width", [1.0, 0.5, 2.0, 1.3, 0.7])
def test_compiled_triangle_equals_golden_bit_for_bit(dtype, width):
    surrogate = Surrogate("triangle", width)
    for thr in (0.5, 0.3, 1.0):
        u = (torch.randn(40, 7, 33, generator=gen(5)) * 2).to(dtype)
        u.view(-1)[:7] = torch.tensor(SPECIALS + [thr, thr + width], dtype=dtype)
        ref = surrogate.grad(u - thr)
        assert same_bits(surrogate_fast(u, thr, surrogate), ref), (width, thr)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width", [1.0, 1.3])
@pytest.mark.parametrize("leading", [1, 40])
def test_scaled_triangle_equals_the_surrogate_times_the_error(dtype, width, leading):
    """GradLIF's delta in one pass: ``h.mul_(error)`` bit for bit, for an error of the
    membrane's shape and one broadcast over time (a leading 1), specials in both, and chunks
    that cut the error's period (300 x 33 elements per chunk boundary are not aligned)."""
    surrogate = Surrogate("triangle", width)
    u = (torch.randn(40, 300, 33, generator=gen(10)) * 2).to(dtype)
    u.view(-1)[:7] = torch.tensor(SPECIALS + [0.5, 0.5 + width], dtype=dtype)
    error = torch.randn(leading, 300, 33, generator=gen(11)).to(dtype)
    error.view(-1)[7:12] = torch.tensor(SPECIALS, dtype=dtype)
    ref = surrogate.grad(u - 0.5).mul_(error)
    assert same_bits(surrogate_fast(u, 0.5, surrogate, scale=error), ref)


def test_a_scale_the_kernel_does_not_take_is_applied_after_it():
    """Another broadcast (the error per neuron only, or a larger shape) or another dtype: the
    surrogate, then the product as GradLIF formed it before the kernel took it: in place when
    the surrogate keeps its shape (so in its dtype), else a new tensor."""
    surrogate = Surrogate("triangle", 1.0)
    u = torch.randn(6, 5, 7, generator=gen(12))
    for scale, in_place in ((torch.randn(7, generator=gen(13)), False),
                            (torch.randn(1, 5, 7, generator=gen(14), dtype=torch.float64), True),
                            (torch.randn(2, 6, 5, 7, generator=gen(15)), False)):
        h = surrogate.grad(u - 0.5)
        ref = h.mul_(scale) if in_place else scale * h
        out = surrogate_fast(u, 0.5, surrogate, scale=scale)
        assert same_bits(out, ref)


@pytest.mark.parametrize("name", ["rectangular", "atan", "fast_sigmoid"])
def test_other_surrogates_run_the_golden_function(name):
    surrogate = Surrogate(name, 2.0)
    u = torch.randn(10, 4, 5, generator=gen(6))
    assert same_bits(surrogate_fast(u, 0.5, surrogate), surrogate.grad(u - 0.5))


def test_spike_count_by_sum_equals_count_nonzero():
    spikes = (torch.rand(128, 50, 64, generator=gen(8)) < 0.2).float()
    assert _count_nonzero(spikes, binary=True) == int(torch.count_nonzero(spikes))
    codes = torch.randint(-3, 4, (100, 9), generator=gen(9)).float()
    assert _count_nonzero(codes, binary=False) == int(torch.count_nonzero(codes))


def test_compiled_neurons_give_the_same_bits_on_any_thread_count():
    """Each neuron's recurrence and each surrogate element is computed by one thread."""
    currents = torch.randn(40, 30, 300, generator=torch.Generator().manual_seed(5))
    cfg = LIFConfig(leak=0.8, threshold=0.4)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = (*lif_forward_fast(currents, cfg), surrogate_fast(currents, 0.4, Surrogate()))
        torch.set_num_threads(max(2, threads))
        many = (*lif_forward_fast(currents, cfg), surrogate_fast(currents, 0.4, Surrogate()))
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, many):
        assert torch.equal(a, b)
