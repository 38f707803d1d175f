"""A local stand-in for ansible-test's validate-modules (which needs network here):
`ansible-doc` must parse the module's documentation (with its doc fragment), and every option
must agree with the argument spec in type, default, choices and required."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .playbook import BIN, REPO, ansible_env

COLLECTIONS = REPO / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.ironlb.baremetal.plugins.modules.switch_bgp import ARGSPEC  # noqa: E402


def _compare(doc: dict[str, Any], spec: dict[str, Any], where: str) -> list[str]:
    problems = []
    if set(doc) != set(spec):
        problems.append(
            f"{where}: doc {sorted(set(doc) - set(spec))} spec {sorted(set(spec) - set(doc))}"
        )
    for name in set(doc) & set(spec):
        d, s = doc[name], spec[name]
        for key in ("type", "default", "choices", "elements"):
            dv, sv = d.get(key), s.get(key)
            if key == "type" and sv is None:
                sv = "str"
            if key == "required":
                dv, sv = bool(dv), bool(sv)
            if dv != sv and not (key == "default" and dv in (None, []) and sv in (None, [])):
                problems.append(f"{where}.{name}.{key}: doc {dv!r} != spec {sv!r}")
        if bool(d.get("required")) != bool(s.get("required")):
            problems.append(f"{where}.{name}.required differs")
        if "options" in s:
            problems += _compare(d.get("suboptions", {}), s["options"], f"{where}.{name}")
    return problems


def test_documentation_matches_argspec(tmp_path: Path) -> None:
    res = subprocess.run(
        [str(BIN / "ansible-doc"), "-j", "ironlb.baremetal.switch_bgp"],
        cwd=REPO, env=ansible_env(tmp_path), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert res.returncode == 0 and "ERROR" not in res.stderr, res.stderr
    doc = json.loads(res.stdout)["ironlb.baremetal.switch_bgp"]
    assert doc["doc"]["attributes"]["check_mode"]["support"] == "full"
    assert doc["doc"]["attributes"]["diff_mode"]["support"] == "full"
    assert doc["examples"] and doc["return"]
    assert _compare(doc["doc"]["options"], ARGSPEC, "options") == []
