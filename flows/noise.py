# SPDX-License-Identifier: MIT
"""``dfasim noise fit`` / ``dfasim noise show``: fit, report and inspect GPR noise models."""
from __future__ import annotations

import io
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from dfasim.models.rram.gpr import GPRNoiseModel, heldout_metrics
from dfasim.models.rram.measured import (NEURRAM_LEVELS, NEURRAM_N, RADAR_FILE, RADAR_STAGES,
                                         neurram_like_samples, radar_pairs, split_indices)
from dfasim.models.rram.noise import NoiseModel, PolynomialSpread

from .datasets.paths import format_dirs, resolve_data_dirs
from .errors import DfasimError
from .fileio import atomic_write_bytes, write_json

__all__ = ["SOURCES", "REPORT_FORMAT", "REPORT_VERSION", "noise_fit", "noise_show",
           "report_paths", "find_radar_file", "bench_noise_sampling"]

#: Data sources of ``noise fit``: measured HfOx RRAM, or samples from CrossSim's NeuRRAM fit.
SOURCES = {
    "radar": "measured 1T1R HfOx RRAM (RADAR), 3 bits/cell write-verify, pre/post bake",
    "neurram": "NeuRRAM-like: 4-bit levels + CrossSim RRAM_Wan sigma(G) in absolute µS",
}
REPORT_FORMAT = "dfasim.noise.report"
REPORT_VERSION = 1
#: Share of samples (radar: of programmed cells) used for training; DFA_Sim: 6920 / 8650.
TRAIN_FRACTION = 0.8
#: Gaussian coverage of ±1σ and ±2σ, the calibration targets (erf(1/√2), erf(2/√2)).
IDEAL_COVERAGE = (math.erf(1 / math.sqrt(2)), math.erf(2 / math.sqrt(2)))


def report_paths(out: Path) -> tuple[Path, Path]:
    """The JSON report and PNG plot written beside model file ``out`` (same stem)."""
    out = Path(out)
    return out.with_suffix(".json"), out.with_suffix(".png")


def find_radar_file(data_dir: str | os.PathLike | None = None) -> Path:
    """Locate the measured RRAM data (``rram_radar_retention.npz``) in the data directories.

    Parameters
    ----------
    data_dir : path, optional
        Searched first, before ``$DFASIM_DATA``, the user cache and the bundled
        ``shared/datasets`` beside the checkout (:func:`~dfasim.flows.datasets.resolve_data_dirs`).

    Raises
    ------
    DfasimError
        One line naming the searched directories.
    """
    dirs = resolve_data_dirs(data_dir)
    for d in dirs:
        if (d / RADAR_FILE).is_file():
            return d / RADAR_FILE
    raise DfasimError(f"measured RRAM data {RADAR_FILE} not found in {format_dirs(dirs)}; "
                      f"pass its folder with --data-dir")


