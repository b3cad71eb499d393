# SPDX-License-Identifier: MIT
"""The RTL and the parameters it shares with the golden models import without torch."""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import dfasim.rtl


def _rtl_modules() -> list[str]:
    """Every module below ``dfasim.rtl``, packages included."""
    return ["dfasim.rtl"] + [m.name for m in pkgutil.walk_packages(dfasim.rtl.__path__,
                                                                    "dfasim.rtl.")]


def test_rtl_imports_no_torch():
    # A fresh interpreter: this test process has torch loaded already. The RTL takes its
    # parameter checks from golden.params, which must stay free of torch as well.
    modules = _rtl_modules() + ["dfasim.golden", "dfasim.golden.params"]
    assert {"dfasim.rtl.neuron.grad_lif", "dfasim.rtl.wgu.wgu", "dfasim.rtl.accum.psum",
            "dfasim.rtl.accum.shift_add", "dfasim.rtl.buffer.pingpong",
            "dfasim.rtl.common.stages"} <= set(modules)
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"importing the RTL loaded {out}"
