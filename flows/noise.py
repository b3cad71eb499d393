# SPDX-License-Identifier: MIT
"""``dfasim noise fit`` / ``dfasim noise show``: fit, report and inspect GPR noise models (the
subset fits, held-out metrics and leave-one-condition-out check live in ``noise_loco.py``)."""
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

from dfasim.models.rram.gpr import LIKELIHOODS, GPRNoiseModel
from dfasim.models.rram.measured import (NEURRAM_LEVELS, NEURRAM_N, RADAR_FILE, RADAR_STAGES,
                                         neurram_like_samples, radar_pairs,
                                         split_indices)
from dfasim.models.rram.noise import NoiseModel, PolynomialSpread

from .datasets.paths import format_dirs, resolve_data_dirs
from .errors import DfasimError
from .fileio import atomic_write_bytes, write_json
from .noise_loco import (LOCO_TARGET, fit_model, held_out_metrics, leave_one_condition_out,
                         loco_lines)

__all__ = ["SOURCES", "REPORT_FORMAT", "REPORT_VERSION", "LOCO_TARGET", "CIRCULAR_NOTE",
           "noise_fit", "noise_show", "leave_one_condition_out", "report_paths",
           "find_radar_file", "bench_noise_sampling"]

#: Data sources of ``noise fit``: measured HfOx RRAM, or samples from CrossSim's NeuRRAM fit.
SOURCES = {
    "radar": "measured 1T1R HfOx RRAM (RADAR), 3 bits/cell write-verify, pre/post bake",
    "neurram": "NeuRRAM-like: 4-bit levels + CrossSim RRAM_Wan sigma(G) in absolute µS",
}
REPORT_FORMAT = "dfasim.noise.report"
#: Version 2: condition features, likelihood comparison, leave-one-condition-out coverage.
REPORT_VERSION = 2
#: Share of samples (radar: of programmed cells) used for training; DFA_Sim: 6920 / 8650.
TRAIN_FRACTION = 0.8
#: Gaussian coverage of ±1σ and ±2σ, the calibration targets (erf(1/√2), erf(2/√2)).
IDEAL_COVERAGE = (math.erf(1 / math.sqrt(2)), math.erf(2 / math.sqrt(2)))
#: Shown wherever fit statistics of the NeuRRAM-like source appear.
CIRCULAR_NOTE = ("circular: the NeuRRAM-like samples are drawn from CrossSim's published sigma(G) "
                 "curve with Gaussian noise, so these held-out figures only show that the GP "
                 "recovers the curve it was given, not that it matches measured devices")
#: Served condition of the measured data: experiment 6 after its bake (the source README calls
#: e6 its best result; e7 is the same recipe after 5k endurance cycles).
RADAR_SERVED = "e6/postbake"


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
                 ) -> dict[str, Any]:
    """Pairs, conditions (names, per-sample index, features), groups, split, description.

    Keys: ``g_t``, ``g_a``, ``cond``, ``conditions``, ``features`` (None: no numeric
    features), ``feature_names``, ``served``, ``stage_of`` (condition index -> stage name, or
    None), ``groups`` (per-sample condition group for leave-one-condition-out, or None),
    ``group_names``, ``train``, ``test``, ``data``.
    """
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
                         f"one side), seed {seed}",
                "condition_table": info["condition_table"],
                "feature_names": list(info["feature_names"]),
                "condition_groups": "experiment (all its cells, both reads, held out at once)"}
        stage_of = [t["stage"] for t in info["condition_table"]]
        return {"g_t": g_t, "g_a": g_a, "cond": info["condition"],
                "conditions": tuple(info["conditions"]), "features": info["condition_features"],
                "feature_names": tuple(info["feature_names"]), "served": RADAR_SERVED,
                "stage_of": stage_of, "groups": info["experiment"],
                "group_names": {e: f"e{e}" for e in info["experiments"]},
                "train": tr, "test": te, "data": data}
    g_t, g_a = neurram_like_samples(NEURRAM_N, g_min, g_max, seed)
    tr, te = split_indices(len(g_t), seed, TRAIN_FRACTION)
    data = {"n_levels": NEURRAM_LEVELS, "spread": "CrossSim RRAM_Wan sigma(G), absolute µS",
            "split": f"{TRAIN_FRACTION:.0%} random, seed {seed}"}
    return {"g_t": g_t, "g_a": g_a, "cond": torch.zeros(len(g_t), dtype=torch.long),
            "conditions": ("t=1s",), "features": None, "feature_names": None,
            "served": "t=1s", "stage_of": None, "groups": None, "group_names": {},
            "train": tr, "test": te, "data": data}


