# SPDX-License-Identifier: MIT
"""UCI-HAR raw inertial windows (9 channels x 128 samples at 50 Hz, 6 activities)."""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from . import download
from ._validate import check_split, read_npz
from .base import Dataset, DatasetError
from .paths import Search

__all__ = ["NAME", "CHANNELS", "CLASS_NAMES", "OFFICIAL_COUNTS", "OFFICIAL_TEST_CLASS_COUNTS",
           "REMOTE", "FOLDER", "ZIP_NAME", "NPZ_TRAIN", "NPZ_TEST", "load", "probe",
           "OfficialArchive"]

NAME = "uci_har"
FOLDER = "UCI HAR Dataset"
ZIP_NAME = "UCI HAR Dataset.zip"
NPZ_TRAIN = "uci_har_train_subset2400.npz"
NPZ_TEST = "uci_har_test.npz"

#: Channel order of the last axis, as listed in the dataset README.
CHANNELS = ("body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y",
            "body_gyro_z", "total_acc_x", "total_acc_y", "total_acc_z")
#: ``activity_labels.txt``; label ``k`` here is official label ``k + 1``.
CLASS_NAMES = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING",
               "LAYING")
TIMESTEPS = 128
#: Windows per split in the official release (v1.0).
OFFICIAL_COUNTS = {"train": 7352, "test": 2947}
OFFICIAL_TEST_CLASS_COUNTS = (496, 471, 420, 491, 532, 537)

REMOTE = download.Remote(
    filename=ZIP_NAME,
    urls=(("https://archive.ics.uci.edu/ml/machine-learning-databases/00240/"
           "UCI%20HAR%20Dataset.zip", None),
          # The current UCI page serves the original zip wrapped in another one.
          ("https://archive.ics.uci.edu/static/public/240/"
           "human+activity+recognition+using+smartphones.zip", ZIP_NAME)),
)


