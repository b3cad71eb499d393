# SPDX-License-Identifier: MIT
"""RRAM devices: weight-to-conductance mapping and conductance noise models."""
