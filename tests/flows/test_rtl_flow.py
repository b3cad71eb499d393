# amaranth: UnusedElaboratable=no
# SPDX-License-Identifier: MIT
"""Tests of the RTL flows: parameter parsing, deterministic Verilog, yosys synthesis reports."""
from __future__ import annotations

import gc
import json
import shutil
import warnings

import pytest
from amaranth.hdl import UnusedElaboratable

from dfasim.flows import rtl
from dfasim.flows.errors import DfasimError
from dfasim.flows.rtl import BLOCKS, emit_verilog, parse_params, resolve_params, synth

# Small parameters keep the emit and synthesis tests quick (the default WGU takes seconds
# to emit); the registry defaults are only constructed here.
SMALL = {
    "grad_lif":  {"lanes": 2},
    "psum":      {"lanes": 2},
    "shift_add": {"lanes": 2, "slices": 2},
    "wgu":       {"rows": 8, "cols": 4},
    "pingpong":  {"depth": 16, "width": 8},
    "tile":      {"n_in": 4, "n_out": 2, "timesteps": 2, "rows": 2},
}

needs_yosys = pytest.mark.skipif(
    shutil.which("yosys") is None,
    reason="synthesis needs Debian yosys on PATH (apt-get install yosys)")
needs_liberty = pytest.mark.skipif(
    not rtl.OSU018_LIBERTY.is_file(),
    reason=f"synthesis needs the OSU 0.18 µm liberty {rtl.OSU018_LIBERTY} "
           f"(Debian package qflow-tech-osu018)")


def test_registry_covers_the_blocks():
    assert set(BLOCKS) == set(SMALL)
    for name, spec in BLOCKS.items():
        # Every default is a real constructor keyword, and the module name is snake_case.
        assert set(spec.defaults) <= set(parse_params([f"{k}={v}" for k, v in
                                                       spec.defaults.items()], name))
        assert spec.module == spec.module.lower()
        # Built from the resolved defaults, deliberately never elaborated (the linter comment
        # on line 1 keeps Amaranth quiet about it).
        component = spec.cls(**resolve_params(name))
        assert isinstance(component, spec.cls)
    assert BLOCKS["pingpong"].defaults == {"depth": 512, "width": 16}


@pytest.mark.parametrize("block", sorted(SMALL))
def test_emit_is_deterministic(block, tmp_path):
    # Two emissions into separate directories give the same bytes, with no absolute paths.
    params = SMALL[block]
    a = emit_verilog(block, params, tmp_path / "a")
    b = emit_verilog(block, params, tmp_path / "b")
    assert a.name == b.name == f"{BLOCKS[block].module}.v"
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text()
    assert f"module {BLOCKS[block].module}(" in text
    assert str(tmp_path) not in text and "src =" not in text


def test_parse_params_types():
    got = parse_params(["lanes=4", "reset=soft", "threshold=none", "leak_shift=0x2"],
                       "grad_lif")
    assert got == {"lanes": 4, "reset": "soft", "threshold": None, "leak_shift": 2}
    assert parse_params(["signed=true", "depth=64"], "pingpong") == {"signed": True,
                                                                       "depth": 64}
    assert parse_params(["signed=False"], "pingpong") == {"signed": False}
    assert parse_params([], "psum") == {}
    assert resolve_params("psum", {"lanes": 3}) == {"lanes": 3}
    assert resolve_params("wgu", {"shift": 2}) == {"rows": 32, "cols": 32, "shift": 2}


def test_parse_params_unknown_key_names_allowed_ones():
    with pytest.raises(DfasimError) as exc:
        parse_params(["lanes=4", "bogus=1"], "psum")
    msg = str(exc.value)
    assert "'bogus'" in msg and "lanes" in msg and "acc_width" in msg and "\n" not in msg


@pytest.mark.parametrize("item", ["lanes", "=4", ""])
def test_parse_params_malformed(item):
    with pytest.raises(DfasimError, match="key=value"):
        parse_params([item], "psum")


def test_unknown_block():
    with pytest.raises(DfasimError, match="unknown RTL block 'nope'.*grad_lif"):
        parse_params([], "nope")
    with pytest.raises(DfasimError, match="unknown RTL block"):
        emit_verilog("nope", None, "unused")


