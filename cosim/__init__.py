# SPDX-License-Identifier: MIT
"""Glue between RTL, golden models and simulators."""
