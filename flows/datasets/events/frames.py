# SPDX-License-Identifier: MIT
"""Events to frames ``(T, 2, H, W)``: equal time bins or equal event counts, optional padding
and sum-pooling.

The two ``split_by`` rules follow spikingjelly's fixed-frame-number integration:

* ``"time"``: the span ``[t_first, t_last]`` (or a given ``t_range``) is cut into ``T`` bins of
  ``dt = span // T`` µs; bin ``i`` holds ``t_first + i*dt <= t < t_first + (i+1)*dt`` and the last
  bin also takes the remainder up to ``t_last``.
* ``"number"``: ``di = N // T`` events per bin in file order; the last bin takes the remainder.

Channel 0 counts OFF events, channel 1 ON events.
"""
from __future__ import annotations

import numpy as np

__all__ = ["SPLITS", "bin_indices", "events_to_frames", "pool_frames", "pooled_shape"]

SPLITS = ("time", "number")


def bin_indices(t: np.ndarray, timesteps: int, split_by: str = "time",
                t_range: tuple[int, int] | None = None) -> np.ndarray:
    """The time bin of every event (``-1`` for events outside ``t_range``).

    Parameters
    ----------
    t : ndarray of int
        Timestamps (µs), non-decreasing for ``split_by="time"`` without ``t_range``.
    timesteps : int
        ``T``, number of bins.
    split_by : ``"time"`` or ``"number"``
    t_range : (start, stop), optional
        Only for ``"time"``: ``T`` equal bins of ``[start, stop)``; events outside are dropped.
        Without it the bins cover the events' own span, as spikingjelly does.
    """
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, not {timesteps}")
    t = np.asarray(t, dtype=np.int64)
    n = len(t)
    if split_by == "number":
        if t_range is not None:
            raise ValueError("t_range only applies to split_by='time'")
        per_bin = max(n // timesteps, 1)
        return np.minimum(np.arange(n, dtype=np.int64) // per_bin, timesteps - 1)
    if split_by != "time":
        raise ValueError(f"split_by must be one of {SPLITS}, not {split_by!r}")
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if t_range is None:
        t0 = int(t.min())
        dt = max((int(t.max()) - t0) // timesteps, 1)
        return np.minimum((t - t0) // dt, timesteps - 1)
    start, stop = int(t_range[0]), int(t_range[1])
    if stop <= start:
        raise ValueError(f"t_range must have stop > start, got {t_range}")
    # Exact equal bins of [start, stop) without rounding dt: floor((t - start) * T / span).
    idx = (t - start) * timesteps // (stop - start)
    idx[(t < start) | (t >= stop)] = -1
    return idx


def pooled_shape(height: int, width: int, pool: int = 1, pad: int = 0) -> tuple[int, int]:
    """``(H', W')`` after padding ``pad`` on every side and ``pool x pool`` sum-pooling
    (stride ``pool``; a ragged last row / column is dropped, as a pooling layer would)."""
    if pool < 1 or pad < 0:
        raise ValueError(f"pool must be >= 1 and pad >= 0, got pool={pool}, pad={pad}")
    return (height + 2 * pad) // pool, (width + 2 * pad) // pool


def events_to_frames(events: np.ndarray, sensor: tuple[int, int], timesteps: int,
                     split_by: str = "time", t_range: tuple[int, int] | None = None,
                     pool: int = 1, pad: int = 0, dtype=np.float32,
                     out: np.ndarray | None = None) -> np.ndarray:
    """Event counts per (time bin, polarity, pixel).

    Parameters
    ----------
    events : structured ndarray
        Fields ``x``, ``y``, ``t``, ``p`` (see ``formats.EVENT_DTYPE``).
    sensor : (H, W)
        Sensor size; events outside it raise ``ValueError``.
    timesteps, split_by, t_range
        See :func:`bin_indices`.
    pool, pad : int
        Pad ``pad`` zero pixels on every side, then sum ``pool x pool`` blocks (stride
        ``pool``). Done on event coordinates, so it equals padding then sum-pooling the
        full-resolution frames (``pad=6, pool=7`` maps 128 x 128 to 20 x 20).
    dtype
        Of the returned frames (counts).
    out : ndarray, optional
        ``(T, 2, H', W')`` array to add the counts into (zeroed by the caller).

    Returns
    -------
    ndarray, shape ``(T, 2, H', W')``
    """
    height, width = sensor
    h_out, w_out = pooled_shape(height, width, pool, pad)
    shape = (timesteps, 2, h_out, w_out)
    if out is None:
        out = np.zeros(shape, dtype=dtype)
    elif out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, expected {shape}")
    if len(events) == 0:
        return out
    x = events["x"].astype(np.int64)
    y = events["y"].astype(np.int64)
    if x.max() >= width or y.max() >= height:
        raise ValueError(f"events reach x={int(x.max())}, y={int(y.max())}, outside the "
                         f"{height} x {width} sensor")
    b = bin_indices(events["t"], timesteps, split_by, t_range)
    px, py = (x + pad) // pool, (y + pad) // pool
    keep = (b >= 0) & (px < w_out) & (py < h_out)
    p = (events["p"] > 0).astype(np.int64)
    flat = ((b * 2 + p) * h_out + py) * w_out + px
    counts = np.bincount(flat[keep], minlength=out.size)
    out += counts.reshape(shape).astype(out.dtype, copy=False)
    return out


def pool_frames(frames: np.ndarray, pool: int, pad: int = 0) -> np.ndarray:
    """Zero-pad the last two axes by ``pad`` on every side, then sum ``pool x pool`` blocks."""
    h, w = frames.shape[-2:]
    h_out, w_out = pooled_shape(h, w, pool, pad)
    width = [(0, 0)] * (frames.ndim - 2) + [(pad, pad), (pad, pad)]
    padded = np.pad(frames, width)[..., : h_out * pool, : w_out * pool]
    blocks = padded.reshape(*frames.shape[:-2], h_out, pool, w_out, pool)
    return blocks.sum(axis=(-3, -1))
