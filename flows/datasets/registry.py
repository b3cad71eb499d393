# SPDX-License-Identifier: MIT
"""Dataset names, aliases and the two entry points: ``load_dataset`` and ``describe_datasets``."""
from __future__ import annotations

import inspect
import os
from types import ModuleType
from typing import Any

from . import (basic_motions, braille, braille_spikes, digits, dvs_gesture, fashion_mnist, hhar,
               nmnist, shd, uci_har)
from .base import Dataset, DatasetError
from .paths import Search

__all__ = ["DATASETS", "ALIASES", "KIND", "canonical_name", "load_dataset", "describe_datasets"]

_MODULES: dict[str, ModuleType] = {
    "uci_har": uci_har,
    "hhar": hhar,
    "fashion_mnist": fashion_mnist,
    "basic_motions": basic_motions,
    "digits": digits,
    "nmnist": nmnist,
    "braille": braille,
    "braille_spikes": braille_spikes,
    "dvs_gesture": dvs_gesture,
    "shd": shd,
}
#: Canonical names, in the order ``describe_datasets`` lists them.
DATASETS: tuple[str, ...] = tuple(_MODULES)
#: Extra spellings (after lower-casing and mapping '-' to '_').
ALIASES: dict[str, str] = {"basicmotions": "basic_motions", "n_mnist": "nmnist",
                           "dvsgesture": "dvs_gesture", "dvs128_gesture": "dvs_gesture"}
KIND: dict[str, str] = {"uci_har": "sequence", "hhar": "sequence", "fashion_mnist": "static",
                        "basic_motions": "sequence", "digits": "static", "nmnist": "sequence",
                        "braille": "sequence", "braille_spikes": "sequence",
                        "dvs_gesture": "sequence", "shd": "sequence"}


def canonical_name(name: str) -> str:
    """Map a user-typed name (any case, '-' or '_') to its canonical form.

    Raises
    ------
    DatasetError
        For an unknown name.
    """
    key = str(name).strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in _MODULES:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return key


def load_dataset(name: str, data_dir: str | os.PathLike | None = None,
                 download: bool = True, **options: Any) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of ``DATASETS`` (case-insensitive, '-' == '_') or an alias (``basicmotions``).
    data_dir : path, optional
        Searched first, and the first choice for downloads (see ``resolve_data_dirs``).
    download : bool
        Allow fetching missing official files (UCI-HAR, HHAR, Fashion-MNIST) when no usable
        local copy exists.
    **options
        Preprocessing options of the event datasets (e.g. ``timesteps``, ``split_by``,
        ``pool``, ``pad``, ``limit``; see each module's ``load``). A dataset without an
        option named raises ``DatasetError``.

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        With a one-line message saying what is missing or wrong and how to fix it.
    """
    key = canonical_name(name)
    loader = _MODULES[key].load
    if options:
        accepted = set(inspect.signature(loader).parameters) - {"search"}
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise DatasetError(f"dataset {key} has no option {unknown[0]!r}; it takes "
                               f"{', '.join(sorted(accepted)) or 'none'}")
    return loader(Search(key, data_dir, download), **options)


def describe_datasets(data_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """What is available where, without downloading and without slow preprocessing.

    Returns
    -------
    list of dict
        One per dataset, in ``DATASETS`` order, with keys ``name``, ``kind``, ``available``
        (bool), ``where`` (path string or ``None``), ``train`` and ``test`` (sizes, ``None``
        when unknown without a full load) and ``note``.
    """
    out = []
    for key, module in _MODULES.items():
        info = module.probe(Search(key, data_dir, download=False))
        out.append({"name": key, "kind": KIND[key], "available": bool(info["available"]),
                    "where": info.get("where"), "train": info.get("train"),
                    "test": info.get("test"), "note": info.get("note", "")})
    return out
