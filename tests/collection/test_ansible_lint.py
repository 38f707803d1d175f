"""ansible-lint (production profile) on the collection, its roles and playbooks/switches.yml."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .playbook import BIN, REPO, ansible_env

PATHS = [
    "playbooks/switches.yml",
    "inventory/example",
    "collections/ansible_collections/ironlb/baremetal",
    "collections/ansible_collections/ironlb/baremetal/roles/tor_bgp/molecule/default",
]


def test_ansible_lint_production_clean(tmp_path: Path) -> None:
    res = subprocess.run(
        [str(BIN / "ansible-lint"), "--profile", "production", "--nocolor", *PATHS],
        cwd=REPO, env=ansible_env(tmp_path), capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    assert "Profile 'production' was required, and it passed" in out
