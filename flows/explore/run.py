# SPDX-License-Identifier: MIT
"""``dfasim explore``: check the whole design space, then evaluate it on the engine.

:func:`prepare` does every check that needs no worker (the space, each point's chip and
adaptation settings, that the network maps onto each point's chip) so a bad space is one line
before any work starts; :func:`explore` then runs one task per (point, chip) (or, cost-only,
one per batch of configurations) and writes the table, the Pareto plot and ``summary.md``.

Run folder::

    explore.toml              the design space as run
    points/KEY/point.json     a point's values; chipC.json (the finished task's record) and
                              chipC-adapt.json (its adaptation results), written atomically
    work/KEY/chipC/           a running task's adaptation (per-epoch state), removed when done
    noise/                    GPR noise models fitted once per conductance window
    nsga2.jsonl               the points NSGA-II asked, in order (replayed on resume)
    batches/batchNNNNN.json   cost-only: one vectorised batch
    results.csv|jsonl|parquet, pareto.png, summary.md
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...golden.networks import ARCHITECTURES, NETWORKS, parse_network
from ..config import to_dict
from ..errors import DfasimError
from ..fileio import atomic_write_bytes, remove_stale_temporaries
from . import results as res_mod
from . import space as sp
from .engine import EngineConfig, cluster, run_tasks
from .tasks import (batch_path, read_record, record_path, run_chip, run_cost_batch,
                    write_batch, write_record)

__all__ = ["Plan", "prepare", "explore", "COST_BATCH", "DENSE_SAMPLES", "DENSE_BATCH"]

#: Configurations per cost-only task: 0.1-0.5 s of vectorised roll-up (the sweep's 5.7e5
#: configurations/s for 100,000 in docs/benchmarks.md; 1.4e5 on the loaded 2-core machine), so
#: the engine's few milliseconds per task stay a few per cent.
COST_BATCH = 65536

#: Dense workload of a cost-only exploration: samples per epoch and batch (DFA_Sim's UCI-HAR
#: setting, rounded; the same defaults as ``dfasim cost``).
DENSE_SAMPLES, DENSE_BATCH = 2400, 50

#: Samples of the dense roll-up that checks a point maps (any positive count maps the same).
_CHECK_SAMPLES = 100


@dataclass
class Plan:
    """A checked exploration, ready to run."""

    cfg: sp.ExploreConfig
    axes: list[sp.Axis]
    out: Path
    cost_only: bool
    checkpoint: str = ""
    digest: str = ""
    data_dir: str = ""
    points: list[sp.Point] = field(default_factory=list)
    spec: Any = None
    title: str = ""


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise DfasimError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None


def _network_spec(cfg: sp.ExploreConfig, checkpoint: str):
    """The dense spec of the explored network (the checkpoint's, or ``explore.network``)."""
    from ...models.cost.workload import DenseSpec

    if checkpoint:
        from ..checkpoint import load_checkpoint

        ckpt = load_checkpoint(checkpoint)
        arch = getattr(ckpt.model, "architecture", None)
        spec = ckpt.model.spec
        layers = [1, 1] if arch is not None else list(spec.layers)
        return DenseSpec(layers, spec.timesteps, DENSE_SAMPLES, DENSE_BATCH,
                         name=ckpt.dataset, architecture=arch), ckpt.dataset
    name = cfg.network.strip()
    if name in ARCHITECTURES:
        from ...golden.networks import architecture_of

        arch = architecture_of(name, None)
        return DenseSpec([1, 1], arch.timesteps, DENSE_SAMPLES, DENSE_BATCH, name=name,
                         architecture=arch), name
    try:
        layers = list(parse_network(name))
    except ValueError as exc:
        raise DfasimError(f"explore.network: {exc}") from None
    named = NETWORKS.get(name)
    return DenseSpec(layers, named.timesteps if named else 128, DENSE_SAMPLES, DENSE_BATCH,
                     name=name), name


def _check_maps(spec, chip, where: str, cache: dict) -> None:
    """A one-line error if the network does not map onto ``chip`` (dense roll-up)."""
    import dataclasses

    from ..cost import cost_report

    key = json.dumps(to_dict(chip), sort_keys=True, default=str)
    if key in cache:
        return
    small = dataclasses.replace(spec, samples_per_epoch=_CHECK_SAMPLES,
                                batch_size=min(spec.batch_size, _CHECK_SAMPLES))
    try:
        cost_report(small, chip, mode="dense")
    except DfasimError as exc:
        raise DfasimError(f"{where}: the chip cannot map the network: {exc}") from None
    cache[key] = True


def prepare(cfg: sp.ExploreConfig, out: str | Path, *, cost_only: bool = False,
            data_dir: str = "") -> Plan:
    """Check everything that can be checked before work starts; return the :class:`Plan`.

    Raises
    ------
    DfasimError
        One line naming the bad setting, axis or point.
    """
    cfg.validate(cost_only=cost_only)
    axes = sp.parse_axes(cfg.space, cfg.chip)
    plan = Plan(cfg, axes, Path(out), cost_only, data_dir=data_dir)
    if cost_only:
        bad = [a.name for a in axes if a.target == "adapt" and a.name != "adapt.rule"]
        if bad:
            raise DfasimError(f"[explore.space] {bad[0]}: a cost-only exploration prices the "
                              f"chip only (adapt.rule selects the scheme)")
        if cfg.search == "nsga2":
            raise DfasimError("a cost-only exploration evaluates the whole grid or random "
                              "draws at once (vectorised): use search = \"grid\" or \"random\"")
    checkpoint = cfg.checkpoint
    plan.checkpoint = checkpoint
    plan.spec, name = _network_spec(cfg, checkpoint)
    plan.digest = _digest(checkpoint) if checkpoint else name
    plan.title = (f"{name}: cost only, {cfg.search}" if cost_only else
                  f"{name}: {cfg.search}, {cfg.chips} chips per point, {cfg.cost_model}")
    if cfg.search == "grid":
        plan.points = sp.grid_points(axes)
    elif cfg.search == "random":
        plan.points = sp.random_points(axes, cfg.samples, cfg.seed)
    cache: dict = {}
    if cost_only:
        # Tens of thousands of configurations: each value of each axis is checked on the base
        # chip; a combination that does not map is flagged by the sweep (the feasible column,
        # as dfasim cost sweep does), not refused.
        for point in sp.corner_points(axes):
            rp = sp.resolve_point(cfg, point)
            try:
                rp.chip.validate()
            except (ValueError, TypeError) as exc:
                raise DfasimError(f"[explore.space] {sp.describe(point.params)}: {exc}"
                                  ) from None
        return plan
    for point in plan.points or sp.corner_points(axes):
        rp = sp.resolve_point(cfg, point)
        where = f"point {point.index} ({sp.describe(point.params)})"
        sp.check_point(cfg, rp, checkpoint=checkpoint, data_dir=data_dir)
        _check_maps(plan.spec, rp.chip, where, cache)
    return plan


def _numeric(axis: sp.Axis) -> bool:
    vals = axis.values if axis.values is not None else (axis.low, axis.high)
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)


