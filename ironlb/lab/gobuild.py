"""The pinned Go builds (``tools/gobuild/build``) as the lab uses them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ironlb.lab.shell import LabError, run

BUILD = Path(__file__).resolve().parents[2] / "tools" / "gobuild" / "build"


def bin_dir(group: str) -> Path:
    """The cached binaries of ``group`` (building them first on a cold machine)."""
    if not BUILD.exists():
        raise LabError(f"{BUILD} is missing: the lab needs a checkout of the repository")
    out = run([str(BUILD), "--print-dir", group], timeout=3600).strip().splitlines()
    if not out:
        raise LabError(f"tools/gobuild/build printed no directory for {group}")
    return Path(out[-1])


def sha256sums(group: str, names: Iterable[str]) -> dict[str, str]:
    """SHA-256 of the named binaries, from the cache entry's verified SHA256SUMS."""
    sums = {}
    for line in (bin_dir(group).parent / "SHA256SUMS").read_text().splitlines():
        digest, _, name = line.partition("  ")
        sums[name.strip()] = digest
    missing = [n for n in names if n not in sums]
    if missing:
        raise LabError(f"{group} build has no {', '.join(missing)}")
    return {n: sums[n] for n in names}
