# SPDX-License-Identifier: MIT
"""Hand vectors, properties and parameter checks of the integer GradLIF reference."""
import pytest
import torch

from dfasim.golden import stimulus
from dfasim.golden.grad_lif import (
    GradLIFParams, float_to_int_params, grad_lif_backward_int, lif_forward_int,
    lif_forward_int_seq, triangle_surrogate_int,
)
from dfasim.golden.lif import LIFConfig, lif_forward
from dfasim.golden.surrogate import Surrogate, spike

LSB = 2.0 ** -8


def t(*values):
    return torch.tensor(values, dtype=torch.int64)


def test_defaults_are_the_float_lif_config_on_a_2_to_the_minus_8_grid():
    p = GradLIFParams()
    assert (p.mem_width, p.frac_bits, p.leak_shift, p.threshold, p.reset) == (16, 8, 2, 128, "hard")
    assert (p.sg_width, p.grad_shift, p.err_width, p.delta_width) == (256, 8, 8, 8)
    assert p.leak == 0.75 and p.current_width == 16
    assert (p.sum_width, p.h_width, p.product_width) == (17, 9, 17)
    assert float_to_int_params(LIFConfig()) == p


# --- forward: hand vectors -----------------------------------------------------------------------

def test_leak_is_v_minus_asr_v_k_which_rounds_up():
    # ceil(0.75 v): 0.75 -> 1, -0.75 -> 0, 3.75 -> 4, -3.75 -> -3; the extremes stay in range.
    v = t(1, -1, 5, -5, 32767, -32768)
    s, u, v_next = lif_forward_int(v, torch.zeros_like(v), GradLIFParams(reset="none"))
    assert u.tolist() == [1, 0, 4, -3, 24576, -24576]
    assert s.tolist() == [0, 0, 0, 0, 1, 0]
    assert torch.equal(v_next, u)


def test_if_neuron_has_no_leak():
    v = t(-7, 3, 100)
    _, u, _ = lif_forward_int(v, t(1, 1, 1), GradLIFParams(leak_shift=0, reset="none"))
    assert u.tolist() == [-6, 4, 101]


@pytest.mark.parametrize("reset, spikes, membranes", [
    # Constant current 100 (0.390625), threshold 128 (0.5), leak 0.75.
    ("hard", [0, 1, 0, 1, 0], [100, 175, 100, 175, 100]),
    # soft: 100 -> 175 (fire, keep 47) -> 36+100=136 (fire, keep 8) -> 6+100 -> 80+100.
    ("soft", [0, 1, 1, 0, 1], [100, 175, 136, 106, 180]),
    # none: 175 - 43 + 100 = 232, 232 - 58 + 100 = 274, 274 - 68 + 100 = 306.
    ("none", [0, 1, 1, 1, 1], [100, 175, 232, 274, 306]),
])
def test_constant_current_sequences(reset, spikes, membranes):
    cur = torch.full((5, 1), 100, dtype=torch.int64)
    s, u = lif_forward_int_seq(cur, GradLIFParams(reset=reset))
    assert s[:, 0].tolist() == spikes
    assert u[:, 0].tolist() == membranes


def test_threshold_compare_is_strict():
    p = GradLIFParams(leak_shift=0)
    cur = stimulus.threshold_corners(p.threshold, spread=1)  # 127, 128, 129
    s, _, v_next = lif_forward_int(torch.zeros_like(cur), cur, p)
    assert s.tolist() == [0, 0, 1]
    assert v_next.tolist() == [127, 128, 0]


def test_membrane_saturates_instead_of_wrapping():
    p = GradLIFParams(reset="none")
    cur = stimulus.saturation_corners(16)[[0, -1]]  # -32768, 32767
    _, u = lif_forward_int_seq(cur.repeat(4, 1), p)
    assert u[:, 0].tolist() == [-32768] * 4
    assert u[:, 1].tolist() == [32767] * 4


def test_narrow_current_port_is_checked():
    p = GradLIFParams(current_width=8)
    assert p.sum_width == 17
    with pytest.raises(ValueError, match="current holds 128"):
        lif_forward_int(t(0), t(128), p)


# --- forward: properties -------------------------------------------------------------------------

@pytest.mark.parametrize("reset", ["hard", "soft", "none"])
def test_if_neuron_equals_float_lif_exactly_on_the_grid(reset):
    # With no leak every float operation on multiples of 2**-8 below 2**7 is exact, so the integer
    # neuron must reproduce the float one bit for bit, membranes included.
    cur = stimulus.random_currents((60, 4, 16), max_abs=200, seed=11)
    p = GradLIFParams(leak_shift=0, reset=reset)
    s_int, u_int = lif_forward_int_seq(cur, p)
    s_f, u_f = lif_forward(cur.double() * LSB, LIFConfig(neuron="if", reset=reset))
    assert torch.equal(s_int, s_f.long())
    assert torch.equal(u_int, (u_f / LSB).long())
    assert torch.equal(u_f / LSB, u_int.double())  # the scaled float really is an integer


