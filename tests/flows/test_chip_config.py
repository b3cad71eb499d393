# SPDX-License-Identifier: MIT
"""The chip description in run configs: a bad field is one line, found before any work starts,
and a [chip] table round-trips through reproduce.toml unchanged."""
from __future__ import annotations

import pytest

from dfasim.flows.cli import main
from dfasim.flows.config import dump_toml
from dfasim.flows.reproduce import ReproduceConfig, load_reproduce_config


@pytest.mark.parametrize("table, line, needle", [
    ("adapt.chip.crossbar", "rows = 0", "crossbar.rows must be >= 2, not 0"),
    ("adapt.chip.crossbar", "adc_bits = -3", "crossbar.adc_bits must be >= 0, not -3"),
    ("adapt.chip.device", "g_min_us = 20.0", "device.g_min_us (20.0) must be below"),
    ("adapt.chip.crossbar", "rowz = 3", "unknown key 'rowz'"),
])
def test_a_bad_chip_field_in_a_config_is_one_line(tmp_path, capsys, table, line, needle):
    config = tmp_path / "run.toml"
    # The same table inside an adapt config and inside a reproduce config.
    for command, section in (("adapt", "adapt"), ("reproduce", "reproduce")):
        prefix = table if section == "adapt" else f"reproduce.{table}"
        config.write_text(f"[{section}]\ncheckpoint = 'none.pt'\n[{prefix}]\n{line}\n"
                          if section == "adapt" else f"[{section}]\n[{prefix}]\n{line}\n")
        out = tmp_path / f"out-{command}"
        assert main([command, "--config", str(config), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("dfasim: error: "), err
        assert needle in err and "Traceback" not in err, err
        assert not out.exists()                     # refused before the run folder is made


def test_reproduce_config_round_trips_the_chip(tmp_path):
    cfg = ReproduceConfig()
    cfg.adapt.chip = cfg.adapt.chip.updated({"crossbar.rows": 128, "device.mapping": "offset",
                                             "programming.write_verify": 2})
    path = tmp_path / "reproduce.toml"
    dump_toml(path, {"reproduce": cfg})
    text = path.read_text()
    assert "[reproduce.adapt.chip.crossbar]" in text and "hardware" not in text
    assert load_reproduce_config(path).adapt.chip == cfg.adapt.chip


def test_macro_part_of_the_chip(tmp_path):
    # The analog-neuron macro joins the chip description as a nested part.
    from dfasim.flows.config import load_chip
    from dfasim.flows.errors import DfasimError
    from dfasim.models.chip import ChipConfig

    path = tmp_path / "macro.toml"
    path.write_text("[chip.macro]\ntime_scale = 1000.0\n[chip.macro.neuron]\nc_mem_f = 1e-8\n")
    chip = load_chip(path)
    assert chip.macro.time_scale == 1000.0 and chip.macro.neuron.c_mem_f == 1e-8
    assert ChipConfig().updated({"macro.pe.levels": 10}).macro.pe.levels == 10
    bad = tmp_path / "bad.toml"
    bad.write_text("[chip.macro.neuron]\nc_mem_f = 0.0\n")
    with pytest.raises(DfasimError, match="macro.neuron.c_mem_f must be a positive number"):
        load_chip(bad)
