"""The roles' molecule scenarios (default/delegated driver, no Docker).

k3s: rendered config (servicelb always disabled, HA servers), a wrong checksum fails before
anything is installed, idempotence. kubeadm: strictARP with IPVS, none with iptables, join
config. Both run as `molecule test`; steps needing real k3s/kubeadm binaries run only with
K3S_BINARY(+K3S_BINARY_SHA256) / KUBEADM_BINARY set, and are printed as skipped otherwise.

ironlb: the scenario's converge (twice: the second run must change nothing) and verify
playbooks, with its inventory, run against the session's real kube-apiserver
(tests/plugins/kubeapi.py) rather than through `molecule test` (whose create/destroy start
and stop one more with `python -m tests.plugins.kubeapi serve`): everything applied,
idempotence, the refusal beside MetalLB.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
ROLES = REPO / "collections" / "ansible_collections" / "ironlb" / "baremetal" / "roles"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _clean(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("role", ["k3s", "kubeadm"])
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
    out = _clean(res.stdout + res.stderr)
    assert res.returncode == 0, out[-6000:]
    for step in ("converge", "idempotence", "verify"):
        assert re.search(rf"{step}\W+Executed: Successful", out), step


def _scenario_inventory(scenario: dict[str, Any], kubeconfig: str) -> dict[str, Any]:
    """The inventory molecule would build from the scenario, pointed at our kube-apiserver."""
    hosts: dict[str, Any] = {"all": {"hosts": {}, "children": {}}}
    for platform in scenario["platforms"]:
        hosts["all"]["hosts"][platform["name"]] = {}
        for group in platform.get("groups", []):
            children = hosts["all"]["children"].setdefault(group, {"hosts": {}})
            children["hosts"][platform["name"]] = {}
    group_vars = scenario["provisioner"]["inventory"]["group_vars"]["all"]
    hosts["all"]["vars"] = {**group_vars, "ironlb_kubeconfig": kubeconfig}
    return hosts


def _playbook(book: Path, inventory: Path, env: dict[str, str], cwd: Path) -> str:
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(book)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    out = _clean(res.stdout + res.stderr)
    assert res.returncode == 0, f"{book.name} failed:\n{out[-6000:]}"
    return out


def test_ironlb_role_scenario_against_kube_apiserver(apiserver: Any, tmp_path: Path) -> None:
    scenario_dir = ROLES / "ironlb" / "molecule" / "default"
    scenario = yaml.safe_load((scenario_dir / "molecule.yml").read_text())
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(_scenario_inventory(scenario, apiserver.kubeconfig)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_HOME=str(tmp_path / "home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
    )
    _playbook(scenario_dir / "converge.yml", inventory, env, tmp_path)
    again = _playbook(scenario_dir / "converge.yml", inventory, env, tmp_path)
    recap = re.findall(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+).*failed=(\d+)", again, re.M)
    assert recap and all(c == "0" and f == "0" for _, c, f in recap), again[-4000:]  # idempotence
    _playbook(scenario_dir / "verify.yml", inventory, env, tmp_path)
