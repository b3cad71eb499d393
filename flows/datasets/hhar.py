# SPDX-License-Identifier: MIT
"""HHAR (Stisen et al., SenSys 2015): phone acc + gyro windows, 6 channels x 100 steps at 50 Hz.

Preprocessing follows CL-HAR's ``data_preprocess/data_preprocess_hhar.py`` (also used by
SNN_HAR), with the deviations marked "Deviation" below:

1. ``Phones_accelerometer.csv`` and ``Phones_gyroscope.csv`` rows of phone models nexus4, s3
   and s3mini (samsungold excluded) and of the 6 activities are grouped by (user, device,
   activity); rows with ``gt`` = null are dropped.
2. Accelerometer and gyroscope samples are paired when their ``Creation_Time`` (ns) differ by
   less than 0.1 s; a pair's time is the mean of the two. Deviation: CL-HAR walks both streams
   greedily in file order, which after one dropped sample keeps pairing neighbours up to 0.1 s
   apart; we pair each sample with its nearest counterpart when that choice is mutual, which
   gives the same pairs on regular streams and no drift after gaps.
3. Linear interpolation onto a uniform 50 Hz grid. Deviation: CL-HAR interpolates onto as many
   points as there were pairs and then keeps every ``int(f_nominal / 50)``-th (nexus4 200 Hz,
   s3 150 Hz, s3mini 100 Hz); interpolating straight onto a 20 ms grid is the same when a
   device runs at its nominal rate and stays at 50 Hz when it does not. Deviation: a pause of
   more than 1 s (e.g. where null rows were dropped) starts a new segment instead of being
   bridged by a straight line.
4. Sliding windows of 100 samples, step 50, within each segment; label = the group's activity.
5. Channels acc x, y, z, gyro x, y, z. CL-HAR reads ``df[['acc_x', 'acc_y', 'acc_x']]`` (acc z
   dropped, acc x twice), which looks like a typo; we use x, y, z.
6. Normalisation: none by default (the training flow standardises with train statistics).
   CL-HAR standardises each split with that split's own mean/std per (time step, channel), so
   the test set is normalised with test statistics; ``load_hhar(per_window_norm=True)`` offers
   per-window, per-channel standardisation instead, which needs no split statistics at all.

Split: by user, deterministic: users h and i are the test set, a to g the training set
(CL-HAR's default is a random window-level split, which puts overlapping windows of one
recording on both sides).

The windows of all users are cached in an npz next to the CSVs (or next to the zip), keyed by
the source files' sizes and modification times, so only the first load parses the CSVs.
"""
from __future__ import annotations

import csv
import io
import os
import zipfile
import zlib
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from . import download
from ._validate import check_split, read_npz
from .base import Dataset, DatasetError
from .checksums import HHAR_ZIP_SHA256
from .paths import Search

__all__ = ["NAME", "FOLDER", "ZIP_NAME", "CSV_FILES", "COLUMNS", "CLASS_NAMES", "CHANNELS",
           "MODELS", "TEST_USERS", "RATE_HZ", "WINDOW", "STEP", "PAIR_TOL_S", "MAX_GAP_S",
           "CACHE_NAME", "CACHE_VERSION", "REMOTE", "Windows", "pair_streams",
           "resample_segments", "preprocess", "normalize_windows", "load_hhar", "load", "probe"]

NAME = "hhar"
FOLDER = "Activity recognition exp"
ZIP_NAME = "Activity recognition exp.zip"
CSV_FILES = ("Phones_accelerometer.csv", "Phones_gyroscope.csv")
COLUMNS = ("Index", "Arrival_Time", "Creation_Time", "x", "y", "z", "User", "Model", "Device",
           "gt")
