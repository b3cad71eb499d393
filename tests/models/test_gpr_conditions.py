# SPDX-License-Identifier: MIT
"""Condition-aware GPR noise model: features, leave-one-condition-out, coverage, Student-t."""
import math
import statistics

import pytest
import torch
from scipy import special

from dfasim.flows import noise as noise_flow
from dfasim.flows import noise_loco
from dfasim.flows.errors import DfasimError
from dfasim.flows.noise import LOCO_TARGET, leave_one_condition_out, noise_fit, noise_show
from dfasim.models.rram.gpr import GPRNoiseModel, heldout_metrics, normal_scores
from dfasim.models.rram.measured import leave_one_group_out, radar_conditions


def _constant_model(sigma, likelihood="gaussian", nu=None, n_grid=8):
    """A model with zero bias and a constant std ``sigma`` (µS) on [1, 10] µS, built directly."""
    state = {"likelihood": likelihood, "r_mean": 0.0, "r_std": 1.0}
    if nu is not None:
        state["nu"] = nu
    bias = torch.zeros(1, n_grid, dtype=torch.float64)
    std = torch.full((1, n_grid), sigma, dtype=torch.float64)
    return GPRNoiseModel(1.0, 10.0, bias, std, ("c",), "c", state, {})


def test_coverage_arithmetic_known_sigma():
    # sigma = 0.5 µS, zero bias: deviations 0.1 .. -1.6 µS are z = 0.2, 0.8, 1.2, 1.8, 2.4, -3.2.
    model = _constant_model(0.5)
    g_t = torch.full((6,), 5.0, dtype=torch.float64)
    dev = torch.tensor([0.1, 0.4, 0.6, 0.9, 1.2, -1.6], dtype=torch.float64)
    m = heldout_metrics(model, g_t, g_t + dev)
    z = [0.2, 0.8, 1.2, 1.8, 2.4, -3.2]
    assert m["n"] == 6
    assert m["coverage_1sigma"] == pytest.approx(2 / 6)      # |z| <= 1: 0.2, 0.8
    assert m["coverage_2sigma"] == pytest.approx(4 / 6)      # plus 1.2, 1.8
    assert m["frac_beyond_3sigma"] == pytest.approx(1 / 6)   # -3.2
    assert m["z_std"] == pytest.approx(statistics.stdev(z))
    nll = statistics.fmean(0.5 * math.log(2 * math.pi) + math.log(0.5) + 0.5 * v * v for v in z)
    assert m["nll"] == pytest.approx(nll)
    # The model predicts no deviation, so R² of the deviation is 1 - sum d² / sum (d - mean)².
    d = dev.tolist()
    dm = statistics.fmean(d)
    assert m["r2_deviation"] == pytest.approx(1 - sum(v * v for v in d)
                                              / sum((v - dm) ** 2 for v in d))
    assert m["rmse_us"] == pytest.approx(math.sqrt(statistics.fmean(v * v for v in d)))


def test_student_t_normal_scores_and_sampling():
    nu, sigma = 5.0, 0.5
    model = _constant_model(sigma, "student_t", nu)
    scale = sigma * math.sqrt((nu - 2) / nu)
    # Residuals at the t quantiles of Phi(1) and Phi(-2) have normal scores 1 and -2.
    q1 = float(special.stdtrit(nu, special.ndtr(1.0))) * scale
    q2 = float(special.stdtrit(nu, special.ndtr(-2.0))) * scale
    g_t = torch.full((2,), 4.0, dtype=torch.float64)
    z, logp, mean = normal_scores(model, g_t, g_t + torch.tensor([q1, q2], dtype=torch.float64))
    assert torch.allclose(z, torch.tensor([1.0, -2.0], dtype=torch.float64), atol=1e-9)
    expected = (math.lgamma(3.0) - math.lgamma(2.5) - 0.5 * math.log(5 * math.pi)
                - math.log(scale) - 3.0 * math.log1p((q1 / scale) ** 2 / nu))
    assert float(logp[0]) == pytest.approx(expected)
    # A device personality z maps to the t quantile of the same probability (heavier tail).
    z_dev = torch.tensor([0.0, 1.0, -3.0], dtype=torch.float64)
    drawn = model.sample(torch.full((3,), 4.0, dtype=torch.float64), z=z_dev)
    want = [4.0 + float(special.stdtrit(nu, special.ndtr(v))) * scale for v in z_dev.tolist()]
    assert drawn.tolist() == pytest.approx(want, abs=2e-4)
    assert abs(want[2] - 4.0) > 3 * sigma  # beyond the Gaussian's 3σ


