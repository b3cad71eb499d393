# SPDX-License-Identifier: MIT
"""Shared definitions of the digital blocks: stream payload layouts."""
from .layouts import (GradLIFDeltaLayout, GradLIFErrLayout, GradLIFInputLayout,
                      GradLIFOutputLayout, PsumInputLayout, PsumOutputLayout,
                      ShiftAddDiffInputLayout, ShiftAddInputLayout, ShiftAddOutputLayout,
                      step_width)

__all__ = ["GradLIFInputLayout", "GradLIFOutputLayout", "GradLIFErrLayout",
           "GradLIFDeltaLayout", "PsumInputLayout", "PsumOutputLayout", "ShiftAddInputLayout",
           "ShiftAddDiffInputLayout", "ShiftAddOutputLayout", "step_width"]
