# SPDX-License-Identifier: MIT
"""RTL flows: emit a block's Verilog and synthesise it with yosys for cells, transistors, area."""
from __future__ import annotations

import gc
import inspect
import json
import os
import re
import shutil
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from amaranth.hdl import UnusedElaboratable

from ..cosim.verilog import emit
from ..golden.params import PE_BUFFER_BYTES, buffer_depth
from ..rtl.accum.psum import PsumAccumulator
from ..rtl.accum.shift_add import ShiftAdder
from ..rtl.buffer.pingpong import PingPongBuffer
from ..rtl.neuron.grad_lif import GradLIF
from ..rtl.tile.tile import Tile
from ..rtl.wgu.wgu import WGU
from .errors import DfasimError

__all__ = ["Block", "BLOCKS", "OSU018_LIBERTY", "TECHNOLOGY_NOTE", "MEMORY_NOTE",
           "parse_params", "resolve_params", "build", "emit_verilog", "synth"]


class Block(NamedTuple):
    """One synthesisable block: its component class, default parameters, Verilog module name."""

    cls: type
    defaults: dict[str, Any]
    module: str


#: Registry of the blocks behind ``dfasim rtl verilog|synth <block>``. The defaults are small
#: but real sizes: a 16-lane neuron / accumulator, a 32 x 32 gradient memory (64 x 64 takes
#: about four minutes in yosys) and the Table II PE buffer (1 KB of 16-bit words, 512 words).
BLOCKS: dict[str, Block] = {
    "grad_lif":  Block(GradLIF, {"lanes": 16}, "grad_lif"),
    "psum":      Block(PsumAccumulator, {"lanes": 16}, "psum_accumulator"),
    "shift_add": Block(ShiftAdder, {"lanes": 16, "slices": 2}, "shift_adder"),
    "wgu":       Block(WGU, {"rows": 32, "cols": 32}, "wgu"),
    "pingpong":  Block(PingPongBuffer, {"depth": buffer_depth(PE_BUFFER_BYTES, 16), "width": 16},
                       "pingpong_buffer"),
    # The hidden layer of the tile tests: 9 inputs in two row groups of 5, 8 neurons, T = 8.
    "tile":      Block(Tile, {"n_in": 9, "n_out": 8, "timesteps": 8, "rows": 5}, "tile"),
}

#: Debian package ``qflow-tech-osu018`` installs the OSU 0.18 um standard-cell library here.
OSU018_LIBERTY = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")

TECHNOLOGY_NOTE = ("OSU 0.18 µm open standard cells; scale to other nodes with the documented "
                   "rule in the cost model")

MEMORY_NOTE = ("yosys maps memories to flip-flops, so their share of area_um2 is a flip-flop "
               "array, not an SRAM estimate: take SRAM area from the memory sizes listed here "
               "and the SRAM model")


def _block(block: str) -> Block:
    try:
        return BLOCKS[block]
    except (KeyError, TypeError):
        raise DfasimError(f"unknown RTL block {block!r}; choose one of: "
                          f"{', '.join(BLOCKS)}") from None


def _allowed(spec: Block) -> list[str]:
    sig = inspect.signature(spec.cls.__init__)
    return [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]


def _value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return int(text.strip(), 0)
    except ValueError:
        return text.strip()


def parse_params(items, block: str) -> dict[str, Any]:
    """Parse ``["key=value", ...]`` into constructor overrides of ``block``.

    A value reads as a bool (``true``/``false``), ``None`` (``none``), an int (``16``,
    ``0x10``) or else a string. Only the overrides are returned; :func:`resolve_params` adds
    the defaults.

    Raises
    ------
    DfasimError
        Unknown block, an item without ``=``, or a key that is not a parameter of the block.
    """
    spec = _block(block)
    allowed = _allowed(spec)
    params: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise DfasimError(f"parameter {item!r} is not of the form key=value")
        if key not in allowed:
            raise DfasimError(f"unknown parameter {key!r} for block {block!r}; allowed: "
                              f"{', '.join(allowed)}")
        params[key] = _value(text)
    return params


