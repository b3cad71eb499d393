# SPDX-License-Identifier: MIT
"""The results of an exploration: one table, its Pareto front, the plot and ``summary.md``.

The table has one row per design point: the point's values, then the mean and standard
deviation over its chips of the adapted accuracy, and the mean energy and latency of one
adaptation epoch and the area (cost-only rows: one per configuration and rule, no accuracy). It
is written as ``results.csv``, ``results.jsonl`` and, when pyarrow is installed,
``results.parquet``; a ``pareto`` column marks the non-dominated rows.
"""
from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..fileio import atomic_write_bytes
from .space import OBJECTIVES

__all__ = ["COLUMNS", "pareto_mask", "point_row", "write_table", "plot_pareto",
           "summary_markdown", "objective_matrix"]

#: The table column of each objective (accuracy as a fraction, energy in pJ, latency in ns,
#: area in µm², the units of the cost model).
COLUMNS = {"accuracy": "accuracy_mean", "energy": "energy_pj", "latency": "latency_ns",
           "area": "area_um2"}

#: Display unit and factor of each objective column.
_DISPLAY = {"accuracy": ("%", 100.0), "energy": ("µJ", 1e-6), "latency": ("ms", 1e-6),
            "area": ("mm²", 1e-6)}


def pareto_mask(values: np.ndarray, senses: Sequence[int]) -> np.ndarray:
    """Which rows of ``values`` are Pareto-optimal.

    Parameters
    ----------
    values : ndarray, shape (n, k)
        One row per design, one column per objective; a row holding NaN is never optimal.
    senses : sequence of int
        ``+1`` for an objective to maximise, ``-1`` to minimise.

    Returns
    -------
    ndarray of bool, shape (n,)
        True for a row no other row dominates (at least as good in every objective and better
        in one); rows with equal objectives do not dominate each other, so both are kept.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 2 or v.shape[1] != len(senses):
        raise ValueError(f"values must be (n, {len(senses)}), not {v.shape}")
    # Turn every objective into one to minimise.
    v = v * -np.asarray(senses, dtype=float)
    mask = np.zeros(len(v), dtype=bool)
    idx = np.flatnonzero(~np.isnan(v).any(axis=1))
    if idx.size == 0:
        return mask
    w = v[idx]
    # A dominating row has a smaller sum of objectives, and when rounding makes two sums equal
    # it comes first in the column-by-column order: visited in this order, a row is dominated
    # iff a row already on the front dominates it (domination is transitive), so each row is
    # compared with the front only: O(n x front), not O(n²).
    order = np.lexsort([w[:, j] for j in range(w.shape[1] - 1, -1, -1)] + [w.sum(axis=1)])
    front = np.empty((0, w.shape[1]))
    kept = []
    for i in order:
        row = w[i]
        if front.size and (np.all(front <= row, axis=1) & np.any(front < row, axis=1)).any():
            continue
        front = np.vstack([front, row])
        kept.append(i)
    mask[idx[kept]] = True
    return mask


def objective_matrix(rows: list[dict[str, Any]], objectives: Sequence[str]
                     ) -> tuple[np.ndarray, list[int]]:
    """The objective columns of ``rows`` (NaN where missing) and their senses."""
    vals = np.array([[_num(r.get(COLUMNS[o])) for o in objectives] for r in rows], dtype=float)
    return vals.reshape(len(rows), len(objectives)), [OBJECTIVES[o] for o in objectives]


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else math.nan


def point_row(index: int, key: str, params: dict[str, Any], records: list[dict[str, Any]],
              chips: int) -> dict[str, Any]:
    """One table row of a point from its chips' records (those finished so far)."""
    row: dict[str, Any] = {"point": index, "key": key, **params}
    good = [r for r in records if r.get("status") == "ok"]
    failed = [r for r in records if r.get("status") != "ok"]
    row["chips"] = chips
    row["chips_done"] = len(records)
    row["status"] = ("failed" if failed else "ok") if len(records) == chips else "incomplete"
    row["error"] = failed[0].get("error", "") if failed else ""
    if good and not failed and len(records) == chips:
        acc = [r["accuracy"] for r in good]
        row["accuracy_mean"] = statistics.fmean(acc)
        row["accuracy_std"] = statistics.stdev(acc) if len(acc) > 1 else 0.0
        row["nonideal_accuracy_mean"] = statistics.fmean(r["nonideal_accuracy"] for r in good)
        row["fp32_accuracy"] = good[0]["fp32_accuracy"]
        for q in ("energy_pj", "latency_ns", "area_um2", "dram_energy_pj", "leakage_pj"):
            row[q] = statistics.fmean(r[q] for r in good)
        row["task_seconds"] = sum(r["seconds"] for r in good)
    return row


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    return list(cols)


