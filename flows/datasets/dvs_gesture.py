# SPDX-License-Identifier: MIT
"""IBM DVS128 Gesture (Amir et al. 2017): 11 gestures, 128 x 128 DVS events.

Two layouts, searched in this order:

* the official release ``DvsGesture/``: ``userNN_<lighting>.aedat`` (AEDAT 3.1) with
  ``userNN_<lighting>_labels.csv`` (``class,startTime_usec,endTime_usec``, classes 1-11) and
  ``trials_to_train.txt`` / ``trials_to_test.txt``; without the trial lists, users 1-23 train
  and 24-29 test (the official split). Each labelled segment is one sample. The release has
  one overlapping pair of segments (``user22_led_labels.csv``, class 9): wherever a segment
  starts before the previous one ends, it is made to start where the previous one ends, so
  no event belongs to two samples.
* the pre-cut layout ``ibmGestureTrain/userNN_<lighting>/<class>.npy`` and
  ``ibmGestureTest/...`` with ``N x 4`` arrays (x, y, p, t in ms), classes 0-10.

Every sample becomes ``T`` frames of ``2 x H x W`` event counts (equal time bins over the
segment, or equal event counts), by default sum-pooled 4 x 4 to 32 x 32.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ._event_frames import FrameSpec, stack_frames
from .base import Dataset, DatasetError
from .events.formats import make_events, read_aedat31
from .paths import Search

__all__ = ["NAME", "SENSOR", "CLASS_NAMES", "TIMESTEPS", "POOL", "PAD", "TRAIN_USERS",
           "TEST_USERS", "OFFICIAL_DIRS", "PRECUT_DIRS", "read_segments", "load", "probe"]

NAME = "dvs_gesture"
SENSOR = (128, 128)
CLASS_NAMES = ("hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
               "right_arm_counter_clockwise", "left_arm_clockwise",
               "left_arm_counter_clockwise", "arm_roll", "air_drums", "air_guitar", "other")
TIMESTEPS = 20
POOL = 4
PAD = 0
TRAIN_USERS = range(1, 24)
TEST_USERS = range(24, 30)
OFFICIAL_DIRS = ("DvsGesture", "DVSGesture", "dvs_gesture", "events/DvsGesture")
PRECUT_DIRS = ("", "events/", "DvsGesture/", "dvs_gesture/")
_TRIAL = re.compile(r"^user(\d+)_(\w+)\.aedat$")
_TRIAL_LISTS = {"train": "trials_to_train.txt", "test": "trials_to_test.txt"}


def _official(search: Search) -> Path | None:
    for d in search.dirs:
        for name in OFFICIAL_DIRS:
            root = d / name
            if root.is_dir() and any(root.glob("user*_*.aedat")):
                return root
    return None


def _precut(search: Search) -> Path | None:
    for d in search.dirs:
        for prefix in PRECUT_DIRS:
            root = d / prefix if prefix else d
            if (root / "ibmGestureTrain").is_dir() and (root / "ibmGestureTest").is_dir():
                return root
    return None


def read_segments(path: Path) -> list[tuple[int, int, int]]:
    """``(class 0-10, start µs, end µs)`` of a ``*_labels.csv``, overlaps removed (see module)."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"dataset {NAME}: {path} cannot be read ({type(exc).__name__})") \
            from exc
    rows = []
    for k, line in enumerate(lines, 1):
        parts = [p.strip() for p in line.split(",")]
        if not line.strip() or (k == 1 and not parts[0].isdigit()):
            continue
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise DatasetError(f"dataset {NAME}: {path} line {k} is not "
                               f"'class,startTime_usec,endTime_usec'")
        c, start, end = (int(p) for p in parts)
        if not 1 <= c <= len(CLASS_NAMES) or end <= start:
            raise DatasetError(f"dataset {NAME}: {path} line {k}: class {c} outside 1..11 or "
                               f"end {end} <= start {start}")
        rows.append((c - 1, start, end))
    if not rows:
        raise DatasetError(f"dataset {NAME}: {path} lists no segments")
    rows.sort(key=lambda r: r[1])
    fixed = [rows[0]]
    for c, start, end in rows[1:]:
        start = max(start, fixed[-1][2])
        if end <= start:
            raise DatasetError(f"dataset {NAME}: {path}: the class {c + 1} segment lies "
                               f"inside the previous one")
        fixed.append((c, start, end))
    return fixed


def _trials(root: Path, split: str) -> list[str]:
    listed = root / _TRIAL_LISTS[split]
    if listed.is_file():
        names = [ln.strip() for ln in listed.read_text(encoding="ascii").splitlines()
                 if ln.strip()]
        bad = [n for n in names if not _TRIAL.match(n)]
        if bad:
            raise DatasetError(f"dataset {NAME}: {listed} lists {bad[0]!r}, not a "
                               f"userNN_<lighting>.aedat name")
        return names
    users = TRAIN_USERS if split == "train" else TEST_USERS
    return sorted(p.name for p in root.glob("user*_*.aedat")
                  if (m := _TRIAL.match(p.name)) and int(m.group(1)) in users)


