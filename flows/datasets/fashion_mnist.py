# SPDX-License-Identifier: MIT
"""Fashion-MNIST (28x28 grey images, 10 classes) as flattened static samples in [0, 1]."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from . import download
from ._split import stratified_split
from ._validate import check_split, read_npz
from .base import Dataset, DatasetError
from .checksums import FASHION_MNIST_MD5, FASHION_MNIST_SHA256
from .paths import Search

__all__ = ["NAME", "CLASS_NAMES", "FILES", "REMOTES", "SUBSET_NPZ", "SUBSET_N_TEST",
           "SUBSET_SEED", "IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC", "read_idx", "load", "probe"]

NAME = "fashion_mnist"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
#: split -> (images file, labels file), official names.
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
#: Sub-folders also searched, for copies laid out by other tools.
SUBDIRS = ("", "fashion_mnist", "FashionMNIST/raw")
SUBSET_NPZ = "fashion_mnist_test_first2000.npz"
SUBSET_N_TEST = 400
SUBSET_SEED = 0
#: idx header: two zero bytes, type code 0x08 (unsigned byte), number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/")
REMOTES = {f: download.Remote(f, tuple((base + f, None) for base in _URLS),
                              sha256=FASHION_MNIST_SHA256[f], md5=FASHION_MNIST_MD5[f])
           for pair in FILES.values() for f in pair}


def _read_gz(path: Path, nbytes: int = -1) -> bytes:
    try:
        with gzip.open(path, "rb") as f:
            return f.read(nbytes)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; EOFError means the stream was cut short.
        raise DatasetError(f"dataset {NAME}: {path} is corrupt or truncated "
                           f"({type(exc).__name__}); replace it") from exc


def _header(path: Path, raw: bytes, magic: int) -> tuple[int, ...]:
    if len(raw) < 4 or int.from_bytes(raw[:4], "big") != magic:
        got = raw[:4].hex() if len(raw) >= 4 else "too short"
        raise DatasetError(f"dataset {NAME}: {path} has idx magic {got}, expected "
                           f"{magic:08x}; it is not an idx{magic & 0xFF} ubyte file, replace it")
    ndim = magic & 0xFF
    if len(raw) < 4 + 4 * ndim:
        raise DatasetError(f"dataset {NAME}: {path} is truncated inside its idx header")
    return tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read a gzipped idx ubyte file, checking magic number and payload size.

    Parameters
    ----------
    path : Path
        ``*-idx3-ubyte.gz`` (images, ``magic=IDX_IMAGES_MAGIC``) or ``*-idx1-ubyte.gz``
        (labels, ``magic=IDX_LABELS_MAGIC``).
    magic : int

    Returns
    -------
    ndarray of uint8
        Shape given by the header.
    """
    raw = _read_gz(path)
    dims = _header(path, raw, magic)
    offset = 4 + 4 * len(dims)
    need = int(np.prod(dims))
    if len(raw) - offset != need:
        state = "truncated" if len(raw) - offset < need else "longer than its header says"
        raise DatasetError(f"dataset {NAME}: {path} is {state} ({len(raw) - offset} payload "
                           f"bytes, header {dims} needs {need}); replace it")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _find_idx(search: Search) -> Path | None:
    names = [f for pair in FILES.values() for f in pair]
    for d in search.dirs:
        for sub in SUBDIRS:
            if all((d / sub / f).is_file() for f in names):
                return d / sub
    return None


def _load_idx(folder: Path) -> Dataset:
    parts = {}
    for split, (images_file, labels_file) in FILES.items():
        images = read_idx(folder / images_file, IDX_IMAGES_MAGIC)
        labels = read_idx(folder / labels_file, IDX_LABELS_MAGIC)
        origin = f"{folder / images_file} + {labels_file}"
        if images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise DatasetError(f"dataset {NAME}: {origin}: images {images.shape} do not match "
                               f"labels {labels.shape} (expected N x 28 x 28 and N)")
        parts[split] = check_split(NAME, split, images.reshape(len(images), -1) / np.float32(255),
                                   labels, len(CLASS_NAMES), origin, (784,))
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts["test"]
    source = (f"Fashion-MNIST official idx files in {folder}: train {len(x_tr)}, test "
              f"{len(x_te)} images (official split), pixels / 255")
    return Dataset(NAME, x_tr, y_tr, x_te, y_te, CLASS_NAMES, "static", source)


def _load_subset(path: Path, search: Search) -> Dataset:
    arrays = read_npz(NAME, path, ("x_test", "y_test"))
    images, labels = arrays["x_test"], arrays["y_test"]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"dataset {NAME}: {path} holds images of shape {images.shape}, "
                           f"expected N x 28 x 28")
    x, y = check_split(NAME, "subset", images.reshape(len(images), -1) / np.float32(255),
                       labels, len(CLASS_NAMES), str(path), (784,))
    train_idx, test_idx = stratified_split(y, SUBSET_N_TEST, SUBSET_SEED)
    target = search.target() or path.parent
    source = (f"Fashion-MNIST SUBSET: the first {len(y)} official TEST images ({path}) split "
              f"stratified {len(train_idx)} train / {len(test_idx)} test (seed {SUBSET_SEED}); "
              f"no official train images used; pixels / 255; put the 4 official idx .gz files "
              f"in {target} for the full dataset")
    return Dataset(NAME, x[train_idx], y[train_idx], x[test_idx], y[test_idx], CLASS_NAMES,
                   "static", source)


def load(search: Search) -> Dataset:
    """Load Fashion-MNIST: official idx files if present, else the npz subset, else download."""
    folder = _find_idx(search)
    if folder is not None:
        return _load_idx(folder)
    subset = search.find(SUBSET_NPZ)
    if subset is not None:
        return _load_subset(subset, search)
    target = search.target()
    for pair in FILES.values():
        for f in pair:
            if target is None or not (target / f).is_file():
                # Raises (one line) when downloads are off, nothing is writable, or it fails.
                download.fetch(search, REMOTES[f],
                               what=f"{f!r} (one of the 4 official idx files, or {SUBSET_NPZ})")
    if target is None:
        raise DatasetError(f"dataset {NAME}: no writable data directory")
    return _load_idx(target)


def probe(search: Search) -> dict[str, Any]:
    """Availability report; reads only the idx headers for the counts."""
    folder = _find_idx(search)
    if folder is not None:
        try:
            n = {s: _header(folder / lab, _read_gz(folder / lab, 8), IDX_LABELS_MAGIC)[0]
                 for s, (_, lab) in FILES.items()}
        except DatasetError as exc:
            return {"available": False, "where": str(folder), "note": str(exc)}
        return {"available": True, "where": str(folder), "train": n["train"], "test": n["test"],
                "note": "official idx files, official split"}
    subset = search.find(SUBSET_NPZ)
    if subset is not None:
        try:
            ds = _load_subset(subset, search)
        except DatasetError as exc:
            return {"available": False, "where": str(subset), "note": str(exc)}
        return {"available": True, "where": str(subset), "train": len(ds.x_train),
                "test": len(ds.x_test),
                "note": "subset of the first 2000 official test images, split stratified"}
    return {"available": False, "where": None,
            "note": f"put the 4 official idx .gz files in a data dir or allow download from "
                    f"{_URLS[0]}"}
