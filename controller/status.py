"""What the controller writes: Service status/annotation patches, pool status, Events.

Pure builders; the reconcilers send them. A patch is returned only when the
object differs from what it should be, so an unchanged Service costs no write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller.allocator import IPAddress, PoolCounters
from controller.assign import ALLOCATED_FROM_POOL, Decision

INT64_MAX = 2**63 - 1
NORMAL, WARNING = "Normal", "Warning"


def ingress(ips: Sequence[IPAddress]) -> list[dict[str, str]]:
    return [{"ip": str(ip)} for ip in ips]


def current_ingress(svc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


def status_patch(svc: Mapping[str, Any], decision: Decision) -> dict[str, Any] | None:
    """Merge patch for the status subresource, or None if the status is already right."""
    want = ingress(decision.ips)
    have = [{"ip": i.get("ip")} for i in current_ingress(svc) if isinstance(i, dict)]
    if have == want and len(current_ingress(svc)) == len(want):
        return None
    return {"status": {"loadBalancer": {"ingress": want}}}


def annotation_patch(svc: Mapping[str, Any], decision: Decision) -> dict[str, Any] | None:
    """Merge patch setting (or removing) `metallb.io/ip-allocated-from-pool`, as MetalLB."""
    annotations = (svc.get("metadata") or {}).get("annotations") or {}
    want = decision.allocation.pool if decision.allocation else None
    if annotations.get(ALLOCATED_FROM_POOL) == want:
        return None
    return {"metadata": {"annotations": {ALLOCATED_FROM_POOL: want}}}


@dataclass(frozen=True, slots=True)
class EventSpec:
    type: str
    reason: str
    message: str


def decision_events(decision: Decision) -> list[EventSpec]:
    """Events for the user: what changed, and why a Service has no (wanted) address."""
    events: list[EventSpec] = []
    now = ", ".join(map(str, decision.ips))
    before = ", ".join(map(str, decision.previous))
    if decision.released is not None:
        events.append(EventSpec(WARNING, "AddressReleased", decision.released.message))
    if decision.changed:
        pool = decision.allocation.pool if decision.allocation else ""
        if decision.ips and not decision.previous:
            events.append(EventSpec(NORMAL, "IPAllocated", f"Assigned IP {now} from pool {pool}"))
        elif decision.ips:
            msg = f"Changed IP from {before} to {now} (pool {pool})"
            events.append(EventSpec(NORMAL, "IPChanged", msg))
        elif decision.released is None and decision.refusal is None:
            events.append(EventSpec(NORMAL, "IPReleased", f"Released IP {before}"))
    if decision.refusal is not None:
        events.append(EventSpec(WARNING, decision.refusal.reason.value, decision.refusal.message))
    return events


def not_announced_event(pool: str, ips: Sequence[IPAddress]) -> EventSpec:
    shown = ", ".join(map(str, ips))
    return EventSpec(
        WARNING,
        "NotAnnounced",
        f"{shown} is assigned from IPAddressPool {pool} but no L2Advertisement or "
        "BGPAdvertisement selects that pool, so nothing announces it; create one",
    )


def klipper_event(daemonset: str) -> EventSpec:
    return EventSpec(
        WARNING,
        "AnotherLoadBalancer",
        f"k3s ServiceLB (Klipper) DaemonSet kube-system/{daemonset} also handles this Service; "
        "both write its status. Disable it (k3s --disable servicelb)",
    )


def flapping_event() -> EventSpec:
    return EventSpec(
        WARNING,
        "AnotherLoadBalancer",
        "status.loadBalancer keeps being replaced by another writer; another load-balancer "
        "implementation is probably handling this Service (set spec.loadBalancerClass or "
        "remove it)",
    )


def condition(type_: str, ok: bool, reason: str, message: str, now_iso: str) -> dict[str, Any]:
    return {
        "type": type_,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": now_iso,
    }


def pool_status(
    counters: PoolCounters | None, conditions: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """IPAddressPool.status with MetalLB's field names (counts clamped to int64)."""
    c = counters or PoolCounters(0, 0, 0, 0)
    return {
        "assignedIPv4": min(c.assigned_ipv4, INT64_MAX),
        "assignedIPv6": min(c.assigned_ipv6, INT64_MAX),
        "availableIPv4": min(c.available_ipv4, INT64_MAX),
        "availableIPv6": min(c.available_ipv6, INT64_MAX),
        "conditions": list(conditions),
    }


def same_status(have: Mapping[str, Any] | None, want: Mapping[str, Any]) -> bool:
    """Equal ignoring lastTransitionTime (a condition's time changes only with its state)."""
    have = dict(have or {})

    def strip(conds: Any) -> list[tuple[Any, ...]]:
        return sorted(
            (c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
            for c in conds or []
            if isinstance(c, dict)
        )

    counts = ("assignedIPv4", "assignedIPv6", "availableIPv4", "availableIPv6")
    if any(have.get(k) != want.get(k) for k in counts):
        return False
    if "conditions" not in have:
        # The CRD may not keep conditions (structural pruning): compare counts only.
        return True
    return strip(have.get("conditions")) == strip(want.get("conditions"))


def keep_transition_times(
    have: Sequence[Mapping[str, Any]] | None, want: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    old = {(c.get("type"), c.get("status")): c.get("lastTransitionTime") for c in have or []}
    for c in want:
        kept = old.get((c["type"], c["status"]))
        if kept:
            c["lastTransitionTime"] = kept
    return want
