# SPDX-License-Identifier: MIT
"""``dfasim adapt`` with the chip ageing between epochs: ages recorded, drift applied, figure."""
import json

import pytest

from dfasim.flows.adapt import AdaptConfig, adapt, aging_curves
from dfasim.flows.cli import main
from dfasim.flows.errors import DfasimError
from dfasim.models.chip import ChipConfig


@pytest.fixture(scope="module")
def ckpt(small_checkpoint):
    return small_checkpoint


def _cfg(ckpt, **kw):
    chip = ChipConfig().updated({"nonideal.drift": True})
    base = dict(checkpoint=str(ckpt), chips=2, epochs=2, noise="crosssim",
                calibration_samples=16, age_per_epoch_s=43200.0, chip=chip)
    return AdaptConfig(**{**base, **kw})


def _check_run(res, tmp_path, rules, chips):
    saved = json.loads((tmp_path / "adapt.json").read_text())
    assert saved["age_per_epoch_s"] == 43200.0
    # Ages: 1 s at deployment, then + 12 h per epoch.
    for chip in res["chips"]:
        assert [h["age_s"] for h in chip["deployed_aging"]] == [43201.0, 86401.0]
        for rule in rules:
            assert [h["age_s"] for h in chip["adapt"][rule]["history"]] == [43201.0, 86401.0]
    curves = aging_curves(saved)
    assert set(curves) == {"deployed", *rules}
    assert [t for t, _ in curves["deployed"]] == [1.0, 43201.0, 86401.0]
    assert curves["deployed"][0][1] == pytest.approx(
        sum(c["nonideal_accuracy"] for c in res["chips"]) / chips)
    png = (tmp_path / "aging.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_aging_between_epochs(ckpt, tmp_path):
    res = adapt(_cfg(ckpt, chips=1, rules=["dfa"]), tmp_path, progress=False)
    _check_run(res, tmp_path, ["dfa"], 1)


@pytest.mark.slow
def test_aging_between_epochs_both_rules_two_chips(ckpt, tmp_path):
    res = adapt(_cfg(ckpt), tmp_path, progress=False)
    _check_run(res, tmp_path, ["bp", "dfa"], 2)


@pytest.mark.slow
def test_aging_changes_the_deployed_chip_and_is_seeded(ckpt, tmp_path):
    """With the crossbars aged (drift spread of ~1-3 µS after a day) the un-adapted chip reads
    differently from the day-0 chip; the same seed repeats every number."""
    a = adapt(_cfg(ckpt, chips=1, epochs=1, rules=["dfa"]), tmp_path / "a", progress=False)
    b = adapt(_cfg(ckpt, chips=1, epochs=1, rules=["dfa"]), tmp_path / "b", progress=False)
    strip = [(c["deployed_aging"], [h["test_acc"] for h in c["adapt"]["dfa"]["history"]])
             for r in (a, b) for c in r["chips"]]
    assert strip[0] == strip[1]
    deployed = a["chips"][0]
    from dfasim.flows.adapt import _load
    st = _load(tmp_path / "a" / "state" / "chip0.pt")
    layer = st["snn"].layers[0]
    assert layer.aged_s == 0.0                    # the saved deployed chip itself is not aged
    young = layer.effective_weight()
    layer.advance(43200.0)
    assert not young.equal(layer.effective_weight())
    assert deployed["deployed_aging"][0]["age_s"] == 43201.0


def test_aging_needs_drift_and_a_valid_time(ckpt, tmp_path):
    with pytest.raises(DfasimError, match="drift = true"):
        adapt(_cfg(ckpt, chip=ChipConfig()), tmp_path, progress=False)
    with pytest.raises(DfasimError, match="age_per_epoch_s"):
        adapt(_cfg(ckpt, age_per_epoch_s=-1.0), tmp_path, progress=False)


def test_cli_age_per_epoch_switches_drift_on(ckpt, tmp_path, capsys):
    rc = main(["adapt", "--checkpoint", str(ckpt), "--chips", "1", "--epochs", "1",
               "--rules", "dfa", "--noise", "ideal", "--age-per-epoch", "86400",
               "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    assert "aging.png" in capsys.readouterr().out
    saved = json.loads((tmp_path / "adapt.json").read_text())
    assert saved["config"]["chip"]["nonideal"]["drift"] is True
    assert saved["chips"][0]["deployed_aging"][0]["age_s"] == 86401.0
