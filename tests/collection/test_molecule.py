"""`molecule test` for the tor_bgp role: create (namespace + FRR + sshd) → converge →
idempotence → verify → destroy, with molecule's default (delegated) driver."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .playbook import REPO, ansible_env

pytestmark = [pytest.mark.netns, pytest.mark.peers, pytest.mark.slow]

ROLE = REPO / "collections" / "ansible_collections" / "ironlb" / "baremetal" / "roles" / "tor_bgp"


def _leftovers() -> tuple[str, str]:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    users = Path("/etc/passwd").read_text()
    return (
        " ".join(line.split()[0] for line in netns.splitlines() if line.startswith("ilb-sw-m")),
        " ".join(line.split(":")[0] for line in users.splitlines() if line.startswith("ilbswm")),
    )


def test_molecule_default_scenario(tmp_path: Path) -> None:
    before = _leftovers()
    env = ansible_env(tmp_path)
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own
    res = subprocess.run(
        [str(REPO / ".venv" / "bin" / "molecule"), "test", "--scenario-name", "default"],
        cwd=ROLE, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    for step in ("create", "converge", "idempotence", "verify", "destroy"):
        assert f"{step}: Executed: Successful" in out.replace("\x1b", "").replace("➜ ", ""), step
    # destroy removed the namespace and the test user
    assert _leftovers() == before