def test_student_t_fits_heavy_tails_better():
    gen = torch.Generator().manual_seed(0)
    g = 1.0 + 9.0 * torch.rand(2000, generator=gen, dtype=torch.float64)
    # Student-t with 3 dof, scale 0.2 µS: heavy tails (the std is sqrt(3) times the scale).
    chi2 = (torch.randn(2000, 3, generator=gen, dtype=torch.float64) ** 2).sum(dim=1)
    dev = 0.2 * torch.randn(2000, generator=gen, dtype=torch.float64) / (chi2 / 3.0).sqrt()
    y = g + dev
    tr, te = slice(0, 1200), slice(1200, 2000)
    kw = dict(epochs=10, seed=0, batch_size=100, lr=0.05, n_grid=128)
    gauss = GPRNoiseModel.fit(g[tr], y[tr], **kw)
    heavy = GPRNoiseModel.fit(g[tr], y[tr], likelihood="student_t", **kw)
    assert heavy.likelihood == "student_t" and 2.1 < heavy.nu < 7.0, heavy.nu  # from 10
    mg, mt = heldout_metrics(gauss, g[te], y[te]), heldout_metrics(heavy, g[te], y[te])
    assert mt["nll"] < mg["nll"] - 0.05, (mt, mg)
    # The Gaussian with the right std over-covers ±1σ on heavy tails; the t is calibrated.
    assert mg["coverage_1sigma"] > 0.75 and 0.62 < mt["coverage_1sigma"] < 0.74, (mg, mt)
    with pytest.raises(ValueError, match="likelihood"):
        GPRNoiseModel.fit(g[tr], y[tr], likelihood="cauchy", epochs=1)


def test_save_load_keeps_features_and_likelihood(tmp_path):
    gen = torch.Generator().manual_seed(3)
    g = 1.0 + 9.0 * torch.rand(400, generator=gen, dtype=torch.float64)
    y = g + 0.3 * torch.randn(400, generator=gen, dtype=torch.float64)
    cond = (torch.arange(400) % 2).long()
    feats = torch.tensor([[0.0], [1.0], [0.5]], dtype=torch.float64)  # "mid" never trained
    model = GPRNoiseModel.fit(g, y, condition=cond, conditions=("lo", "hi", "mid"),
                              condition_features=feats, feature_names=("bake",),
                              likelihood="student_t", epochs=2, n_grid=64, batch_size=200)
    model.save(tmp_path / "m.pt")
    back = GPRNoiseModel.load(tmp_path / "m.pt")
    assert back.likelihood == "student_t" and back.nu == model.nu
    assert back.feature_names == ("bake",) and torch.equal(back.condition_features, feats)
    assert back.gp_state["trained_conditions"] == ["lo", "hi"]
    probe = torch.linspace(1.0, 10.0, 7, dtype=torch.float64)
    for a, b in zip(model.gp_mean_std(probe, "mid"), back.gp_mean_std(probe, "mid")):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
    mid = model.with_condition("mid").mean_std(probe)[1]
    assert torch.allclose(mid, back.gp_mean_std(probe, features=feats[2])[1], rtol=1e-3)
    with pytest.raises(ValueError, match="every condition needs training samples"):
        GPRNoiseModel.fit(g, y, condition=cond, conditions=("lo", "hi", "mid"), epochs=1)


