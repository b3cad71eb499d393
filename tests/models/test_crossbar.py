# SPDX-License-Identifier: MIT
"""Behavioural crossbar model and the analog network: ideal limits, tiling, ADC codes against the
golden partial-sum functions, noise statistics, updates, write-verify and the DFA / BP steps."""
import pytest
import torch

from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.golden.psum import differential_codes, psum_accumulate, shift_add
from dfasim.golden.rules import DFA
from dfasim.models.analog_network import AnalogSNN, default_feedback, deploy_feedback
from dfasim.models.chip import ChipConfig, DeviceConfig
from dfasim.models.crossbar import AnalogMatrix
from dfasim.models.rram.device import levels_to_weight, weight_scale, weight_to_levels
from dfasim.models.rram.noise import IdealDevice, PolynomialSpread

IDEAL = {"crossbar.adc_bits": 0, "datapath.input_bits": 0, "datapath.error_bits": 0}


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def on_grid(w: torch.Tensor, cfg: DeviceConfig = DeviceConfig()) -> torch.Tensor:
    """The weights a level grid represents exactly (what an ideal chip stores)."""
    w_max = weight_scale(w)
    return levels_to_weight(weight_to_levels(w, w_max, cfg), w_max, cfg, w.dtype)


def spikes(shape, p, seed=0, dtype=torch.float64):
    return (torch.rand(shape, generator=gen(seed), dtype=dtype) < p).to(dtype)


def grid_model(layers=(6, 40, 24, 4), T=8, seed=0):
    g = gen(seed)
    model = SpikingMLP(NetworkSpec(layers, T), generator=g).double()
    with torch.no_grad():
        for w in model.weights:
            w.copy_(on_grid(w * 3.0))
    x = torch.randn(10, T, layers[0], generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, layers[-1], (10,), generator=g)
    return model, x, y


# --- configuration ---------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, match", [
    ({"crossbar.adc_range": "auto"}, "crossbar.adc_range must be one of .*'auto'"),
    ({"crossbar.adc_range": "fixed"}, "crossbar.adc_full_scale_us"),
    ({"crossbar.adc_bits": -1}, "crossbar.adc_bits must be >= 0, not -1"),
    ({"crossbar.adc_percentile": 0}, "crossbar.adc_percentile .*0"),
    ({"datapath.error_bits": 1}, "datapath.error_bits must be 0 .* not 1"),
    ({"datapath.input_bits": 1}, "datapath.input_bits must be 0 .* not 1"),
    ({"crossbar.rows": 0}, "crossbar.rows must be >= 2, not 0"),
    ({"programming.write_verify": -1}, "programming.write_verify .*-1"),
    ({"programming.verify_shrink": 1.0}, "programming.verify_shrink .*1.0"),
    ({"programming.verify_tolerance_us": -0.1}, "programming.verify_tolerance_us .*-0.1"),
    ({"programming.noise_mode": "sometimes"}, "'sometimes'"),
    ({"programming.update_rounding": "up"}, "'up'"),
    ({"hierarchy.max_tiles": -1}, "hierarchy.max_tiles .*-1"),
    ({"device.g_min_us": 10.0, "device.g_max_us": 1.0},
     r"device.g_min_us \(10.0\) must be below device.g_max_us \(1.0\)"),
])
def test_bad_chip_configs(overrides, match):
    chip = ChipConfig().updated(overrides)
    with pytest.raises(ValueError, match=match):
        chip.validate()
    with pytest.raises(ValueError, match=match):      # refused before any device is drawn
        AnalogMatrix(4, 4, chip, IdealDevice(), gen())


def test_an_unknown_chip_field_is_refused():
    with pytest.raises(ValueError, match="unknown chip field 'crossbar.row'"):
        ChipConfig().updated({"crossbar.row": 128})


def test_network_wider_than_the_tile_budget():
    model = SpikingMLP(NetworkSpec((300, 200, 10), 4), generator=gen())
    # 300 x 200 -> 2 row tiles x 2 column tiles = 4 crossbars: one tile each for 2 layers.
    cfg = ChipConfig().updated({"hierarchy.max_tiles": 1})
    with pytest.raises(ValueError, match="needs 2 tiles .*max_tiles=1"):
        AnalogSNN.deploy(model, cfg, IdealDevice(), gen())
    snn = AnalogSNN.deploy(model, ChipConfig().updated({"hierarchy.max_tiles": 2}),
                           IdealDevice(), gen())
    assert snn.n_tiles == 2 and snn.layers[0].n_crossbars == 4


