# SPDX-License-Identifier: MIT
"""Shared definitions of the digital blocks: stream payload layouts, stages, saturation."""
from .fixed import saturate
from .layouts import (GradLIFDeltaLayout, GradLIFErrLayout, GradLIFInputLayout,
                      GradLIFOutputLayout, PingPongWordLayout, PsumInputLayout,
                      PsumOutputLayout, ShiftAddDiffInputLayout, ShiftAddInputLayout,
                      ShiftAddOutputLayout, WGUCommandLayout, WGUReadoutLayout,
                      WGUUpdateLayout, step_width)
from .stages import register_stage

__all__ = ["GradLIFInputLayout", "GradLIFOutputLayout", "GradLIFErrLayout",
           "GradLIFDeltaLayout", "PsumInputLayout", "PsumOutputLayout", "ShiftAddInputLayout",
           "ShiftAddDiffInputLayout", "ShiftAddOutputLayout", "WGUUpdateLayout",
           "WGUCommandLayout", "WGUReadoutLayout", "PingPongWordLayout", "step_width",
           "register_stage", "saturate"]
