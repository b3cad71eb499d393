# SPDX-License-Identifier: MIT
"""Shared definitions of the digital blocks: stream payload layouts."""
from .layouts import (GradLIFDeltaLayout, GradLIFErrLayout, GradLIFInputLayout,
                      GradLIFOutputLayout, step_width)

__all__ = ["GradLIFInputLayout", "GradLIFOutputLayout", "GradLIFErrLayout",
           "GradLIFDeltaLayout", "step_width"]
