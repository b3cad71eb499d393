# SPDX-License-Identifier: MIT
"""Behavioural hardware models: RRAM devices, crossbars, tiling and cost."""
