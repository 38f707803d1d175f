"""Fixtures of the image tests: the archives of tools/images/build (built once, or found)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .containerd import TOOLS

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tools" / "images" / "build"


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (buildah mounts, containerd, network namespaces)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"not installed: {' '.join(missing)} (apt-get install buildah debootstrap ...)"
    return None


@pytest.fixture(scope="session")
def archives() -> dict[str, Path]:
    """{image ref: archive}, built or found in the cache; a warm build must rebuild nothing."""
    if reason := _skip_reason():
        pytest.skip(reason)
    first = subprocess.run(
        [str(BUILD), "--print-archives"], capture_output=True, text=True, timeout=1700
    )
    assert first.returncode == 0, first.stderr[-3000:]
    refs = dict(line.split(" ", 1) for line in first.stdout.splitlines() if line.strip())
    warm = subprocess.run(
        [str(BUILD), "--print-archives"], capture_output=True, text=True, timeout=300
    )
    assert warm.returncode == 0, warm.stderr[-3000:]
    assert "0 image(s) rebuilt (all cached)" in warm.stderr, warm.stderr[-3000:]
    assert warm.stdout == first.stdout
    return {ref: Path(path) for ref, path in refs.items()}
