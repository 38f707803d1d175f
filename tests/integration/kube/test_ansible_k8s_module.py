"""kubernetes.core.k8s (the Ansible role's module) against the real kube-apiserver: the
ironlb kinds and a Deployment are created, then left alone (idempotent), and a changed pool
comes back with the CRD's defaults."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

POOL = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "IPAddressPool",
    "metadata": {"name": "pool"},
    "spec": {"addresses": ["203.0.113.0/24"]},
}
CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings"},
    "data": {"mode": "l2"},
}

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "controller"},
    "spec": {
        "selector": {"matchLabels": {"app": "c"}},
        "template": {
            "metadata": {"labels": {"app": "c"}},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "ironlb:dev",
                        "ports": [{"containerPort": 7472, "name": "monitoring"}],
                    }
                ]
            },
        },
    },
}


def _task(name: str, definition: dict, register: str, **extra) -> dict:
    return {
        "name": name,
        "kubernetes.core.k8s": {"state": "present", "definition": definition, **extra},
        "register": register,
    }


def _in(ns: str, obj: dict) -> dict:
    return {**obj, "metadata": {**obj["metadata"], "namespace": ns}}


def _playbook(kubeconfig: str, ns: str) -> list[dict]:
    pool, configmap, deployment = _in(ns, POOL), _in(ns, CONFIGMAP), _in(ns, DEPLOYMENT)
    changed_pool = {**pool, "spec": {"addresses": ["203.0.113.0/25"]}}
    tasks = [
        _task("configmap create", configmap, "cm1"),
        _task("configmap again", configmap, "cm2"),
        {
            **_task(
                "configmap change in check mode", {**configmap, "data": {"mode": "bgp"}}, "cm3"
            ),
            "check_mode": True,
        },
        # a list, as the role passes multi-document templates
        _task("pool and deployment create", [pool, deployment], "both1"),
        _task("pool and deployment again", [pool, deployment], "both2"),
        _task("pool changed", changed_pool, "pool3"),
        {
            "name": "check changed flags",
            "ansible.builtin.assert": {
                "that": [
                    "cm1 is changed",
                    "cm2 is not changed",
                    "cm3 is changed",
                    "both1 is changed",
                    "both2 is not changed",
                    "pool3 is changed",
                    "pool3.result.spec.addresses == ['203.0.113.0/25']",
                    "pool3.result.spec.autoAssign",  # the CRD's default, served back
                ]
            },
        },
    ]
    return [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "module_defaults": {"group/kubernetes.core.k8s": {"kubeconfig": kubeconfig}},
            "vars": {"ansible_python_interpreter": sys.executable},
            "tasks": tasks,
        }
    ]


@pytest.mark.slow
def test_kubernetes_core_k8s_create_then_idempotent(
    apiserver, kube_namespace, tmp_path: Path
) -> None:
    binary = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("ansible-playbook not installed in the venv")
    book = tmp_path / "play.yml"
    book.write_text(
        yaml.safe_dump(_playbook(apiserver.kubeconfig, kube_namespace), sort_keys=False)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    proc = subprocess.run(
        [binary, "-i", "localhost,", "-c", "local", str(book)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "failed=0" in proc.stdout