def _check_writable(folder: Path) -> None:
    """Refuse, before a fit of minutes, an output folder that cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DfasimError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DfasimError(f"cannot write to {folder}: permission denied")


def _check_args(source: str, out: Path, epochs: int, g_min: float, g_max: float) -> None:
    if source not in SOURCES:
        raise DfasimError(f"unknown noise source {source!r}; choose one of {', '.join(SOURCES)}")
    if not (math.isfinite(g_min) and math.isfinite(g_max) and 0.0 <= g_min < g_max):
        raise DfasimError(f"need 0 <= g_min < g_max (µS), got g_min={g_min}, g_max={g_max}")
    if epochs < 1:
        raise DfasimError(f"epochs must be >= 1, got {epochs}")
    if Path(out).suffix in (".json", ".png"):
        raise DfasimError(f"model file {out} would be overwritten by its own report or plot; "
                          f"use a .pt name")


def _load_source(source: str, g_min: float, g_max: float, seed: int, data_dir
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[str, ...],
                            torch.Tensor, torch.Tensor, dict[str, Any]]:
    """Pairs, per-sample condition, condition names, train/test indices, data description."""
    if source == "radar":
        try:
            g_t, g_a, info = radar_pairs(find_radar_file(data_dir), g_min=g_min, g_max=g_max,
                                         stages=RADAR_STAGES)
        except (FileNotFoundError, ValueError) as exc:
            raise DfasimError(str(exc)) from None
        tr, te = split_indices(len(g_t), seed, TRAIN_FRACTION, groups=info["group"])
        data = {"file": info["source"], "experiments": list(info["experiments"]),
                "counts": info["counts"],
                "g_window_measured_us": list(info["g_window_measured_us"]),
                "mapping": "normalised conductance: G_dev = g_min + (G - G_lo) / (G_hi - G_lo) "
                           "* (g_max - g_min), [G_lo, G_hi] = span of the write-verify targets",
                "split": f"{TRAIN_FRACTION:.0%} of programmed cells (both reads of a cell on "
                         f"one side), seed {seed}"}
        return g_t, g_a, info["stage"], tuple(info["stages"]), tr, te, data
    g_t, g_a = neurram_like_samples(NEURRAM_N, g_min, g_max, seed)
    tr, te = split_indices(len(g_t), seed, TRAIN_FRACTION)
    data = {"n_levels": NEURRAM_LEVELS, "spread": "CrossSim RRAM_Wan sigma(G), absolute µS",
            "split": f"{TRAIN_FRACTION:.0%} random, seed {seed}"}
    return g_t, g_a, torch.zeros(len(g_t), dtype=torch.long), ("t=1s",), tr, te, data


def _level_table(model: GPRNoiseModel, g_min: float, g_max: float) -> dict[str, Any]:
    levels = torch.linspace(g_min, g_max, NEURRAM_LEVELS, dtype=torch.float64)
    table: dict[str, Any] = {"levels_us": levels.tolist()}
    for name in model.conditions:
        mean, std = model.with_condition(name).mean_std(levels)
        table[name] = {"mean_us": mean.tolist(), "std_us": std.tolist()}
    return table


def _plot(path: Path, model: GPRNoiseModel, g_t: torch.Tensor, g_a: torch.Tensor,
          cond: torch.Tensor, test: torch.Tensor, title: str, metrics: dict[str, Any],
          reference: bool = False) -> None:
    """Deviation from target vs target per condition, with the mean ±1σ / ±2σ bands.

    ``reference`` adds the generating CrossSim ±sigma(G) (NeuRRAM-like data) as dashed lines.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = len(model.conditions)
    fig = Figure(figsize=(5.5 * k, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    is_test = torch.zeros(len(g_t), dtype=torch.bool)
    is_test[test] = True
    lo = min(model.g_lo, float(g_t.min()))
    hi = max(model.g_hi, float(g_t.max()))
    grid = torch.linspace(lo, hi, 512, dtype=torch.float64)
    for c, name in enumerate(model.conditions):
        ax = fig.add_subplot(1, k, c + 1)
        mean, std = model.with_condition(name).mean_std(grid)
        bias = mean - grid
        ax.fill_between(grid, bias - 2 * std, bias + 2 * std, color="tab:blue", alpha=0.15,
                        lw=0, label="mean ± 2σ")
        ax.fill_between(grid, bias - std, bias + std, color="tab:blue", alpha=0.3, lw=0,
                        label="mean ± 1σ")
        ax.plot(grid, bias, color="tab:blue", lw=1.5, label="GP mean")
        if reference:
            sigma = PolynomialSpread().mean_std(grid)[1]
            ax.plot(grid, sigma, "k--", lw=0.8, label="CrossSim ±σ(G)")
            ax.plot(grid, -sigma, "k--", lw=0.8)
        sel = cond == c
        for mask, colour, label in ((sel & ~is_test, "0.55", "train"),
                                    (sel & is_test, "tab:red", "held-out")):
            ax.scatter(g_t[mask], (g_a - g_t)[mask], s=3, alpha=0.35, color=colour, lw=0,
                       label=label, rasterized=True)
        m = metrics[name]
        ax.set_title(f"{name}: R² {m['r2']:.3f}, ±1σ {100 * m['coverage_1sigma']:.1f} %, "
                     f"±2σ {100 * m['coverage_2sigma']:.1f} %", fontsize=9)
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set_xlabel("target conductance (µS)")
        ax.set_ylabel("reached − target (µS)")
        ax.legend(fontsize=7, loc="lower left", markerscale=3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    # No "Software" entry: the PNG bytes then do not depend on the matplotlib version.
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())


def _reusable_model(out: Path, source: str, epochs: int, seed: int, g_min: float,
                    g_max: float) -> GPRNoiseModel | None:
    """The model already in ``out`` when it is complete and was fitted with these settings."""
    try:
        model = GPRNoiseModel.load(out)
    except (OSError, ValueError):
        return None
    meta = model.meta or {}
    same = (meta.get("source") == source and meta.get("epochs") == epochs
            and meta.get("seed") == seed and meta.get("window_us") == [g_min, g_max])
    return model if same and "metrics" in meta else None


def _save_model(model: GPRNoiseModel, out: Path) -> None:
    try:
        model.save(out)
    except (OSError, RuntimeError) as exc:  # torch.save reports an unwritable file as Runtime
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
            (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DfasimError(f"cannot write {out}: {reason}") from None


def noise_fit(source: str, out: Path, *, epochs: int = 100, seed: int = 0, g_min: float = 1.0,
              g_max: float = 10.0, data_dir: str | Path | None = None,
              progress: bool | None = None, reuse: bool = False) -> dict[str, Any]:
    """Fit a GPR noise model, evaluate it on held-out data, write model, report and plot.

    Parameters
    ----------
    source : str
        ``"radar"`` (measured, :func:`~dfasim.models.rram.measured.radar_pairs`, conditions
        ``prebake`` / ``postbake``, served ``postbake``) or ``"neurram"`` (8650 NeuRRAM-like
        samples, :func:`~dfasim.models.rram.measured.neurram_like_samples`).
    out : Path
        Model file (e.g. ``noise_radar.pt``); the report ``out.with_suffix(".json")`` and the
        plot ``out.with_suffix(".png")`` go beside it.
    epochs : int
        Training epochs (100 in the DFA_Sim paper).
    seed : int
        Seeds the NeuRRAM-like draw, the train/test split and the fit.
    g_min, g_max : float
        Device conductance window (µS).
    data_dir : path, optional
        Folder searched first for the measured data.
    progress : bool, optional
        ``False`` hides the progress bar.
    reuse : bool
        Keep a complete model already in ``out`` that was fitted with these settings and only
        write its report and plot where they are missing (a run killed between writing the
        model and its report); otherwise, and always when ``False``, fit again.

    Returns
    -------
    dict
        The report written to JSON: held-out ``r2``, ``coverage_1sigma``, ``coverage_2sigma``,
        ``nll`` of the served condition at the top level, per condition under ``metrics``,
        mean/std at the 16 levels under ``levels``, fit time, sizes, data description.

    Raises
    ------
    DfasimError
        Bad arguments, missing or corrupt data, a diverged fit, an output folder that cannot
        be written (files written earlier are kept).
    """
    out = Path(out)
    _check_args(source, out, epochs, g_min, g_max)
    g_t, g_a, cond, conditions, tr, te, data = _load_source(source, g_min, g_max, seed, data_dir)
    _check_writable(out.parent)
    json_path, png_path = report_paths(out)

    model = _reusable_model(out, source, epochs, seed, g_min, g_max) if reuse else None
    fitted = model is None
    if fitted:
        bar = tqdm(total=epochs, desc=f"noise fit {source}", unit="epoch",
                   disable=progress is False)

        def on_epoch(epoch: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")

        try:
            model = GPRNoiseModel.fit(g_t[tr], g_a[tr], condition=cond[tr],
                                      conditions=conditions, epochs=epochs, seed=seed,
                                      callback=on_epoch)
        except ValueError as exc:
            raise DfasimError(f"noise fit {source}: {exc}") from None
        finally:
            bar.close()

    metrics = {name: heldout_metrics(model, g_t[te][cond[te] == c], g_a[te][cond[te] == c],
                                     cond[te][cond[te] == c])
               for c, name in enumerate(conditions)}
    if len(conditions) > 1:
        metrics["all"] = heldout_metrics(model, g_t[te], g_a[te], cond[te])
    served = model.default_condition
    report: dict[str, Any] = {
        "format": REPORT_FORMAT, "version": REPORT_VERSION,
        "source": source, "description": SOURCES[source],
        "model_file": out.name, "plot_file": png_path.name,
        "window_us": [g_min, g_max], "fitted_range_us": [model.g_lo, model.g_hi],
        "conditions": list(conditions), "served_condition": served,
        "n_train": int(len(tr)), "n_test": int(len(te)),
        "epochs": epochs, "seed": seed, "fit_seconds": model.fit_info["fit_seconds"],
        "r2": metrics[served]["r2"], "coverage_1sigma": metrics[served]["coverage_1sigma"],
        "coverage_2sigma": metrics[served]["coverage_2sigma"], "nll": metrics[served]["nll"],
        "ideal_coverage": list(IDEAL_COVERAGE), "metrics": metrics,
        "levels": _level_table(model, g_min, g_max),
        "gp_hyper": model.gp_state["hyper"], "data": data,
    }
    # Model first, then report and plot: a model without them is completed by a rerun with
    # ``reuse``, never the other way round.
    if fitted:
        model.meta.update({k: report[k] for k in (
            "source", "description", "window_us", "n_train", "n_test", "epochs", "seed", "r2",
            "coverage_1sigma", "coverage_2sigma", "nll", "metrics", "data")})
        _save_model(model, out)
    if fitted or not json_path.is_file():
        write_json(json_path, report)
    if fitted or not png_path.is_file():
        _plot(png_path, model, g_t, g_a, cond, te,
              f"{source} GPR noise model: {len(tr)} train / {len(te)} held-out samples, "
              f"{epochs} epochs", metrics, reference=source == "neurram")
    return report


def noise_show(path: Path) -> str:
    """A human-readable summary of a saved GPR noise model (several lines, no trailing newline).

    Raises
    ------
    DfasimError
        Missing, corrupt or foreign file, or a version this dfasim cannot read.
    """
    try:
        model = GPRNoiseModel.load(path)
    except (FileNotFoundError, ValueError) as exc:
        raise DfasimError(str(exc)) from None
    meta, fit = model.meta, model.fit_info
    window = meta.get("window_us", [model.g_lo, model.g_hi])
    lines = [f"GPR noise model {path}",
             f"  source      {meta.get('source', '?')}: {meta.get('description', '')}".rstrip(),
             f"  window      [{window[0]:g}, {window[1]:g}] µS; fitted targets "
             f"{model.g_lo:.3f}-{model.g_hi:.3f} µS (outside: edge bias and std)"]
    data = meta.get("data", {})
    if "g_window_measured_us" in data:
        g_lo, g_hi = data["g_window_measured_us"]
        lines.append(f"  mapping     measured targets {g_lo:.1f}-{g_hi:.1f} µS -> window by "
                     f"normalised conductance")
    lines.append(f"  conditions  {', '.join(model.conditions)} (served: {model.condition})")
    lines.append(f"  fit         {fit.get('epochs')} epochs, seed {fit.get('seed')}, "
                 f"{meta.get('n_train', fit.get('n_train'))} train / {meta.get('n_test', '?')} "
                 f"test, {fit.get('fit_seconds', float('nan')):.1f} s")
    for name, m in meta.get("metrics", {}).items():
        lines.append(f"  held-out    {name:<9} R² {m['r2']:.4f}  "
                     f"±1σ {100 * m['coverage_1sigma']:.1f} %  "
                     f"±2σ {100 * m['coverage_2sigma']:.1f} %  NLL {m['nll']:.3f}  (n={m['n']})")
    lines.append(f"              ideal ±1σ {100 * IDEAL_COVERAGE[0]:.1f} %, "
                 f"±2σ {100 * IDEAL_COVERAGE[1]:.1f} %")
    levels = torch.linspace(window[0], window[1], NEURRAM_LEVELS, dtype=torch.float64)
    header = "  level  target µS" + "".join(f"  {name + ' mean':>14} {'std':>7}"
                                           for name in model.conditions)
    lines.append(header)
    cols = [model.with_condition(name).mean_std(levels) for name in model.conditions]
    for i, g in enumerate(levels.tolist()):
        row = f"  {i:>5}  {g:>9.3f}"
        for mean, std in cols:
            row += f"  {float(mean[i]):>14.3f} {float(std[i]):>7.3f}"
        lines.append(row)
    return "\n".join(lines)


def _reference_model() -> GPRNoiseModel:
    """A small fitted model (NeuRRAM-like, 2 epochs): table look-up speed is data-independent."""
    g_t, g_a = neurram_like_samples(2048, seed=0)
    return GPRNoiseModel.fit(g_t, g_a, epochs=2, seed=0)


def bench_noise_sampling(n: int = 10**6, repeats: int = 3, *,
                         model: NoiseModel | None = None,
                         dtype: torch.dtype = torch.float32) -> dict[str, Any]:
    """Time ``model.sample`` for ``n`` targets (one draw each), best and median of ``repeats``.

    Parameters
    ----------
    n : int
        Draws per call.
    repeats : int
        Timed calls (after one warm-up call).
    model : NoiseModel, optional
        Default: a GPR model fitted on NeuRRAM-like data.
    dtype : torch.dtype
        Of the targets (float32, as the crossbar model uses).

    Returns
    -------
    dict
        ``seconds_best``, ``seconds_median``, ``draws_per_second`` (from the best), and the same
        for the analytic :class:`PolynomialSpread` as a reference, plus ``threads``.
    """
    if n < 1 or repeats < 1:
        raise DfasimError(f"need n >= 1 and repeats >= 1, got n={n}, repeats={repeats}")
    model = _reference_model() if model is None else model
    gen = torch.Generator().manual_seed(0)
    g = 1.0 + 9.0 * torch.rand(n, generator=gen, dtype=dtype)

    def timed(m: NoiseModel) -> list[float]:
        m.sample(g, generator=gen)  # warm-up: table casts, allocator
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            m.sample(g, generator=gen)
            times.append(time.perf_counter() - t0)
        return times

    gpr_t, poly_t = timed(model), timed(PolynomialSpread())
    return {"n": n, "repeats": repeats, "dtype": str(dtype).replace("torch.", ""),
            "threads": torch.get_num_threads(), "model": type(model).__name__,
            "seconds_best": min(gpr_t), "seconds_median": statistics.median(gpr_t),
            "draws_per_second": n / min(gpr_t),
            "polynomial_seconds_best": min(poly_t),
            "polynomial_seconds_median": statistics.median(poly_t)}