# --- ideal limits ----------------------------------------------------------------------------

def test_ideal_chip_equals_the_float_network():
    model, x, _ = grid_model()
    snn = AnalogSNN.deploy(model, ChipConfig().updated({**IDEAL}), IdealDevice(), gen(1))
    out, tr = snn.forward(x)
    ref, rtr = model(x)
    assert torch.equal(out, ref.detach())
    for a, b in zip(tr.spikes, rtr.spikes):
        assert torch.equal(a, b)
    for a, b in zip(tr.membranes, rtr.membranes):
        assert torch.allclose(a, b, atol=1e-12)
    assert sum(float(s.sum()) for s in tr.spikes) > 0
    for m, w in zip(snn.layers, model.weights):
        assert torch.allclose(m.effective_weight(), w, atol=1e-12)


@pytest.mark.parametrize("mapping", ["differential", "offset"])
def test_ideal_transpose_is_the_transposed_matmul(mapping):
    w = on_grid(torch.randn(20, 30, generator=gen(2), dtype=torch.float64), DeviceConfig(
        mapping=mapping))
    cfg = ChipConfig().updated({"device.mapping": mapping, **IDEAL})
    m = AnalogMatrix.from_weight(w, cfg, IdealDevice(), gen())
    e = torch.randn(3, 5, 20, generator=gen(3), dtype=torch.float64)
    assert torch.allclose(m.transpose(e), e @ w, atol=1e-12)
    s = spikes((4, 30), 0.3)
    assert torch.allclose(m.forward(s), s @ w.t(), atol=1e-12)


def test_tiling_300_inputs_uses_two_row_tiles_and_is_tile_size_independent():
    w = torch.randn(200, 300, generator=gen(4), dtype=torch.float64)
    x = spikes((6, 300), 0.2, seed=5)
    e = torch.randn(6, 200, generator=gen(6), dtype=torch.float64)
    results = []
    for rows, cols in ((256, 256), (64, 32), (1024, 1024)):
        cfg = ChipConfig().updated({"crossbar.rows": rows, "crossbar.cols": cols, **IDEAL})
        m = AnalogMatrix.from_weight(w, cfg, IdealDevice(), gen())
        if rows == 256:
            assert (m.row_tiles, m.col_tiles, m.n_crossbars) == (2, 2, 4)
        results.append((m.forward(x), m.transpose(e)))
    for f, t in results[1:]:
        assert torch.allclose(f, results[0][0], atol=1e-10)
        assert torch.allclose(t, results[0][1], atol=1e-10)


# --- ADC codes against the golden digital path -----------------------------------------------

@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("adc_range", ["calibrated", "max"])
def test_adc_codes_through_golden_psum_give_the_forward_currents(mapping, adc_range):
    cfg = ChipConfig().updated({"crossbar.rows": 128, "crossbar.cols": 64,
                                "crossbar.adc_range": adc_range, "device.mapping": mapping})
    m = AnalogMatrix.from_weight(torch.randn(40, 300, generator=gen(7)), cfg,
                                 PolynomialSpread(), gen(8))
    assert m.row_tiles == 3
    s = spikes((7, 300), 0.15, seed=9, dtype=torch.float32)
    cur = m.forward(s)                       # calibrates on first use
    codes = m.adc_codes(s)
    assert codes.pos.shape == (3, 7, 40) and codes.pos.dtype == torch.int64
    assert int(codes.pos.max()) <= 15 and int(codes.pos.min()) >= 0
    psum, ovf = psum_accumulate(differential_codes(codes.pos, codes.neg, adc_bits=4),
                                in_width=5)
    assert not bool(ovf.any())
    assert torch.allclose(psum.float() * codes.scale, cur, rtol=1e-6, atol=1e-6)
    assert int(psum.abs().max()) > 0


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("n_in", [9, 300])
def test_bit_serial_inputs_equal_golden_shift_add(n_in, mapping):
    # 9 inputs take the pattern-lookup path, 300 the direct one: both must give these codes.
    cfg = ChipConfig().updated({"crossbar.rows": 256, "datapath.input_bits": 6,
                                "device.mapping": mapping})
    m = AnalogMatrix.from_weight(torch.randn(16, n_in, generator=gen(10)), cfg,
                                 PolynomialSpread(), gen(11))
    x = torch.randn(5, n_in, generator=gen(12))
    m.calibrate(x)
    cur = m.forward(x)
    qmax = 31
    scale = x.abs().amax(-1) / qmax
    mag = torch.round(x.abs() / scale[:, None]).long()
    slices = []
    for k in range(5):
        bit = ((mag >> k) & 1).float()
        c_pos = m.adc_codes(bit * (x > 0))
        c_neg = m.adc_codes(bit * (x < 0))
        slices.append(differential_codes(c_pos.pos, c_pos.neg)
                      - differential_codes(c_neg.pos, c_neg.neg))
    per_tile = [shift_add(torch.stack([sl[r] for sl in slices]), slice_bits=1, code_width=6)[0]
                for r in range(m.row_tiles)]
    psum, _ = psum_accumulate(torch.stack(per_tile))
    ref = psum.float() * c_pos.scale * scale[:, None]
    assert torch.allclose(cur, ref, rtol=1e-5, atol=1e-6)


