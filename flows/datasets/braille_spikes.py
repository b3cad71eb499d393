# SPDX-License-Identifier: MIT
"""Braille letters as threshold spikes (``data_braille_letters_th10``): 12 taxels x ON/OFF.

5,400 samples (27 letters x 200), each 12 taxels x [ON spike times, OFF spike times] in
seconds, all within 1.3 s. Binned into ``T`` equal bins of ``[0, 1.3 s]`` as spike counts,
channel-major ``(2, 12)`` (channel 0 OFF, 1 ON) flattened to 24 features; seeded random
stratified 80/20 split (4,320 / 1,080). Read with the restricted unpickler.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._safe_pickle import safe_load
from ._split import stratified_split
from .base import Dataset, DatasetError
from .braille import CLASS_NAMES, SEED, TEST_FRACTION, class_index, find, probe_file
from .paths import Search

__all__ = ["NAME", "FILE", "TAXELS", "DURATION_S", "TIMESTEPS", "N_SAMPLES", "FRAME_SHAPE",
           "load", "probe"]

NAME = "braille_spikes"
FILE = "data_braille_letters_th10"
TAXELS = 12
DURATION_S = 1.3
TIMESTEPS = 100
N_SAMPLES = 5400
FRAME_SHAPE = (2, TAXELS)


def _spikes(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All spikes as parallel arrays ``(sample, channel, time_s)`` plus the labels."""
    data = safe_load(path, NAME)
    if not isinstance(data, list) or not data:
        raise DatasetError(f"dataset {NAME}: {path} does not hold a list of samples")
    times: list[float] = []
    lengths: list[int] = []
    labels = []
    for i, rec in enumerate(data):
        ev = rec.get("events") if isinstance(rec, dict) else None
        if not isinstance(ev, list) or len(ev) != TAXELS or \
                any(not isinstance(tx, (list, tuple)) or len(tx) != 2 for tx in ev):
            raise DatasetError(f"dataset {NAME}: {path} sample {i} has no 'events' list of "
                               f"{TAXELS} taxels x [ON, OFF] spike times")
        labels.append(class_index(NAME, rec.get("letter"), path))
        # Channel order per sample: OFF of taxels 0-11, then ON of taxels 0-11.
        for pol in (1, 0):
            for taxel in ev:
                times.extend(taxel[pol])
                lengths.append(len(taxel[pol]))
    if not times:
        raise DatasetError(f"dataset {NAME}: {path} holds no spikes")
    try:
        t = np.asarray(times, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"dataset {NAME}: {path} has non-numeric spike times") from exc
    if not np.all(np.isfinite(t)) or t.min() < 0:
        raise DatasetError(f"dataset {NAME}: {path} has negative or non-finite spike times")
    n_ch = 2 * TAXELS
    per_row = np.asarray(lengths, dtype=np.int64)
    rows = np.arange(len(per_row), dtype=np.int64)
    sample = np.repeat(rows // n_ch, per_row)
    channel = np.repeat(rows % n_ch, per_row)
    return sample, channel, t, np.asarray(labels, dtype=np.int64)


def load(search: Search, timesteps: int = TIMESTEPS, seed: int = SEED) -> Dataset:
    """Load the threshold-spike Braille data as ``(N, T, 24)`` float32 spike counts."""
    path = find(search, FILE)
    if path is None:
        raise DatasetError(f"dataset {NAME}: {FILE} not found in {search.searched()} (it is "
                           f"in shared/datasets/events/braille/ beside the checkout)")
    if not isinstance(timesteps, int) or timesteps < 1:
        raise DatasetError(f"dataset {NAME}: timesteps must be a positive integer")
    sample, channel, t, y = _spikes(path)
    # Equal bins of [0, 1.3 s]; a spike at exactly 1.3 s falls in the last bin, later ones
    # are dropped.
    b = np.floor(t * timesteps / DURATION_S).astype(np.int64)
    b[t == DURATION_S] = timesteps - 1
    keep = b < timesteps
    n_ch = 2 * TAXELS
    flat = (sample[keep] * timesteps + b[keep]) * n_ch + channel[keep]
    x = np.bincount(flat, minlength=len(y) * timesteps * n_ch).astype(np.float32)
    x = x.reshape(len(y), timesteps, n_ch)
    tr, te = stratified_split(y, int(round(TEST_FRACTION * len(y))), seed)
    source = (f"Braille letters, threshold spikes {path}: 12 taxels x (OFF, ON) counts in "
              f"{timesteps} bins of {DURATION_S} s ({int((~keep).sum())} later spikes "
              f"dropped); stratified random 80/20 split (seed {seed}): train {len(tr)}, "
              f"test {len(te)}")
    return Dataset(NAME, x[tr], y[tr], x[te], y[te], CLASS_NAMES, "sequence", source,
                   frame_shape=FRAME_SHAPE)


def probe(search: Search) -> dict[str, Any]:
    """Availability of the spike pickle (no unpickling)."""
    return probe_file(search, FILE, N_SAMPLES, "12-taxel threshold spikes, seeded 80/20 split")
