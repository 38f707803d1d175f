"""Pure: the ServiceL2Status objects this node should have, and the writes to get there.

Like MetalLB, one ServiceL2Status per (Service, announcing node) in the speaker's namespace,
labelled `metallb.io/node`, `metallb.io/service-name`, `metallb.io/service-namespace`, with
`status: {node, serviceName, serviceNamespace, interfaces: [{name}]}`. MetalLB names them
`l2-<random>`; ironlb derives the suffix from (node, Service) so a restarted speaker finds and
reuses its own objects instead of leaving duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

NODE_LABEL = "metallb.io/node"
SERVICE_NAME_LABEL = "metallb.io/service-name"
SERVICE_NAMESPACE_LABEL = "metallb.io/service-namespace"
API_VERSION = "metallb.io/v1beta1"

V = TypeVar("V")  # what a status object records per Service: interfaces (L2) or peers (BGP)
K = TypeVar("K")  # what identifies one of a node's objects: a Service, or a BGPPeer's name

ServiceKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class StatusPlan:
    create: list[dict[str, Any]] = field(default_factory=list)  # full objects, status included
    update: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, status)
    delete: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)


def object_name(node: str, key: ServiceKey) -> str:
    digest = hashlib.sha256(f"{node}/{key[0]}/{key[1]}".encode()).hexdigest()
    return f"l2-{digest[:10]}"


def status_body(node: str, key: ServiceKey, interfaces: Iterable[str]) -> dict[str, Any]:
    return {
        "node": node,
        "serviceName": key[1],
        "serviceNamespace": key[0],
        "interfaces": [{"name": name} for name in sorted(set(interfaces))],
    }


def pod_owner(pod_name: str | None, pod_uid: str | None) -> dict[str, Any] | None:
    """An ownerReference to the speaker's Pod, so the garbage collector removes the statuses
    of a speaker that is gone for good (a dead node cannot delete its own)."""
    if not pod_name or not pod_uid:
        return None
    return {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid}


def build_object(
    node: str,
    namespace: str,
    key: ServiceKey,
    interfaces: Iterable[str],
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": object_name(node, key),
        "namespace": namespace,
        "labels": {
            NODE_LABEL: node,
            SERVICE_NAME_LABEL: key[1],
            SERVICE_NAMESPACE_LABEL: key[0],
        },
    }
    if owner is not None:
        meta["ownerReferences"] = [dict(owner)]
    return {
        "apiVersion": API_VERSION,
        "kind": "ServiceL2Status",
        "metadata": meta,
        "status": status_body(node, key, interfaces),
    }


def plan_status(
    node: str,
    namespace: str,
    want: Mapping[ServiceKey, Iterable[str]],
    existing: Iterable[Mapping[str, Any]],
    owner: Mapping[str, Any] | None = None,
) -> StatusPlan:
    """`want`: Services this node announces → interfaces; `existing`: objects in the cache."""
    return diff_objects(
        node,
        namespace,
        want,
        existing,
        body=lambda key, interfaces: status_body(node, key, interfaces),
        build=lambda key, interfaces: build_object(node, namespace, key, interfaces, owner),
    )


def service_key(labels: Mapping[str, str]) -> ServiceKey:
    return (labels.get(SERVICE_NAMESPACE_LABEL, ""), labels.get(SERVICE_NAME_LABEL, ""))


def diff_objects(
    node: str,
    namespace: str,
    want: Mapping[K, V],
    existing: Iterable[Mapping[str, Any]],
    body: Callable[[K, V], dict[str, Any]],
    build: Callable[[K, V], dict[str, Any]],
    key_of: Callable[[Mapping[str, str]], K] = service_key,  # type: ignore[assignment]
) -> StatusPlan:
    """Creates, status updates and deletes that make this node's status objects (per Service
    for L2/BGP, per peer for sessions) match `want`; other nodes' objects are left alone,
    duplicates deleted. `key_of` reads an object's key from its labels."""
    plan = StatusPlan()
    seen: set[K] = set()
    for obj in existing:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        if labels.get(NODE_LABEL) != node or meta.get("namespace") != namespace:
            continue
        key = key_of(labels)
        if key not in want or key in seen:
            plan.delete.append(meta.get("name", ""))
            continue
        seen.add(key)
        wanted = body(key, want[key])
        if (obj.get("status") or {}) != wanted:
            plan.update.append((meta.get("name", ""), wanted))
    for key in sorted(want.keys() - seen):  # type: ignore[type-var]
        plan.create.append(build(key, want[key]))
    return plan