def _level_table(model: GPRNoiseModel, g_min: float, g_max: float) -> dict[str, Any]:
    levels = torch.linspace(g_min, g_max, NEURRAM_LEVELS, dtype=torch.float64)
    table: dict[str, Any] = {"levels_us": levels.tolist()}
    for name in model.conditions:
        mean, std = model.with_condition(name).mean_std(levels)
        table[name] = {"mean_us": mean.tolist(), "std_us": std.tolist()}
    return table


def _plot(path: Path, model: GPRNoiseModel, g_t: torch.Tensor, g_a: torch.Tensor,
          cond: torch.Tensor, test: torch.Tensor, title: str, metrics: dict[str, Any],
          reference: bool = False, shown: list[str] | None = None) -> None:
    """Deviation from target vs target per condition, with the mean ±1σ / ±2σ bands.

    ``reference`` adds the generating CrossSim ±sigma(G) (NeuRRAM-like data) as dashed lines;
    ``shown`` names the conditions drawn (default all).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = list(model.conditions) if shown is None else shown
    k = len(shown)
    fig = Figure(figsize=(5.5 * k, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    is_test = torch.zeros(len(g_t), dtype=torch.bool)
    is_test[test] = True
    lo = min(model.g_lo, float(g_t.min()))
    hi = max(model.g_hi, float(g_t.max()))
    grid = torch.linspace(lo, hi, 512, dtype=torch.float64)
    for panel, name in enumerate(shown):
        c = model.conditions.index(name)
        ax = fig.add_subplot(1, k, panel + 1)
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
                    g_max: float, likelihood: str = "gaussian") -> GPRNoiseModel | None:
    """The model already in ``out`` when it is complete and was fitted with these settings."""
    try:
        model = GPRNoiseModel.load(out)
    except (OSError, ValueError):
        return None
    meta = model.meta or {}
    same = (meta.get("source") == source and meta.get("epochs") == epochs
            and meta.get("seed") == seed and meta.get("window_us") == [g_min, g_max]
            and model.likelihood == likelihood)
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
              progress: bool | None = None, reuse: bool = False,
              likelihood: str = "gaussian", compare_likelihoods: bool = False,
              loco: bool = False, loco_epochs: int | None = None) -> dict[str, Any]:
    """Fit a GPR noise model, evaluate it on held-out data, write model, report and plot.

    Parameters
    ----------
    source : str
        ``"radar"`` (measured, :func:`~dfasim.models.rram.measured.radar_pairs`: one condition
        per experiment and read stage, described by bake time, bake temperature and endurance
        cycles; served ``e6/postbake``) or ``"neurram"`` (8650 NeuRRAM-like samples,
        :func:`~dfasim.models.rram.measured.neurram_like_samples`; its statistics are circular,
        :data:`CIRCULAR_NOTE`).
    out : Path
        Model file (e.g. ``noise_radar.pt``); the report ``out.with_suffix(".json")`` and the
        plot ``out.with_suffix(".png")`` go beside it.
    epochs : int
        Training epochs (100 in the DFA_Sim paper).
    seed : int
        Seeds the NeuRRAM-like draw, the train/test split and the fits.
    g_min, g_max : float
        Device conductance window (µS).
    data_dir : path, optional
        Folder searched first for the measured data.
    progress : bool, optional
        ``False`` hides the progress bars.
    reuse : bool
        Keep a complete model already in ``out`` that was fitted with these settings and only
        write its report and plot where they are missing (a run killed between writing the
        model and its report); otherwise, and always when ``False``, fit again.
    likelihood : str
        Of the served model: ``"gaussian"`` or ``"student_t"``.
    compare_likelihoods : bool
        Also fit the other likelihood on the same split and report both (``likelihoods``).
    loco : bool
        Leave-one-condition-out coverage (measured data: one fold per experiment) for every
        likelihood reported, under ``loco`` (:func:`leave_one_condition_out`).
    loco_epochs : int, optional
        Epochs of each leave-one-condition-out fit (default ``epochs``).

    Returns
    -------
    dict
        The report written to JSON: held-out ``r2``, ``r2_deviation``, ``coverage_1sigma``,
        ``coverage_2sigma``, ``z_std``, ``nll`` of the summary condition (measured: all
        post-bake reads; NeuRRAM-like: its one condition) at the top level, per condition and
        stage under ``metrics``, the likelihood comparison under ``likelihoods``, the
        leave-one-condition-out table under ``loco``, mean/std at the 16 levels under
        ``levels``, fit time, sizes, data description and ``caveat`` (NeuRRAM-like).

    Raises
    ------
    DfasimError
        Bad arguments, missing or corrupt data, a diverged fit, an output folder that cannot
        be written (files written earlier are kept).
    """
    out = Path(out)
    _check_args(source, out, epochs, g_min, g_max)
    if likelihood not in LIKELIHOODS:
        raise DfasimError(f"unknown likelihood {likelihood!r}; choose one of "
                          f"{', '.join(LIKELIHOODS)}")
    loco_epochs = epochs if loco_epochs is None else loco_epochs
    if loco_epochs < 1:
        raise DfasimError(f"loco epochs must be >= 1, got {loco_epochs}")
    src = _load_source(source, g_min, g_max, seed, data_dir)
    tr, te = src["train"], src["test"]
    _check_writable(out.parent)
    json_path, png_path = report_paths(out)

    model = _reusable_model(out, source, epochs, seed, g_min, g_max, likelihood) \
        if reuse else None
    fitted = model is None
    if fitted:
        bar = tqdm(total=epochs, desc=f"noise fit {source}", unit="epoch",
                   disable=progress is False)

        def on_epoch(epoch: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")

        try:
            model = fit_model(src, tr, likelihood, epochs, seed, callback=on_epoch)
        finally:
            bar.close()

    metrics = held_out_metrics(model, src, te)
    summary = "postbake" if source == "radar" else src["served"]
    likelihoods = {likelihood: {"nu": model.nu if likelihood == "student_t" else None,
                                "fit_seconds": model.fit_info["fit_seconds"],
                                "metrics": metrics}}
    if compare_likelihoods:
        for other in LIKELIHOODS:
            if other != likelihood:
                alt = fit_model(src, tr, other, epochs, seed)
                likelihoods[other] = {"nu": alt.nu if other == "student_t" else None,
                                      "fit_seconds": alt.fit_info["fit_seconds"],
                                      "metrics": held_out_metrics(alt, src, te)}
    best = min(likelihoods, key=lambda k: likelihoods[k]["metrics"][summary]["nll"])
    loco_result = None
    if loco:
        if src["groups"] is None:
            loco_result = {"skipped": "one condition only: nothing to leave out"}
        else:
            loco_result = leave_one_condition_out(src, tuple(likelihoods), loco_epochs, seed,
                                                  progress)
    served = model.default_condition
    m = metrics[summary]
    report: dict[str, Any] = {
        "format": REPORT_FORMAT, "version": REPORT_VERSION,
        "source": source, "description": SOURCES[source],
        "caveat": CIRCULAR_NOTE if source == "neurram" else None,
        "model_file": out.name, "plot_file": png_path.name,
        "window_us": [g_min, g_max], "fitted_range_us": [model.g_lo, model.g_hi],
        "conditions": list(model.conditions), "served_condition": served,
        "summary_metrics": summary, "likelihood": model.likelihood,
        "nu": model.nu if model.likelihood == "student_t" else None,
        "feature_names": list(model.feature_names),
        "condition_features": model.condition_features.tolist(),
        "n_train": int(len(tr)), "n_test": int(len(te)),
        "epochs": epochs, "seed": seed, "fit_seconds": model.fit_info["fit_seconds"],
        **{k: m[k] for k in ("r2", "r2_deviation", "coverage_1sigma", "coverage_2sigma",
                             "z_std", "frac_beyond_3sigma", "nll")},
        "ideal_coverage": list(IDEAL_COVERAGE), "metrics": metrics,
        "likelihoods": likelihoods, "lowest_heldout_nll": best, "loco": loco_result,
        "levels": _level_table(model, g_min, g_max),
        "gp_hyper": model.gp_state["hyper"], "data": src["data"],
    }
    # Model first, then report and plot: a model without them is completed by a rerun with
    # ``reuse``, never the other way round.
    if fitted:
        model.meta.update({k: report[k] for k in (
            "source", "description", "caveat", "window_us", "n_train", "n_test", "epochs",
            "seed", "r2", "r2_deviation", "coverage_1sigma", "coverage_2sigma", "nll",
            "summary_metrics", "metrics", "likelihoods", "lowest_heldout_nll", "loco", "data")})
        _save_model(model, out)
    if fitted or not json_path.is_file():
        write_json(json_path, report)
    if fitted or not png_path.is_file():
        shown = [c for c in model.conditions
                 if source != "radar" or c.split("/")[0] in (served.split("/")[0], "e7")]
        _plot(png_path, model, src["g_t"], src["g_a"], src["cond"], te,
              f"{source} GPR noise model ({model.likelihood}): {len(tr)} train / {len(te)} "
              f"held-out samples, {epochs} epochs", metrics, reference=source == "neurram",
              shown=shown)
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
             f"  likelihood  {model.likelihood}"
             + (f" (nu {model.nu:.2f})" if model.likelihood == "student_t" else "")]
    if meta.get("caveat"):
        lines.append(f"  NOTE        fit statistics are {meta['caveat']}")
    lines.append(f"  window      [{window[0]:g}, {window[1]:g}] µS; fitted targets "
                 f"{model.g_lo:.3f}-{model.g_hi:.3f} µS (outside: edge bias and std)")
    if model.feature_names and model.feature_names[0] != "condition_index":
        lines.append(f"  features    {', '.join(model.feature_names)} (scaled)")
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
        lines.append(f"  held-out    {name:<11} R² {m['r2']:.4f}  "
                     f"R² dev {m.get('r2_deviation', float('nan')):.3f}  "
                     f"±1σ {100 * m['coverage_1sigma']:.1f} %  "
                     f"±2σ {100 * m['coverage_2sigma']:.1f} %  "
                     f"z std {m.get('z_std', float('nan')):.2f}  NLL {m['nll']:.3f}  (n={m['n']})")
    summary = meta.get("summary_metrics")
    for lk, entry in (meta.get("likelihoods") or {}).items():
        m = entry["metrics"].get(summary)
        if m is not None and len(meta["likelihoods"]) > 1:
            label = lk + (f" (nu {entry['nu']:.2f})" if entry.get("nu") else "")
            lines.append(f"  compare     {label:<20} on {summary}: NLL {m['nll']:.3f}  "
                         f"±1σ {100 * m['coverage_1sigma']:.1f} %  "
                         f"±2σ {100 * m['coverage_2sigma']:.1f} %  z std {m['z_std']:.2f}")
    if meta.get("lowest_heldout_nll") and len(meta.get("likelihoods") or {}) > 1:
        lines.append(f"              lowest held-out NLL: {meta['lowest_heldout_nll']}")
    lines.append(f"              ideal ±1σ {100 * IDEAL_COVERAGE[0]:.1f} %, "
                 f"±2σ {100 * IDEAL_COVERAGE[1]:.1f} %")
    if meta.get("loco"):
        lines += loco_lines(meta["loco"])
    levels = torch.linspace(window[0], window[1], NEURRAM_LEVELS, dtype=torch.float64)
    shown = [model.condition] if len(model.conditions) > 4 else list(model.conditions)
    header = "  level  target µS" + "".join(f"  {name + ' mean':>16} {'std':>7}"
                                           for name in shown)
    lines.append(header)
    cols = [model.with_condition(name).mean_std(levels) for name in shown]
    for i, g in enumerate(levels.tolist()):
        row = f"  {i:>5}  {g:>9.3f}"
        for mean, std in cols:
            row += f"  {float(mean[i]):>16.3f} {float(std[i]):>7.3f}"
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
