# SPDX-License-Identifier: MIT
"""dfasim explore: a tiny exploration on a local Dask cluster, resume, NSGA-II, cost only, the
design-space checks, and the Pareto front against hand-made tables."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from dfasim.flows.cli import main
from dfasim.flows.errors import DfasimError
from dfasim.flows.explore import pareto_mask
from dfasim.flows.explore import space as sp
from dfasim.flows.explore.engine import available_cores
from dfasim.flows.explore.results import objective_matrix


def write_space(path: Path, checkpoint, space: str, *, header: str = "",
                adapt: str = 'epochs = 1\nnoise = "crosssim"\ncalibration_samples = 16') -> Path:
    """A design-space TOML at ``path`` for ``checkpoint`` with the ``[explore.space]`` body
    ``space``."""
    path.write_text(f'[explore]\ncheckpoint = "{checkpoint}"\n{header}\n'
                    f'[explore.adapt]\n{adapt}\n\n[explore.space]\n{space}\n')
    return path


TINY_SPACE = '"crossbar.adc_bits" = [3, 5]\n"adapt.rule" = ["bp", "dfa"]'


@pytest.fixture(scope="module")
def cluster_address():
    """One local Dask cluster shared by the tests that pass --address (its workers stay warm),
    two single-threaded workers as the CI machine's two cores allow."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=min(2, available_cores()), threads_per_worker=1,
                      processes=True, dashboard_address=None) as local:
        yield local.scheduler_address


