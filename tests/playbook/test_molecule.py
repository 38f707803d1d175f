"""`molecule test` for the k3s, kubeadm and ironlb roles (default/delegated driver, no Docker).

k3s: rendered config (servicelb always disabled, HA servers), a wrong checksum fails before
anything is installed, idempotence. kubeadm: strictARP with IPVS, none with iptables, join
config. ironlb: everything applied to the API emulator, idempotence, refusal beside MetalLB.
Steps needing real k3s/kubeadm binaries run only with K3S_BINARY(+K3S_BINARY_SHA256) /
KUBEADM_BINARY set, and are printed as skipped otherwise.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
ROLES = REPO / "collections" / "ansible_collections" / "ironlb" / "baremetal" / "roles"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.mark.parametrize("role", ["k3s", "kubeadm", "ironlb"])
def test_molecule_scenario(role: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(tmp_path),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own
    res = subprocess.run(
        [str(BIN / "molecule"), "test", "--scenario-name", "default"],
        cwd=ROLES / role, env=env, capture_output=True, text=True, timeout=850, check=False,
    )  # fmt: skip
    out = re.sub(r"\x1b\[[0-9;]*m", "", res.stdout + res.stderr)
    assert res.returncode == 0, out[-6000:]
    for step in ("converge", "idempotence", "verify"):
        assert re.search(rf"{step}\W+Executed: Successful", out), step