@pytest.mark.parametrize("reset", ["hard", "none"])
def test_lif_equals_float_lif_exactly_while_the_leak_is_exact(reset):
    # Currents that are multiples of 2**(2*T) LSBs keep 0.75 * v on the grid for T steps.
    T = 4
    cur = stimulus.random_currents((T, 8, 32), max_abs=3, seed=12) * (1 << (2 * T))
    s_int, u_int = lif_forward_int_seq(cur, GradLIFParams(reset=reset))
    s_f, u_f = lif_forward(cur.double() * LSB, LIFConfig(reset=reset))
    assert torch.equal(s_int, s_f.long())
    assert torch.equal(u_int.double(), u_f / LSB)


def test_leak_rounding_error_is_bounded_by_two_to_the_k():
    # e[t] = 0.75 e[t-1] + r[t] with r in [0, 1): 0 <= u_int - u_float / LSB < 1 / (1 - 0.75) = 4.
    cur = stimulus.random_currents((200, 64), max_abs=200, seed=13)
    _, u_int = lif_forward_int_seq(cur, GradLIFParams(reset="none"))
    _, u_f = lif_forward(cur.double() * LSB, LIFConfig(reset="none"))
    err = u_int.double() - u_f / LSB
    assert float(err.min()) >= 0.0 and float(err.max()) < 4.0


def test_forward_is_monotone_and_bounded():
    p = GradLIFParams(reset="soft")
    v = stimulus.random_ints(4000, 16, seed=14)
    cur = stimulus.random_ints(4000, 16, seed=15)
    s, u, v_next = lif_forward_int(v, cur, p)
    for x in (u, v_next):
        assert int(x.min()) >= -32768 and int(x.max()) <= 32767
    s2, u2, _ = lif_forward_int(v, torch.clamp(cur + 37, max=32767), p)
    assert bool((u2 >= u).all()) and bool((s2 >= s).all())
    _, u3, _ = lif_forward_int(torch.clamp(v + 37, max=32767), cur, p)
    assert bool((u3 >= u).all())


def test_sequence_equals_repeated_steps_and_accepts_v0():
    p = GradLIFParams(reset="soft", leak_shift=3)
    cur = stimulus.random_currents((20, 3, 5), max_abs=300, seed=16)
    v0 = stimulus.random_currents((3, 5), max_abs=100, seed=17)
    s, u = lif_forward_int_seq(cur, p, v0=v0)
    v = v0
    for step in range(20):
        s_t, u_t, v = lif_forward_int(v, cur[step], p)
        assert torch.equal(s[step], s_t) and torch.equal(u[step], u_t), f"step {step}"


# --- backward -------------------------------------------------------------------------------------

def test_backward_hand_vectors():
    p = GradLIFParams()
    u = t(128, 0, 200, -5, 384, 383, 129)
    err = t(100, -100, -128, 5, 127, 127, -1)
    # h = 256 - |u - 128| clamped: 256, 128, 184, 123, 0, 1, 255
    assert triangle_surrogate_int(u, p).tolist() == [256, 128, 184, 123, 0, 1, 255]
    # (h * err) >> 8: 100, -50, floor(-92.0) = -92, floor(2.4) = 2, 0, floor(0.496) = 0,
    # floor(-0.996) = -1 (an arithmetic shift rounds a negative product away from zero).
    assert grad_lif_backward_int(u, err, p).tolist() == [100, -50, -92, 2, 0, 0, -1]


def test_backward_saturates_to_delta_width():
    p = GradLIFParams(delta_width=4)
    d = grad_lif_backward_int(t(128, 128, 100), t(127, -128, 1), p)
    assert d.tolist() == [7, -8, 0]


def test_backward_matches_float_triangle_within_one_lsb():
    # err and delta both have 7 fraction bits; delta_int = floor(h * err * 2**7) exactly.
    p = GradLIFParams()
    u = stimulus.random_ints(20000, 16, low=-400, high=700, seed=21)
    err = stimulus.random_errors(20000, seed=22)
    d_int = grad_lif_backward_int(u, err, p)
    x = (u - p.threshold).double() * LSB
    d_float = Surrogate("triangle", 1.0).grad(x) * (err.double() / 128)
    gap = d_float * 128 - d_int.double()
    assert float(gap.min()) >= 0.0 and float(gap.max()) < 1.0
    assert 0.3 < float((triangle_surrogate_int(u, p) > 0).double().mean()) < 0.7


def test_backward_matches_autograd_of_the_float_spike():
    p = GradLIFParams()
    u = stimulus.random_ints(4096, 16, low=-200, high=450, seed=23)
    err = stimulus.random_errors(4096, seed=24)
    x = ((u - p.threshold).double() * LSB).requires_grad_()
    spike(x, Surrogate("triangle", 1.0)).backward(err.double() / 128)
    d_int = grad_lif_backward_int(u, err, p).double()
    assert float((x.grad * 128 - d_int).abs().max()) < 1.0