def resolve_params(block: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the block's default parameters updated with ``params``."""
    spec = _block(block)
    allowed = _allowed(spec)
    for key in params or {}:
        if key not in allowed:
            raise DfasimError(f"unknown parameter {key!r} for block {block!r}; allowed: "
                              f"{', '.join(allowed)}")
    return {**spec.defaults, **(params or {})}


def build(block: str, params: dict[str, Any] | None = None):
    """Construct the component of ``block`` with its defaults updated by ``params``.

    Every parameter has an upper bound (``golden.params``: e.g. 4096 lanes, ``2**20``-word
    memories), so an absurd size is refused here at once instead of elaborating for hours.
    """
    spec = _block(block)
    full = resolve_params(block, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        try:
            return spec.cls(**full)
        except (TypeError, ValueError) as exc:
            msg = " ".join(str(exc).split())
        # The rejected component was never meant to be used. Amaranth components sit in a
        # reference cycle, so collect it now, while its "created but never used" is ignored.
        gc.collect()
    raise DfasimError(f"bad parameters for block {block!r} ({_fmt(full)}): {msg}")


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def emit_verilog(block: str, params: dict[str, Any] | None, out_dir) -> Path:
    """Write the block's Verilog to ``out_dir/<module>.v`` (same bytes every time); return it."""
    component = build(block, params)
    return emit(component, _block(block).module, out_dir)


# --- synthesis -------------------------------------------------------------------------------

def _find_yosys() -> str:
    path = shutil.which("yosys")
    if path is None:
        raise DfasimError("yosys not found on PATH: install the Debian package yosys "
                          "(apt-get install yosys)")
    return path


def _find_liberty(liberty) -> Path:
    if liberty is None:
        if not OSU018_LIBERTY.is_file():
            raise DfasimError(f"OSU 0.18 µm liberty file {OSU018_LIBERTY} not found: install "
                              f"the Debian package qflow-tech-osu018 (or `apt-get download "
                              f"qflow-tech-osu018 && dpkg-deb -x` it) or pass a liberty file")
        return OSU018_LIBERTY
    path = Path(liberty)
    if not path.is_file():
        raise DfasimError(f"liberty file {str(path)!r} not found")
    return path.resolve()


def _script(module: str, verilog: str, liberty: str) -> list[str]:
    # One yosys run: the coarse half of `synth` leaves memories as $mem_v2 cells (dumped for
    # their sizes), the fine half maps everything to generic gates, then the liberty mapping.
    lib = liberty
    return [
        f"read_verilog {verilog}",
        f"synth -top {module} -flatten -run begin:fine",
        "tee -q -o memories.il dump t:$mem_v2 t:$mem",
        f"synth -top {module} -flatten -run fine:",
        "tee -q -o generic.json stat -json",
        "tee -q -o cmos.json stat -json -tech cmos",
        f"dfflibmap -liberty {lib}",
        f"abc -liberty {lib}",
        "opt_clean -purge",
        f"tee -q -o liberty.json stat -json -liberty {lib}",
        f"tee -q -o liberty.txt stat -liberty {lib}",
    ]


def _module_stats(path: Path, module: str) -> dict[str, Any]:
    data = json.loads(path.read_text())
    mods = data.get("modules", {})
    for key in (f"\\{module}", module):
        if key in mods:
            return mods[key]
    if "design" in data:
        return data["design"]
    raise DfasimError(f"yosys statistics in {path} have no module {module!r}")


def _transistors(path: Path, module: str) -> tuple[int, bool]:
    raw = str(_module_stats(path, module).get("estimated_num_transistors", ""))
    m = re.match(r"\s*(\d+)(\+?)", raw)
    if not m:
        raise DfasimError(f"no transistor estimate in {path}")
    return int(m.group(1)), bool(m.group(2))


def _area(path: Path, module: str) -> float:
    text = path.read_text()
    m = re.search(r"Chip area for (?:top )?module '\\?" + re.escape(module) + r"':\s*([0-9.eE+-]+)",
                  text)
    if not m:
        raise DfasimError(f"no chip area for module {module!r} in {path}")
    return float(m.group(1))


_CELL = re.compile(r"^\s*cell\s+(\$mem(?:_v2)?)\s+(\S+)\s*$")
_PARAM = re.compile(r"^\s*parameter\s+\\(\w+)\s+(.*?)\s*$")


def _param_int(text: str) -> int:
    m = re.fullmatch(r"(\d+)'([01xz]+)", text)
    if m:
        return int(m.group(2).replace("x", "0").replace("z", "0"), 2)
    return int(text)


def _memories(path: Path) -> list[dict[str, Any]]:
    """Parse the RTLIL dump of ``$mem``/``$mem_v2`` cells into name, words, width, bits, ports."""
    mems: list[dict[str, Any]] = []
    cur: dict[str, str] | None = None
    for line in path.read_text().splitlines():
        m = _CELL.match(line)
        if m:
            cur = {"cell": m.group(2)}
            continue
        if cur is None:
            continue
        if line.strip() == "end":
            name = cur.get("MEMID", cur["cell"]).strip('"').replace("\\\\", "\\").lstrip("\\")
            words, width = _param_int(cur["SIZE"]), _param_int(cur["WIDTH"])
            mems.append({"name": name, "words": words, "width": width, "bits": words * width,
                         "rd_ports": _param_int(cur.get("RD_PORTS", "0")),
                         "wr_ports": _param_int(cur.get("WR_PORTS", "0"))})
            cur = None
            continue
        p = _PARAM.match(line)
        if p and p.group(1) in ("MEMID", "SIZE", "WIDTH", "RD_PORTS", "WR_PORTS"):
            cur[p.group(1)] = p.group(2)
    return sorted(mems, key=lambda d: d["name"])


def _last_error(log: Path, stderr: str) -> str:
    lines = (log.read_text(errors="replace").splitlines() if log.is_file() else [])
    lines += stderr.splitlines()
    errs = [ln.strip() for ln in lines if "ERROR" in ln]
    return errs[-1] if errs else (lines[-1].strip() if lines else "no output")


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def synth(block: str, params: dict[str, Any] | None, out_dir, *, liberty=None) -> dict:
    """Synthesise ``block`` with Debian yosys and return (and write) its cost report.

    Writes into ``out_dir``: ``<module>.v``, ``<module>.ys`` (the script), ``<module>.log``,
    yosys' statistics files and ``<module>.synth.json`` (the returned dict): cells by type and
    cell count of the generic netlist, the ``stat -tech cmos`` transistor estimate, the area in
    µm² after mapping to ``liberty`` (default: OSU 0.18 µm), the memories synthesis found, the
    yosys version, the commands and the time taken.

    Raises
    ------
    DfasimError
        Bad block or parameters, yosys or the liberty file missing, or yosys failing.
    """
    t0 = time.perf_counter()
    spec = _block(block)
    full = resolve_params(block, params)
    yosys = _find_yosys()
    lib = _find_liberty(liberty)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vpath = emit_verilog(block, full, out_dir)
    t_emit = time.perf_counter() - t0

    version = subprocess.run([yosys, "-V"], capture_output=True, text=True).stdout.strip()
    # The script runs in out_dir with relative names; a liberty path with blanks is copied in.
    lib_arg = str(lib)
    if re.search(r"\s|;", lib_arg):
        shutil.copyfile(lib, out_dir / lib.name)
        lib_arg = lib.name
    module = spec.module
    script = _script(module, vpath.name, lib_arg)
    ys = out_dir / f"{module}.ys"
    ys.write_text("\n".join(script) + "\n")
    log = out_dir / f"{module}.log"
    for name in ("memories.il", "generic.json", "cmos.json", "liberty.json", "liberty.txt"):
        (out_dir / name).unlink(missing_ok=True)
    cmd = [yosys, "-q", "-l", log.name, "-s", ys.name]
    t1 = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.run(cmd, cwd=out_dir, capture_output=True, text=True, env=env)
    t_yosys = time.perf_counter() - t1
    if proc.returncode != 0:
        raise DfasimError(f"yosys failed on {block!r} (exit {proc.returncode}, log "
                          f"{log}): {_last_error(log, proc.stderr)}")

    generic = _module_stats(out_dir / "generic.json", module)
    mapped = _module_stats(out_dir / "liberty.json", module)
    transistors, lower_bound = _transistors(out_dir / "cmos.json", module)
    report = {
        "block": block,
        "params": full,
        "module": module,
        "verilog": vpath.name,
        "cells_by_type": dict(sorted(generic.get("num_cells_by_type", {}).items())),
        "cell_count": int(generic.get("num_cells", 0)),
        "transistors": transistors,
        "transistors_lower_bound": lower_bound,
        "liberty_cells_by_type": dict(sorted(mapped.get("num_cells_by_type", {}).items())),
        "liberty_cell_count": int(mapped.get("num_cells", 0)),
        "area_um2": _area(out_dir / "liberty.txt", module),
        "liberty": str(lib),
        "technology": TECHNOLOGY_NOTE,
        "memories": _memories(out_dir / "memories.il"),
        "memory_note": MEMORY_NOTE,
        "yosys_version": version,
        "commands": [" ".join([Path(yosys).name, *cmd[1:]]), *script],
        "seconds": {"emit": round(t_emit, 3), "yosys": round(t_yosys, 3),
                    "total": round(time.perf_counter() - t0, 3)},
    }
    _write_json(out_dir / f"{module}.synth.json", report)
    return report
