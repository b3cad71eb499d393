# SPDX-License-Identifier: MIT
"""Event-camera and tactile event files: readers (``formats``) and frame binning (``frames``)."""
from .formats import (EVENT_DTYPE, make_events, read_aedat4, read_aedat31, read_atis_bin,
                      read_events, read_prophesee_dat, read_stmnist_mat)
from .frames import bin_indices, events_to_frames, pool_frames, pooled_shape

__all__ = ["EVENT_DTYPE", "make_events", "read_atis_bin", "read_aedat31", "read_aedat4",
           "read_prophesee_dat", "read_stmnist_mat", "read_events", "bin_indices",
           "events_to_frames", "pool_frames", "pooled_shape"]
