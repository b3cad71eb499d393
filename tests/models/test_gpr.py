# SPDX-License-Identifier: MIT
"""GPR noise model: recovery of a known spread, calibration, data preparation, files, flows."""
import json
import math

import pytest
import torch

from dfasim.flows.errors import DfasimError
from dfasim.flows import noise as noise_flow
from dfasim.flows.noise import bench_noise_sampling, find_radar_file, noise_fit, noise_show
from dfasim.models.rram.gpr import FORMAT, VERSION, GPRNoiseModel, heldout_metrics
from dfasim.models.rram.measured import (neurram_like_samples, radar_pairs, split_indices,
                                         to_device_window)
from dfasim.models.rram.noise import CROSSSIM_RRAM_WAN, PolynomialSpread


def _true_mean(g):
    return g + 0.3 * torch.sin(g)  # known bias (µS)


def _true_std(g):
    return 0.1 + 0.08 * g  # known heteroscedastic spread (µS): 0.18 at 1 µS, 0.9 at 10 µS


def _synthetic(n, seed, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    g = 1.0 + 9.0 * torch.rand(n, generator=gen, dtype=torch.float64)
    return g, _true_mean(g) + scale * _true_std(g) * torch.randn(n, generator=gen,
                                                                  dtype=torch.float64)


@pytest.fixture(scope="module")
def small_model():
    g, y = _synthetic(600, seed=1)
    return GPRNoiseModel.fit(g, y, epochs=3, seed=0, batch_size=128, n_grid=256,
                             meta={"source": "synthetic"})


def test_recovers_known_heteroscedastic_spread():
    g, y = _synthetic(4000, seed=0)
    model = GPRNoiseModel.fit(g, y, epochs=30, seed=0, batch_size=256, lr=0.05)
    probe = torch.tensor([1.5, 3.0, 5.0, 7.0, 9.5], dtype=torch.float64)
    mean, std = model.mean_std(probe)
    assert torch.allclose(mean, _true_mean(probe), atol=0.15)
    assert ((std / _true_std(probe) - 1).abs() < 0.2).all(), (std, _true_std(probe))
    g_te, y_te = _synthetic(4000, seed=99)
    m = heldout_metrics(model, g_te, y_te)
    assert 0.64 < m["coverage_1sigma"] < 0.73 and 0.93 < m["coverage_2sigma"] < 0.975, m
    assert m["r2"] > 0.93  # the noise itself caps R² at 0.952 here


def test_second_input_condition_separates_spreads():
    ga, ya = _synthetic(1500, seed=2)
    gb, yb = _synthetic(1500, seed=3, scale=2.0)
    cond = torch.cat([torch.zeros(1500), torch.ones(1500)]).long()
    model = GPRNoiseModel.fit(torch.cat([ga, gb]), torch.cat([ya, yb]), condition=cond,
                              conditions=("fresh", "baked"), epochs=30, seed=0,
                              batch_size=256, lr=0.05)
    assert model.condition == "baked" and model.bias_table.shape[0] == 2
    probe = torch.tensor([2.0, 5.0, 8.0], dtype=torch.float64)
    ratio = model.mean_std(probe)[1] / model.with_condition("fresh").mean_std(probe)[1]
    assert ((ratio - 2.0).abs() < 0.4).all(), ratio
    with pytest.raises(ValueError, match="unknown condition"):
        model.with_condition("aged")
    with pytest.raises(ValueError, match="condition="):
        GPRNoiseModel.fit(ga, ya, conditions=("a", "b"))


def test_tables_match_gp_and_clamp_outside(small_model):
    g = torch.linspace(small_model.g_lo, small_model.g_hi, 97, dtype=torch.float64)
    mean, std = small_model.mean_std(g)
    gp_mean, gp_std = small_model.gp_mean_std(g)
    assert torch.allclose(mean, gp_mean, atol=1e-3) and torch.allclose(std, gp_std, rtol=1e-3)
    lo, hi = small_model.g_lo, small_model.g_hi
    edge = small_model.mean_std(torch.tensor([lo, hi], dtype=torch.float64))
    out = small_model.mean_std(torch.tensor([lo - 0.5, hi + 2.0], dtype=torch.float64))
    assert torch.allclose(out[1], edge[1])  # spread held at the edge
    assert torch.allclose(out[0] - torch.tensor([lo - 0.5, hi + 2.0], dtype=torch.float64),
                          edge[0] - torch.tensor([lo, hi], dtype=torch.float64))  # bias held


def test_sample_with_fixed_z(small_model):
    g = torch.linspace(0.5, 11.0, 1000)
    z = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    mean, std = small_model.mean_std(g)
    assert mean.dtype == torch.float32
    assert torch.equal(small_model.sample(g, z=z), torch.clamp(mean + std * z, min=0.0))
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(small_model.sample(g, generator=gen_a),
                       small_model.sample(g, generator=gen_b))


def test_same_seed_bit_identical_tables():
    g, y = _synthetic(500, seed=4)
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        a = GPRNoiseModel.fit(g, y, epochs=2, seed=7, batch_size=128, n_grid=128)
        b = GPRNoiseModel.fit(g, y, epochs=2, seed=7, batch_size=128, n_grid=128)
        c = GPRNoiseModel.fit(g, y, epochs=2, seed=8, batch_size=128, n_grid=128)
    finally:
        torch.use_deterministic_algorithms(previous)
    assert torch.equal(a.bias_table, b.bias_table) and torch.equal(a.std_table, b.std_table)
    assert not torch.equal(a.std_table, c.std_table)


def test_save_load_round_trip(small_model, tmp_path):
    path = tmp_path / "m.pt"
    small_model.save(path)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == FORMAT and raw["version"] == VERSION
    loaded = GPRNoiseModel.load(path)
    g = torch.linspace(0.0, 12.0, 301)
    for a, b in zip(small_model.mean_std(g), loaded.mean_std(g)):
        assert torch.equal(a, b)
    assert loaded.meta["source"] == "synthetic" and loaded.fit_info["seed"] == 0
    # The stored GP state rebuilds the GP (the tables can be reproduced from the file).
    g64 = g.double()
    for a, b in zip(small_model.gp_mean_std(g64), loaded.gp_mean_std(g64)):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)