def test_unseen_condition_predicted_from_its_neighbours():
    # Spread grows with the feature: 0.2 µS at x=0, 0.4 at x=0.5, 0.6 at x=1. Train on those
    # three, predict x=0.25 (no samples): its spread lies between its neighbours'.
    gen = torch.Generator().manual_seed(5)
    xs, sig = (0.0, 0.5, 1.0), (0.2, 0.4, 0.6)
    g = 1.0 + 9.0 * torch.rand(2400, generator=gen, dtype=torch.float64)
    cond = torch.arange(2400) % 3
    s = torch.tensor(sig, dtype=torch.float64)[cond]
    y = g + s * torch.randn(2400, generator=gen, dtype=torch.float64)
    feats = torch.tensor([[x] for x in (*xs, 0.25)], dtype=torch.float64)
    model = GPRNoiseModel.fit(g, y, condition=cond, conditions=("a", "b", "c", "new"),
                              condition_features=feats, feature_names=("x",), epochs=15,
                              seed=0, batch_size=300, lr=0.05, n_grid=64)
    probe = torch.tensor([3.0, 5.0, 7.0], dtype=torch.float64)
    std = {n: model.with_condition(n).mean_std(probe)[1] for n in ("a", "b", "new")}
    assert (std["a"] < std["new"]).all() and (std["new"] < std["b"]).all(), std
    assert ((std["a"] / 0.2 - 1).abs() < 0.2).all() and ((std["b"] / 0.4 - 1).abs() < 0.2).all()


def test_leave_one_group_out_splits():
    groups = torch.tensor([3, 1, 1, 2, 3, 3, 2])
    folds = leave_one_group_out(groups)
    assert [f[0] for f in folds] == [1, 2, 3]
    for g, tr, te in folds:
        assert (groups[te] == g).all() and not (groups[tr] == g).any()
        assert sorted(torch.cat([tr, te]).tolist()) == list(range(7))
    with pytest.raises(ValueError, match="two groups"):
        leave_one_group_out(torch.zeros(4, dtype=torch.long))


def _tiny_source(seed=0):
    """Three experiments x two stages of synthetic pairs, shaped like the measured source."""
    gen = torch.Generator().manual_seed(seed)
    names, feats, stage_of = [], [], []
    for e in (1, 2, 3):
        for s, st in enumerate(("prebake", "postbake")):
            names.append(f"e{e}/{st}")
            feats.append([float(s), 0.2 * e * s])
            stage_of.append(st)
    n = 900
    cond = torch.arange(n) % 6
    g = 1.0 + 9.0 * torch.rand(n, generator=gen, dtype=torch.float64)
    spread = 0.1 + 0.2 * torch.tensor(feats, dtype=torch.float64)[cond, 1]
    y = g + spread * torch.randn(n, generator=gen, dtype=torch.float64)
    return {"g_t": g, "g_a": y, "cond": cond, "conditions": tuple(names),
            "features": torch.tensor(feats, dtype=torch.float64), "feature_names": ("b", "t"),
            "served": "e2/postbake", "stage_of": stage_of, "groups": cond // 2 + 1,
            "group_names": {1: "e1", 2: "e2", 3: "e3"}, "train": None, "test": None,
            "data": {"condition_groups": "experiment"}}


def test_loco_never_trains_on_the_held_out_group_and_is_deterministic(monkeypatch):
    src = _tiny_source()
    seen = []
    real_fit = GPRNoiseModel.fit.__func__

    def recording_fit(cls, g_target, g_actual, **kwargs):
        seen.append(set(kwargs["condition"].tolist()))
        return real_fit(cls, g_target, g_actual, **kwargs)

    monkeypatch.setattr(GPRNoiseModel, "fit", classmethod(recording_fit))
    result = leave_one_condition_out(src, ("gaussian", "student_t"), epochs=2, seed=0,
                                     progress=False)
    monkeypatch.undo()
    # Folds in group order e1, e2, e3 per likelihood: conditions {0,1}, {2,3}, {4,5} held out.
    held = [{0, 1}, {2, 3}, {4, 5}] * 2
    assert len(seen) == 6 and all(s.isdisjoint(h) and s for s, h in zip(seen, held))
    for lk in ("gaussian", "student_t"):
        table = result["likelihoods"][lk]
        assert list(table) == ["e1", "e2", "e3"]
        for name, entry in table.items():
            assert name not in entry["train_groups"] and len(entry["train_groups"]) == 2
            assert entry["n_train"] + entry["n_test"] == 900
            assert entry["held_out_conditions"] == [f"{name}/prebake", f"{name}/postbake"]
            for key in (*entry["held_out_conditions"], "prebake", "postbake", "all"):
                assert set(entry["metrics"][key]) >= {
                    "coverage_1sigma", "coverage_2sigma", "z_std", "frac_beyond_3sigma",
                    "nll", "r2", "r2_deviation", "n"}
            assert entry["meets_target"] == (not entry["misses"])
    assert result["target"] == LOCO_TARGET and set(result["all_meet_target"]) == {
        "gaussian", "student_t"}
    again = leave_one_condition_out(src, ("gaussian", "student_t"), epochs=2, seed=0,
                                    progress=False)
    strip = lambda r: {lk: {g: e["metrics"] for g, e in t.items()}  # noqa: E731
                       for lk, t in r["likelihoods"].items()}
    assert strip(again) == strip(result)


