"""Pure: from a cache snapshot and the healthy speakers, who announces which L2 address.

For each address in a LoadBalancer Service's `status.loadBalancer.ingress` that belongs to
a pool with an L2Advertisement, the eligible nodes are those that

* have a healthy speaker (membership) — the fast signal,
* are Ready in the API and not labelled `node.kubernetes.io/exclude-from-external-load-balancers`,
* are selected by an L2Advertisement of that pool (`nodeSelectors`; its `serviceSelectors`
  must match the Service),
* for `externalTrafficPolicy: Local`, host a ready endpoint of the Service.

The owner is `elect(ip, eligible)`. Services sharing one address (`allow-shared-ip`) need a
node eligible for all of them. Like MetalLB, a Service whose EndpointSlices list no ready
endpoint is not announced; unlike MetalLB, a Service with no EndpointSlice at all is
announced (clusters and labs without an endpoint controller), see docs/speaker-l2.md.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

from ironlb.config import annotation
from ironlb.config.annotations import IP_ALLOCATED_FROM_POOL
from ironlb.config.selectors import matches_any
from ironlb.config.validate import Config
from speaker.election import rank

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"

Obj = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Snapshot:
    config: Config
    services: Sequence[Obj] = ()
    endpoint_slices: Sequence[Obj] = ()
    nodes: Sequence[Obj] = ()
    load_balancer_class: str | None = None  # None: only Services without a class


@dataclass(frozen=True, slots=True)
class L2Announcement:
    ip: str
    pool: str
    services: tuple[str, ...]  # "namespace/name", sorted
    ranked: tuple[str, ...]  # eligible nodes, owner first
    # per eligible node: the interfaces to answer on; None = every interface
    interfaces: Mapping[str, frozenset[str] | None] = field(default_factory=dict)

    @property
    def owner(self) -> str | None:
        return self.ranked[0] if self.ranked else None


@dataclass(frozen=True, slots=True)
class DesiredL2:
    announcements: Mapping[str, L2Announcement]
    # addresses that would be L2-announced but nobody is eligible, with the reason
    unannounced: Mapping[str, str] = field(default_factory=dict)

    def owned_by(self, node: str) -> dict[str, L2Announcement]:
        return {ip: a for ip, a in self.announcements.items() if a.owner == node}


def _name(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("name", ""))


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _labels(obj: Obj) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def node_is_ready(node: Obj) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def node_is_excluded(node: Obj) -> bool:
    return EXCLUDE_LABEL in _labels(node)


def ingress_ips(svc: Obj) -> list[str]:
    out = []
    for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        ip = ing.get("ip")
        if ip:
            try:
                out.append(str(ip_address(ip)))
            except ValueError:
                continue
    return out


def is_load_balancer(svc: Obj, lb_class: str | None) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and spec.get("loadBalancerClass") == lb_class


def pool_of(config: Config, svc: Obj, ip: str) -> str | None:
    named = annotation(svc, IP_ALLOCATED_FROM_POOL)
    if named and named in config.pools:
        return named
    addr = ip_address(ip)
    value, family = int(addr), addr.version
    for name, pool in sorted(config.pools.items()):
        if any(lo <= value <= hi and fam == family for lo, hi, fam in pool.ranges):
            return name
    return None


def endpoint_nodes(svc: Obj, slices: Iterable[Obj]) -> tuple[bool, set[str]]:
    """(any slice exists, nodes with a ready endpoint) for the Service."""
    meta = svc.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name")
    seen, nodes = False, set()
    for es in slices:
        es_meta = es.get("metadata") or {}
        if es_meta.get("namespace") != ns or _labels(es).get(SERVICE_NAME_LABEL) != name:
            continue
        seen = True
        for ep in es.get("endpoints") or []:
            ready = (ep.get("conditions") or {}).get("ready")
            if ready is None or ready is True:  # nil means ready (discovery.k8s.io/v1)
                nodes.add(str(ep.get("nodeName") or ""))
    return seen, nodes


def _service_candidates(
    snap: Snapshot, svc: Obj, pool: str, base: Mapping[str, Obj]
) -> tuple[dict[str, frozenset[str] | None], str]:
    """Nodes eligible for one Service in one pool, with their interfaces; or a reason."""
    advs = [
        a
        for a in snap.config.l2_advertisements_for(pool)
        if matches_any(a.service_selectors, _labels(svc))
    ]
    if not advs:
        return {}, "no L2Advertisement for the pool"
    slices_seen, ep_nodes = endpoint_nodes(svc, snap.endpoint_slices)
    if slices_seen and not (ep_nodes - {""}):
        return {}, "no ready endpoint"
    local = (svc.get("spec") or {}).get("externalTrafficPolicy") == "Local"
    out: dict[str, frozenset[str] | None] = {}
    for node_name, node in base.items():
        if local and node_name not in ep_nodes:
            continue
        selecting = [a for a in advs if matches_any(a.node_selectors, _labels(node))]
        if not selecting:
            continue
        if any(not a.interfaces for a in selecting):
            out[node_name] = None
        else:
            out[node_name] = frozenset(i for a in selecting for i in a.interfaces)
    if not out:
        return {}, "no eligible node (Local endpoints, selectors, readiness or speakers)"
    return out, ""


def desired_l2(snap: Snapshot, healthy: Collection[str]) -> DesiredL2:
    """Every L2 address with its ranked eligible nodes; the owner is `ranked[0]`."""
    base = {
        _name(n): n
        for n in snap.nodes
        if _name(n) in healthy and node_is_ready(n) and not node_is_excluded(n)
    }
    by_ip: dict[str, list[tuple[Obj, str]]] = {}
    for svc in snap.services:
        if not is_load_balancer(svc, snap.load_balancer_class):
            continue
        for ip in ingress_ips(svc):
            pool = pool_of(snap.config, svc, ip)
            if pool is not None:
                by_ip.setdefault(ip, []).append((svc, pool))
    announcements: dict[str, L2Announcement] = {}
    unannounced: dict[str, str] = {}
    for ip, users in sorted(by_ip.items()):
        eligible: dict[str, frozenset[str] | None] | None = None
        reason = ""
        for svc, pool in users:
            cands, why = _service_candidates(snap, svc, pool, base)
            reason = reason or why
            eligible = cands if eligible is None else _intersect(eligible, cands)
        if not eligible:
            if reason != "no L2Advertisement for the pool":
                unannounced[ip] = reason or "no node eligible for every Service sharing it"
            continue
        announcements[ip] = L2Announcement(
            ip=ip,
            pool=users[0][1],
            services=tuple(sorted(_key(s) for s, _ in users)),
            ranked=tuple(rank(ip, eligible)),
            interfaces=eligible,
        )
    return DesiredL2(announcements, unannounced)


def _intersect(
    a: Mapping[str, frozenset[str] | None], b: Mapping[str, frozenset[str] | None]
) -> dict[str, frozenset[str] | None]:
    out: dict[str, frozenset[str] | None] = {}
    for node in a.keys() & b.keys():
        x, y = a[node], b[node]
        out[node] = y if x is None else x if y is None else x & y
    return out
