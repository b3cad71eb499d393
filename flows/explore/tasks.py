# SPDX-License-Identifier: MIT
"""What one engine task does: deploy → adapt → cost on one chip of one point, or price a
vectorised batch of cost-only configurations.

Tasks run in worker processes; their inputs and outputs are plain dicts (they cross process
and machine boundaries). A task limits its own CPU threads first, so ``workers × threads``
never exceeds the cores the cluster was given. With ``persist`` (a local cluster, whose workers
share the driver's file system) the task writes its own result into the run folder atomically
before returning it, so a result is kept even when the driver dies while the task runs; the
driver writes what it receives too (the only writer for a remote cluster), and both writes are
the same bytes.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["THREAD_ENV_VARS", "limit_threads", "run_chip", "run_cost_batch", "write_record",
           "record_path", "adapt_path", "read_record", "batch_path", "write_batch"]

#: Environment variables that size the thread pools of the numeric libraries torch and numpy
#: may load (OpenMP, MKL, OpenBLAS, numexpr); set in each worker process before it starts.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "NUMEXPR_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Use at most ``threads`` CPU threads in this process (environment and torch)."""
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def record_path(out: Path, key: str, chip: int) -> Path:
    """Where the result of chip ``chip`` of point ``key`` lives (its presence means done)."""
    return out / "points" / key / f"chip{chip}.json"


def adapt_path(out: Path, key: str, chip: int) -> Path:
    """The ``adapt.json`` of that chip's adaptation (kept for re-pricing)."""
    return out / "points" / key / f"chip{chip}-adapt.json"


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()


def write_record(out: Path, result: dict[str, Any]) -> bool:
    """Write a task's result atomically (the adapt.json first, the record last: the record is
    the mark of a finished task); False when it was there already."""
    from ..fileio import atomic_write_bytes

    rec = result["record"]
    path = record_path(out, rec["key"], rec["chip"])
    if path.exists():
        return False
    if result.get("adapt") is not None:
        atomic_write_bytes(adapt_path(out, rec["key"], rec["chip"]), _json_bytes(result["adapt"]))
    atomic_write_bytes(path, _json_bytes(rec))
    return True


def read_record(path: Path) -> dict[str, Any] | None:
    """A finished task's record, or None if it is missing or unreadable (then it is redone)."""
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and "key" in rec else None


def _price(res: dict[str, Any], chip, rule: str, cost_model: str, dataflow: str
           ) -> dict[str, float]:
    """Energy and latency of one adaptation epoch of ``rule`` from the activity the run
    recorded, and the chip's area for that rule's mapping.

    The run adapted with one rule: the workload gives the other scheme the shared forward pass
    and update only (``flows.cost._adapt_workload(..., only=rule)``), and only the run's own
    scheme is read.
    """
    from ...models.cost.report import cost_report as roll_up
    from ..cost import _adapt_workload

    workload = _adapt_workload(res, f"{res['dataset']} ({rule})", chip, only=rule)
    report = roll_up(workload, chip, name=res["dataset"])
    scheme = report["schemes"][rule]
    out = {"energy_pj": float(scheme["energy_pj"]["total"]),
           "latency_ns": float(scheme["latency_ns"]["total"]),
           "area_um2": float(scheme["area_um2"]["total"]),
           "dram_energy_pj": float(scheme["dram_energy_pj"]),
           "leakage_pj": float(scheme["leakage"]["energy_over_latency_pj"])}
    if cost_model == "simulator":
        from ..simulate import run_simulations

        sim = run_simulations(workload, chip, [dataflow])[dataflow]
        out.update(energy_pj=float(sim.energy_total_pj), latency_ns=float(sim.makespan_ns),
                   rollup_energy_pj=out["energy_pj"], rollup_latency_ns=out["latency_ns"])
    return out


def _stale(work: Path, cfg) -> bool:
    """Whether ``work`` holds a cut-short adaptation of other settings (a rerun with another
    ``--data-dir``, say), which is started again instead of refused as ``adapt`` would."""
    import tomllib

    from ..adapt import AdaptConfig
    from ..config import from_dict, to_dict

    path = work / "config.toml"
    if not path.exists():
        return False
    try:
        saved = from_dict(AdaptConfig, tomllib.loads(path.read_text())["adapt"])
    except Exception:  # unreadable: a write cut short; start again
        return True
    return to_dict(saved) != to_dict(cfg)