def write_table(rows: list[dict[str, Any]], out: Path, stem: str = "results") -> list[Path]:
    """``STEM.csv``, ``STEM.jsonl`` and (with pyarrow) ``STEM.parquet``; returns the paths."""
    cols = _columns(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(c) is None else repr(r[c]) if isinstance(r.get(c), float)
                    else r[c] for c in cols])
    paths = [out / f"{stem}.csv", out / f"{stem}.jsonl"]
    atomic_write_bytes(paths[0], buf.getvalue().encode())
    atomic_write_bytes(paths[1], "".join(json.dumps(r, sort_keys=False) + "\n"
                                         for r in rows).encode())
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return paths
    # One type per column: mixed-type axes (rare) are written as text.
    data = {}
    for c in cols:
        vals = [r.get(c) for r in rows]
        kinds = {type(v) for v in vals if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            vals = [None if v is None else str(v) for v in vals]
        elif kinds == {int, float}:
            vals = [None if v is None else float(v) for v in vals]
        data[c] = vals
    sink = io.BytesIO()
    pq.write_table(pa.table(data), sink)
    paths.append(out / f"{stem}.parquet")
    atomic_write_bytes(paths[-1], sink.getvalue())
    return paths


def plot_pareto(rows: list[dict[str, Any]], path: Path, *, title: str,
                x: str = "energy", y: str = "accuracy") -> Path:
    """``pareto.png``: ``y`` against ``x`` for every finished row, the Pareto front of those
    two objectives joined by a line and the rows optimal in all objectives ringed; beside it
    the same ``y`` against latency and against area."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [p for p in (x, "latency", "area") if p != y]
    panels = list(dict.fromkeys(panels))[:3]
    fig = Figure(figsize=(4.0 * len(panels), 3.6))
    FigureCanvasAgg(fig)
    done = [r for r in rows if all(not math.isnan(_num(r.get(COLUMNS[o])))
                                   for o in (y, *panels))]
    yu, yf = _DISPLAY[y]
    for i, xo in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        xu, xf = _DISPLAY[xo]
        if done:
            xs = np.array([r[COLUMNS[xo]] for r in done]) * xf
            ys = np.array([r[COLUMNS[y]] for r in done]) * yf
            front = pareto_mask(np.column_stack([xs, ys]), [OBJECTIVES[xo], OBJECTIVES[y]])
            optimal = np.array([bool(r.get("pareto")) for r in done])
            ax.scatter(xs[~optimal], ys[~optimal], s=14, color="#7f7f7f", alpha=0.7,
                       label="design point")
            ax.scatter(xs[optimal], ys[optimal], s=30, facecolor="none", edgecolor="#d62728",
                       linewidth=1.2, label="Pareto-optimal (all objectives)")
            order = np.argsort(xs[front])
            ax.plot(xs[front][order], ys[front][order], color="#1f77b4", lw=1.2,
                    drawstyle="steps-post" if OBJECTIVES[xo] < 0 else "steps-pre",
                    label="front of these two")
        ax.set_xlabel(f"{xo} per epoch ({xu})" if xo != "area" else f"area ({xu})")
        ax.set_ylabel(f"{y} ({yu})" if y != "accuracy" else f"adapted accuracy ({yu})")
        ax.grid(True, alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    # No "Software" entry: the PNG bytes do not depend on the matplotlib version.
    fig.savefig(buf, format="png", dpi=120, metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())
    return path


def _fmt(row: dict[str, Any], objective: str) -> str:
    v = _num(row.get(COLUMNS[objective]))
    if math.isnan(v):
        return "–"
    unit, f = _DISPLAY[objective]
    text = f"{v * f:.4g}"
    if objective == "accuracy" and "accuracy_std" in row:
        text += f" ± {row['accuracy_std'] * f:.2g}"
    return text


def summary_markdown(rows: list[dict[str, Any]], axes: Sequence[str],
                     objectives: Sequence[str], meta: dict[str, Any]) -> str:
    """``summary.md``: what was explored, and the Pareto-optimal designs as a table."""
    optimal = [r for r in rows if r.get("pareto")]
    lines = [f"# Design-space exploration: {meta.get('title', '')}", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items() if k != "title"]
    lines += [f"- points: {len(rows)}, finished: "
              f"{sum(r.get('status') == 'ok' for r in rows)}, failed: "
              f"{sum(r.get('status') == 'failed' for r in rows)}",
              "- objectives: " + ", ".join(
                  f"{o} ({'max' if OBJECTIVES[o] > 0 else 'min'})" for o in objectives), ""]
    lines += [f"## Pareto-optimal designs ({len(optimal)})", ""]
    heads = [f"{o} ({_DISPLAY[o][0]})" for o in objectives]
    lines.append("| point | " + " | ".join(axes) + " | " + " | ".join(heads) + " |")
    lines.append("|" + "---|" * (1 + len(axes) + len(objectives)))
    key = COLUMNS[objectives[0]]
    for r in sorted(optimal, key=lambda r: -OBJECTIVES[objectives[0]] * _num(r.get(key))):
        lines.append(f"| {r['point']} | " + " | ".join(str(r.get(a, "")) for a in axes)
                     + " | " + " | ".join(_fmt(r, o) for o in objectives) + " |")
    failed = [r for r in rows if r.get("status") == "failed"]
    if failed:
        lines += ["", "## Failed points", ""]
        lines += [f"- point {r['point']}: {r.get('error', '')}" for r in failed]
    return "\n".join(lines) + "\n"
