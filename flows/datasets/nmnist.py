# SPDX-License-Identifier: MIT
"""N-MNIST (ATIS saccades over MNIST digits): 34 x 34 events binned into ``T x 2 x 34 x 34``.

Two layouts, searched in this order:

* the official release: ``NMNIST/Train/<digit>/*.bin`` and ``NMNIST/Test/<digit>/*.bin``
  (also ``N-MNIST/`` or ``nmnist/``), all 60,000 / 10,000 samples;
* SLAYER's offline subset ``NMNISTsmall/`` (``1.bs2`` ... ``1000.bs2`` with ``train1K.txt``,
  ``60001.bs2`` ... ``60100.bs2`` with ``test100.txt``), found beside the checkout in
  ``shared/datasets/events/nmnist_slayer/``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._event_frames import FrameSpec, stack_frames
from .base import Dataset, DatasetError
from .events.formats import read_atis_bin
from .paths import Search

__all__ = ["NAME", "SENSOR", "TIMESTEPS", "CLASS_NAMES", "FRAME_SHAPE", "OFFICIAL_DIRS",
           "SUBSET_DIRS", "load", "probe", "read_labels"]

NAME = "nmnist"
SENSOR = (34, 34)
#: Default number of frames per sample (equal time bins over the sample's ~300 ms).
TIMESTEPS = 10
FRAME_SHAPE = (2, 34, 34)
CLASS_NAMES = tuple(str(d) for d in range(10))
OFFICIAL_DIRS = ("NMNIST", "N-MNIST", "nmnist")
SUBSET_DIRS = ("events/nmnist_slayer/NMNISTsmall", "nmnist_slayer/NMNISTsmall", "NMNISTsmall")
_SUBSET_LABELS = {"train": "train1K.txt", "test": "test100.txt"}


def _official(search: Search) -> Path | None:
    for d in search.dirs:
        for name in OFFICIAL_DIRS:
            if (d / name / "Train").is_dir() and (d / name / "Test").is_dir():
                return d / name
    return None


def _subset(search: Search) -> Path | None:
    for d in search.dirs:
        for rel in SUBSET_DIRS:
            if all((d / rel / f).is_file() for f in _SUBSET_LABELS.values()):
                return d / rel
    return None


def read_labels(path: Path) -> list[tuple[int, int]]:
    """``(sample number, class)`` pairs of a SLAYER label file (``#sample #class`` lines)."""
    out = []
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"dataset {NAME}: {path} cannot be read ({type(exc).__name__})") \
            from exc
    for k, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[1]) > 9:
            raise DatasetError(f"dataset {NAME}: {path} line {k} is not '<sample> <digit>'")
        out.append((int(parts[0]), int(parts[1])))
    if not out:
        raise DatasetError(f"dataset {NAME}: {path} lists no samples")
    return out


def _official_files(root: Path, split: str) -> tuple[list[Path], np.ndarray]:
    files, labels = [], []
    for digit in range(10):
        folder = root / split / str(digit)
        if not folder.is_dir():
            raise DatasetError(f"dataset {NAME}: {folder} is missing; the official layout "
                               f"has {split}/0 ... {split}/9")
        found = sorted(folder.glob("*.bin"))
        files += found
        labels += [digit] * len(found)
    if not files:
        raise DatasetError(f"dataset {NAME}: no .bin files under {root / split}")
    return files, np.asarray(labels, dtype=np.int64)


def _subset_files(root: Path, split: str) -> tuple[list[Path], np.ndarray]:
    pairs = read_labels(root / _SUBSET_LABELS[split])
    files = [root / f"{n}.bs2" for n, _ in pairs]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise DatasetError(f"dataset {NAME}: {missing[0]} is missing ({len(missing)} of the "
                           f"{len(files)} files listed in {_SUBSET_LABELS[split]})")
    return files, np.asarray([c for _, c in pairs], dtype=np.int64)


def _frames(spec: FrameSpec, files: list[Path]) -> np.ndarray:
    return stack_frames(spec, files, len(files), lambda f: (read_atis_bin(f), None))


def _take(files: list[Path], y: np.ndarray, limit: int | None) -> tuple[list[Path], np.ndarray]:
    if limit is None or limit >= len(files):
        return files, y
    # Evenly spaced over the (class-sorted) list, so every class keeps its share.
    idx = np.linspace(0, len(files) - 1, limit).round().astype(np.int64)
    return [files[i] for i in idx], y[idx]


def load(search: Search, timesteps: int = TIMESTEPS, split_by: str = "time",
         limit: int | None = None) -> Dataset:
    """Load N-MNIST as ``(N, T, 2312)`` frames (``frame_shape`` ``(2, 34, 34)``).

    Parameters
    ----------
    timesteps : int
        Frames per sample.
    split_by : ``"time"`` or ``"number"``
        Equal time bins over each sample's span, or equal event counts.
    limit : int, optional
        At most this many samples per split (evenly spaced, all classes kept): the full
        official train split as float32 frames needs ``60000 * T * 2312 * 4`` bytes.
    """
    spec = FrameSpec(NAME, SENSOR, timesteps, split_by)
    official = _official(search)
    if official is not None:
        lists = {s: _take(*_official_files(official, s.capitalize()), limit)
                 for s in ("train", "test")}
        where = f"official layout {official}/Train, Test (*.bin)"
    else:
        root = _subset(search)
        if root is None:
            raise DatasetError(f"dataset {NAME}: neither the official NMNIST/Train + "
                               f"NMNIST/Test folders nor SLAYER's NMNISTsmall (with "
                               f"train1K.txt, test100.txt) found in {search.searched()}")
        lists = {s: _take(*_subset_files(root, s), limit) for s in ("train", "test")}
        where = (f"NMNISTsmall subset (SLAYER) {root} (first 1000 train / 100 test samples "
                 f"of N-MNIST, labels from train1K.txt / test100.txt)")
    x_tr = _frames(spec, lists["train"][0])
    x_te = _frames(spec, lists["test"][0])
    source = (f"N-MNIST from the {where}: train {len(x_tr)}, test {len(x_te)} samples; "
              f"{spec.describe()}")
    return Dataset(NAME, x_tr, lists["train"][1], x_te, lists["test"][1], CLASS_NAMES,
                   "sequence", source, frame_shape=spec.frame_shape)


def probe(search: Search) -> dict[str, Any]:
    """Where N-MNIST is, counting files and label lines without decoding events."""
    official = _official(search)
    if official is not None:
        n = {s: sum(1 for _ in (official / s).glob("*/*.bin")) for s in ("Train", "Test")}
        return {"available": n["Train"] > 0 and n["Test"] > 0, "where": str(official),
                "train": n["Train"], "test": n["Test"], "note": "official layout"}
    root = _subset(search)
    if root is not None:
        try:
            n = {s: len(read_labels(root / f)) for s, f in _SUBSET_LABELS.items()}
        except DatasetError as exc:
            return {"available": False, "where": str(root), "note": str(exc)}
        return {"available": True, "where": str(root), "train": n["train"], "test": n["test"],
                "note": "SLAYER NMNISTsmall subset; put the official NMNIST/Train, Test "
                        "folders in a data dir for all 60000/10000"}
    return {"available": False, "where": None,
            "note": "put the official NMNIST/Train and NMNIST/Test folders in a data dir"}
