# SPDX-License-Identifier: MIT
"""Deterministic Verilog emission of Amaranth components into a build directory."""
from __future__ import annotations

import re
from pathlib import Path

from amaranth.back import verilog

__all__ = ["emit"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def emit(component, name: str, out_dir) -> Path:
    """Write ``component`` as Verilog module ``name`` to ``out_dir/<name>.v`` and return the path.

    ``emit_src=False`` drops the ``src`` attributes (absolute paths), so the same component
    gives the same bytes on every machine. The file is only rewritten when its text changes,
    which keeps simulator rebuilds cheap.

    Raises
    ------
    ValueError
        ``name`` is not a Verilog identifier.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"Module name must be a Verilog identifier, not {name!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = verilog.convert(component, name=name, emit_src=False)
    path = out_dir / f"{name}.v"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path