# --- the adapt exploration --------------------------------------------------------------------

class _Run:
    """State of one exploration while it runs: points, finished records, the progress bar."""

    def __init__(self, plan: Plan, engine: EngineConfig, progress: bool | None):
        from tqdm.auto import tqdm

        self.plan, self.engine = plan, engine
        self.records: dict[str, dict[int, dict]] = {}
        self.keys: dict[int, str] = {}
        self.resolved: dict[int, sp.ResolvedPoint] = {}
        self.noise_paths: dict[tuple, str] = {}
        self.skipped = 0
        #: NSGA-II points refused before running (index → the one-line reason).
        self.refused: dict[int, str] = {}
        total = plan.cfg.samples if plan.cfg.search == "nsga2" else len(plan.points)
        self.bar = tqdm(total=total, desc="explore", unit="point", disable=progress is False)
        self.on_point_done = None

    def key_of(self, point: sp.Point) -> str:
        """Resolve ``point`` and return its content key (both remembered by index)."""
        rp = sp.resolve_point(self.plan.cfg, point)
        self.resolved[point.index] = rp
        key = sp.point_key(self.plan.cfg, rp, self.plan.digest)
        self.keys[point.index] = key
        return key

    def _noise(self, rp: sp.ResolvedPoint) -> str:
        """The noise model of a point's chips: a GPR model is fitted once per window, here."""
        from ..adapt import AdaptConfig, load_noise_model

        default = AdaptConfig()
        name = rp.adapt.get("noise", default.noise)
        if name not in ("neurram", "radar"):
            return name
        window = (rp.chip.device.g_min_us, rp.chip.device.g_max_us)
        if (name, window) not in self.noise_paths:
            folder = self.plan.out / "noise" / f"{name}-{window[0]:g}-{window[1]:g}"
            load_noise_model(name, folder, g_min=window[0], g_max=window[1],
                             epochs=rp.adapt.get("noise_epochs", default.noise_epochs),
                             seed=self.plan.cfg.seed, data_dir=self.plan.data_dir or None,
                             progress=False)
            self.noise_paths[(name, window)] = str(folder / f"noise_{name}.pt")
        return self.noise_paths[(name, window)]

    def tasks_of(self, point: sp.Point) -> list[dict]:
        """The tasks of a point's unfinished chips (its finished ones are read from disk)."""
        plan = self.plan
        key = self.key_of(point)
        rp = self.resolved[point.index]
        folder = plan.out / "points" / key
        atomic_write_bytes(folder / "point.json", (json.dumps(
            {"key": key, "params": point.params, "rule": rp.rule, "dataflow": rp.dataflow,
             "chips": rp.chips}, indent=1, sort_keys=True) + "\n").encode())
        done = self.records.setdefault(key, {})
        tasks = []
        for c in range(rp.chips):
            rec = read_record(record_path(plan.out, key, c))
            if rec is not None:
                done[c] = rec
                self.skipped += 1
                continue
            acfg = sp.adapt_config(plan.cfg, rp, chip_index=c, checkpoint=plan.checkpoint,
                                   data_dir=plan.data_dir)
            acfg.noise = self._noise(rp)
            tasks.append({"name": f"{key}-chip{c}", "key": key, "index": point.index,
                          "params": point.params, "chip": c, "adapt": to_dict(acfg),
                          "rule": rp.rule, "dataflow": rp.dataflow,
                          "cost_model": plan.cfg.cost_model, "threads": self.engine.threads,
                          "device": self.engine.device, "out": str(plan.out),
                          "persist": self.engine.local})
        if not tasks:
            self._point_finished(point.index)
        return tasks

    def on_result(self, task: dict, result: dict) -> None:
        """Keep a finished task's result (on disk too) and close its point when complete."""
        write_record(self.plan.out, result)  # the worker may have written it already
        rec = result["record"]
        done = self.records.setdefault(rec["key"], {})
        done[rec["chip"]] = rec
        if len(done) == self.resolved[rec["index"]].chips:
            self._point_finished(rec["index"])

    def _point_finished(self, index: int) -> None:
        self.bar.update(1)
        if self.on_point_done is not None:
            self.on_point_done(index)

    def row(self, point: sp.Point) -> dict:
        """The table row of ``point`` from the records known now."""
        key = self.keys[point.index]
        recs = [self.records.get(key, {})[c] for c in sorted(self.records.get(key, {}))]
        row = res_mod.point_row(point.index, key, point.params, recs,
                                self.resolved[point.index].chips)
        if point.index in self.refused:
            row.update(status="failed", error=self.refused[point.index])
        return row