def test_loco_target_verdicts():
    miss = noise_loco.target_misses
    ok = {"coverage_1sigma": 0.68, "coverage_2sigma": 0.95}
    assert miss(ok) == []
    assert miss({**ok, "coverage_1sigma": 0.80}) == ["±1σ 80.0 % outside 60-76 %"]
    assert miss({"coverage_1sigma": 0.41, "coverage_2sigma": 0.717}) == [
        "±1σ 41.0 % outside 60-76 %", "±2σ 71.7 % below 90 %"]


def test_radar_conditions_table():
    names, table, feats = radar_conditions()
    assert len(names) == 14 and names[0] == "e1/prebake" and names[-1] == "e7/postbake"
    e1_post, e7_post = table[1], table[13]
    assert e1_post["bake_temperature_c"] == 80.0 and e1_post["temperature_stated"]
    assert not e7_post["temperature_stated"] and e7_post["endurance_cycles"] == 5000
    assert all(t["write_verify"] for t in table)
    # Scaled: 30 min -> 1, 80 °C -> (80 - 25) / 100, 5000 cycles -> log10(5001) / 4.
    assert feats[1].tolist() == pytest.approx([1.0, 0.55, 0.0])
    assert feats[12].tolist() == pytest.approx([0.0, 0.0, math.log10(5001) / 4])


def test_neurram_report_says_circular(tmp_path):
    out = tmp_path / "noise_neurram.pt"
    report = noise_fit("neurram", out, epochs=1, progress=False, loco=True)
    assert "circular" in report["caveat"] and report["loco"]["skipped"]
    assert report["likelihood"] == "gaussian" and set(report["likelihoods"]) == {"gaussian"}
    for key in ("r2_deviation", "z_std", "frac_beyond_3sigma", "lowest_heldout_nll"):
        assert key in report
    text = noise_show(out)
    assert "NOTE        fit statistics are circular" in text
    with pytest.raises(DfasimError, match="unknown likelihood"):
        noise_fit("neurram", out, likelihood="laplace")


@pytest.mark.slow
def test_radar_report_has_loco_for_every_experiment(tmp_path, monkeypatch):
    try:
        noise_flow.find_radar_file()
    except DfasimError:
        pytest.skip("measured RRAM data not available")
    real = noise_flow.radar_pairs

    def every_fourth_cell(*args, **kwargs):  # a quarter of the cells keeps the test short
        g_t, g_a, info = real(*args, **kwargs)
        keep = info["group"] % 4 == 0
        info = {**info, **{k: info[k][keep] for k in ("stage", "group", "experiment",
                                                      "condition")}}
        return g_t[keep], g_a[keep], info

    monkeypatch.setattr(noise_flow, "radar_pairs", every_fourth_cell)
    out = tmp_path / "noise_radar.pt"
    report = noise_fit("radar", out, epochs=1, progress=False, compare_likelihoods=True,
                       loco=True)
    loco = report["loco"]
    for lk in ("gaussian", "student_t"):
        assert list(loco["likelihoods"][lk]) == [f"e{e}" for e in range(1, 8)]
    assert report["served_condition"] == "e6/postbake" and report["caveat"] is None
    assert len(report["condition_features"]) == 14
    text = noise_show(out)
    assert "leave one condition out" in text and "e7/postbake" in text
