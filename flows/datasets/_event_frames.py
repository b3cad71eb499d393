# SPDX-License-Identifier: MIT
"""Shared by the event datasets: files or event arrays to ``(N, T, C*H*W)`` float32 frames."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .base import DatasetError
from .events.frames import SPLITS, events_to_frames, pooled_shape

__all__ = ["FrameSpec", "stack_frames"]


class FrameSpec:
    """How one dataset turns events into frames.

    Parameters
    ----------
    sensor : (H, W)
    timesteps : int
    split_by : ``"time"`` or ``"number"``
    pool, pad : int
        Optional padding and sum-pooling (see ``events_to_frames``).
    """

    def __init__(self, dataset: str, sensor: tuple[int, int], timesteps: int,
                 split_by: str = "time", pool: int = 1, pad: int = 0) -> None:
        if not isinstance(timesteps, int) or timesteps < 1:
            raise DatasetError(f"dataset {dataset}: timesteps must be a positive integer, "
                               f"not {timesteps!r}")
        if split_by not in SPLITS:
            raise DatasetError(f"dataset {dataset}: split_by must be one of {SPLITS}, "
                               f"not {split_by!r}")
        try:
            h, w = pooled_shape(*sensor, pool, pad)
        except ValueError as exc:
            raise DatasetError(f"dataset {dataset}: {exc}") from exc
        if h < 1 or w < 1:
            raise DatasetError(f"dataset {dataset}: pool {pool} with pad {pad} leaves no pixels "
                               f"of the {sensor[0]} x {sensor[1]} sensor")
        self.dataset, self.sensor, self.timesteps = dataset, tuple(sensor), timesteps
        self.split_by, self.pool, self.pad = split_by, pool, pad
        self.frame_shape = (2, h, w)

    @property
    def features(self) -> int:
        """``C*H*W`` of one flattened frame."""
        return int(np.prod(self.frame_shape))

    def describe(self) -> str:
        """For ``Dataset.source``."""
        pool = (f", padded {self.pad} and {self.pool}x{self.pool} sum-pooled"
                if self.pool > 1 or self.pad else "")
        return (f"{self.timesteps} frames split by {self.split_by}, "
                f"{'x'.join(map(str, self.frame_shape))} (OFF, ON counts){pool}")


def stack_frames(spec: FrameSpec, items: Iterable, count: int,
                 read: Callable[[object], tuple[np.ndarray, tuple[int, int] | None]]
                 ) -> np.ndarray:
    """``(count, T, C*H*W)`` float32 frames of ``count`` items.

    ``read(item)`` gives ``(events, t_range)``; a ``ValueError`` from binning (events outside
    the sensor) becomes a ``DatasetError`` naming the item.
    """
    x = np.zeros((count, spec.timesteps, *spec.frame_shape), dtype=np.float32)
    n = 0
    for i, item in enumerate(items):
        events, t_range = read(item)
        try:
            events_to_frames(events, spec.sensor, spec.timesteps, spec.split_by, t_range,
                             spec.pool, spec.pad, out=x[i])
        except ValueError as exc:
            if isinstance(item, tuple) and item and isinstance(item[0], (str, Path)):
                where = f"{item[0]} (sample {i})"
            else:
                where = item if isinstance(item, (str, Path)) else f"sample {i}"
            raise DatasetError(f"dataset {spec.dataset}: {where}: {exc}") from exc
        n += 1
    if n != count:
        raise DatasetError(f"dataset {spec.dataset}: expected {count} samples, read {n}")
    return x.reshape(count, spec.timesteps, spec.features)