CLASS_NAMES = ("bike", "sit", "stand", "walk", "stairsup", "stairsdown")
CHANNELS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
MODELS = ("nexus4", "s3", "s3mini")
TEST_USERS = ("h", "i")
RATE_HZ = 50.0
WINDOW = 100
STEP = 50
PAIR_TOL_S = 0.1
MAX_GAP_S = 1.0
CACHE_NAME = "hhar_phones_50hz_w100_s50.npz"
#: Bump when the preprocessing changes, so stale caches are rebuilt.
CACHE_VERSION = 1

REMOTE = download.Remote(
    filename=ZIP_NAME,
    urls=(("https://archive.ics.uci.edu/ml/machine-learning-databases/00344/"
           "Activity%20recognition%20exp.zip", None),
          ("https://archive.ics.uci.edu/static/public/344/heterogeneity+activity+recognition.zip",
           ZIP_NAME)),
    sha256=HHAR_ZIP_SHA256,
)

_Key = tuple[str, str, str]  # (user, device, activity)


@dataclass(frozen=True)
class Windows:
    """Preprocessed windows of every user, before the train/test split.

    Attributes
    ----------
    x : ndarray of float32, shape ``(N, WINDOW, 6)``
    y : ndarray of int64, shape ``(N,)``
    user, device : ndarray of str, shape ``(N,)``
    """

    x: np.ndarray
    y: np.ndarray
    user: np.ndarray
    device: np.ndarray


@dataclass(frozen=True)
class _Source:
    """Where the raw CSVs are (folder or zip) and where their cache lives."""

    path: Path
    is_zip: bool

    @property
    def cache(self) -> Path:
        return (self.path.parent if self.is_zip else self.path) / CACHE_NAME

    def signature(self) -> str:
        files = [self.path] if self.is_zip else [self.path / f for f in CSV_FILES]
        return ";".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)

    def label(self, csv_name: str) -> str:
        return f"{self.path}/{FOLDER}/{csv_name}" if self.is_zip else str(self.path / csv_name)

    @contextmanager
    def open(self, csv_name: str) -> Iterator[IO[str]]:
        if not self.is_zip:
            with open(self.path / csv_name, encoding="utf-8", newline="") as f:
                yield f
            return
        try:
            with zipfile.ZipFile(self.path) as z:
                names = [n for n in z.namelist()
                         if n.rsplit("/", 1)[-1] == csv_name and not n.startswith("__MACOSX/")]
                if not names:
                    raise DatasetError(f"dataset {NAME}: {self.path} has no {csv_name}; it is "
                                       f"not the official HHAR archive, replace it")
                with z.open(names[0]) as raw, io.TextIOWrapper(raw, "utf-8", newline="") as f:
                    yield f
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise DatasetError(f"dataset {NAME}: {self.path} is corrupt or truncated "
                               f"({type(exc).__name__}); replace it") from exc


def _read_sensor(f: IO[str], origin: str) -> dict[_Key, tuple[np.ndarray, np.ndarray]]:
    """Group one sensor CSV by (user, device, activity): ``(t_ns int64, xyz float32 (n, 3))``."""
    reader = csv.reader(f)
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise DatasetError(f"dataset {NAME}: {origin} has header {header}, expected "
                           f"{','.join(COLUMNS)}; replace the file")
    models, classes = set(MODELS), set(CLASS_NAMES)
    groups: dict[_Key, tuple[array, array]] = {}
    lineno = 1
    try:
        for lineno, row in enumerate(reader, 2):
            # Plain tuple indexing keeps this loop fast on the ~13M-row originals.
            if len(row) != 10:
                raise ValueError(f"{len(row)} fields")
            if row[7] not in models or row[9] not in classes:
                continue  # samsungold, watches, and gt == null
            key = (row[6], row[8], row[9])
            g = groups.get(key)
            if g is None:
                g = groups[key] = (array("q"), array("f"))
            t = row[2]
            g[0].append(int(t) if t.isdigit() else int(float(t)))
            g[1].extend((float(row[3]), float(row[4]), float(row[5])))
    except (ValueError, OverflowError) as exc:
        raise DatasetError(f"dataset {NAME}: {origin} line {lineno} is malformed ({exc}); the "
                           f"file is corrupt, replace it") from exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, UnicodeDecodeError) as exc:
        raise DatasetError(f"dataset {NAME}: {origin} is corrupt or truncated near line "
                           f"{lineno} ({type(exc).__name__}); replace it") from exc
    return {k: (np.frombuffer(t, np.int64), np.frombuffer(v, np.float32).reshape(-1, 3))
            for k, (t, v) in groups.items()}