def _nsga2(run: _Run, plan: Plan):
    """An Optuna NSGA-II study driven by ask / tell, its asks logged (and replayed on resume)
    in ``nsga2.jsonl``.

    Returns the ``ask`` callback: it appends new points to ``plan.points`` while fewer than
    ``population`` are running and ``samples`` have not been asked, and returns their tasks;
    each finished point is told to the study (failed chips: a failed trial).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = plan.cfg
    dists = sp.distributions(plan.axes)
    directions = ["maximize" if sp.OBJECTIVES[o] > 0 else "minimize" for o in cfg.objectives]
    sampler = optuna.samplers.NSGAIISampler(population_size=max(2, cfg.population),
                                            seed=cfg.seed)
    study = optuna.create_study(directions=directions, sampler=sampler)
    log_path = plan.out / "nsga2.jsonl"
    logged = []
    if log_path.exists():
        logged = [json.loads(line)["params"] for line in log_path.read_text().splitlines()
                  if line.strip()]
        logged = [p for p in logged if set(p) == set(dists)]
    for params in logged[:cfg.samples]:
        study.enqueue_trial(params)
    trials: dict[int, Any] = {}
    asked: list[dict] = []

    def ask() -> list[dict]:
        out = []
        # ``trials`` holds the points still running: a replayed point found finished is told
        # (and leaves it) inside tasks_of, so the next one is asked at once.
        while len(plan.points) < cfg.samples and len(trials) < max(2, cfg.population):
            trial = study.ask(dists)
            params = {a.name: trial.params[a.name] for a in plan.axes}
            point = sp.Point(len(plan.points), params)
            plan.points.append(point)
            asked.append({"params": params})
            atomic_write_bytes(log_path, "".join(json.dumps(a) + "\n"
                                                 for a in asked).encode())
            trials[point.index] = trial
            rp = sp.resolve_point(cfg, point)
            try:
                sp.check_point(cfg, rp, checkpoint=plan.checkpoint, data_dir=plan.data_dir)
                _check_maps(plan.spec, rp.chip, f"point {point.index}", {})
            except DfasimError as exc:
                # A drawn point the chip cannot take: a failed trial, not a failed run.
                run.key_of(point)
                run.refused[point.index] = str(exc)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                del trials[point.index]
                run.bar.update(1)
                continue
            out += run.tasks_of(point)
        return out

    def told(index: int) -> None:
        trial = trials.pop(index, None)
        if trial is None:
            return
        row = run.row(plan.points[index])
        if row["status"] != "ok":
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, [row[res_mod.COLUMNS[o]] for o in cfg.objectives])

    run.on_point_done = told
    return ask


def explore(plan: Plan, engine: EngineConfig, *, progress: bool | None = None) -> dict:
    """Run a prepared exploration; write the table, the plot and the summary; return a summary
    dict (``rows``, ``paths``, ``skipped`` tasks found finished, ``submitted`` tasks)."""
    engine.validate()
    if engine.device != "cpu":
        from ..runtime import resolve_device

        resolve_device(engine.device)
    out = plan.out
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    _write_space(plan)
    if plan.cost_only:
        return _explore_cost(plan, engine, progress)
    run = _Run(plan, engine, progress)
    counter = {"n": 0}
    if plan.cfg.search == "nsga2":
        ask = _nsga2(run, plan)
        with cluster(engine) as client:
            first = ask()
            counter["n"] += len(first)

            def more():
                t = ask()
                counter["n"] += len(t)
                return t

            run_tasks(client, run_chip, first, on_result=run.on_result, more=more)
    else:
        tasks = [t for p in plan.points for t in run.tasks_of(p)]
        counter["n"] = len(tasks)
        if tasks:
            with cluster(engine) as client:
                run_tasks(client, run_chip, tasks, on_result=run.on_result)
    run.bar.close()
    rows = [run.row(p) for p in plan.points]
    paths = _write_outputs(plan, rows, [a.name for a in plan.axes])
    return {"rows": rows, "paths": paths, "skipped": run.skipped, "submitted": counter["n"]}


def _write_space(plan: Plan) -> None:
    import tomli_w

    table = {k: v for k, v in to_dict(plan.cfg).items()}
    table["checkpoint"] = plan.checkpoint
    atomic_write_bytes(plan.out / "explore.toml",
                       tomli_w.dumps({"explore": _drop_none(table)}).encode())


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def _write_outputs(plan: Plan, rows: list[dict], axes: list[str]) -> list[Path]:
    objectives = plan.cfg.objectives
    vals, senses = res_mod.objective_matrix(rows, objectives)
    mask = res_mod.pareto_mask(vals, senses)
    for r, m in zip(rows, mask):
        r["pareto"] = bool(m)
    paths = res_mod.write_table(rows, plan.out)
    y = "accuracy" if "accuracy" in objectives else objectives[0]
    x = next(o for o in ("energy", "latency", "area") if o != y)
    paths.append(res_mod.plot_pareto(rows, plan.out / "pareto.png", title=plan.title, x=x,
                                     y=y))
    meta = {"title": plan.title, "search": plan.cfg.search,
            "checkpoint": plan.checkpoint or "(none)",
            "chips per point": plan.cfg.chips, "cost model": plan.cfg.cost_model
            if not plan.cost_only else "roll-up, vectorised sweep"}
    text = res_mod.summary_markdown(rows, axes + (["rule"] if plan.cost_only else []),
                                    objectives, meta)
    atomic_write_bytes(plan.out / "summary.md", text.encode())
    paths.append(plan.out / "summary.md")
    return paths


# --- cost only --------------------------------------------------------------------------------

def _cost_batches(plan: Plan, engine: EngineConfig) -> list[dict]:
    """The points split into vectorised batches: one group per combination of the categorical
    values (strings, booleans), each cut into :data:`COST_BATCH` configurations."""
    import dataclasses

    import numpy as np

    axes = [a for a in plan.axes if a.target == "chip"]
    numeric = [a.name for a in axes if _numeric(a)]
    categorical = [a.name for a in axes if not _numeric(a)]
    groups: dict[str, list[sp.Point]] = {}
    for p in plan.points:
        groups.setdefault(json.dumps([p.params[n] for n in categorical]), []).append(p)
    spec = {f.name: getattr(plan.spec, f.name) for f in dataclasses.fields(plan.spec)}
    if spec.get("architecture") is not None:
        spec["architecture"] = spec["architecture"].to_dict()
    tasks, batch = [], 0
    for _, points in groups.items():
        chip = sp.resolve_point(plan.cfg, sp.Point(-1, {n: points[0].params[n]
                                                        for n in categorical})).chip
        for start in range(0, len(points), COST_BATCH):
            chunk = points[start:start + COST_BATCH]
            # Arrays, not lists: Dask walks lists in a task's arguments looking for futures.
            configs = {n: np.array([p.params[n] for p in chunk]) for n in numeric}
            if not configs:  # only categorical axes: one configuration, the base values
                configs = {"crossbar.rows": np.full(len(chunk), chip.crossbar.rows)}
            tasks.append({"name": f"batch{batch:05d}", "batch": batch, "spec": spec,
                          "chip": to_dict(chip), "configs": configs,
                          "indices": np.array([p.index for p in chunk]),
                          "threads": engine.threads, "out": str(plan.out),
                          "persist": engine.local})
            batch += 1
    return tasks


def _explore_cost(plan: Plan, engine: EngineConfig, progress: bool | None) -> dict:
    from tqdm.auto import tqdm

    tasks = _cost_batches(plan, engine)
    results: dict[int, dict] = {}
    todo = []
    for t in tasks:
        path = batch_path(plan.out, t["batch"])
        try:
            results[t["batch"]] = json.loads(path.read_text())
        except (OSError, ValueError):
            todo.append(t)
    bar = tqdm(total=len(plan.points), desc="explore (cost only)", unit="point",
               disable=progress is False)
    bar.update(sum(len(t["indices"]) for t in tasks if t["batch"] in results))

    def on_result(task: dict, result: dict) -> None:
        write_batch(plan.out, result)
        results[task["batch"]] = result
        bar.update(len(task["indices"]))

    if todo:
        with cluster(engine) as client:
            run_tasks(client, run_cost_batch, todo, on_result=on_result)
    bar.close()
    rule_axis = next((a for a in plan.axes if a.name == "adapt.rule"), None)
    rows: list[dict] = []
    for t in tasks:
        arrays = results[t["batch"]]["arrays"]
        for j, index in enumerate(t["indices"].tolist()):
            point = plan.points[index]
            rules = [point.params["adapt.rule"]] if rule_axis else ["bp", "dfa"]
            for rule in rules:
                row = {"point": index, **{k: v for k, v in point.params.items()
                                          if k != "adapt.rule"}, "rule": rule,
                       "feasible": bool(arrays["feasible"][j])}
                for q in ("energy_pj", "latency_ns", "area_um2"):
                    v = float(arrays[f"{rule}_{q}"][j])
                    # None, not NaN: the JSON lines stay valid JSON.
                    row[q] = v if row["feasible"] and math.isfinite(v) else None
                row["status"] = "ok" if row["feasible"] else "infeasible"
                rows.append(row)
    rows.sort(key=lambda r: (r["point"], r["rule"]))
    axes = [a.name for a in plan.axes if a.name != "adapt.rule"]
    paths = _write_outputs(plan, rows, axes)
    seconds = sum(r["seconds"] for r in results.values())
    return {"rows": rows, "paths": paths, "skipped": len(tasks) - len(todo),
            "submitted": len(todo), "sweep_seconds": seconds}
