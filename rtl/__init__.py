# SPDX-License-Identifier: MIT
"""Amaranth HDL components of the digital blocks."""