def test_narrow_surrogate_window_and_explicit_shift():
    # g = 0.5 -> code 128: float h = h_int * 2**8 / 128**2 = h_int * 2**-6, so shift 6.
    p = float_to_int_params(LIFConfig(surrogate=Surrogate("triangle", 0.5)))
    assert (p.sg_width, p.grad_shift) == (128, 6)
    u = t(128, 160, 255, 256)
    assert triangle_surrogate_int(u, p).tolist() == [128, 96, 1, 0]
    # A non-power-of-two window is allowed with an explicit shift.
    q = GradLIFParams(sg_width=3, grad_shift=1)
    assert triangle_surrogate_int(t(125, 126, 128, 130, 131), q).tolist() == [0, 1, 3, 1, 0]


# --- parameter mapping and validation -------------------------------------------------------------

def test_float_to_int_params_mapping():
    assert float_to_int_params(LIFConfig(leak=0.5)).leak_shift == 1
    assert float_to_int_params(LIFConfig(leak=0.875)).leak_shift == 3
    assert float_to_int_params(LIFConfig(neuron="if")).leak_shift == 0
    assert float_to_int_params(LIFConfig(leak=1.0)).leak_shift == 0
    assert float_to_int_params(LIFConfig(threshold=0.3)).threshold == 77  # round(76.8)
    assert float_to_int_params(LIFConfig(reset="soft")).reset == "soft"
    p = float_to_int_params(LIFConfig(), frac_bits=10, err_frac_bits=6, delta_frac_bits=4)
    assert (p.threshold, p.sg_width, p.grad_shift) == (512, 1024, 12)


@pytest.mark.parametrize("cfg, kwargs, text", [
    (LIFConfig(leak=0.8), {}, "leak 0.8 is not 1 - 2"),
    (LIFConfig(leak=0.0), {}, "leak 0.0"),
    (LIFConfig(threshold=200.0), {}, "threshold 200.0 rounds to code 51200"),
    (LIFConfig(threshold=0.001), {}, "rounds to code 0"),
    (LIFConfig(surrogate=Surrogate("atan", 2.0)), {}, "'atan'"),
    (LIFConfig(surrogate=Surrogate("triangle", 0.75)), {}, "surrogate width 0.75"),
    (LIFConfig(), {"delta_frac_bits": 20}, "grad_shift would be -5"),
])
def test_float_to_int_params_rejects_what_shifts_cannot_express(cfg, kwargs, text):
    with pytest.raises(ValueError, match=text):
        float_to_int_params(cfg, **kwargs)


def test_float_to_int_params_wants_a_lif_config():
    with pytest.raises(TypeError, match="LIFConfig"):
        float_to_int_params({"leak": 0.75})


@pytest.mark.parametrize("kwargs, exc, text", [
    ({"mem_width": 0}, ValueError, "mem_width must be >= 2, not 0"),
    ({"mem_width": -4}, ValueError, "mem_width must be >= 2, not -4"),
    ({"mem_width": 16.0}, TypeError, "mem_width must be an integer, not 16.0"),
    ({"frac_bits": True}, TypeError, "frac_bits must be an integer, not True"),
    ({"threshold": 0}, ValueError, "threshold must be >= 1, not 0"),
    ({"threshold": 32768}, ValueError, "threshold must be <= 32767, not 32768"),
    ({"mem_width": 8}, ValueError, "threshold must be <= 127, not 128"),
    ({"frac_bits": 0}, ValueError, "threshold must be >= 1, not 0"),
    ({"leak_shift": 16}, ValueError, "leak_shift must be <= 15, not 16"),
    ({"leak_shift": -1}, ValueError, "leak_shift must be >= 0, not -1"),
    ({"reset": "zero"}, ValueError, "'zero'"),
    ({"reset": 0}, TypeError, "reset must be a string, not 0"),
    ({"current_width": 0}, ValueError, "current_width must be >= 1, not 0"),
    ({"sg_width": 0}, ValueError, "sg_width must be >= 1, not 0"),
    ({"sg_width": 3}, ValueError, "sg_width=3 is not a power of two"),
    ({"sg_width": 8}, ValueError, "sg_width=8 is not a power of two with"),
    ({"grad_shift": 18}, ValueError, "grad_shift must be <= 17, not 18"),
    ({"err_width": 0}, ValueError, "err_width must be >= 1, not 0"),
    ({"err_width": 60}, ValueError, "h_width \\+ err_width = 69"),
    ({"delta_width": 0}, ValueError, "delta_width must be >= 1, not 0"),
])
def test_params_validation_names_the_offending_value(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        GradLIFParams(**kwargs)


def test_inputs_are_validated():
    p = GradLIFParams()
    with pytest.raises(TypeError, match="int64"):
        lif_forward_int(torch.zeros(2), torch.zeros(2), p)
    with pytest.raises(ValueError, match="v holds 40000"):
        lif_forward_int(t(40000), t(0), p)
    with pytest.raises(ValueError, match="same shape"):
        lif_forward_int(t(0, 0), t(0), p)
    with pytest.raises(ValueError, match="err holds -129"):
        grad_lif_backward_int(t(0), t(-129), p)
    with pytest.raises(TypeError, match="GradLIFParams"):
        lif_forward_int(t(0), t(0), LIFConfig())
