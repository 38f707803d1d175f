"""Service annotations MetalLB reads, under `metallb.io/` and legacy `metallb.universe.tf/`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFIX = "metallb.io/"
LEGACY_PREFIX = "metallb.universe.tf/"

ADDRESS_POOL = "address-pool"
LOADBALANCER_IPS = "loadBalancerIPs"
ALLOW_SHARED_IP = "allow-shared-ip"
IP_ALLOCATED_FROM_POOL = "ip-allocated-from-pool"

KNOWN_KEYS = (ADDRESS_POOL, LOADBALANCER_IPS, ALLOW_SHARED_IP, IP_ALLOCATED_FROM_POOL)


def annotation(svc: Mapping[str, Any], key: str) -> str | None:
    """The value of `metallb.io/<key>`, else of `metallb.universe.tf/<key>`, else None."""
    meta = svc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    for prefix in (PREFIX, LEGACY_PREFIX):
        value = annotations.get(prefix + key)
        if value is not None:
            return str(value)
    return None


def split_list(value: str | None) -> list[str]:
    """A comma-separated annotation value (loadBalancerIPs) as a list, blanks dropped."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]
