"""The ironlb role's RBAC lets each process watch what it watches, and no more than the
least-privilege promise: the speaker cannot write Services, the controller reads no
Secrets. Checked against the resources the processes' informers really use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from controller.app import CONFIG_KINDS as CONTROLLER_CONFIG
from ironlb import yamlio
from ironlb.kube.resources import (
    BGPSESSIONSTATES,
    DAEMONSETS,
    ENDPOINTSLICES,
    NAMESPACES,
    NODES,
    SECRETS,
    SERVICEBGPSTATUSES,
    SERVICEL2STATUSES,
    SERVICES,
    Resource,
)
from speaker.app import CONFIG_KINDS as SPEAKER_CONFIG

ROLE = Path(__file__).parents[2] / "collections/ansible_collections/ironlb/baremetal/roles/ironlb"
NS = "metallb-system"


def rendered(name: str) -> list[dict[str, Any]]:
    text = (ROLE / "templates" / name).read_text()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    out = env.from_string(text).render(ironlb_namespace=NS)
    return [d for d in yamlio.load_all(out) if d]


def rules_for(account: str) -> list[tuple[str | None, dict[str, Any]]]:
    """(namespace or None for cluster-wide, rule) granted to a ServiceAccount."""
    docs = rendered("rbac.yml.j2")
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs}
    out = []
    for binding in (d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        if not any(s["name"] == account for s in binding["subjects"]):
            continue
        ref = binding["roleRef"]
        ns = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        role = roles[(ref["kind"], ns if ref["kind"] == "Role" else None, ref["name"])]
        out.extend((ns, rule) for rule in role["rules"])
    return out


def allowed(account: str, res: Resource, verb: str, namespace: str | None) -> bool:
    for ns, rule in rules_for(account):
        if ns is not None and ns != namespace:
            continue
        grants = res.group in rule["apiGroups"] and res.plural in rule["resources"]
        if grants and verb in rule["verbs"]:
            return True
    return False


CONTROLLER_WATCHES = [
    *((r, NS) for r in CONTROLLER_CONFIG),
    (SERVICES, None),
    (NAMESPACES, None),
    (DAEMONSETS, "kube-system"),
]
SPEAKER_WATCHES = [
    (NODES, None),
    (SERVICES, None),
    (ENDPOINTSLICES, None),
    (SERVICEL2STATUSES, NS),
    (SERVICEBGPSTATUSES, NS),
    (BGPSESSIONSTATES, NS),
    (SECRETS, NS),
    *((r, NS) for r in SPEAKER_CONFIG),
]


@pytest.mark.parametrize(("res", "ns"), CONTROLLER_WATCHES, ids=lambda x: str(x))
def test_controller_can_list_and_watch(res: Resource, ns: str | None) -> None:
    for verb in ("list", "watch"):
        assert allowed("ironlb-controller", res, verb, ns), f"controller cannot {verb} {res}"


@pytest.mark.parametrize(("res", "ns"), SPEAKER_WATCHES, ids=lambda x: str(x))
def test_speaker_can_list_and_watch(res: Resource, ns: str | None) -> None:
    for verb in ("list", "watch"):
        assert allowed("ironlb-speaker", res, verb, ns), f"speaker cannot {verb} {res}"


def test_controller_writes_service_status_and_annotation() -> None:
    status = Resource("", "v1", "services/status", "Service", True)
    assert allowed("ironlb-controller", status, "patch", "default")
    assert allowed("ironlb-controller", SERVICES, "patch", "default")


def test_least_privilege() -> None:
    for verb in ("create", "update", "patch", "delete"):
        assert not allowed("ironlb-speaker", SERVICES, verb, "default")
    for verb in ("get", "list", "watch"):
        assert not allowed("ironlb-controller", SECRETS, verb, NS)


def test_speaker_may_raise_its_scheduling_priority() -> None:
    [ds] = [d for d in rendered_speaker() if d["kind"] == "DaemonSet"]
    container = ds["spec"]["template"]["spec"]["containers"][0]
    assert "SYS_NICE" in container["securityContext"]["capabilities"]["add"]
    assert "POD_UID" in {e["name"] for e in container["env"]}


def rendered_speaker() -> list[dict[str, Any]]:
    defaults = yamlio.load((ROLE / "defaults/main.yml").read_text())
    text = (ROLE / "templates/speaker.yml.j2").read_text()
    env = jinja2.Environment()
    env.filters["to_json"] = __import__("json").dumps
    values = {**defaults, "ironlb_namespace": NS, "ironlb_speaker_image": "ironlb:test"}
    return [d for d in yamlio.load_all(env.from_string(text).render(**values)) if d]