def _nearest(ref: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Index of the element of sorted ``ref`` nearest to each ``q`` (ties go left)."""
    right = np.clip(np.searchsorted(ref, q), 0, len(ref) - 1)
    left = np.clip(right - 1, 0, len(ref) - 1)
    return np.where(np.abs(ref[right] - q) < np.abs(q - ref[left]), right, left)


def pair_streams(t_acc_ns: np.ndarray, acc: np.ndarray, t_gyro_ns: np.ndarray,
                 gyro: np.ndarray, tol_s: float = PAIR_TOL_S) -> tuple[np.ndarray, np.ndarray]:
    """Pair accelerometer and gyroscope samples that are mutual nearest neighbours in time.

    Parameters
    ----------
    t_acc_ns, t_gyro_ns : ndarray of int64
        ``Creation_Time`` in nanoseconds (any order).
    acc, gyro : ndarray, shape ``(n, 3)``
    tol_s : float
        Pairs further apart than this are dropped.

    Returns
    -------
    t : ndarray of float64
        Pair times (mean of the two), seconds from the earliest sample, strictly increasing.
    values : ndarray of float64, shape ``(n_pairs, 6)``
        ``acc xyz, gyro xyz``.
    """
    if len(t_acc_ns) == 0 or len(t_gyro_ns) == 0:
        return np.zeros(0), np.zeros((0, 6))
    oa, og = np.argsort(t_acc_ns, kind="stable"), np.argsort(t_gyro_ns, kind="stable")
    t0 = min(int(t_acc_ns[oa[0]]), int(t_gyro_ns[og[0]]))
    # Subtract in int64 first: absolute ns timestamps (~1.4e18) lose precision as floats.
    ta = (t_acc_ns[oa] - t0) * 1e-9
    tg = (t_gyro_ns[og] - t0) * 1e-9
    j = _nearest(tg, ta)
    i = _nearest(ta, tg)
    keep = (i[j] == np.arange(len(ta))) & (np.abs(ta - tg[j]) < tol_s)
    ia, jg = np.flatnonzero(keep), j[keep]
    t = 0.5 * (ta[ia] + tg[jg])
    values = np.hstack([acc[oa][ia], gyro[og][jg]]).astype(np.float64)
    order = np.argsort(t, kind="stable")
    t, values = t[order], values[order]
    strict = np.diff(t, prepend=-np.inf) > 0
    return t[strict], values[strict]


def resample_segments(t: np.ndarray, values: np.ndarray, rate_hz: float = RATE_HZ,
                      max_gap_s: float = MAX_GAP_S, window: int = WINDOW,
                      step: int = STEP) -> np.ndarray:
    """Interpolate onto a uniform grid per gap-free segment and cut sliding windows.

    Parameters
    ----------
    t : ndarray, strictly increasing seconds
    values : ndarray, shape ``(n, C)``
    rate_hz, max_gap_s, window, step
        Grid rate; a pause longer than ``max_gap_s`` starts a new segment; window length and
        step in grid samples.

    Returns
    -------
    ndarray of float32, shape ``(n_windows, window, C)``
        Segments shorter than one window contribute nothing.
    """
    out = []
    bounds = np.flatnonzero(np.diff(t) > max_gap_s) + 1
    for seg_t, seg_v in zip(np.split(t, bounds), np.split(values, bounds)):
        if len(seg_t) < 2:
            continue
        # The epsilon keeps a span of exactly k grid steps from rounding down to k - 1.
        n = int(np.floor((seg_t[-1] - seg_t[0]) * rate_hz + 1e-6)) + 1
        if n < window:
            continue
        grid = seg_t[0] + np.arange(n) / rate_hz
        resampled = np.stack([np.interp(grid, seg_t, seg_v[:, c])
                              for c in range(seg_v.shape[1])], axis=1)
        views = np.lib.stride_tricks.sliding_window_view(resampled, window, axis=0)[::step]
        out.append(views.transpose(0, 2, 1).astype(np.float32))
    if not out:
        return np.zeros((0, window, values.shape[1]), np.float32)
    return np.concatenate(out)


def preprocess(acc: dict[_Key, tuple[np.ndarray, np.ndarray]],
               gyro: dict[_Key, tuple[np.ndarray, np.ndarray]]) -> Windows:
    """Pair, resample and window every (user, device, activity) group, in sorted key order."""
    xs, ys, users, devices = [], [], [], []
    for key in sorted(set(acc) & set(gyro)):
        user, device, activity = key
        t, values = pair_streams(acc[key][0], acc[key][1], gyro[key][0], gyro[key][1])
        w = resample_segments(t, values)
        if len(w):
            xs.append(w)
            ys.append(np.full(len(w), CLASS_NAMES.index(activity), np.int64))
            users.append(np.full(len(w), user))
            devices.append(np.full(len(w), device))
    if not xs:
        return Windows(np.zeros((0, WINDOW, 6), np.float32), np.zeros(0, np.int64),
                       np.zeros(0, "<U1"), np.zeros(0, "<U1"))
    return Windows(np.concatenate(xs), np.concatenate(ys), np.concatenate(users).astype(str),
                   np.concatenate(devices).astype(str))


def _find_source(search: Search) -> tuple[_Source | None, Path | None]:
    """(raw source, cache-only path): raw files win; a lone cache is used as-is."""
    for d in search.dirs:
        if all((d / FOLDER / f).is_file() for f in CSV_FILES):
            return _Source(d / FOLDER, False), None
        if (d / ZIP_NAME).is_file():
            return _Source(d / ZIP_NAME, True), None
        for cache in (d / FOLDER / CACHE_NAME, d / CACHE_NAME):
            if cache.is_file():
                return None, cache
    return None, None


def _read_cache(path: Path, signature: str | None) -> Windows | None:
    """The cached windows, or ``None`` when stale for ``signature`` / this code version."""
    meta = read_npz(NAME, path, ("version", "signature"))
    if int(meta["version"]) != CACHE_VERSION or (
            signature is not None and str(meta["signature"]) != signature):
        return None
    a = read_npz(NAME, path, ("x", "y", "user", "device"))
    return Windows(a["x"], a["y"], a["user"], a["device"])


def _write_cache(path: Path, windows: Windows, signature: str) -> bool:
    tmp = path.with_name(path.name + ".tmp.npz")
    try:
        np.savez(tmp, x=windows.x, y=windows.y, user=windows.user, device=windows.device,
                 version=np.int64(CACHE_VERSION), signature=np.str_(signature))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False  # a read-only data dir only costs the next load the CSV parse again
    return True


def _windows_from(source: _Source) -> tuple[Windows, str]:
    signature = source.signature()
    if source.cache.is_file():
        try:
            cached = _read_cache(source.cache, signature)
        except DatasetError:
            cached = None  # an unreadable cache is rebuilt from the raw files
        if cached is not None:
            return cached, f"cache {source.cache} of {source.path}"
    streams = []
    for name in CSV_FILES:
        with source.open(name) as f:
            streams.append(_read_sensor(f, source.label(name)))
    windows = preprocess(*streams)
    if len(windows.x) == 0:
        raise DatasetError(f"dataset {NAME}: {source.path} yields no complete {WINDOW}-sample "
                           f"window for models {MODELS}; the files are not HHAR phone data")
    cached = _write_cache(source.cache, windows, signature)
    note = f", cached to {source.cache}" if cached else ", cache not writable"
    return windows, f"{source.label(CSV_FILES[0])} + {CSV_FILES[1]}{note}"


def normalize_windows(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Standardise each window and channel over time (zero mean, unit std)."""
    mean = x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    return ((x - mean) / (std + eps)).astype(np.float32)


def load_hhar(search: Search, test_users: Sequence[str] = TEST_USERS,
              per_window_norm: bool = False) -> Dataset:
    """Load HHAR windows split by user.

    Parameters
    ----------
    search : Search
    test_users : sequence of str
        Users whose windows form the test split (default ``("h", "i")``).
    per_window_norm : bool
        Standardise each window per channel (see the module notes); off by default.
    """
    source, cache_only = _find_source(search)
    if source is None and cache_only is not None:
        windows = _read_cache(cache_only, None)
        if windows is None:
            raise DatasetError(f"dataset {NAME}: {cache_only} was written by another version "
                               f"of the preprocessing; put {ZIP_NAME!r} or the {FOLDER!r} "
                               f"folder next to it to rebuild")
        origin = f"cache {cache_only} (raw CSVs not present)"
    else:
        if source is None:
            source = _Source(download.fetch(search, REMOTE, f"{ZIP_NAME!r} (or the {FOLDER!r} "
                                            f"folder with {' + '.join(CSV_FILES)})"), True)
        windows, origin = _windows_from(source)
    test = np.isin(windows.user, list(test_users))
    parts = []
    for split, mask in (("train", ~test), ("test", test)):
        x = normalize_windows(windows.x[mask]) if per_window_norm else windows.x[mask]
        parts.append(check_split(NAME, split, x, windows.y[mask], len(CLASS_NAMES), origin,
                                 (WINDOW, len(CHANNELS))))
    (x_tr, y_tr), (x_te, y_te) = parts
    train_users = sorted(set(windows.user[~test].tolist()))
    norm = "per-window standardised" if per_window_norm else "unnormalised"
    source_text = (f"HHAR phones {'/'.join(MODELS)}: acc+gyro paired (<{PAIR_TOL_S} s), "
                   f"interpolated to {RATE_HZ:g} Hz, windows {WINDOW} step {STEP}, channels "
                   f"{','.join(CHANNELS)}, {norm}; split by user: train users "
                   f"{','.join(train_users)} ({len(x_tr)}), test users {','.join(test_users)} "
                   f"({len(x_te)}); from {origin}")
    return Dataset(NAME, x_tr, y_tr, x_te, y_te, CLASS_NAMES, "sequence", source_text)


def load(search: Search) -> Dataset:
    """Registry entry point: :func:`load_hhar` with the default split and no normalisation."""
    return load_hhar(search)


def probe(search: Search) -> dict[str, Any]:
    """Availability report; counts come from the cache only (the raw CSVs take minutes)."""
    source, cache_only = _find_source(search)
    cache = source.cache if source is not None else cache_only
    note = ""
    if cache is not None and cache.is_file():
        try:
            meta = read_npz(NAME, cache, ("version", "signature", "user"))
        except DatasetError as exc:
            note = str(exc)
        else:
            if int(meta["version"]) == CACHE_VERSION and (
                    source is None or str(meta["signature"]) == source.signature()):
                n_test = int(np.isin(meta["user"], list(TEST_USERS)).sum())
                return {"available": True, "where": str(source.path if source else cache),
                        "train": len(meta["user"]) - n_test, "test": n_test,
                        "note": f"preprocessed windows cached in {cache}"}
            note = f"{cache} is stale"
    if source is not None:
        return {"available": True, "where": str(source.path),
                "note": "raw CSVs found; the first load preprocesses them (a minute or two)"}
    if cache is not None:
        return {"available": False, "where": str(cache), "note": note}
    return {"available": False, "where": None,
            "note": f"put {ZIP_NAME!r} in a data dir or allow download from {REMOTE.url}"}