@pytest.mark.parametrize("block, params", [
    ("grad_lif", {"lanes": 0}),                 # ValueError from the constructor
    ("psum", {"lanes": "four"}),                # TypeError from the constructor
    ("pingpong", {"depth": 12}),                # not a power of two
    ("wgu", {"rows": 4, "cols": 4, "rounding": "up"}),
])
def test_bad_params_become_one_line_errors(block, params, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DfasimError) as exc:
            emit_verilog(block, params, tmp_path)
        gc.collect()
    assert "\n" not in str(exc.value) and repr(block) in str(exc.value)
    assert not list(tmp_path.iterdir())
    # The rejected component is dropped quietly, not reported as "created but never used".
    assert not [w for w in caught if issubclass(w.category, UnusedElaboratable)]


@pytest.mark.parametrize("block, params, value", [
    ("grad_lif", {"lanes": 100_000_000}, "100000000"),
    ("grad_lif", {"lanes": 4, "max_timesteps": 1 << 30}, "1073741824"),
    ("psum", {"lanes": 4097}, "4097"),
    ("shift_add", {"lanes": 2, "slices": 1000}, "1000"),
    ("wgu", {"rows": 1 << 21, "cols": 4}, "2097152"),
    ("wgu", {"rows": 4, "cols": 100_000}, "100000"),
    ("pingpong", {"depth": 1 << 40}, "1099511627776"),
])
def test_absurd_sizes_fail_fast(block, params, value, tmp_path, hang_guard):
    # Every parameter has an upper bound, so the request is refused before any elaboration
    # (without one, building the block would run for hours or exhaust memory).
    with hang_guard(60.0), pytest.raises(DfasimError, match=value) as exc:
        emit_verilog(block, params, tmp_path)
    assert "\n" not in str(exc.value) and "must be <=" in str(exc.value)


def test_synth_without_yosys_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DfasimError, match="install the Debian package yosys"):
        synth("psum", SMALL["psum"], tmp_path / "out")


@needs_yosys
def test_synth_missing_liberty_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(rtl, "OSU018_LIBERTY", tmp_path / "missing.lib")
    with pytest.raises(DfasimError, match="qflow-tech-osu018"):
        synth("psum", SMALL["psum"], tmp_path / "out")
    with pytest.raises(DfasimError, match="not found"):
        synth("psum", SMALL["psum"], tmp_path / "out", liberty=tmp_path / "other.lib")


@pytest.mark.synth
@needs_yosys
@needs_liberty
@pytest.mark.parametrize("block", ["grad_lif", "psum"])
def test_synth_reports_cells_transistors_area(block, tmp_path):
    rep = synth(block, SMALL[block], tmp_path)
    module = BLOCKS[block].module
    assert rep["block"] == block and rep["module"] == module
    assert rep["params"] == resolve_params(block, SMALL[block])
    assert rep["cell_count"] > 0 and sum(rep["cells_by_type"].values()) == rep["cell_count"]
    assert rep["transistors"] > 0
    assert rep["area_um2"] > 0 and rep["liberty_cell_count"] > 0
    # Flip-flops map to the OSU library's DFF cell.
    assert any(cell.startswith("DFF") for cell in rep["liberty_cells_by_type"])
    assert rep["yosys_version"].startswith("Yosys ")
    assert "OSU 0.18" in rep["technology"] and rep["seconds"]["total"] > 0
    assert any(c.startswith("abc -liberty") for c in rep["commands"])
    # The written JSON is the returned report.
    assert json.loads((tmp_path / f"{module}.synth.json").read_text()) == rep


@pytest.mark.synth
@needs_yosys
@needs_liberty
@pytest.mark.parametrize("block, params, words, width", [
    # One WGU word holds a row of cols gradients plus cols overflow flags: 4 x (16 + 1).
    ("wgu", {"rows": 8, "cols": 4}, 8, 4 * 17),
    ("pingpong", {"depth": 16, "width": 8}, 16, 8),
])
def test_synth_reports_memories(block, params, words, width, tmp_path):
    rep = synth(block, params, tmp_path)
    assert [(m["words"], m["width"], m["bits"]) for m in rep["memories"]] == [
        (words, width, words * width)]
    assert "not an SRAM estimate" in rep["memory_note"]


@pytest.mark.synth
@needs_yosys
@needs_liberty
def test_synth_psum_has_no_memory_and_area_grows_with_lanes(tmp_path):
    small = synth("psum", {"lanes": 2}, tmp_path / "2")
    large = synth("psum", {"lanes": 4}, tmp_path / "4")
    assert small["memories"] == [] and large["memories"] == []
    assert large["area_um2"] > small["area_um2"]
    assert large["cell_count"] > small["cell_count"]
    assert large["transistors"] > small["transistors"]
