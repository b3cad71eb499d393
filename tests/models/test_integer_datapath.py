# SPDX-License-Identifier: MIT
"""The integer datapath of adaptation against the golden integer functions applied by hand.

Partial sums from the crossbar's own ADC codes (``golden.psum``), the LIF recurrence
(``golden.grad_lif.lif_forward_int`` one timestep at a time), GradLIF deltas, the WGU (the
beat-by-beat ``golden.wgu.wgu_accumulate``) and the level changes written: bit for bit. Then the
``dfasim adapt --datapath`` flow: the float default unchanged, the integer run deterministic and
recorded in ``adapt.json``.
"""
import copy
import json
import math

import pytest
import torch

from dfasim.flows.adapt import AdaptConfig, adapt
from dfasim.flows.cli import main
from dfasim.flows.reproduce import ReproduceConfig
from dfasim.golden.grad_lif import grad_lif_backward_int, lif_forward_int
from dfasim.golden.loss import output_error
from dfasim.golden.network import NetworkSpec, SpikingMLP
from dfasim.golden.psum import differential_codes, psum_accumulate, shift_add
from dfasim.golden.wgu import wgu_accumulate, wgu_readout
from dfasim.models.analog_network import AnalogSNN, deploy_feedback
from dfasim.models.chip import ChipConfig
from dfasim.models.crossbar.adc import adc_lsb
from dfasim.models.integer_datapath import error_codes, integer_network, layer_format
from dfasim.models.integer_kernels import saturating_sum, wgu_accumulate_fast
from dfasim.models.rram.noise import PolynomialSpread
from tests.flows.conftest import small_checkpoint  # noqa: F401  (the flow fixture)

#: A first layer wider than the pattern look-up (10 rows), so its codes are read directly.
LAYERS = (12, 10, 7, 3)
T, B = 4, 5
LR = 0.1


def _chip() -> ChipConfig:
    chip = ChipConfig()
    chip.programming.update_rounding = "nearest"   # level changes are then a function of dW
    return chip


