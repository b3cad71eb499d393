# SPDX-License-Identifier: MIT
"""The loaded-dataset container and the single error type every loader raises."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "DatasetError", "KINDS"]

KINDS = ("sequence", "static")


class DatasetError(Exception):
    """A dataset could not be found, fetched or trusted; the message is one actionable line."""

    def __init__(self, message: str) -> None:
        # Callers print the message as a CLI error, so it must stay on one line.
        super().__init__(" ".join(str(message).split()))


# eq=False: the fields are arrays, for which the generated __eq__/__hash__ would be meaningless.
@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split ready for training.

    Attributes
    ----------
    name : str
        Canonical dataset name (see ``DATASETS``).
    x_train, x_test : ndarray of float32
        ``(N, T, C)`` (time, then channel) for ``kind="sequence"``, ``(N, F)`` for ``"static"``.
    y_train, y_test : ndarray of int64, shape ``(N,)``
        0-based class indices.
    class_names : tuple of str
        Name of class ``k`` at index ``k``.
    kind : str
        ``"sequence"`` or ``"static"``.
    source : str
        Provenance: which files, which split or subset, which preprocessing.
    frame_shape : tuple of int, optional
        For event data, the shape ``(C, H, W)`` (or ``(C, L)``) that the last axis of a
        sample flattens, channel-major; ``None`` for plain channel vectors.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    kind: str
    source: str
    frame_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        where = f"dataset {self.name}"
        if self.kind not in KINDS:
            raise DatasetError(f"{where}: kind must be one of {KINDS}, not {self.kind!r}")
        ndim = 3 if self.kind == "sequence" else 2
        for split, x, y in (("train", self.x_train, self.y_train),
                            ("test", self.x_test, self.y_test)):
            if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != ndim:
                raise DatasetError(f"{where}: x_{split} must be a float32 array with {ndim} "
                                   f"dimensions, got {getattr(x, 'dtype', type(x))} "
                                   f"{getattr(x, 'shape', '')}")
            if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.shape != (len(x),):
                raise DatasetError(f"{where}: y_{split} must be an int64 array of shape "
                                   f"({len(x)},), got {getattr(y, 'dtype', type(y))} "
                                   f"{getattr(y, 'shape', '')}")
            if len(x) == 0:
                raise DatasetError(f"{where}: the {split} split is empty")
            if y.min() < 0 or y.max() >= len(self.class_names):
                raise DatasetError(f"{where}: y_{split} has labels outside "
                                   f"[0, {len(self.class_names) - 1}]")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DatasetError(f"{where}: train samples {self.x_train.shape[1:]} and test "
                               f"samples {self.x_test.shape[1:]} differ in shape")
        if self.frame_shape is not None:
            size = int(np.prod(self.frame_shape))
            if size != self.x_train.shape[-1]:
                raise DatasetError(f"{where}: frame_shape {tuple(self.frame_shape)} holds "
                                   f"{size} values, but samples have "
                                   f"{self.x_train.shape[-1]} features")

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        """Channels ``C`` of a sequence, or features ``F`` of a static sample."""
        return int(self.x_train.shape[-1])

    @property
    def timesteps(self) -> int | None:
        """Sequence length ``T``, or ``None`` for static data."""
        return int(self.x_train.shape[1]) if self.kind == "sequence" else None
