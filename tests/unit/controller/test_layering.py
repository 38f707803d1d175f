"""The controller's pure cores import no I/O, clock or Kubernetes client (STYLE rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PURE = [
    "ironlb/ipranges.py",
    "controller/allocator.py",
    "controller/assign.py",
    "controller/diagnostics.py",
    "controller/status.py",
    "controller/state.py",
]
FORBIDDEN = {"asyncio", "socket", "time", "kubernetes", "aiohttp", "urllib3", "ironlb.kube"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_core_has_no_io_imports(module: str) -> None:
    bad = {
        name
        for name in imported(ROOT / module)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not bad, f"{module} imports {sorted(bad)}"
