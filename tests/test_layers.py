# SPDX-License-Identifier: MIT
"""The layers import one way only (flows → cosim → rtl, models → golden), read from the source."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("golden", "models", "rtl", "cosim", "flows")
#: What each layer may import from (itself included).
ALLOWED = {"golden": {"golden"}, "models": {"models", "golden"}, "rtl": {"rtl", "golden"},
           "cosim": {"cosim", "rtl", "models", "golden"},
           "flows": {"flows", "cosim", "rtl", "models", "golden"}}
#: Third-party packages a layer must never import.
FORBIDDEN = {"rtl": {"torch", "cocotb"}, "golden": {"amaranth", "cocotb"},
             "models": {"amaranth", "cocotb"}}
#: Modules the command line, the RTL and the chip description read: torch-free.
TORCH_FREE = ("golden/networks.py", "golden/papers.py", "golden/options.py", "golden/params.py",
              "models/chip.py")


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute dotted names imported by ``path`` (relative imports resolved), with lines."""
    layer_parts = path.relative_to(ROOT).with_suffix("").parts
    package = list(layer_parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append((name, node.lineno))
    return out


def _sources():
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_one_way(path):
    layer = path.relative_to(ROOT).parts[0]
    for name, line in _imports(path):
        head = name.split(".")[0]
        target = name.split(".")[1] if head == "dfasim" else head
        if target in LAYERS:
            assert target in ALLOWED[layer], (
                f"{path.relative_to(ROOT)}:{line} imports {name}: {layer} may import only "
                f"{sorted(ALLOWED[layer])}")
        assert head not in FORBIDDEN.get(layer, ()), (
            f"{path.relative_to(ROOT)}:{line} imports {name}, which {layer}/ must not")


@pytest.mark.parametrize("module", TORCH_FREE)
def test_shared_golden_modules_are_torch_free(module):
    names = {name.split(".")[0] for name, _ in _imports(ROOT / module)}
    assert "torch" not in names and "numpy" not in names, module