def test_adc_clipping_and_the_max_policy():
    w = torch.rand(8, 64, generator=gen(13)) + 0.5           # all-positive weights
    s = torch.ones(2, 64)
    fixed_range = ChipConfig().updated({"crossbar.adc_range": "fixed",
                                        "crossbar.adc_full_scale_us": 20.0})
    fixed = AnalogMatrix.from_weight(w, fixed_range, IdealDevice(), gen())
    full = AnalogMatrix.from_weight(w, ChipConfig().updated({"crossbar.adc_range": "max"}),
                                    IdealDevice(), gen())
    # A 20 µS range clips 64 rows of >= 1 µS: every positive column saturates at code 15.
    assert int(fixed.adc_codes(s).pos.min()) == 15
    assert full.full_scale["forward"] == 256 * 10.0
    assert int(full.adc_codes(s).pos.max()) < 15


# --- noise -----------------------------------------------------------------------------------

@pytest.mark.parametrize("coeffs", [(0.3,), (0.05, 0.1)])
def test_effective_weight_deviation_matches_the_noise_model(coeffs):
    noise = PolynomialSpread(coeffs)
    cfg = ChipConfig()
    w = torch.randn(128, 256, generator=gen(14), dtype=torch.float64)
    m = AnalogMatrix.from_weight(w, cfg, noise, gen(15))
    dev = cfg.device
    # Per weight: sigma = sqrt(sigma(G+)^2 + sigma(G-)^2) * w_max / (g_max - g_min).
    k_a = torch.clamp(m.q, min=0)
    k_b = torch.clamp(-m.q, min=0)
    _, s_a = noise.mean_std(dev.g_min_us + dev.step * k_a.double())
    _, s_b = noise.mean_std(dev.g_min_us + dev.step * k_b.double())
    sigma = torch.sqrt(s_a ** 2 + s_b ** 2) * m.w_max / (dev.g_max_us - dev.g_min_us)
    z = (m.effective_weight() - m.target_weight()) / sigma
    assert abs(float(z.mean())) < 0.02
    assert float(z.std()) == pytest.approx(1.0, abs=0.02)


def _one_level(m, i, j, sign):
    d = torch.zeros(m.shape, dtype=m.dtype)
    d[i, j] = sign * m.level_step
    return m.update(d, rounding="nearest")


def test_static_personality_persists_across_updates_and_per_write_does_not():
    w = torch.full((4, 4), 0.5, dtype=torch.float64)
    w[0, 0] = 1.0
    for mode in ("static", "per_write"):
        m = AnalogMatrix.from_weight(w, ChipConfig().updated({"programming.noise_mode": mode}),
                                     PolynomialSpread(), gen(16))
        g0 = m.g_a.clone()
        st = _one_level(m, 1, 1, +1)
        assert st.weights_changed == 1 and st.devices_written == 1 and st.write_pulses == 1
        _one_level(m, 1, 1, -1)
        untouched = torch.ones(4, 4, dtype=torch.bool)
        untouched[1, 1] = False
        assert torch.equal(m.g_a[untouched], g0[untouched])
        same = bool(m.g_a[1, 1] == g0[1, 1])
        assert same is (mode == "static"), mode


