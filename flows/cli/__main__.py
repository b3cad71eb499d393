# SPDX-License-Identifier: MIT
"""``python -m dfasim.flows.cli``: the same as the ``dfasim`` console script."""
import sys

from . import main

sys.exit(main())
