"""Runs the collection's own unit tests (golden files, properties) in a separate pytest, the
way ansible-test would: they import `ansible_collections.ironlb.baremetal` from ./collections."""

from __future__ import annotations

import subprocess
import sys

from .playbook import REPO

COLLECTION = REPO / "collections" / "ansible_collections" / "ironlb" / "baremetal"
UNIT = COLLECTION / "tests" / "unit"


def test_collection_unit_tests_pass() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(UNIT / "pytest.ini"),
         "--rootdir", str(COLLECTION), "--confcutdir", str(UNIT), str(UNIT)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert " passed" in res.stdout and "failed" not in res.stdout