def _official_split(root: Path, split: str, spec: FrameSpec, window_us: int | None
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    items = []
    for name in _trials(root, split):
        aedat = root / name
        labels = root / name.replace(".aedat", "_labels.csv")
        for f in (aedat, labels):
            if not f.is_file():
                raise DatasetError(f"dataset {NAME}: {f} is missing (listed for {split})")
        items += [(aedat, seg) for seg in read_segments(labels)]
    if not items:
        raise DatasetError(f"dataset {NAME}: no {split} trials in {root}")
    cache: dict[Path, np.ndarray] = {}

    def read(item):
        aedat, (_c, start, end) = item
        if aedat not in cache:
            cache.clear()  # items are grouped by file: keep one recording in memory
            cache[aedat] = read_aedat31(aedat)
        ev = cache[aedat]
        stop = end if window_us is None else min(end, start + window_us)
        lo, hi = np.searchsorted(ev["t"], [start, stop])
        return ev[lo:hi], ((start, stop) if spec.split_by == "time" else None)

    x = stack_frames(spec, items, len(items), read)
    y = np.asarray([seg[0] for _, seg in items], dtype=np.int64)
    return x, y, len({a for a, _ in items})


def _read_npy(path: Path) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"dataset {NAME}: {path} is not a readable .npy "
                           f"({type(exc).__name__}); replace it") from exc
    if a.ndim != 2 or a.shape[1] != 4 or a.dtype.kind not in "fiu":
        raise DatasetError(f"dataset {NAME}: {path} has shape {a.shape}, expected N x 4 "
                           f"(x, y, p, t ms)")
    if len(a) and (not np.all(np.isfinite(a)) or a[:, :3].min() < 0):
        raise DatasetError(f"dataset {NAME}: {path} has negative or non-finite values")
    order = np.argsort(a[:, 3], kind="stable")
    a = a[order]
    return make_events(a[:, 0], a[:, 1], np.round(a[:, 3] * 1000.0).astype(np.int64),
                       a[:, 2] > 0)


def _precut_split(root: Path, split: str, spec: FrameSpec, window_us: int | None
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    folder = root / ("ibmGestureTrain" if split == "train" else "ibmGestureTest")
    files, labels = [], []
    for f in sorted(folder.glob("user*/*.npy")):
        if not f.stem.isdigit() or int(f.stem) >= len(CLASS_NAMES):
            raise DatasetError(f"dataset {NAME}: {f}: the file name must be the class 0-10")
        files.append(f)
        labels.append(int(f.stem))
    if not files:
        raise DatasetError(f"dataset {NAME}: no userNN_<lighting>/<class>.npy files in {folder}")

    def read(f):
        ev = _read_npy(f)
        if window_us is None or not len(ev):
            return ev, None
        t0 = int(ev["t"][0])
        ev = ev[ev["t"] < t0 + window_us]
        return ev, ((t0, t0 + window_us) if spec.split_by == "time" else None)

    x = stack_frames(spec, files, len(files), read)
    return x, np.asarray(labels, dtype=np.int64), len({f.parent for f in files})


def load(search: Search, timesteps: int = TIMESTEPS, split_by: str = "time",
         pool: int = POOL, pad: int = PAD, window_us: int | None = None) -> Dataset:
    """Load DVS128 Gesture as ``(N, T, 2*H'*W')`` float32 event counts.

    Parameters
    ----------
    timesteps, split_by
        Frames per sample; ``"time"`` (equal bins of the segment) or ``"number"``.
    pool, pad
        Spatial padding and sum-pooling of the 128 x 128 sensor (``pad=6, pool=7`` gives
        20 x 20; ``pool=1`` keeps 128 x 128, which needs 128 KiB per frame).
    window_us : int, optional
        Keep only the first ``window_us`` µs of each segment (e.g. 1,450,000).
    """
    spec = FrameSpec(NAME, SENSOR, timesteps, split_by, pool, pad)
    if window_us is not None and int(window_us) <= 0:
        raise DatasetError(f"dataset {NAME}: window_us must be positive, not {window_us}")
    root = _official(search)
    if root is not None:
        parts = {s: _official_split(root, s, spec, window_us) for s in ("train", "test")}
        where = f"official release {root} (AEDAT 3.1 + labels.csv)"
    else:
        root = _precut(search)
        if root is None:
            raise DatasetError(f"dataset {NAME}: neither the official DvsGesture/ folder "
                               f"(userNN_<lighting>.aedat + _labels.csv) nor the pre-cut "
                               f"ibmGestureTrain/ + ibmGestureTest/ found in "
                               f"{search.searched()}")
        parts = {s: _precut_split(root, s, spec, window_us) for s in ("train", "test")}
        where = f"pre-cut npy layout {root}/ibmGestureTrain, ibmGestureTest"
    (x_tr, y_tr, n_tr), (x_te, y_te, n_te) = parts["train"], parts["test"]
    window = "" if window_us is None else f", first {int(window_us)} us of each segment"
    source = (f"DVS128 Gesture from the {where}: train {len(x_tr)} segments of {n_tr} trials, "
              f"test {len(x_te)} segments of {n_te} trials; {spec.describe()}{window}")
    return Dataset(NAME, x_tr, y_tr, x_te, y_te, CLASS_NAMES, "sequence", source,
                   frame_shape=spec.frame_shape)


def probe(search: Search) -> dict[str, Any]:
    """Where DVS Gesture is; counts trials or clip files without decoding events."""
    root = _official(search)
    if root is not None:
        try:
            n = {s: len(_trials(root, s)) for s in ("train", "test")}
        except DatasetError as exc:
            return {"available": False, "where": str(root), "note": str(exc)}
        return {"available": True, "where": str(root), "train": None, "test": None,
                "note": f"official release: {n['train']} train / {n['test']} test trials"}
    root = _precut(search)
    if root is not None:
        n = {s: sum(1 for _ in (root / f"ibmGesture{s}").glob("user*/*.npy"))
             for s in ("Train", "Test")}
        return {"available": True, "where": str(root), "train": n["Train"], "test": n["Test"],
                "note": "pre-cut npy layout"}
    return {"available": False, "where": None,
            "note": "put the official DvsGesture/ folder (userNN_<lighting>.aedat, "
                    "_labels.csv) in a data dir"}
