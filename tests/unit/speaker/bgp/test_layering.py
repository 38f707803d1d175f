"""The BGP/BFD cores stay sans-IO: no asyncio, socket, time, kubernetes or netmiko imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
PURE = [
    "speaker/bgp/errors.py",
    "speaker/bgp/capabilities.py",
    "speaker/bgp/attributes.py",
    "speaker/bgp/codec.py",
    "speaker/bgp/framing.py",
    "speaker/bgp/fsm.py",
    "speaker/bgp/session.py",
    "speaker/bgp/adj_out.py",
    "speaker/bgp/desired.py",
    "speaker/bgp/plan.py",
    "speaker/bgp/status.py",
    "speaker/bfd/codec.py",
    "speaker/bfd/session.py",
]
FORBIDDEN = {"asyncio", "socket", "time", "kubernetes", "netmiko", "selectors", "threading"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", PURE)
def test_core_is_sans_io(module: str) -> None:
    assert not imported(ROOT / module) & FORBIDDEN
