"""Alert rules pass promtool (syntax and unit tests); the PrometheusRule and dashboard
stay in step with the rule file and use only ironlb metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ironlb import yamlio
from ironlb.monitoring import (
    DASHBOARD_FILE,
    PROMETHEUS_RULE_FILE,
    RULES_FILE,
    prometheus_rule,
)

HERE = Path(__file__).parent
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: apt-get install prometheus (make setup does)"
)


@needs_promtool
def test_promtool_check_rules() -> None:
    out = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES_FILE)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 8 rules found" in out.stdout


@needs_promtool
def test_promtool_unit_tests_fire_each_alert() -> None:
    test_file = HERE / "alerts.test.yml"
    out = subprocess.run(
        [PROMTOOL, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    alerts = {r["alert"] for g in yamlio.load(RULES_FILE.read_text())["groups"] for r in g["rules"]}
    tested = set(re.findall(r"alertname: (\w+)", test_file.read_text()))
    assert alerts <= tested


def test_prometheusrule_matches_rule_file() -> None:
    assert yamlio.load(PROMETHEUS_RULE_FILE.read_text()) == prometheus_rule()


def test_dashboard_queries_only_ironlb_metrics() -> None:
    dash = json.loads(DASHBOARD_FILE.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert exprs
    for expr in exprs:
        names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b", re.sub(r"\{[^}]*\}", "", expr))) - {
            "sum",
            "by",
            "rate",
            "increase",
            "min",
            "histogram_quantile",
            "le",
            "pool",
            "family",
            "node",
            "peer",
            "reason",
            "code",
            "subcode",
        }
        assert names and all(n.startswith("ironlb_") for n in names), (expr, names)
