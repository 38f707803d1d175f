"""Builders for pool and Service dicts shared by the controller tests."""

from __future__ import annotations

from typing import Any

from controller.assign import Assigner
from ironlb.config.model import IPAddressPool
from ironlb.config.parse import parse_object


def pool_dict(name: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": {"addresses": list(addresses), **spec},
    }


def pool(name: str, *addresses: str, **spec: Any) -> IPAddressPool:
    parsed = parse_object(pool_dict(name, *addresses, **spec))
    assert isinstance(parsed, IPAddressPool)
    return parsed


def svc(
    name: str,
    namespace: str = "default",
    *,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    ports: list[tuple[str, int]] | None = None,
    status: list[str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": annotations or {},
            "labels": labels or {},
        },
        "spec": {
            "type": "LoadBalancer",
            "ports": [{"protocol": p, "port": n} for p, n in (ports or [("TCP", 80)])],
            "selector": {"app": name},
            **spec,
        },
    }
    if status:
        body["status"] = {"loadBalancer": {"ingress": [{"ip": ip} for ip in status]}}
    return body


def assigner(*pools: IPAddressPool, lb_class: str | None = None) -> Assigner:
    from controller.allocator import Allocator

    a = Assigner(Allocator(), lb_class=lb_class)
    a.set_pools({p.name: p for p in pools})
    return a
