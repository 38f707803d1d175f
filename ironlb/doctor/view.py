"""Derived views doctor's checks share: pools as ranges, which pools are advertised,
which Services are ours and which addresses they hold."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ironlb.config.addresses import AddressError, parse_range
from ironlb.config.selectors import SelectorError, matches
from ironlb.doctor.snapshot import Obj, Snapshot

ALLOCATED_FROM = ("metallb.io/ip-allocated-from-pool", "metallb.universe.tf/ip-allocated-from-pool")


@dataclass(frozen=True)
class Pool:
    obj: Obj
    name: str
    ranges: tuple[tuple[int, int, int], ...]

    def contains(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(r[2] == addr.version and r[0] <= int(addr) <= r[1] for r in self.ranges)

    def size(self, family: int) -> int:
        return sum(r[1] - r[0] + 1 for r in self.ranges if r[2] == family)


def name(obj: Obj) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def namespace(obj: Obj) -> str:
    return (obj.get("metadata") or {}).get("namespace", "")


def labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def spec(obj: Obj) -> dict[str, Any]:
    return obj.get("spec") or {}


def pools(snap: Snapshot) -> list[Pool]:
    out = []
    for obj in snap.of("IPAddressPool"):
        ranges = []
        for entry in spec(obj).get("addresses") or []:
            try:
                ranges.append(parse_range(entry))
            except AddressError:
                continue  # reported by the config validation check
        out.append(Pool(obj, name(obj), tuple(ranges)))
    return out


def advertised_pools(snap: Snapshot, kind: str) -> set[str]:
    """Names of pools some advertisement of `kind` selects (no selection = every pool)."""
    all_pools = {name(p): labels(p) for p in snap.of("IPAddressPool")}
    selected: set[str] = set()
    for adv in snap.of(kind):
        names = spec(adv).get("ipAddressPools") or []
        selectors = spec(adv).get("ipAddressPoolSelectors") or []
        if not names and not selectors:
            return set(all_pools)
        selected.update(n for n in names if n in all_pools)
        for sel in selectors:
            try:
                selected.update(p for p, lbl in all_pools.items() if matches(sel, lbl))
            except SelectorError:
                continue
    return selected


def is_our_service(svc: Obj, lb_class: str | None) -> bool:
    s = spec(svc)
    if s.get("type") != "LoadBalancer":
        return False
    return s.get("loadBalancerClass") in (None, lb_class)


def ingress_ips(svc: Obj) -> list[str]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [i["ip"] for i in ingress if isinstance(i, dict) and i.get("ip")]


def addresses_in_use(snap: Snapshot, all_pools: list[Pool]) -> dict[tuple[str, int], set[str]]:
    """(pool name, family) → the distinct Service addresses inside that pool."""
    used: dict[tuple[str, int], set[str]] = {}
    for svc in snap.of("Service"):
        for ip in ingress_ips(svc):
            for pool in all_pools:
                if pool.contains(ip):
                    used.setdefault((pool.name, 6 if ":" in ip else 4), set()).add(ip)
    return used


def service_pool(svc: Obj, all_pools: list[Pool]) -> Pool | None:
    annotations = (svc.get("metadata") or {}).get("annotations") or {}
    for key in ALLOCATED_FROM:
        wanted = annotations.get(key)
        if wanted:
            return next((p for p in all_pools if p.name == wanted), None)
    ips = ingress_ips(svc)
    return next((p for p in all_pools if ips and p.contains(ips[0])), None)


def events_for(snap: Snapshot, obj: Obj) -> list[Obj]:
    """Events about `obj`, newest last."""
    kind, ns, nm = obj.get("kind"), namespace(obj), name(obj)
    found = [
        e
        for e in snap.of("Event")
        if (e.get("involvedObject") or {}).get("kind") == kind
        and (e.get("involvedObject") or {}).get("name") == nm
        and (e.get("involvedObject") or {}).get("namespace", ns) == ns
    ]
    return sorted(found, key=_event_time)


def _event_time(event: Obj) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )
