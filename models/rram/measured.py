# SPDX-License-Identifier: MIT
"""Target -> reached conductance pairs for fitting noise models: measured HfOx RRAM, NeuRRAM-like.

Both sources return conductances in µS on the device window ``[g_min, g_max]`` used by the
crossbar model (Table II of the DFA_Sim paper: 4-bit RRAM in [1, 10] µS).
"""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .noise import CROSSSIM_RRAM_WAN, PolynomialSpread

__all__ = ["RADAR_FILE", "RADAR_SHA256", "RADAR_STAGES", "RADAR_EXPERIMENTS", "NEURRAM_N",
           "NEURRAM_LEVELS", "RADAR_BAKE_C", "RADAR_ENDURANCE_CYCLES", "RADAR_FEATURES",
           "radar_file", "radar_pairs", "radar_conditions", "neurram_like_samples",
           "split_indices", "leave_one_group_out", "to_device_window"]

#: Bundled measured data set (``shared/datasets/README.md`` §3).
RADAR_FILE = "rram_radar_retention.npz"
#: SHA-256 of the bundled copy (``shared/datasets/README.md``, file table); a file with this name
#: is always verified, so an edited or truncated copy is reported instead of fitted.
RADAR_SHA256 = "52dcffbb5c8955409bc81a4646146fcd7c4597e0cba10e8414b8c36998f4acc3"
#: Conditions of the reads: right after write-verify, and after the 30 min bake (README §3).
RADAR_STAGES = ("prebake", "postbake")
#: 3-bit-per-cell experiments with a write-verify log (README §3: e1..e7).
RADAR_EXPERIMENTS = (1, 2, 3, 4, 5, 6, 7)
#: Write-log columns used (README §3, ``write_log_columns``).
_COL_ADDR, _COL_RLO, _COL_RHI, _COL_SUCCESS = 0, 6, 7, 8
#: Window bounds at or above this (Ω) are open-ended: the logs write 1e10 Ω for "no upper bound"
#: (fully RESET level) and 0 Ω for "no lower bound" (fully SET level). Source: the write logs.
_OPEN_R_OHM = 1e9

#: Bake temperature (°C) of each 3-bpc experiment's 30-minute bake, as the source README states
#: it (``shared/datasets/README.md`` §3); ``None``: not stated (e5, e6; e7 "as e6").
RADAR_BAKE_C = {1: 80.0, 2: 100.0, 3: 100.0, 4: 120.0, 5: None, 6: None, 7: None}
#: Bake temperature assumed where the source does not state it (°C; chosen: the median of the
#: stated 3-bpc bakes 80/100/100/120 °C). Flagged as assumed in every condition table.
RADAR_BAKE_C_ASSUMED = 100.0
#: Bake duration of every experiment (minutes; source README: "all 30 min unless stated").
RADAR_BAKE_MINUTES = 30.0
#: Temperature of the reads and of an unbaked array (°C; chosen: room temperature, the source
#: does not state it).
RADAR_ROOM_C = 25.0
#: Endurance cycles the array had seen before an experiment (source README: e7 "after 5k
#: endurance cycles"; the others are taken as fresh, 0, beyond their own programming).
RADAR_ENDURANCE_CYCLES = {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 5000}
#: GP features of a condition and the scale each is divided by (chosen: one unit is about the
#: span in the data, comparable to the target's [0, 1] range): bake time (30 min), bake
#: temperature above room temperature (100 °C), log10(1 + endurance cycles) (4 decades).
#: Time since programming is not a separate feature: the pre-bake read follows write-verify
#: directly and the post-bake read follows the 30-minute bake, so it equals the bake time here.
#: Write-verify is on in every 3-bpc experiment, a constant, so it is recorded, not fitted.
RADAR_FEATURES = (("bake_minutes", 30.0), ("bake_temperature_above_room_c", 100.0),
                  ("log10_endurance_cycles", 4.0))

#: Sample count and split of the DFA_Sim paper's GPR data (REFERENCE.md §1: 6920 + 1730).
NEURRAM_N = 8650
#: Levels of a 4-bit device (REFERENCE.md §1, Table II: RRAM 4-bit).
NEURRAM_LEVELS = 16


def radar_file(path: str | os.PathLike) -> Path:
    """The measured data file: ``path`` itself, or ``path / RADAR_FILE`` for a folder.

    Where the data lives (data directories, caches, the bundled copy) is decided by the caller;
    this model only reads the file it is given.

    Raises
    ------
    FileNotFoundError
        One line naming the missing file.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / RADAR_FILE
    if not p.is_file():
        raise FileNotFoundError(f"measured RRAM data {p} does not exist")
    return p


def _load_npz(p: Path) -> dict[str, np.ndarray]:
    if p.name == RADAR_FILE:
        got = hashlib.sha256(p.read_bytes()).hexdigest()
        if got != RADAR_SHA256:
            raise ValueError(f"{p} is corrupt (sha256 {got[:16]}..., expected "
                             f"{RADAR_SHA256[:16]}...); restore the bundled copy")
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:  # numpy raises several types for a damaged archive
        raise ValueError(f"{p} is not a readable npz file ({type(exc).__name__})") from None


def to_device_window(g: torch.Tensor, g_lo: float, g_hi: float, g_min: float,
                     g_max: float) -> torch.Tensor:
    """Affine map of the measured window ``[g_lo, g_hi]`` onto ``[g_min, g_max]`` (all µS).

    ``G_dev = g_min + (G - g_lo) / (g_hi - g_lo) * (g_max - g_min)``: the normalised conductance
    is kept, so a spread of 1 % of the measured window stays 1 % of the device window.
    """
    return g_min + (g - g_lo) / (g_hi - g_lo) * (g_max - g_min)


def _check_window(g_min: float, g_max: float) -> None:
    if not (math.isfinite(g_min) and math.isfinite(g_max) and 0.0 <= g_min < g_max):
        raise ValueError(f"need 0 <= g_min < g_max, got g_min={g_min}, g_max={g_max} µS")


def radar_pairs(path: str | os.PathLike, g_min: float = 1.0, g_max: float = 10.0,
                *, stages: tuple[str, ...] = ("postbake",),
                experiments: tuple[int, ...] = RADAR_EXPERIMENTS
                ) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """Write-verify target -> reached conductance of the measured 1T1R HfOx array (RADAR data).

    One pair per programmed cell and read stage. For every cell that the write-verify log of a
    3-bit-per-cell experiment programmed, the **last** log row of that cell gives the target
    window ``[rlo, rhi]`` (Ω); the target conductance is the window midpoint in conductance,
    ``(1/rlo + 1/rhi) / 2``. The reached conductance is ``1/R`` of the first read of that cell:
    ``prebake`` right after write-verify (includes the fast relaxation between the verify and the
    read, and read noise), ``postbake`` after the 30-minute bake (accelerated retention;
    80-120 °C where the source states it). ``postbake`` is what a deployed chip sees some time
    after programming, hence the default.

    Mapping to the device window: both conductances are mapped by normalised conductance,
    ``g_norm = (G - G_lo) / (G_hi - G_lo)`` and ``G_dev = g_min + g_norm * (g_max - g_min)``,
    where ``[G_lo, G_hi]`` is the span of the targets kept (85.7-219.5 µS in the bundled file),
    identical for all stages. Reached values may fall slightly outside ``[g_min, g_max]``.

    Rows dropped (each counted in ``info["counts"]``): cells whose last log row has an
    open-ended window (levels 0 and 7: fully SET / fully RESET, no target value), failed
    programming (``success == 0``), non-finite or non-positive resistance. Cells with no row in
    an experiment's log are not used (not programmed in that run: their state may date from an
    earlier experiment, e.g. e5 programmed only 278 cells). The 2-bit-per-cell experiments are
    not used: their wider windows would make the spread depend on the coding scheme rather than
    on the conductance.

    Parameters
    ----------
    path : path
        The npz file, or the folder holding :data:`RADAR_FILE` (:func:`radar_file`); the
        command line searches its data directories for it.
    g_min, g_max : float
        Device window (µS).
    stages : tuple of str
        Subset of ``("prebake", "postbake")``.
    experiments : tuple of int
        3-bpc experiments (1..7) to use; e7 is the array after 5k endurance cycles.

    Returns
    -------
    g_target, g_actual : Tensor of float64, shape (n,)
        µS on the device window.
    info : dict
        ``stage`` (int64 (n,), index into ``info["stages"]``), ``group`` (int64 (n,), one id
        per programmed cell and experiment: split on it so that both reads of a cell land in the
        same fold), ``experiment`` (int64 (n,)), ``stages``, ``g_window_measured_us``
        ``(G_lo, G_hi)``, ``counts``, ``source``, and the device conditions of
        :func:`radar_conditions`: ``condition`` (int64 (n,), index into ``conditions``),
        ``conditions``, ``condition_table``, ``condition_features`` and ``feature_names``.

    Raises
    ------
    FileNotFoundError
        Data file missing.
    ValueError
        Corrupt file, bad window, unknown stage or experiment, nothing left after cleaning.
    """
    _check_window(g_min, g_max)
    bad = [s for s in stages if s not in RADAR_STAGES]
    if not stages or bad:
        raise ValueError(f"stages must be a non-empty subset of {RADAR_STAGES}, got {stages}")
    if not experiments or any(e not in RADAR_EXPERIMENTS for e in experiments):
        raise ValueError(f"experiments must be a non-empty subset of {RADAR_EXPERIMENTS}")
    p = radar_file(path)
    z = _load_npz(p)
    try:
        addr_to_col = {int(a): i for i, a in enumerate(z["cell_addr"])}
        counts = dict(log_rows=0, cells_programmed=0, cells_not_programmed=0,
                      dropped_open_window=0, dropped_failed=0, dropped_invalid=0,
                      dropped_unknown_address=0)
        per_exp: list[tuple[int, np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
        for e in experiments:
            log = z[f"bpc3_e{e}_write_log"].astype(np.float64)
            reads = {s: z[f"bpc3_e{e}_r_{s}_ohm"].astype(np.float64)[0] for s in stages}
            counts["log_rows"] += len(log)
            last: dict[int, int] = {}
            for i, a in enumerate(log[:, _COL_ADDR].astype(np.int64)):
                if int(a) in addr_to_col:
                    last[addr_to_col[int(a)]] = i  # later rows overwrite: the last run counts
                else:
                    counts["dropped_unknown_address"] += 1
            cols = np.array(sorted(last), dtype=np.int64)
            rows = log[[last[c] for c in cols]]
            counts["cells_programmed"] += len(cols)
            counts["cells_not_programmed"] += len(addr_to_col) - len(cols)
            rlo, rhi = rows[:, _COL_RLO], rows[:, _COL_RHI]
            open_ = ~((rlo > 0) & (rhi < _OPEN_R_OHM))
            failed = ~open_ & (rows[:, _COL_SUCCESS] != 1)
            ok = ~open_ & ~failed
            valid = np.isfinite(rlo) & np.isfinite(rhi) & (rhi > rlo)
            for r in reads.values():
                valid &= np.isfinite(r[cols]) & (r[cols] > 0)
            counts["dropped_open_window"] += int(open_.sum())
            counts["dropped_failed"] += int(failed.sum())
            counts["dropped_invalid"] += int((ok & ~valid).sum())
            keep = ok & valid
            per_exp.append((e, cols[keep], rows[keep], reads))
    except KeyError as exc:
        raise ValueError(f"{p} lacks array {exc.args[0]!r}; restore the bundled copy") from None

    targets = [1e6 * 0.5 * (1 / r[:, _COL_RLO] + 1 / r[:, _COL_RHI]) for _, _, r, _ in per_exp]
    all_targets = np.concatenate(targets)
    if all_targets.size < 2 or all_targets.max() <= all_targets.min():
        raise ValueError(f"{p}: fewer than two distinct targets left after cleaning")
    g_lo, g_hi = float(all_targets.min()), float(all_targets.max())
    g_t, g_a, stage, group, expt = [], [], [], [], []
    for (e, cols, _, reads), t in zip(per_exp, targets):
        for s_idx, s in enumerate(stages):
            g_t.append(t)
            g_a.append(1e6 / reads[s][cols])
            stage.append(np.full(len(cols), s_idx))
            group.append(e * len(addr_to_col) + cols)
            expt.append(np.full(len(cols), e))
    g_t_all = to_device_window(torch.from_numpy(np.concatenate(g_t)), g_lo, g_hi, g_min, g_max)
    g_a_all = to_device_window(torch.from_numpy(np.concatenate(g_a)), g_lo, g_hi, g_min, g_max)
    names, table, feats = radar_conditions(tuple(experiments), tuple(stages))
    exp_pos = {e: i for i, e in enumerate(experiments)}
    expt_all = np.concatenate(expt)
    stage_all = np.concatenate(stage)
    cond_all = np.array([exp_pos[int(e)] * len(stages) + int(s_)
                         for e, s_ in zip(expt_all, stage_all)], dtype=np.int64)
    counts["cells_kept"] = sum(len(c) for _, c, _, _ in per_exp)
    counts["pairs"] = int(g_t_all.numel())
    info = {"stage": torch.from_numpy(np.concatenate(stage)).long(),
            "group": torch.from_numpy(np.concatenate(group)).long(),
            "experiment": torch.from_numpy(np.concatenate(expt)).long(),
            "stages": tuple(stages), "g_window_measured_us": (g_lo, g_hi),
            "counts": counts, "source": str(p), "experiments": tuple(experiments),
            "condition": torch.from_numpy(cond_all).long(), "conditions": names,
            "condition_table": table, "condition_features": feats,
            "feature_names": tuple(name for name, _ in RADAR_FEATURES)}
    return g_t_all, g_a_all, info


def radar_conditions(experiments: tuple[int, ...] = RADAR_EXPERIMENTS,
                     stages: tuple[str, ...] = RADAR_STAGES
                     ) -> tuple[tuple[str, ...], list[dict[str, Any]], torch.Tensor]:
    """Names, physical description and scaled GP features of the (experiment, stage) conditions.

    Conditions are ordered experiment-major (``e1/prebake, e1/postbake, e2/prebake, ...``), as
    ``info["condition"]`` of :func:`radar_pairs` indexes them.

    Returns
    -------
    names : tuple of str
        ``"e{experiment}/{stage}"``.
    table : list of dict
        Per condition: ``experiment``, ``stage``, ``bake_minutes`` (0 before the bake),
        ``bake_temperature_c`` (room temperature before the bake), ``temperature_stated``
        (False where :data:`RADAR_BAKE_C_ASSUMED` stands in), ``endurance_cycles``,
        ``write_verify`` (always True here) and ``time_since_programming`` (text).
    features : Tensor of float64, shape (n_conditions, 3)
        :data:`RADAR_FEATURES`, each divided by its scale.
    """
    names, table, rows = [], [], []
    for e in experiments:
        if e not in RADAR_EXPERIMENTS:
            raise ValueError(f"experiments must be a subset of {RADAR_EXPERIMENTS}, got {e}")
        for s in stages:
            if s not in RADAR_STAGES:
                raise ValueError(f"stages must be a subset of {RADAR_STAGES}, got {s!r}")
            baked = s == "postbake"
            stated = RADAR_BAKE_C[e] is not None
            temp = (RADAR_BAKE_C[e] if stated else RADAR_BAKE_C_ASSUMED) if baked \
                else RADAR_ROOM_C
            entry = {"experiment": e, "stage": s,
                     "bake_minutes": RADAR_BAKE_MINUTES if baked else 0.0,
                     "bake_temperature_c": temp, "temperature_stated": stated or not baked,
                     "endurance_cycles": RADAR_ENDURANCE_CYCLES[e], "write_verify": True,
                     "time_since_programming": "after the 30 min bake" if baked
                     else "read right after write-verify"}
            values = (entry["bake_minutes"], temp - RADAR_ROOM_C,
                      math.log10(1.0 + entry["endurance_cycles"]))
            rows.append([v / scale for v, (_, scale) in zip(values, RADAR_FEATURES)])
            names.append(f"e{e}/{s}")
            table.append(entry)
    return tuple(names), table, torch.tensor(rows, dtype=torch.float64)


def neurram_like_samples(n: int = NEURRAM_N, g_min: float = 1.0, g_max: float = 10.0,
                         seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic NeuRRAM-like pairs from CrossSim's ``RRAM_Wan`` spread fit.

    Targets are drawn uniformly (with replacement) from the 16 equally spaced levels of a 4-bit
    device in ``[g_min, g_max]`` µS; the reached conductance is
    ``max(0, G + sigma(G) * N(0, 1))`` with ``sigma`` the CrossSim cubic
    (:data:`CROSSSIM_RRAM_WAN`, 1.28 µS at 1 µS, 2.41 µS at 10 µS) in **absolute** µS, not
    rescaled to the window: REFERENCE.md §1 shows that this reproduces the DFA_Sim paper's
    accuracy drop, while a rescaled spread does not. The clamp at 0 µS (a device cannot have
    negative conductance) cuts the lower tail at the lowest levels (22 % of the draws at 1 µS).
    Split with :func:`split_indices` (8650 -> 6920 / 1730, as in the paper).

    Returns
    -------
    g_target, g_actual : Tensor of float64, shape (n,)
    """
    _check_window(g_min, g_max)
    if n < 2:
        raise ValueError(f"need n >= 2 samples, got {n}")
    gen = torch.Generator().manual_seed(seed)
    levels = torch.linspace(g_min, g_max, NEURRAM_LEVELS, dtype=torch.float64)
    g_target = levels[torch.randint(NEURRAM_LEVELS, (n,), generator=gen)]
    z = torch.randn(n, generator=gen, dtype=torch.float64)
    g_actual = PolynomialSpread(CROSSSIM_RRAM_WAN).sample(g_target, z=z)
    return g_target, g_actual


