"""The ironlb role installs the alert rules and dashboard when the Prometheus operator's
CRD exists (`ironlb_monitoring: auto`), and not otherwise; a second run changes nothing."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from ironlb import yamlio
from ironlb.kube.client import CONFIGMAPS, NAMESPACES, AlreadyExists, Kube, NotFound, Resource
from ironlb.monitoring import prometheus_rule

REPO = Path(__file__).parents[2]
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CRD", False)
RULES = Resource("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", True)
NS = "metallb-system"

PROMETHEUS_RULE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "prometheusrules.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {"plural": "prometheusrules", "singular": "prometheusrule",
                  "kind": "PrometheusRule", "listKind": "PrometheusRuleList"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object",
                                           "x-kubernetes-preserve-unknown-fields": True}},
        }],
    },
}  # fmt: skip

PLAYBOOK = """
- name: Monitoring part of the ironlb role
  hosts: localhost
  connection: local
  gather_facts: false
  # As the role's main.yml does for every task it imports.
  module_defaults:
    group/kubernetes.core.k8s:
      kubeconfig: "{kubeconfig}"
  tasks:
    - name: Install the alert rules and the dashboard
      ansible.builtin.include_role:
        name: ironlb.baremetal.ironlb
        tasks_from: monitoring.yml
      vars:
        ironlb_kubeconfig: "{kubeconfig}"
"""


def run(kubeconfig: str, tmp_path: Path) -> dict[str, int]:
    playbook = tmp_path / "monitoring.yml"
    playbook.write_text(PLAYBOOK.replace("{kubeconfig}", kubeconfig))
    env = {**os.environ, "ANSIBLE_HOME": str(tmp_path / "home"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}  # fmt: skip
    proc = subprocess.run(
        [str(REPO / ".venv/bin/ansible-playbook"), "-i", "localhost,", str(playbook),
         "-e", f"ansible_python_interpreter={REPO / '.venv/bin/python'}", "-v"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", proc.stdout)
    assert recap, proc.stdout
    return {"ok": int(recap[1]), "changed": int(recap[2])}


def test_rules_and_dashboard_installed_when_the_crd_exists(apiserver: Any, tmp_path: Path) -> None:
    kube = Kube(apiserver.api_client())
    with contextlib.suppress(AlreadyExists):
        kube.create(NAMESPACES, {"metadata": {"name": NS}})
    assert run(apiserver.kubeconfig, tmp_path)["changed"] == 0  # no CRD: nothing installed
    try:
        kube.get(CONFIGMAPS, "ironlb-dashboard", NS)
        raise AssertionError("dashboard installed without the monitoring CRD")
    except NotFound:
        pass
    kube.create(CRDS, PROMETHEUS_RULE_CRD)
    assert run(apiserver.kubeconfig, tmp_path)["changed"] == 2
    rule = kube.get(RULES, "ironlb", NS)
    assert rule["spec"]["groups"] == prometheus_rule()["spec"]["groups"]
    dashboard = kube.get(CONFIGMAPS, "ironlb-dashboard", NS)
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert yamlio.load(dashboard["data"]["ironlb.json"])["uid"] == "ironlb-overview"
    assert run(apiserver.kubeconfig, tmp_path)["changed"] == 0
