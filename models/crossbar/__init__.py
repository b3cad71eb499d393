# SPDX-License-Identifier: MIT
"""Behavioural model of weight matrices tiled onto analog RRAM crossbars, with event counts.

:mod:`.programming` holds the devices (tiling, programming noise, write-verify, level updates),
:mod:`.encoding` what drives the lines (spikes, bit-serial sign-magnitude words), :mod:`.adc`
the converters and the saturating partial-sum accumulation, and :mod:`.matrix` the forward and
transposed reads. Everything is configured by the chip description
(:class:`dfasim.models.chip.ChipConfig`).
"""
from __future__ import annotations

from .matrix import AdcCodes, AnalogMatrix
from .programming import DeviceArray, WriteStats

__all__ = ["AdcCodes", "AnalogMatrix", "DeviceArray", "WriteStats"]