def _deployed(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    model = SpikingMLP(NetworkSpec(LAYERS, T), generator=g)
    with torch.no_grad():
        for w in model.weights:
            w.mul_(3.0)                                 # enough activity in 4 timesteps
    x = torch.randn(B, T, LAYERS[0], generator=g)
    y = torch.randint(0, LAYERS[-1], (B,), generator=g)
    chip = _chip()
    snn = AnalogSNN.deploy(model, chip, PolynomialSpread(), g, calibration=x)
    fb = deploy_feedback(model.spec, chip, PolynomialSpread(), g, counters=snn.counters)
    return integer_network(snn, x), fb, x, y


def _hand_psum_spikes(m, s, adc_bits, psum_bits):
    codes = m.adc_codes(s)
    sig = differential_codes(codes.pos, codes.neg, adc_bits=adc_bits)
    tiles, _ = shift_add(sig.unsqueeze(0), slice_bits=1, code_width=adc_bits + 1,
                         acc_width=psum_bits)
    return psum_accumulate(tiles, acc_width=psum_bits)[0], codes.scale


def _hand_psum_input(m, x, s_x, input_bits, adc_bits, psum_bits):
    """Sign-magnitude codes of x, one binary read per (plane, sign), shift-add, tiles."""
    qmax = (1 << (input_bits - 1)) - 1
    mag = torch.clamp(torch.round(x.double().abs() / s_x), 0, qmax).to(torch.int64)
    slices = []
    for k in range(input_bits - 1):
        bit = (mag >> k) & 1
        per_sign = []
        for sign in (x > 0, x < 0):
            plane = (bit * sign).to(torch.float32)
            c = m.adc_codes(plane)
            per_sign.append(differential_codes(c.pos, c.neg, adc_bits=adc_bits))
        slices.append(per_sign[0] - per_sign[1])
    tiles, _ = shift_add(torch.stack(slices), slice_bits=1, code_width=adc_bits + 2,
                         acc_width=psum_bits)
    return psum_accumulate(tiles, acc_width=psum_bits)[0], c.scale * s_x, \
        mag * torch.sign(x).to(torch.int64)


def _hand_forward(net, x):
    """Every layer by hand: psums, formats and the LIF one timestep at a time."""
    dp, adc_bits = net.chip.datapath, net.chip.crossbar.adc_bits
    h = x.transpose(0, 1)
    s_x = float(x.abs().max()) / ((1 << (dp.input_bits - 1)) - 1)
    layers = []
    for l, m in enumerate(net.layers):
        if l == 0:
            psum, scale, x_codes = _hand_psum_input(m, h, s_x, dp.input_bits, adc_bits,
                                                    dp.psum_bits)
            lsb = adc_lsb(m.full_scale["forward"], adc_bits)
            assert scale == pytest.approx(lsb * m.weight_per_us * s_x, rel=1e-12)
        else:
            psum, scale = _hand_psum_spikes(m, h, adc_bits, dp.psum_bits)
        fmt = layer_format(scale, net.spec.lif, dp)
        p = fmt.params
        # The documented scale: threshold and surrogate width in membrane LSBs c * 2**-F.
        m_lsb = scale * 2.0 ** -fmt.frac_bits
        assert p.threshold == round(net.spec.lif.threshold / m_lsb)
        assert p.sg_width == round(net.spec.lif.surrogate.width / m_lsb)
        assert 2 ** 10 <= p.threshold <= 2 ** 11 or fmt.frac_bits == 0
        v = torch.zeros_like(psum[0])
        spikes, mems = [], []
        for t in range(T):
            s, u, v = lif_forward_int(v, psum[t] << fmt.frac_bits, p)
            spikes.append(s)
            mems.append(u)
        spikes, mems = torch.stack(spikes), torch.stack(mems)
        layers.append(dict(psum=psum, fmt=fmt, u=mems, s=spikes,
                           inp=x_codes if l == 0 else layers[-1]["s"]))
        h = spikes.to(torch.float32)
    return layers


def test_forward_equals_golden_by_hand():
    net, _, x, _ = _deployed()
    out, trace = net.forward(x)
    hand = _hand_forward(net, x)
    last = net.datapath.last
    for l, ref in enumerate(hand):
        assert torch.equal(last.psums[l], ref["psum"])
        assert torch.equal(last.membranes[l], ref["u"])
        assert torch.equal(last.spikes[l], ref["s"])
        assert net.datapath.formats[l] == ref["fmt"]
    assert torch.equal(out, hand[-1]["s"].float().mean(0))
    assert all(float(s.mean()) > 0 for s in trace.spikes[:-1])   # the layers are active


def _hand_update(net, ref, delta, lsb, l):
    dp = net.chip.datapath
    n_out, n_in = net.layers[l].shape
    if l == 0:           # multi-bit inputs: exact MAC, input_bits - 1 wider, shifted back
        shift = dp.input_bits - 1
        wide = dp.grad_bits + shift
        G = torch.einsum("tbi,tbj->ij", delta, ref["inp"])
        G = G.clamp(-(1 << (wide - 1)), (1 << (wide - 1)) - 1)
        update, _ = wgu_readout(G, grad_width=wide, shift=shift, out_width=dp.grad_bits)
        return update.float() * (-LR * lsb * net.datapath.input_scale * 2.0 ** shift)
    G, _ = wgu_accumulate(torch.zeros(n_out, n_in, dtype=torch.int64), delta, ref["inp"],
                          grad_width=dp.grad_bits, delta_width=dp.delta_bits)
    update, _ = wgu_readout(G, grad_width=dp.grad_bits, clear=True)
    return update.float() * (-LR * lsb)


def _hand_delta(net, ref, err, l):
    """Error codes with one power-of-two exponent, then the golden GradLIF backward."""
    p = ref["fmt"].params
    qmax = (1 << (p.err_width - 1)) - 1
    amax = float(err.abs().max())
    E = math.ceil(math.log2(amax / qmax))
    codes = torch.round(err.double() / 2.0 ** E).clamp(-qmax, qmax).to(torch.int64)
    assert torch.equal(codes, error_codes(err, p.err_width)[0])
    if codes.dim() == 2:
        codes = codes.unsqueeze(0).expand(T, -1, -1)
    delta = grad_lif_backward_int(ref["u"], codes, p)
    g = net.spec.lif.surrogate.width
    return delta, ref["fmt"].membrane_lsb / g ** 2 * 2.0 ** (E + p.grad_shift)


def _spy_deltas(net):
    seen = []
    real = net.datapath._gradlif

    def spy(*args):
        out = real(*args)
        seen.append(out)
        return out
    net.datapath._gradlif = spy
    return seen


@pytest.mark.parametrize("rule", ["dfa", "bp"])
def test_step_equals_golden_by_hand(rule):
    net, fb, x, y = _deployed()
    hand = _hand_forward(net, x)
    out = hand[-1]["s"].float().mean(0)
    _, e = output_error(out, y, "mse")
    e_t = e / T
    ref_net = copy.deepcopy((net, fb))            # reads for the hand errors, same devices
    q_before = [m.q.clone() for m in net.layers]
    seen = _spy_deltas(net)
    step = net.dfa_step(x, y, fb, LR, "mse") if rule == "dfa" else net.bp_step(x, y, LR, "mse")
    r_net, r_fb = ref_net
    L = len(hand)
    deltas = [None] * L
    deltas[-1] = _hand_delta(net, hand[-1], e_t, L - 1)
    if rule == "dfa":
        for l, b in enumerate(r_fb):
            proj = b.forward(e_t, bits=net.chip.datapath.error_bits, binary=False)
            deltas[l] = _hand_delta(net, hand[l], proj, l)
    else:
        for l in range(L - 2, -1, -1):
            d, lsb = deltas[l + 1]
            back = r_net.layers[l + 1].transpose(d.float() * lsb)
            deltas[l] = _hand_delta(net, hand[l], back, l)
    # DFA: hidden layers in order, then the output layer; BP: from the output layer down.
    order = list(range(L)) if rule == "dfa" else list(range(L - 1, -1, -1))
    assert len(seen) == L
    for l, (d_got, lsb_got) in zip(order, seen):
        d_hand, lsb_hand = deltas[l]
        assert torch.equal(d_got, d_hand), l
        assert lsb_got == lsb_hand
        assert bool((d_hand != 0).any())
        dw = _hand_update(net, hand[l], d_hand, lsb_hand, l)
        assert torch.equal(step.delta_w[l], dw), l
        m = net.layers[l]
        want = torch.clamp(q_before[l] + torch.round(dw / m.level_step).to(torch.int64),
                           *net.chip.device.q_range)
        assert torch.equal(m.q, want), l


def test_same_seed_same_bits():
    runs = []
    for _ in range(2):
        net, fb, x, y = _deployed(seed=3)
        a = net.dfa_step(x, y, fb, LR, "mse")
        b = net.bp_step(x, y, LR, "mse")
        runs.append(([*a.delta_w, *b.delta_w], [m.q for m in net.layers],
                     net.datapath.last.membranes))
    for u, v in zip(*runs):
        assert all(torch.equal(p, q) for p, q in zip(u, v))


@pytest.mark.parametrize("grad_width", [6, 9, 16])
def test_fast_wgu_equals_golden(grad_width):
    g = torch.Generator().manual_seed(grad_width)
    delta = torch.randint(-100, 101, (6, 4, 5), generator=g)
    delta[delta.abs() < 60] = 0
    spikes = (torch.rand(6, 4, 7, generator=g) < 0.4).to(torch.int64)
    G0 = torch.randint(-20, 21, (5, 7), generator=g)
    fast = wgu_accumulate_fast(G0, delta, spikes, grad_width=grad_width, delta_width=8)
    ref = wgu_accumulate(G0, delta, spikes, grad_width=grad_width, delta_width=8)
    assert torch.equal(fast[0], ref[0]) and torch.equal(fast[1], ref[1])
    assert bool(ref[1].any()) == (grad_width < 16)


@pytest.mark.parametrize("seed", range(4))
def test_fast_wgu_equals_golden_when_most_words_clamp(seed):
    # 5-bit words and large deltas: most words hit both rails, many beats, odd beat counts, so
    # the pairwise composition of add-and-clamp maps (with its padding) is exercised throughout.
    g = torch.Generator().manual_seed(100 + seed)
    steps, batch = 7 + seed, 5
    delta = torch.randint(-127, 128, (steps, batch, 6), generator=g)
    spikes = (torch.rand(steps, batch, 9, generator=g) < 0.5).to(torch.int64)
    G0 = torch.randint(-16, 16, (6, 9), generator=g)
    fast = wgu_accumulate_fast(G0, delta, spikes, grad_width=5, delta_width=8)
    ref = wgu_accumulate(G0, delta, spikes, grad_width=5, delta_width=8)
    assert torch.equal(fast[0], ref[0]) and torch.equal(fast[1], ref[1])
    assert float(ref[1].double().mean()) > 0.5


def test_saturating_sum_by_hand():
    # 8-bit word at 120: +10 clamps to 127, -10 gives 117; -10 then +10 gives 120 unclamped
    # (golden.wgu's docstring example), and a word that clamps low then climbs back.
    start = torch.tensor([120, 120, -120])
    additions = torch.tensor([[10, -10, -20], [-10, 10, 30]])
    value, clamped = saturating_sum(start, additions, -128, 127)
    assert value.tolist() == [117, 120, -98]
    assert clamped.tolist() == [True, False, True]


def test_pattern_lookup_equals_direct_reads():
    g = torch.Generator().manual_seed(1)
    model = SpikingMLP(NetworkSpec((6, 9, 3), T), generator=g)
    x = torch.randn(B, T, 6, generator=g)
    snn = AnalogSNN.deploy(model, _chip(), PolynomialSpread(), g, calibration=x)
    net = integer_network(snn, x)
    net.forward(x)
    m = net.layers[1]
    s = net.datapath.last.spikes[0].float()
    direct, _ = _hand_psum_spikes(m, s, net.chip.crossbar.adc_bits, net.chip.datapath.psum_bits)
    assert torch.equal(net.datapath.last.psums[1], direct)


def test_refuses_what_the_unit_cannot_compute():
    from dfasim.golden.lif import LIFConfig
    from dfasim.golden.surrogate import Surrogate
    dp = ChipConfig().datapath
    with pytest.raises(ValueError, match="triangle"):
        layer_format(0.1, LIFConfig(surrogate=Surrogate("atan", 2.0)), dp)
    with pytest.raises(ValueError, match="leak"):
        layer_format(0.1, LIFConfig(leak=0.9), dp)
    with pytest.raises(TypeError):
        integer_network(object())


# --- the adapt flow ------------------------------------------------------------------------------

#: ``dfasim adapt`` on the session's small checkpoint (6-16-4, BasicMotions), 2 chips, 2 epochs,
#: CrossSim noise, recorded with the float datapath before the option existed (test accuracy
#: per epoch and the non-ideal accuracy, per chip).
RECORDED_FLOAT = {"nonideal": [0.3, 0.3],
                  "bp": [[0.5, 0.5], [0.275, 0.2]], "dfa": [[0.35, 0.375], [0.275, 0.25]]}


def _cfg(ckpt, **kw):
    return AdaptConfig(**{**dict(checkpoint=str(ckpt), chips=2, epochs=2, noise="crosssim",
                                 calibration_samples=16), **kw})


def _accuracies(res):
    return {"nonideal": [c["nonideal_accuracy"] for c in res["chips"]],
            **{r: [[h["test_acc"] for h in c["adapt"][r]["history"]] for c in res["chips"]]
               for r in res["rules"]}}


def test_float_datapath_unchanged(small_checkpoint, tmp_path):  # noqa: F811
    default = adapt(_cfg(small_checkpoint), tmp_path / "a", progress=False)
    explicit = adapt(_cfg(small_checkpoint, datapath="float"), tmp_path / "b", progress=False)
    assert _accuracies(default) == RECORDED_FLOAT
    losses = [[[h["loss"] for h in c["adapt"][r]["history"]] for r in ("bp", "dfa")]
              for res in (default, explicit) for c in res["chips"]]
    assert losses[:2] == losses[2:] and default["datapath"] == "float"


def test_integer_run_deterministic_and_resumable(small_checkpoint, tmp_path,  # noqa: F811
                                                 monkeypatch):
    cfg = dict(datapath="integer", chips=1, epochs=2)
    full = adapt(_cfg(small_checkpoint, **cfg), tmp_path / "full", progress=False)
    real = AnalogSNN.evaluate
    calls = {"n": 0}

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 4:  # deployed, bp saved, killed while evaluating dfa epoch 1
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(AnalogSNN, "evaluate", flaky)
    with pytest.raises(KeyboardInterrupt):
        adapt(_cfg(small_checkpoint, **cfg), tmp_path / "cut", progress=False)
    monkeypatch.setattr(AnalogSNN, "evaluate", real)
    resumed = adapt(_cfg(small_checkpoint, **cfg), tmp_path / "cut", progress=False)
    hist = [[(h["loss"], h["test_acc"]) for h in c["adapt"][r]["history"]]
            for res in (full, resumed) for c in res["chips"] for r in res["rules"]]
    assert hist[:2] == hist[2:]
    assert full["chips"][0]["adapt"]["dfa"]["integer_stats"]["wgu_words"] > 0


def test_bad_datapath_is_one_line(small_checkpoint, tmp_path, capsys):  # noqa: F811
    rc = main(["adapt", "--checkpoint", str(small_checkpoint), "--datapath", "double",
               "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "--datapath" in err


def test_cli_integer_run_records_datapath(small_checkpoint, tmp_path, capsys):  # noqa: F811
    rc = main(["adapt", "--checkpoint", str(small_checkpoint), "--datapath", "integer",
               "--chips", "1", "--epochs", "1", "--noise", "crosssim", "--out", str(tmp_path),
               "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "integer datapath" in out
    saved = json.loads((tmp_path / "adapt.json").read_text())
    assert saved["datapath"] == "integer" and saved["config"]["datapath"] == "integer"
    assert 'datapath = "integer"' in (tmp_path / "config.toml").read_text()
    assert len(saved["chips"][0]["adapt"]["bp"]["history"]) == 1


def test_reproduce_passes_the_datapath_on(tmp_path, monkeypatch):
    from dfasim.flows import reproduce as flow
    seen = {}

    def fake(cfg, out, **kw):
        seen["cfg"] = cfg
        return {}
    monkeypatch.setattr(flow, "reproduce", fake)
    monkeypatch.setattr(flow, "table_markdown", lambda rows: "")
    assert main(["reproduce", "--dataset", "basic_motions", "--datapath", "integer",
                 "--out", str(tmp_path), "--quiet"]) == 0
    assert seen["cfg"].adapt.datapath == "integer"
    # ... and into the adaptation stage's own config, as reproduce() builds it.
    from dfasim.flows.config import from_dict, to_dict
    assert from_dict(AdaptConfig, to_dict(seen["cfg"].adapt)).datapath == "integer"
    assert ReproduceConfig().adapt.datapath == "float"
