"""The speaker's pure cores import no I/O, no clock and no Kubernetes client (STYLE rule 1)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PURE = [
    "speaker/election.py",
    "speaker/desired.py",
    "speaker/reconciler.py",
    "speaker/status.py",
    "speaker/membership/codec.py",
    "speaker/membership/protocol.py",
    "speaker/l2/frames.py",
    "speaker/l2/arp.py",
    "speaker/l2/ndp.py",
    "speaker/l2/probe.py",
    "speaker/l2/responder.py",
]
FORBIDDEN = {"asyncio", "socket", "time", "kubernetes", "ironlb.kube", "prometheus_client"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules_of(path: Path, seen: set[Path]) -> set[str]:
    """Imports of `path` and, transitively, of the project modules it imports."""
    if path in seen:
        return set()
    seen.add(path)
    names = imported(path)
    out = set(names)
    for name in names:
        # ironlb.log formats timestamps for log lines; a core that logs does not read a clock.
        if name.split(".")[0] in ("speaker", "ironlb") and name != "ironlb.log":
            candidate = ROOT / (name.replace(".", "/") + ".py")
            package = ROOT / name.replace(".", "/") / "__init__.py"
            for target in (candidate, package):
                if target.exists():
                    out |= _modules_of(target, seen)
    return out


@pytest.mark.parametrize("module", PURE)
def test_pure_core_has_no_io_imports(module: str) -> None:
    names = _modules_of(ROOT / module, set())
    bad = {n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{module} pulls in {sorted(bad)}"