def test_nearest_rounding_is_exact_and_clips():
    cfg = ChipConfig().updated({"programming.update_rounding": "nearest"})
    w = on_grid(torch.randn(16, 16, generator=gen(17), dtype=torch.float64))
    m = AnalogMatrix.from_weight(w, cfg, IdealDevice(), gen())
    step = m.level_step
    delta = torch.full(w.shape, 1.6 * step, dtype=torch.float64)
    before = m.q.clone()
    st = m.update(delta)
    want = torch.clamp(before + 2, -15, 15)
    assert torch.equal(m.q, want)
    assert st.clipped == int((before + 2 > 15).sum()) > 0
    assert torch.allclose(m.effective_weight(), want.double() * step, atol=1e-12)
    m.update(torch.full(w.shape, 0.3 * step, dtype=torch.float64))
    assert torch.equal(m.q, want)


def test_stochastic_rounding_is_unbiased():
    m = AnalogMatrix.from_weight(torch.zeros(64, 64, dtype=torch.float64), ChipConfig(),
                                 IdealDevice(), gen(18))
    m.w_max = 1.0  # a zero layer deploys with w_max 1
    total = torch.zeros(64, 64, dtype=torch.int64)
    for frac in (0.3, -0.3):
        m.q.zero_()
        m.update(torch.full((64, 64), frac * m.level_step, dtype=torch.float64))
        mean = float(m.q.double().mean())
        # 4096 Bernoulli(0.3) draws: std of the mean 0.007.
        assert mean == pytest.approx(frac, abs=0.03)
        total += m.q
    assert set(total.unique().tolist()) <= {-1, 0, 1}


def test_write_verify_counts_pulses_and_reads():
    dev = DeviceConfig(g_min_us=5.0, g_max_us=14.0)    # sigma 1 µS stays far from 0 µS
    noise = PolynomialSpread((1.0,))
    tol, shrink = 0.3, 0.5
    base = ChipConfig(device=dev).updated({"programming.verify_tolerance_us": tol,
                                           "programming.verify_shrink": shrink})
    w = torch.randn(8, 32, generator=gen(19), dtype=torch.float64)
    plain = AnalogMatrix.from_weight(w, base, noise, gen(20))
    assert (plain.counters.total("write_pulses"), plain.counters.total("verify_reads")) == (
        512, 0)
    cfg = base.updated({"programming.write_verify": 3})
    m = AnalogMatrix(8, 32, cfg, noise, gen(20), dtype=torch.float64)
    st = m.program(w)
    e0 = torch.cat([m.z_a, m.z_b]).abs()         # |initial error| in µS (sigma = 1)
    fails = [int((e0 * shrink ** i > tol).sum()) for i in range(3)]
    assert st.devices_written == 512
    assert st.write_pulses == 512 + sum(fails)
    assert st.verify_reads == 512 + fails[0] + fails[1]
    assert m.counters.total("write_pulses", phase="deploy") == st.write_pulses
    q = m.q.double()
    err = torch.cat([m.g_a - 5.0 - dev.step * q.clamp(min=0),
                     m.g_b - 5.0 - dev.step * (-q).clamp(min=0)]).abs()
    want = e0.clone()
    for _ in range(3):                            # each failing device halves its error
        want = torch.where(want > tol, want * shrink, want)
    assert torch.allclose(err, want, atol=1e-9)


# --- activity: the skip-zero rule ------------------------------------------------------------

def test_skip_zero_rule_and_read_counts():
    m = AnalogMatrix.from_weight(torch.randn(4, 10, generator=gen(21)), ChipConfig(),
                                 IdealDevice(), gen())
    s = torch.zeros(2, 10)
    s[1, :3] = 1.0
    m.forward(s)
    c = m.counters.get("W", "forward")
    assert (c.reads, c.active_rows, c.rows_driven, c.adc_conversions) == (1, 3, 10, 8)
    assert c.buffer_read_bytes == 2 * 2 and c.buffer_write_bytes == 2 * 4 * 2


def test_sparser_spikes_do_strictly_less_crossbar_work():
    w = torch.randn(64, 300, generator=gen(22))
    dense = spikes((32, 300), 0.05, seed=23, dtype=torch.float32)
    sparse = dense.clone()
    sparse[::2] = 0.0                             # half the vectors silent
    sparse[:, :150] = 0.0                         # and the first row tile silent
    counts = []
    for x in (dense, sparse):
        m = AnalogMatrix.from_weight(w, ChipConfig(), IdealDevice(), gen())
        m.forward(x)
        counts.append(m.counters.get("W", "forward"))
    for field in ("reads", "active_rows", "rows_driven", "adc_conversions", "psum_adds"):
        assert getattr(counts[1], field) < getattr(counts[0], field), field
    assert counts[1].buffer_read_bytes == counts[0].buffer_read_bytes  # fetched either way