def test_load_rejects_wrong_version_format_and_corrupt(small_model, tmp_path):
    path = tmp_path / "m.pt"
    small_model.save(path)
    raw = torch.load(path, weights_only=True)
    torch.save({**raw, "version": 3}, tmp_path / "v3.pt")
    with pytest.raises(ValueError, match="has version 3, this dfasim reads versions 1 and 2"):
        GPRNoiseModel.load(tmp_path / "v3.pt")
    torch.save({**raw, "format": "dfasim.snn"}, tmp_path / "snn.pt")
    with pytest.raises(ValueError, match="format 'dfasim.snn'"):
        GPRNoiseModel.load(tmp_path / "snn.pt")
    (tmp_path / "bad.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="corrupt"):
        GPRNoiseModel.load(tmp_path / "bad.pt")
    incomplete = {k: v for k, v in raw.items() if k != "std_us"}
    torch.save(incomplete, tmp_path / "inc.pt")
    with pytest.raises(ValueError, match="incomplete"):
        GPRNoiseModel.load(tmp_path / "inc.pt")
    for name in ("v3.pt", "bad.pt", "missing.pt"):
        with pytest.raises(DfasimError) as err:
            noise_show(tmp_path / name)
        assert len(str(err.value).splitlines()) == 1


def test_radar_pairs():
    try:
        path = find_radar_file()
    except DfasimError:
        pytest.skip("measured RRAM data not available")
    g_t, g_a, info = radar_pairs(path)
    counts = info["counts"]
    assert g_t.dtype == torch.float64 and g_t.shape == g_a.shape == (counts["pairs"],)
    assert counts["pairs"] == counts["cells_kept"] > 4000  # 4318 in the bundled file
    assert counts["dropped_open_window"] > 0 and counts["dropped_failed"] >= 0
    assert float(g_t.min()) == pytest.approx(1.0) and float(g_t.max()) == pytest.approx(10.0)
    assert ((g_a > -5.0) & (g_a < 15.0)).all()  # µS; a few relaxed cells leave the window
    assert (g_a - g_t).abs().median() < 0.5
    g_lo, g_hi = info["g_window_measured_us"]
    assert 50.0 < g_lo < g_hi < 300.0  # HfOx levels of 4-12 kΩ, in µS
    both_t, _, both = radar_pairs(path.parent, g_min=2.0, g_max=4.0,   # a folder also works
                                  stages=("prebake", "postbake"))
    assert len(both_t) == 2 * len(g_t) and set(both["stage"].tolist()) == {0, 1}
    assert float(both_t.min()) == pytest.approx(2.0) and float(both_t.max()) == pytest.approx(4.0)
    tr, te = split_indices(len(both_t), 0, groups=both["group"])
    assert set(both["group"][tr].tolist()).isdisjoint(both["group"][te].tolist())
    assert len(tr) + len(te) == len(both_t)
    with pytest.raises(ValueError):
        radar_pairs(path, stages=("afterlife",))
    with pytest.raises(FileNotFoundError):
        radar_pairs(path="/nonexistent/rram.npz")


def test_to_device_window():
    g = torch.tensor([85.0, 150.0, 215.0], dtype=torch.float64)
    assert torch.allclose(to_device_window(g, 85.0, 215.0, 1.0, 10.0),
                          torch.tensor([1.0, 5.5, 10.0], dtype=torch.float64))


def test_neurram_like_samples_match_crosssim():
    g_t, g_a = neurram_like_samples()
    tr, te = split_indices(len(g_t))
    assert len(g_t) == 8650 and (len(tr), len(te)) == (6920, 1730)
    assert torch.equal(torch.cat([tr, te]).sort().values, torch.arange(8650))
    levels = torch.linspace(1.0, 10.0, 16, dtype=torch.float64)
    assert torch.isin(g_t, levels).all() and (g_a >= 0).all()
    # More samples for a tight check: the spread is CrossSim's sigma(G) in absolute µS, with the
    # lower tail clamped at 0 (rectified Gaussian).
    g_t, g_a = neurram_like_samples(64000, seed=1)
    sigma = PolynomialSpread(CROSSSIM_RRAM_WAN).mean_std(levels)[1]
    normal = torch.distributions.Normal(0.0, 1.0)
    a = -levels / sigma
    cdf, pdf = normal.cdf(a), normal.log_prob(a).exp()
    e1 = levels * (1 - cdf) + sigma * pdf
    e2 = (levels ** 2 + sigma ** 2) * (1 - cdf) + levels * sigma * pdf
    expected = (e2 - e1 ** 2).sqrt()
    for lv, s in zip(levels, expected):
        emp = g_a[g_t == lv].std()
        assert abs(float(emp / s) - 1) < 0.06, (float(lv), float(emp), float(s))
    assert float(sigma[-1]) == pytest.approx(2.414, abs=1e-3)  # absolute µS, not rescaled


def test_noise_fit_end_to_end(tmp_path):
    out = tmp_path / "noise_neurram.pt"
    report = noise_fit("neurram", out, epochs=1, progress=False)
    assert out.is_file() and out.with_suffix(".png").is_file()
    on_disk = json.loads(out.with_suffix(".json").read_text())
    assert on_disk["n_train"] == 6920 and on_disk["n_test"] == 1730
    assert on_disk["r2"] == report["r2"] and 0.0 < report["r2"] < 1.0
    assert len(report["levels"]["levels_us"]) == 16
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = noise_show(out)
    assert "neurram" in text and "held-out" in text and len(text.splitlines()) > 16
    assert math.isfinite(GPRNoiseModel.load(out).meta["nll"])


def test_noise_fit_errors(tmp_path, monkeypatch):
    for kwargs, needle in (({"g_min": 5.0, "g_max": 5.0}, "g_min < g_max"),
                           ({"epochs": 0}, "epochs")):
        with pytest.raises(DfasimError, match=needle):
            noise_fit("neurram", tmp_path / "m.pt", **kwargs)
    with pytest.raises(DfasimError, match="unknown noise source"):
        noise_fit("mram", tmp_path / "m.pt")
    monkeypatch.setattr(noise_flow, "RADAR_FILE", "absent_radar.npz")
    with pytest.raises(DfasimError, match="absent_radar.npz") as err:
        noise_fit("radar", tmp_path / "m.pt", data_dir=tmp_path)
    assert len(str(err.value).splitlines()) == 1


def test_bench_noise_sampling(small_model):
    result = bench_noise_sampling(n=10_000, repeats=2, model=small_model)
    assert result["seconds_best"] > 0 and result["draws_per_second"] > 0
