# SPDX-License-Identifier: MIT
"""Dataset registry and loaders: UCI-HAR, HHAR, Fashion-MNIST, BasicMotions, digits, and the
event data N-MNIST, Braille (analog and spikes), DVS128 Gesture and SHD (readers in ``events``)."""
from .base import Dataset, DatasetError
from .paths import resolve_data_dirs
from .registry import DATASETS, describe_datasets, load_dataset

__all__ = ["Dataset", "DatasetError", "load_dataset", "DATASETS", "resolve_data_dirs",
           "describe_datasets"]