def test_transposed_reads_count_two_phases_per_bit_plane():
    m = AnalogMatrix.from_weight(torch.randn(6, 20, generator=gen(24)),
                                 ChipConfig().updated({"datapath.error_bits": 4}), IdealDevice(),
                                 gen())
    e = torch.tensor([[7.0, -3.0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    m.transpose(e)
    c = m.counters.get("W", "backward")
    # Planes of |e|/max*7 = (7, 3): plane 0 {7, 3}, plane 1 {7, 3}, plane 2 {7}: 3 planes x 2
    # phases, one crossbar each; 20 row ADCs per read; the zero vector is skipped.
    assert c.reads == 6 and c.adc_conversions == 6 * 20
    assert c.active_rows == 2 * (2 + 2 + 1) and c.rows_driven == 6 * 12


# --- adaptation steps ------------------------------------------------------------------------

def test_ideal_dfa_step_equals_the_golden_dfa_gradient():
    model, x, y = grid_model()
    spec = model.spec
    fb_float = [on_grid(b.double()) for b in default_feedback(spec, gen(30))]
    cfg = ChipConfig().updated({**IDEAL})
    snn = AnalogSNN.deploy(model, cfg, IdealDevice(), gen(31))
    fb = deploy_feedback(spec, cfg, IdealDevice(), gen(), matrices=fb_float)
    rule = DFA(model, loss="mse")
    rule.feedback = fb_float
    rule.gradients(x, y)
    res = snn.dfa_step(x, y, fb, lr=0.1, loss="mse")
    for dw, w in zip(res.delta_w, model.weights):
        assert torch.allclose(dw, -0.1 * w.grad, atol=1e-12)
        assert float(dw.abs().sum()) > 0
    assert sum(s.weights_changed for s in res.writes) > 0


def test_ideal_bp_step_is_spatial_backprop_per_timestep():
    model, x, y = grid_model()
    cfg = ChipConfig().updated({**IDEAL})
    snn = AnalogSNN.deploy(model, cfg, IdealDevice(), gen(32))
    res = snn.bp_step(x, y, lr=0.5, loss="ce")
    with torch.no_grad():
        out, tr = model(x)
    from dfasim.golden.loss import output_error
    _, e = output_error(out, y, "ce")
    lif = model.spec.lif
    h = [lif.surrogate.grad(u - lif.threshold) for u in tr.membranes]
    delta = (e / x.shape[1]) * h[-1]
    for l in range(model.n_layers - 1, -1, -1):
        grad = torch.einsum("tbo,tbi->oi", delta, tr.inputs[l])
        assert torch.allclose(res.delta_w[l], -0.5 * grad, atol=1e-12)
        if l:
            delta = (delta @ model.weights[l].detach()) * h[l - 1]


def test_noisy_steps_are_deterministic_and_count_work():
    model, x, y = grid_model(seed=3)
    model = model.float()
    x = x.float()
    results = []
    for _ in range(2):
        cfg = ChipConfig().updated({"datapath.error_bits": 6, "datapath.input_bits": 6})
        snn = AnalogSNN.deploy(model, cfg, PolynomialSpread(), gen(33), calibration=x)
        fb = deploy_feedback(model.spec, cfg, PolynomialSpread(), gen(34))
        r1 = snn.dfa_step(x, y, fb, lr=0.05)
        r2 = snn.bp_step(x, y, lr=0.05)
        results.append((r1, r2, [m.g_a.clone() for m in snn.layers], snn.counters))
    (a1, a2, ga, ca), (b1, b2, gb, cb) = results
    assert a1.loss == b1.loss and a2.loss == b2.loss
    assert all(torch.equal(u, v) for u, v in zip(ga, gb))
    assert ca == cb
    T, B = x.shape[1], x.shape[0]
    assert ca.total("lif_ops", phase="forward") == 2 * T * B * sum(model.spec.layers[1:])
    assert ca.total("gradlif_ops") == 2 * T * B * sum(model.spec.layers[1:])
    assert ca.total("reads", layer="B0", phase="backward") > 0      # DFA feedback reads
    assert ca.total("reads", layer="L1", phase="backward") > 0      # BP transposed reads
    assert ca.total("reads", layer="L0", phase="backward") == 0     # nothing below layer 0
    assert ca.total("wgu_macs") > 0 and ca.total("write_pulses", phase="update") > 0
