# SPDX-License-Identifier: MIT
"""Torch reference models: SNN layers, training rules and bit-exact integer block specs."""