class OfficialArchive:
    """Read access to the official layout, whether an extracted folder or the zip.

    Parameters
    ----------
    path : Path
        The ``UCI HAR Dataset`` folder or ``UCI HAR Dataset.zip``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise DatasetError(f"dataset {NAME}: {path} is not a readable zip "
                                   f"({type(exc).__name__}); replace it") from exc
            marker = "train/y_train.txt"
            hits = [n for n in self._zip.namelist()
                    if n.endswith(marker) and not n.startswith("__MACOSX/")]
            if not hits:
                self.close()
                raise DatasetError(f"dataset {NAME}: {path} has no '{FOLDER}/{marker}'; it is "
                                   f"not the official UCI HAR archive, replace it")
            self._prefix = hits[0][: -len(marker)]

    def close(self) -> None:
        """Close the zip, if any."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> OfficialArchive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def label(self, rel: str) -> str:
        """How to name member ``rel`` in messages."""
        return f"{self.path}/{self._prefix}{rel}" if self._zip else str(self.path / rel)

    @contextmanager
    def open(self, rel: str) -> Iterator[IO[str]]:
        """Open member ``rel`` (e.g. ``"test/y_test.txt"``) as text."""
        try:
            if self._zip is not None:
                raw: IO[bytes] = self._zip.open(self._prefix + rel)
            else:
                raw = open(self.path / rel, "rb")
        except (KeyError, FileNotFoundError) as exc:
            raise DatasetError(f"dataset {NAME}: {self.label(rel)} is missing; the official "
                               f"layout is incomplete, re-extract {ZIP_NAME}") from exc
        with raw, io.TextIOWrapper(raw, encoding="ascii") as text:
            yield text

    def table(self, rel: str, ncols: int | None) -> np.ndarray:
        """Parse a whitespace-separated numeric table; ``ncols=None`` reads one column."""
        try:
            with self.open(rel) as f:
                a = np.loadtxt(f, dtype=np.float64, ndmin=2)
        except (ValueError, EOFError, OSError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
            raise DatasetError(f"dataset {NAME}: {self.label(rel)} is corrupt or truncated "
                               f"({type(exc).__name__}); replace it") from exc
        bad = ~np.isfinite(a)
        if bad.any():
            raise DatasetError(f"dataset {NAME}: {self.label(rel)} has {int(bad.sum())} NaN/inf "
                               f"values (first on line {int(np.argwhere(bad)[0][0]) + 1}); the "
                               f"file is corrupt, replace it")
        want = 1 if ncols is None else ncols
        if a.shape[1] != want:
            raise DatasetError(f"dataset {NAME}: {self.label(rel)} has {a.shape[1]} columns, "
                               f"expected {want}")
        return a[:, 0] if ncols is None else a

    def count_lines(self, rel: str) -> int:
        """Number of non-empty lines, without parsing numbers."""
        try:
            with self.open(rel) as f:
                return sum(1 for line in f if line.strip())
        except (OSError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
            raise DatasetError(f"dataset {NAME}: {self.label(rel)} is corrupt or truncated "
                               f"({type(exc).__name__}); replace it") from exc

    def split(self, split: str) -> tuple[np.ndarray, np.ndarray, str]:
        """``(x, y, origin)`` of ``"train"`` or ``"test"``; ``y`` already 0-based."""
        y_rel = f"{split}/y_{split}.txt"
        y = self.table(y_rel, None)
        channels = []
        for ch in CHANNELS:
            rel = f"{split}/Inertial Signals/{ch}_{split}.txt"
            a = self.table(rel, TIMESTEPS)
            if len(a) != len(y):
                raise DatasetError(f"dataset {NAME}: {self.label(rel)} has {len(a)} windows "
                                   f"but {self.label(y_rel)} has {len(y)} labels")
            channels.append(a)
        x = np.stack(channels, axis=-1)
        origin = self.label(f"{split}/Inertial Signals/*_{split}.txt") + f" + y_{split}.txt"
        return x, y - 1, origin


def _verify_download(path: Path) -> str | None:
    # No trustworthy checksum is published for this zip, so check the release's known shape.
    try:
        with OfficialArchive(path) as archive:
            counts = {s: archive.count_lines(f"{s}/y_{s}.txt") for s in OFFICIAL_COUNTS}
            y_test = archive.table("test/y_test.txt", None).astype(np.int64)
            for split in OFFICIAL_COUNTS:
                for ch in CHANNELS:
                    with archive.open(f"{split}/Inertial Signals/{ch}_{split}.txt"):
                        pass
    except DatasetError as exc:
        return str(exc)
    if counts != OFFICIAL_COUNTS:
        return f"window counts {counts}, expected {OFFICIAL_COUNTS}"
    if y_test.min() < 1 or y_test.max() > 6:
        return f"test labels span [{y_test.min()}, {y_test.max()}], expected 1..6"
    class_counts = tuple(int(c) for c in np.bincount(y_test - 1, minlength=6))
    if class_counts != OFFICIAL_TEST_CLASS_COUNTS:
        return f"test class counts {class_counts}, expected {OFFICIAL_TEST_CLASS_COUNTS}"
    return None


def _load_official(path: Path) -> Dataset:
    with OfficialArchive(path) as archive:
        parts = {}
        for split in ("train", "test"):
            x, y, origin = archive.split(split)
            x, y = check_split(NAME, split, x, y, len(CLASS_NAMES), origin, (TIMESTEPS, 9))
            parts[split] = (x, y, origin)
    (x_tr, y_tr, o_tr), (x_te, y_te, o_te) = parts["train"], parts["test"]
    source = (f"UCI-HAR v1.0 official raw inertial windows (9 ch x 128 @ 50 Hz), official "
              f"subject split: train {len(x_tr)} windows from {o_tr}; test {len(x_te)} windows "
              f"from {o_te}")
    return Dataset(NAME, x_tr, y_tr, x_te, y_te, CLASS_NAMES, "sequence", source)


def _read_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = read_npz(NAME, path, (f"x_{split}", f"y_{split}", "channels"))
    if tuple(str(c) for c in arrays["channels"]) != CHANNELS:
        raise DatasetError(f"dataset {NAME}: {path} lists channels "
                           f"{tuple(str(c) for c in arrays['channels'])}, expected {CHANNELS}")
    return check_split(NAME, split, arrays[f"x_{split}"], arrays[f"y_{split}"],
                       len(CLASS_NAMES), str(path), (TIMESTEPS, 9))


def _load_npz(train: Path, test: Path, search: Search) -> Dataset:
    x_tr, y_tr = _read_npz(train, "train")
    x_te, y_te = _read_npz(test, "test")
    full = OFFICIAL_COUNTS["train"]
    subset = f"{len(x_tr)}-window SUBSET of the {full} official" if len(x_tr) != full else "all"
    target = search.target() or train.parent
    source = (f"UCI-HAR raw inertial windows (9 ch x 128 @ 50 Hz) from the offline npz copies: "
              f"train = {subset} train windows ({train}); test = {len(x_te)} windows of the "
              f"official test split ({test}); put {ZIP_NAME!r} in {target} for the full "
              f"train split")
    return Dataset(NAME, x_tr, y_tr, x_te, y_te, CLASS_NAMES, "sequence", source)


def load(search: Search) -> Dataset:
    """Load UCI-HAR: the official layout if present, else the npz copies, else download.

    The official ``UCI HAR Dataset`` folder or zip (all 7352 train windows) wins over the npz
    copies (a 2400-window train subset), which win over a download, so an offline machine
    never waits on the network when some copy is at hand.
    """
    official = search.find(FOLDER, ZIP_NAME)
    if official is not None:
        return _load_official(official)
    train, test = search.find(NPZ_TRAIN), search.find(NPZ_TEST)
    if train is not None and test is not None:
        return _load_npz(train, test, search)
    what = f"{ZIP_NAME!r} (or the npz copies {NPZ_TRAIN} + {NPZ_TEST})"
    return _load_official(download.fetch(search, REMOTE, what, verify=_verify_download))


def probe(search: Search) -> dict[str, Any]:
    """Cheap availability report (counts label lines instead of parsing the signals)."""
    official = search.find(FOLDER, ZIP_NAME)
    if official is not None:
        try:
            with OfficialArchive(official) as archive:
                n = {s: archive.count_lines(f"{s}/y_{s}.txt") for s in ("train", "test")}
        except DatasetError as exc:
            return {"available": False, "where": str(official), "note": str(exc)}
        return {"available": True, "where": str(official), "train": n["train"],
                "test": n["test"], "note": "official layout, official subject split"}
    train, test = search.find(NPZ_TRAIN), search.find(NPZ_TEST)
    if train is not None and test is not None:
        try:
            ds = _load_npz(train, test, search)
        except DatasetError as exc:
            return {"available": False, "where": str(train.parent), "note": str(exc)}
        return {"available": True, "where": str(train.parent), "train": len(ds.x_train),
                "test": len(ds.x_test),
                "note": f"offline copies: train is a {len(ds.x_train)}-window subset; put "
                        f"{ZIP_NAME!r} in a data dir for all {OFFICIAL_COUNTS['train']}"}
    return {"available": False, "where": None,
            "note": f"put {ZIP_NAME!r} in a data dir or allow download from {REMOTE.url}"}
