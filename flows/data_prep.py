# SPDX-License-Identifier: MIT
"""Datasets made ready for the network: tensors, training-set standardisation, batch sizes."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import TrainConfig
from .datasets import Dataset, DatasetError, load_dataset
from .errors import DfasimError

__all__ = ["PreparedData", "prepare_data", "DEFAULT_BATCH", "batch_size_for"]

#: Mini-batch size per dataset (default 50, the paper's). BasicMotions has only 40 training
#: windows: batch 50 would mean one update per epoch, which DFA cannot learn from in 30 epochs.
DEFAULT_BATCH: dict[str, int] = {"basic_motions": 10}


def batch_size_for(cfg: TrainConfig, ds_name: str) -> int:
    """The configured batch size, or the dataset's default when it is 0."""
    return cfg.batch_size or DEFAULT_BATCH.get(ds_name, 50)


@dataclass
class PreparedData:
    """Tensors ready for the network: time series standardised with training-set statistics,
    event frames left as event counts."""

    dataset: Dataset
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: torch.Tensor | None
    std: torch.Tensor | None


def prepare_data(name: str, data_dir: str | None = None) -> PreparedData:
    """Load a dataset; standardise time-series channels with the training split's statistics
    (event frames keep their counts)."""
    try:
        ds = load_dataset(name, data_dir=data_dir or None)
    except DatasetError as exc:
        raise DfasimError(str(exc)) from None
    x_train = torch.from_numpy(ds.x_train).float()
    x_test = torch.from_numpy(ds.x_test).float()
    mean = std = None
    # Time series are standardised per channel; event frames (``frame_shape`` set) stay event
    # counts, as a sensor delivers them and as spike rows drive a crossbar.
    if ds.kind == "sequence" and ds.frame_shape is None:
        mean = x_train.mean(dim=(0, 1))
        # A constant channel would divide by zero; leave it centred but unscaled.
        std = x_train.std(dim=(0, 1)).clamp_min(1e-6)
        x_train = (x_train - mean) / std
        x_test = (x_test - mean) / std
    return PreparedData(ds, x_train, torch.from_numpy(ds.y_train).long(), x_test,
                        torch.from_numpy(ds.y_test).long(), mean, std)
