"""ansible-lint (production profile) and syntax checks for the rollout playbooks and roles."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
ROLES = REPO / "collections" / "ansible_collections" / "ironlb" / "baremetal" / "roles"
PLAYBOOKS = ["site.yml", "cluster.yml", "ironlb.yml", "verify.yml", "reset.yml", "lab.yml"]


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }


def test_ansible_lint_production_profile_is_clean(tmp_path: Path) -> None:
    paths = [f"playbooks/{p}" for p in PLAYBOOKS] + ["inventory/lab"]
    paths += [str(ROLES / r) for r in ("ironlb", "k3s", "kubeadm")]
    paths += [str(ROLES / r / "molecule" / "default") for r in ("ironlb", "k3s", "kubeadm")]
    res = subprocess.run(
        [str(BIN / "ansible-lint"), "--profile", "production", "--nocolor", *paths],
        cwd=REPO, env=_env(tmp_path), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    assert "Profile 'production' was required, and it passed" in out


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(playbook: str, tmp_path: Path) -> None:
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "inventory/lab",
         f"playbooks/{playbook}"],
        cwd=REPO, env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("role", ["ironlb", "k3s", "kubeadm"])
def test_every_role_has_argument_specs_and_secrets_are_no_log(role: str) -> None:
    import yaml

    spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    secrets = [n for n in options if any(w in n for w in ("token", "secret", "password"))]
    assert secrets, role
    for name in secrets:
        assert options[name].get("no_log") is True, f"{role}: {name} must be no_log"
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
    assert set(defaults) <= set(options), set(defaults) - set(options)
