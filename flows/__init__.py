# SPDX-License-Identifier: MIT
"""The dfasim command line and end-to-end flows."""
