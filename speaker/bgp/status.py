"""Pure: the ServiceBGPStatus objects this node should have, and the writes to get there.

Like MetalLB: one ServiceBGPStatus per (Service, announcing node) in the speaker's namespace,
labelled `metallb.io/node`, `metallb.io/service-name`, `metallb.io/service-namespace`, with
`status: {node, serviceName, serviceNamespace, peers: [BGPPeer names]}`. MetalLB names them
`bgp-<random>`; ironlb derives the suffix from (node, Service) so a restarted speaker reuses
its own objects. The plan has the same shape as the L2 one (speaker/status.py), so the speaker
applies both with the same code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from speaker.bgp.desired import BgpDesired
from speaker.status import (
    API_VERSION,
    NODE_LABEL,
    SERVICE_NAME_LABEL,
    SERVICE_NAMESPACE_LABEL,
    ServiceKey,
    StatusPlan,
    diff_objects,
)


def object_name(node: str, key: ServiceKey) -> str:
    digest = hashlib.sha256(f"{node}/{key[0]}/{key[1]}".encode()).hexdigest()
    return f"bgp-{digest[:10]}"


def status_body(node: str, key: ServiceKey, peers: Iterable[str]) -> dict[str, Any]:
    return {
        "node": node,
        "serviceName": key[1],
        "serviceNamespace": key[0],
        "peers": sorted(set(peers)),
    }


def build_object(node: str, namespace: str, key: ServiceKey, peers: Iterable[str]) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "ServiceBGPStatus",
        "metadata": {
            "name": object_name(node, key),
            "namespace": namespace,
            "labels": {
                NODE_LABEL: node,
                SERVICE_NAME_LABEL: key[1],
                SERVICE_NAMESPACE_LABEL: key[0],
            },
        },
        "status": status_body(node, key, peers),
    }


def wanted(desired: BgpDesired) -> dict[ServiceKey, tuple[str, ...]]:
    return {(a.namespace, a.name): a.peers for a in desired.services}


def plan_bgp_status(
    node: str,
    namespace: str,
    desired: BgpDesired,
    existing: Iterable[Mapping[str, Any]],
) -> StatusPlan:
    """Creates, status updates and deletes that make this node's ServiceBGPStatuses right."""
    return diff_objects(
        node,
        namespace,
        wanted(desired),
        existing,
        body=lambda key, peers: status_body(node, key, peers),
        build=lambda key, peers: build_object(node, namespace, key, peers),
    )