def split_indices(n: int, seed: int = 0, train_fraction: float = 0.8,
                  groups: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random train/test split, ``round(train_fraction * n)`` samples (or groups) for training.

    Parameters
    ----------
    n : int
        Number of samples.
    seed : int
    train_fraction : float
        0.8 in the DFA_Sim paper (6920 / 1730 of 8650).
    groups : Tensor of int64, shape (n,), optional
        Whole groups go to one side (e.g. both reads of one cell).

    Returns
    -------
    train_idx, test_idx : Tensor of int64, sorted
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    gen = torch.Generator().manual_seed(seed)
    if groups is None:
        perm = torch.randperm(n, generator=gen)
        n_train = round(train_fraction * n)
        return perm[:n_train].sort().values, perm[n_train:].sort().values
    if groups.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), got {tuple(groups.shape)}")
    uniq, inverse = torch.unique(groups, return_inverse=True)
    perm = torch.randperm(len(uniq), generator=gen)
    is_train = torch.zeros(len(uniq), dtype=torch.bool)
    is_train[perm[:round(train_fraction * len(uniq))]] = True
    mask = is_train[inverse]
    return torch.nonzero(mask).flatten(), torch.nonzero(~mask).flatten()


def leave_one_group_out(groups: torch.Tensor) -> list[tuple[int, torch.Tensor, torch.Tensor]]:
    """Leave-one-group-out folds: for every distinct group, train on all others, test on it.

    Parameters
    ----------
    groups : Tensor of int64, shape (n,)
        Group of every sample (e.g. the experiment, so that one device condition is held out).

    Returns
    -------
    list of (group, train_idx, test_idx)
        One fold per distinct group, in increasing group order; ``train_idx`` never holds a
        sample of ``group`` and ``test_idx`` holds all of them (sorted int64 indices).
    """
    groups = torch.as_tensor(groups).long().flatten()
    uniq = torch.unique(groups)
    if len(uniq) < 2:
        raise ValueError(f"leave-one-group-out needs at least two groups, got {len(uniq)}")
    folds = []
    for g in uniq.tolist():
        held = groups == g
        folds.append((int(g), torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()))
    return folds
