"""Prometheus alert rules and the Grafana dashboard shipped with ironlb."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ironlb import yamlio

HERE = Path(__file__).parent
RULES_FILE = HERE / "alerts.rules.yml"
PROMETHEUS_RULE_FILE = HERE / "prometheusrule.yaml"
DASHBOARD_FILE = HERE / "dashboard.json"


def prometheus_rule(namespace: str = "metallb-system") -> dict[str, Any]:
    """The rule groups wrapped in a monitoring.coreos.com/v1 PrometheusRule."""
    groups = yamlio.load(RULES_FILE.read_text())["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "ironlb",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "ironlb"},
        },
        "spec": {"groups": groups},
    }
