"""Small builders for the objects the doctor tests feed in."""

from __future__ import annotations

from typing import Any

NS = "metallb-system"


def pool(name: str, *addresses: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": meta,
        "spec": {"addresses": list(addresses)},
    }


def l2adv(name: str, *pools: str) -> dict[str, Any]:
    spec = {"ipAddressPools": list(pools)} if pools else {}
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "L2Advertisement",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def service(name: str, *ips: str, ns: str = "default", pool_name: str | None = None) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if pool_name:
        meta["annotations"] = {"metallb.io/ip-allocated-from-pool": pool_name}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}},
    }


def event(kind: str, name: str, reason: str, message: str, ns: str = "default", **extra: Any):
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{reason.lower()}", "namespace": ns},
        "involvedObject": {"kind": kind, "name": name, "namespace": ns},
        "reason": reason,
        "message": message,
        "type": "Warning",
        **extra,
    }


def configmap(name: str, ns: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def daemonset(name: str, ns: str, image: str = "busybox", labels: dict | None = None) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
    }


def l2status(svc: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ServiceL2Status",
        "metadata": {"name": f"l2-{svc}", "namespace": NS},
        "status": {"node": node, "serviceName": svc, "serviceNamespace": "default"},
    }


def node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