def _read_rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_tiny_exploration_on_the_local_cluster(small_checkpoint, tmp_path, capsys):
    space = write_space(tmp_path / "tiny.toml", small_checkpoint, TINY_SPACE,
                        header="chips = 2")
    out = tmp_path / "run"
    rc = main(["explore", str(space), "--out", str(out), "--quiet", "--workers", "2"
               if available_cores() >= 2 else "1"])
    assert rc == 0, capsys.readouterr().err
    rows = _read_rows(out)
    assert [r["point"] for r in rows] == [0, 1, 2, 3]
    assert [(r["crossbar.adc_bits"], r["adapt.rule"]) for r in rows] == \
        [(3, "bp"), (3, "dfa"), (5, "bp"), (5, "dfa")]
    for r in rows:
        assert r["status"] == "ok" and r["chips_done"] == 2, r
        recs = [json.loads((out / "points" / r["key"] / f"chip{c}.json").read_text())
                for c in range(2)]
        assert {rec["chip"] for rec in recs} == {0, 1}
        # One thread per task: 2 workers x 1 thread on 2 cores.
        assert all((rec["torch_threads"], rec["omp_threads"]) == (1, "1") for rec in recs)
        assert r["accuracy_mean"] == pytest.approx(np.mean([rec["accuracy"] for rec in recs]))
        assert r["energy_pj"] == pytest.approx(np.mean([rec["energy_pj"] for rec in recs]))
        assert 0 <= r["accuracy_mean"] <= 1 and r["energy_pj"] > 0 and r["area_um2"] > 0
        assert (out / "points" / r["key"] / "chip0-adapt.json").exists()
    by = {(r["crossbar.adc_bits"], r["adapt.rule"]): r for r in rows}
    for rule in ("bp", "dfa"):
        # Wider ADCs cost energy and area (the cost model's ADC scales with its bits).
        assert by[5, rule]["energy_pj"] > by[3, rule]["energy_pj"]
        assert by[5, rule]["area_um2"] > by[3, rule]["area_um2"]
    # DFA's backward pass runs all layers in parallel: a shorter epoch than BP's.
    assert by[3, "dfa"]["latency_ns"] < by[3, "bp"]["latency_ns"]
    # Chip c of every point has the same device draw: deployed alike, BP and DFA points of one
    # chip design start from the same non-ideal accuracy.
    for bits in (3, 5):
        assert by[bits, "bp"]["nonideal_accuracy_mean"] == \
            by[bits, "dfa"]["nonideal_accuracy_mean"]
    vals, senses = objective_matrix(rows, ["accuracy", "energy", "latency", "area"])
    assert [r["pareto"] for r in rows] == pareto_mask(vals, senses).tolist()
    assert any(r["pareto"] for r in rows)
    listed = {int(line.split("|")[1]) for line in
              (out / "summary.md").read_text().splitlines() if line.startswith("| ")
              and line.split("|")[1].strip().isdigit()}
    assert listed == {r["point"] for r in rows if r["pareto"]}
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 5 and csv_lines[0].startswith("point,key,crossbar.adc_bits")
    assert not (out / "work").exists() or not any((out / "work").iterdir())

    # A rerun finds every task finished and runs none.
    before = {p: p.read_bytes() for p in (out / "points").rglob("chip?.json")}
    capsys.readouterr()
    assert main(["explore", str(space), "--out", str(out), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "0 tasks run" in text and "8 found finished" in text, text
    assert {p: p.read_bytes() for p in (out / "points").rglob("chip?.json")} == before
    assert _read_rows(out) == rows


def test_rerun_with_a_grown_space_reuses_finished_points(small_checkpoint, tmp_path, capsys,
                                                         cluster_address):
    out = tmp_path / "run"
    small = write_space(tmp_path / "a.toml", small_checkpoint, '"crossbar.adc_bits" = [4]',
                        header="chips = 1")
    assert main(["explore", str(small), "--out", str(out), "--quiet",
                 "--address", cluster_address]) == 0
    first = _read_rows(out)[0]
    grown = write_space(tmp_path / "b.toml", small_checkpoint, '"crossbar.adc_bits" = [4, 6]',
                        header="chips = 1")
    capsys.readouterr()
    assert main(["explore", str(grown), "--out", str(out), "--address", cluster_address,
                 "--threads", "2"]) == 0
    text = capsys.readouterr().out
    assert "1 tasks run" in text and "1 found finished" in text, text
    rows = _read_rows(out)
    rec = json.loads((out / "points" / rows[1]["key"] / "chip0.json").read_text())
    assert (rec["threads"], rec["torch_threads"], rec["omp_threads"]) == (2, 2, "2")
    assert rows[0]["key"] == first["key"] and rows[0]["accuracy_mean"] == \
        first["accuracy_mean"]
    assert rows[1]["crossbar.adc_bits"] == 6 and rows[1]["status"] == "ok"


def test_nsga2_search(small_checkpoint, tmp_path, capsys, cluster_address):
    space = write_space(tmp_path / "nsga.toml", small_checkpoint,
                        '"crossbar.adc_bits" = {low = 3, high = 6}\n"adapt.rule" = ["bp", "dfa"]',
                        header='search = "nsga2"\nsamples = 6\npopulation = 2\nchips = 1\n'
                               'objectives = ["accuracy", "energy"]')
    out = tmp_path / "run"
    assert main(["explore", str(space), "--out", str(out), "--quiet",
                 "--address", cluster_address]) == 0
    rows = _read_rows(out)
    asked = [json.loads(line)["params"] for line in
             (out / "nsga2.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and len(asked) == 6
    for row, params in zip(rows, asked):
        assert row["crossbar.adc_bits"] == params["crossbar.adc_bits"] in range(3, 7)
        assert row["adapt.rule"] in ("bp", "dfa") and row["status"] == "ok"
    # A rerun replays the asked points (more than one generation) and finds them all
    # finished.
    capsys.readouterr()
    assert main(["explore", str(space), "--out", str(out),
                 "--address", cluster_address]) == 0
    assert "0 tasks run" in capsys.readouterr().out
    assert [r["key"] for r in _read_rows(out)] == [r["key"] for r in rows]


def test_simulator_cost_model_per_dataflow(small_checkpoint, tmp_path, cluster_address):
    space = write_space(tmp_path / "sim.toml", small_checkpoint,
                        '"adapt.dataflow" = ["dfa", "pipesdfa"]',
                        header='chips = 1\ncost_model = "simulator"')
    out = tmp_path / "run"
    assert main(["explore", str(space), "--out", str(out), "--quiet",
                 "--address", cluster_address]) == 0
    rows = _read_rows(out)
    assert [r["adapt.dataflow"] for r in rows] == ["dfa", "pipesdfa"]
    recs = [json.loads((out / "points" / r["key"] / "chip0.json").read_text()) for r in rows]
    for rec in recs:
        assert rec["status"] == "ok" and rec["rule"] == "dfa"
        # The simulator's energy adds DRAM spills and leakage to the roll-up's dynamic energy.
        assert rec["energy_pj"] > rec["rollup_energy_pj"] > 0
    # Same chip, same adaptation: only the schedule differs, and PipeSDFA overlaps batches.
    assert recs[0]["accuracy"] == recs[1]["accuracy"]
    assert recs[0]["area_um2"] == recs[1]["area_um2"]
    assert recs[1]["latency_ns"] < recs[0]["latency_ns"]


def test_cost_only_runs_the_vectorised_sweep_in_batches(tmp_path, capsys, cluster_address):
    from dfasim.models.cost.sweep import sweep
    from dfasim.models.cost.workload import DenseSpec

    space = tmp_path / "cost.toml"
    space.write_text('[explore]\nnetwork = "uci_har"\n[explore.space]\n'
                     'size = [64, 128, 256]\nadc_bits = {low = 3, high = 6, step = 1}\n'
                     '"hierarchy.wgu_design" = ["sram_rmw", "register"]\n')
    out = tmp_path / "run"
    assert main(["explore", str(space), "--cost-only", "--out", str(out), "--quiet",
                 "--address", cluster_address]) == 0
    rows = _read_rows(out)
    assert len(rows) == 3 * 4 * 2 * 2  # configurations x rules
    assert len(list((out / "batches").glob("batch*.json"))) == 2  # one per WGU design
    row = next(r for r in rows if r["size"] == 128 and r["adc_bits"] == 5
               and r["hierarchy.wgu_design"] == "register" and r["rule"] == "dfa")
    from dfasim.models.chip import ChipConfig

    ref = sweep(DenseSpec([9, 128, 64, 32, 6], 128, 2400, 50),
                {"size": np.array([128]), "adc_bits": np.array([5])},
                ChipConfig().updated({"hierarchy.wgu_design": "register"}))
    assert row["energy_pj"] == pytest.approx(float(ref.totals["dfa"]["energy_pj"][0]))
    assert row["area_um2"] == pytest.approx(float(ref.totals["dfa"]["area_um2"][0]))
    vals, senses = objective_matrix(rows, ["energy", "latency", "area"])
    assert [r["pareto"] for r in rows] == pareto_mask(vals, senses).tolist()
    capsys.readouterr()
    assert main(["explore", str(space), "--cost-only", "--out", str(out),
                 "--address", cluster_address]) == 0
    assert "0 tasks run" in capsys.readouterr().out


# --- bad design spaces: one line, exit 2, nothing started -------------------------------------

@pytest.mark.parametrize("body,needle", [
    ('"crossbar.no_such_field" = [1, 2]', "unknown chip field 'crossbar.no_such_field'"),
    ('"adapt.momentum" = [0.1]', "unknown adaptation field 'adapt.momentum'"),
    ('"crossbar.adc_bits" = []', "crossbar.adc_bits: empty list"),
    ('"device.g_max_us" = {low = 20.0, high = 5.0}', "empty range"),
    ('"device.g_max_us" = {low = 5.0, high = 20.0}', "a grid needs listed values"),
    ('"crossbar.adc_bits" = 4', "must be a list of values or a range"),
    ('"adapt.rule" = ["sdfa"]', "on-chip adaptation supports bp, dfa"),
    ('"hierarchy.max_tiles" = [0, 1]', "point 1 (hierarchy.max_tiles=1): the chip cannot map"),
    ('"crossbar.lines_per_adc" = [8, 512]', "point 1 (crossbar.lines_per_adc=512)"),
    ('"adapt.dataflow" = ["pipelayer"]', "dataflow pipelayer schedules bp training"),
    ('"crossbar.adc_bits" = [4\n', "is not valid TOML"),
])
def test_bad_design_space_is_one_line_before_any_work(small_checkpoint, tmp_path, capsys,
                                                      body, needle):
    space = write_space(tmp_path / "bad.toml", small_checkpoint, body)
    out = tmp_path / "run"
    rc = main(["explore", str(space), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("dfasim: error:") and needle in err, err
    assert not out.exists()


@pytest.mark.parametrize("argv,needle", [
    (["--workers", "64", "--threads", "64"], "exceeds the"),
    (["--checkpoint", "/nonexistent/checkpoint.pt"], "does not exist"),
])
def test_bad_engine_options(small_checkpoint, tmp_path, capsys, argv, needle):
    space = write_space(tmp_path / "s.toml", small_checkpoint, '"crossbar.adc_bits" = [4]')
    rc = main(["explore", str(space), "--out", str(tmp_path / "run"), *argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and needle in err, err
    assert not (tmp_path / "run").exists()


def test_cuda_without_a_gpu_is_one_line(small_checkpoint, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU: the error path cannot be reached")
    space = write_space(tmp_path / "s.toml", small_checkpoint, '"crossbar.adc_bits" = [4]')
    rc = main(["explore", str(space), "--out", str(tmp_path / "run"), "--device", "cuda"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == ("dfasim: error: device 'cuda' requested but this torch build "
                               "sees no CUDA GPU")


def test_cuda_exploration(small_checkpoint, tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False here)")
    space = write_space(tmp_path / "s.toml", small_checkpoint, '"crossbar.adc_bits" = [4]',
                        header="chips = 1")
    out = tmp_path / "run"
    assert main(["explore", str(space), "--out", str(out), "--quiet", "--device", "cuda",
                 "--workers", "1"]) == 0
    assert _read_rows(out)[0]["status"] == "ok"


def test_parquet_table_matches_the_json_lines(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow (the parquet extra) is not "
                                                       "installed")
    from dfasim.flows.explore.results import write_table

    rows = [{"point": 0, "adapt.rule": "bp", "crossbar.adc_bits": 3, "accuracy_mean": 0.5,
             "energy_pj": 1e6, "pareto": True},
            {"point": 1, "adapt.rule": "dfa", "crossbar.adc_bits": 4, "accuracy_mean": None,
             "energy_pj": 2, "pareto": False}]
    paths = write_table(rows, tmp_path)
    assert [p.name for p in paths] == ["results.csv", "results.jsonl", "results.parquet"]
    table = pq.read_table(tmp_path / "results.parquet")
    assert table.to_pylist() == [{**r, "energy_pj": float(r["energy_pj"])} for r in rows]


# --- the space itself --------------------------------------------------------------------------

def test_ranges_grids_and_random_draws():
    axes = sp.parse_axes({"crossbar": {"rows": {"low": 64, "high": 256, "step": 64}},
                          "device.g_max_us": {"low": 5.0, "high": 20.0, "num": 3,
                                              "log": True},
                          "adapt.epochs": [1, 2]})
    assert [a.name for a in axes] == ["crossbar.rows", "device.g_max_us", "adapt.epochs"]
    assert axes[0].values == (64, 128, 192, 256)
    assert axes[1].values == pytest.approx((5.0, 10.0, 20.0))
    points = sp.grid_points(axes)
    assert len(points) == 4 * 3 * 2 and points[1].params == \
        {"crossbar.rows": 64, "device.g_max_us": 5.0, "adapt.epochs": 2}
    cont = sp.parse_axes({"device.g_max_us": {"low": 5.0, "high": 20.0},
                          "crossbar.adc_bits": {"low": 3, "high": 6}})
    a = sp.random_points(cont, 20, seed=1)
    assert [p.params for p in a] == [p.params for p in sp.random_points(cont, 20, seed=1)]
    assert [p.params for p in a] != [p.params for p in sp.random_points(cont, 20, seed=2)]
    for p in a:
        assert 5.0 <= p.params["device.g_max_us"] <= 20.0
        assert p.params["crossbar.adc_bits"] in range(3, 7)
    assert {p.params["crossbar.adc_bits"] for p in a} == set(range(3, 7))


def test_short_axis_names_set_their_fields():
    cfg = sp.ExploreConfig(checkpoint="x", space={"size": [128]})
    (axis,) = sp.parse_axes(cfg.space)
    rp = sp.resolve_point(cfg, sp.Point(0, {"size": 128}))
    assert axis.name == "size" and (rp.chip.crossbar.rows, rp.chip.crossbar.cols) == (128, 128)


def test_point_keys_follow_the_design_not_the_order():
    cfg = sp.ExploreConfig(checkpoint="x")
    a = sp.resolve_point(cfg, sp.Point(0, {"crossbar.adc_bits": 5, "adapt.rule": "bp"}))
    b = sp.resolve_point(cfg, sp.Point(7, {"adapt.rule": "bp", "crossbar.adc_bits": 5}))
    c = sp.resolve_point(cfg, sp.Point(0, {"crossbar.adc_bits": 5, "adapt.rule": "dfa"}))
    assert sp.point_key(cfg, a, "d") == sp.point_key(cfg, b, "d") != sp.point_key(cfg, c, "d")
    assert sp.point_key(cfg, a, "d") != sp.point_key(cfg, a, "another checkpoint")


def test_owned_adapt_keys_are_refused():
    cfg = sp.ExploreConfig(checkpoint="x", adapt={"chips": 3}, space={"crossbar.rows": [64]})
    with pytest.raises(DfasimError, match="must not set 'chips': use explore.chips"):
        cfg.validate()


# --- the Pareto front --------------------------------------------------------------------------

def test_pareto_front_of_a_hand_made_table():
    # accuracy (max), energy (min)
    table = np.array([
        [0.90, 10.0],   # 0 optimal: the most accurate
        [0.80, 5.0],    # 1 optimal
        [0.80, 6.0],    # 2 dominated by 1 (same accuracy, more energy)
        [0.70, 5.0],    # 3 dominated by 1 (less accurate, same energy)
        [0.60, 1.0],    # 4 optimal: the cheapest
        [0.90, 10.0],   # 5 optimal: a tie with 0 dominates neither
        [0.50, 2.0],    # 6 dominated by 4
        [math.nan, 0.1],  # 7 unfinished: never optimal
    ])
    assert pareto_mask(table, [+1, -1]).tolist() == \
        [True, True, False, False, True, True, False, False]
    # Three objectives: a point bad in two but best in one stays.
    three = np.array([[1.0, 1.0, 9.0], [2.0, 2.0, 1.0], [1.0, 2.0, 9.0], [3.0, 3.0, 3.0]])
    assert pareto_mask(three, [-1, -1, -1]).tolist() == [True, True, False, False]


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    for trial in range(20):
        v = rng.integers(0, 6, size=(60, 3)).astype(float)  # many ties
        senses = [+1, -1, -1] if trial % 2 else [-1, -1, +1]
        w = v * -np.asarray(senses)
        brute = [not any(np.all(w[j] <= w[i]) and np.any(w[j] < w[i]) for j in range(len(w)))
                 for i in range(len(w))]
        assert pareto_mask(v, senses).tolist() == brute


def test_a_cut_short_adaptation_of_other_settings_is_started_again(tmp_path):
    from dfasim.flows.adapt import AdaptConfig
    from dfasim.flows.config import dump_toml
    from dfasim.flows.explore.tasks import _stale

    cfg = AdaptConfig(checkpoint="ckpt.pt", chips=1, epochs=1)
    assert not _stale(tmp_path, cfg)  # nothing there: a fresh start
    dump_toml(tmp_path / "config.toml", {"adapt": cfg})
    assert not _stale(tmp_path, cfg)  # the same settings: resume
    assert _stale(tmp_path, AdaptConfig(checkpoint="ckpt.pt", chips=1, epochs=1,
                                        data_dir="/elsewhere"))
    (tmp_path / "config.toml").write_text("[adapt\n")
    assert _stale(tmp_path, cfg)  # a config cut short


def test_the_command_line_offers_the_searches_of_the_space():
    from dfasim.flows.cli.explore import SEARCH_CHOICES

    assert SEARCH_CHOICES == sp.SEARCHES  # a copy, so the parser does not load numpy