def run_chip(task: dict[str, Any]) -> dict[str, Any]:
    """Deploy, adapt and price one chip of one point.

    Parameters
    ----------
    task : dict
        ``key``, ``index``, ``params`` (the point), ``chip`` (its index), ``adapt`` (the
        ``AdaptConfig`` as a dict, chip description included), ``rule``, ``dataflow``,
        ``cost_model``, ``threads``, ``device``, ``out`` (run folder) and ``persist``.

    Returns
    -------
    dict
        ``record`` (one JSON-able row: accuracies, energy, latency, area, wall time; status
        ``"ok"``, or ``"failed"`` with the one-line reason for a point the adaptation or the
        cost model refuses, e.g. a diverged run) and ``adapt`` (the adaptation's results).
    """
    limit_threads(task["threads"])
    import torch

    from ...models.chip import ChipConfig
    from ..adapt import AdaptConfig, adapt
    from ..config import from_dict
    from ..errors import DfasimError

    out = Path(task["out"])
    device = task.get("device", "cpu")
    if device != "cpu":
        from ..runtime import resolve_device

        resolve_device(device)
    record: dict[str, Any] = {"key": task["key"], "index": task["index"],
                              "params": task["params"], "chip": task["chip"],
                              "rule": task["rule"], "dataflow": task["dataflow"],
                              "pid": os.getpid(), "threads": task["threads"],
                              "torch_threads": torch.get_num_threads(),
                              "omp_threads": os.environ.get("OMP_NUM_THREADS", "")}
    # A local run adapts inside the run folder, so a worker killed mid-task resumes the
    # adaptation from its last finished epoch; a remote worker uses a temporary folder.
    work = (out / "work" / task["key"] / f"chip{task['chip']}" if task["persist"]
            else Path(tempfile.mkdtemp(prefix="dfasim-explore-")))
    t0 = time.perf_counter()
    res = None
    try:
        fields = dict(task["adapt"])
        chip = from_dict(ChipConfig, fields.pop("chip"), "chip")
        cfg = from_dict(AdaptConfig, fields, "adaptation settings")
        cfg.chip = chip
        cfg.device = device
        record["device"] = device
        res = adapt(cfg, work, overwrite=_stale(work, cfg), progress=False)
        run = res["chips"][0]
        record.update(status="ok", error="",
                      accuracy=float(run["adapt"][task["rule"]]["history"][-1]["test_acc"]),
                      nonideal_accuracy=float(run["nonideal_accuracy"]),
                      fp32_accuracy=float(res["fp32_accuracy"]), tiles=int(run["tiles"]),
                      epochs=int(res["epochs"]))
        record.update(_price(res, chip, task["rule"], task["cost_model"], task["dataflow"]))
    except (DfasimError, ValueError) as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        record.update(status="failed", error=lines[0])
    record["seconds"] = time.perf_counter() - t0
    result = {"record": record, "adapt": res}
    if task["persist"]:
        write_record(out, result)
    shutil.rmtree(work, ignore_errors=True)
    if task["persist"]:
        with contextlib.suppress(OSError):  # the point's folder, once its last chip is done
            work.parent.rmdir()
    return result


def run_cost_batch(task: dict[str, Any]) -> dict[str, Any]:
    """Price one batch of cost-only configurations with the vectorised sweep.

    Parameters
    ----------
    task : dict
        ``batch`` (its index), ``spec`` (``DenseSpec`` fields), ``chip`` (the base chip with the
        batch's categorical values set), ``configs`` (axis → list of values, one per
        configuration), ``threads``, ``out``, ``persist``.

    Returns
    -------
    dict
        ``batch`` and ``arrays``: the configurations, ``feasible`` and ``{bp,dfa}_{energy_pj,
        latency_ns,area_um2}``, each a list.
    """
    limit_threads(task["threads"])
    import numpy as np

    from ...models.chip import ChipConfig
    from ...models.cost.sweep import sweep
    from ...models.cost.workload import DenseSpec
    from ..config import from_dict

    spec_fields = dict(task["spec"])
    arch = spec_fields.pop("architecture", None)
    spec = DenseSpec(**spec_fields)
    if arch is not None:
        from ...golden.architecture import Architecture

        spec.architecture = Architecture.from_dict(arch)
    chip = from_dict(ChipConfig, task["chip"], "chip")
    configs = {k: np.asarray(v) for k, v in task["configs"].items()}
    res = sweep(spec.validate(), configs, chip)
    arrays: dict[str, list] = {k: v.tolist() for k, v in res.configs.items()}
    arrays["feasible"] = res.feasible.tolist()
    for scheme, totals in res.totals.items():
        for q, v in totals.items():
            arrays[f"{scheme}_{q}"] = v.tolist()
    result = {"batch": task["batch"], "arrays": arrays, "seconds": res.seconds}
    if task["persist"]:
        write_batch(Path(task["out"]), result)
    return result


def batch_path(out: Path, batch: int) -> Path:
    """Where cost-only batch ``batch`` lives."""
    return out / "batches" / f"batch{batch:05d}.json"


def write_batch(out: Path, result: dict[str, Any]) -> bool:
    """Write a cost-only batch atomically; False when it was there already."""
    from ..fileio import atomic_write_bytes

    path = batch_path(out, result["batch"])
    if path.exists():
        return False
    atomic_write_bytes(path, (json.dumps(result, sort_keys=True) + "\n").encode())
    return True

