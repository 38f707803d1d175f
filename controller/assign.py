"""Decide a Service's addresses: Service + pools + namespaces -> addresses or a reason.

Pure: no I/O, no clock. `decide()` reads the Service (a plain dict as the API
returns it), the pools of the config model and the namespace labels, asks the
`Allocator` what is free, records the result in it and returns a `Decision` the
shell turns into a status patch and Events.

MetalLB semantics, in the order MetalLB applies them:
- only `type: LoadBalancer` Services of our class; others release what they held;
- a current address (from our record, else from status) is kept while it is still
  valid: inside a pool the Service may use, of the right families, matching the
  requested pool/IPs, shareable with its neighbours. An address is never moved
  needlessly;
- explicit addresses (`metallb.io/loadBalancerIPs` or `spec.loadBalancerIP`) must be
  inside a pool, of the Service's families, and free or shareable;
- `metallb.io/address-pool` names the pool (even an `autoAssign: false` one);
- otherwise pools whose `serviceAllocation` selects the Service, by priority (lower
  number first; no priority last), then every `autoAssign` pool without
  `serviceAllocation`; ties are broken by pool name so the choice is deterministic;
- dual-stack follows `ipFamilies`/`ipFamilyPolicy`: SingleStack one address,
  RequireDualStack one per family from one pool, PreferDualStack both if one pool
  can serve both, else the primary family, else the other.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from controller.allocator import (
    Allocation,
    Allocator,
    IPAddress,
    PoolDef,
    Port,
    Reason,
    Refusal,
    ShareKey,
)
from ironlb.config.model import IPAddressPool

PREFIXES = ("metallb.io", "metallb.universe.tf")
ALLOCATED_FROM_POOL = "metallb.io/ip-allocated-from-pool"
SINGLE, PREFER, REQUIRE = "SingleStack", "PreferDualStack", "RequireDualStack"
_FAMILY_NAMES = {"IPv4": 4, "IPv6": 6}


@functools.lru_cache(maxsize=64)
def _spellings(key: str) -> tuple[str, ...]:
    return tuple(f"{prefix}/{key}" for prefix in PREFIXES)


def annotation(svc: Mapping[str, Any], key: str) -> str | None:
    """`metallb.io/<key>`, else the legacy `metallb.universe.tf/<key>` (MetalLB's order)."""
    annotations = (svc.get("metadata") or {}).get("annotations")
    if not annotations:
        return None
    for spelled in _spellings(key):
        value = annotations.get(spelled)
        if value is not None:
            return value
    return None


def pool_defs(pools: Mapping[str, IPAddressPool]) -> list[PoolDef]:
    return [PoolDef(name, tuple(p.ranges), p.avoid_buggy_ips) for name, p in sorted(pools.items())]


class ServiceView(NamedTuple):
    """What allocation needs from a Service dict (a NamedTuple: cheap to build)."""

    key: str
    namespace: str
    labels: Mapping[str, str]
    is_load_balancer: bool
    lb_class: str | None
    families: tuple[int, ...]
    policy: str
    ports: frozenset[Port]
    share: ShareKey
    requested_pool: str | None
    requested_ips: tuple[IPAddress, ...]
    requested_error: str | None
    status_ips: tuple[IPAddress, ...]
    allocated_from: str | None

    @classmethod
    def from_dict(cls, svc: Mapping[str, Any]) -> ServiceView:
        meta = svc.get("metadata") or {}
        spec = svc.get("spec") or {}
        namespace = meta.get("namespace") or "default"
        requested, error = _requested_ips(svc)
        families, policy = _families(spec)
        return cls(
            key=f"{namespace}/{meta.get('name', '')}",
            namespace=namespace,
            labels=meta.get("labels") or {},
            is_load_balancer=spec.get("type") == "LoadBalancer",
            lb_class=spec.get("loadBalancerClass"),
            families=families,
            policy=policy,
            ports=frozenset(
                Port(p.get("protocol") or "TCP", int(p["port"]))
                for p in spec.get("ports") or []
                if p.get("port") is not None
            ),
            share=ShareKey(annotation(svc, "allow-shared-ip") or "", _backend_key(spec)),
            requested_pool=annotation(svc, "address-pool") or None,
            requested_ips=requested,
            requested_error=error,
            status_ips=status_ips(svc),
            allocated_from=(meta.get("annotations") or {}).get(ALLOCATED_FROM_POOL),
        )


def _backend_key(spec: Mapping[str, Any]) -> str:
    # Cluster policy shares regardless of backends; Local needs the same selector,
    # since the address is announced only from nodes with local endpoints.
    if spec.get("externalTrafficPolicy") == "Local":
        selector = spec.get("selector") or {}
        return "Local:" + ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return "Cluster"


def _families(spec: Mapping[str, Any]) -> tuple[tuple[int, ...], str]:
    policy = spec.get("ipFamilyPolicy") or SINGLE
    families = [_FAMILY_NAMES[f] for f in spec.get("ipFamilies") or [] if f in _FAMILY_NAMES]
    if not families:
        for text in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            ip = _parse_ip(text)
            if ip is not None:
                families.append(ip.version)
    if not families:
        families = [4] if policy == SINGLE else [4, 6]
    if policy == SINGLE:
        families = families[:1]
    elif policy == REQUIRE and len(families) == 1:
        families.append(10 - families[0])
    return tuple(dict.fromkeys(families)), policy


def _parse_ip(text: Any) -> IPAddress | None:
    if not isinstance(text, str):
        return None
    return _parse_ip_text(text)


@functools.lru_cache(maxsize=65536)
def _parse_ip_text(text: str) -> IPAddress | None:
    # Status addresses are parsed on every decision; parsing dominates without the cache.
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def status_ips(svc: Mapping[str, Any]) -> tuple[IPAddress, ...]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ips = (_parse_ip(item.get("ip")) for item in ingress if isinstance(item, dict))
    return tuple(ip for ip in ips if ip is not None)


def _requested_ips(svc: Mapping[str, Any]) -> tuple[tuple[IPAddress, ...], str | None]:
    spec = svc.get("spec") or {}
    from_annotation = annotation(svc, "loadBalancerIPs")
    from_spec = spec.get("loadBalancerIP") or ""
    spec_list = spec.get("loadBalancerIPs") or []
    if from_annotation and (from_spec or spec_list):
        return (), "both metallb.io/loadBalancerIPs and spec.loadBalancerIP are set"
    if from_annotation:
        texts, field = from_annotation.split(","), "metallb.io/loadBalancerIPs"
    elif from_spec:
        texts, field = [from_spec], "spec.loadBalancerIP"
    elif spec_list:
        texts, field = list(spec_list), "spec.loadBalancerIPs"
    else:
        return (), None
    ips = []
    for text in texts:
        ip = _parse_ip(text)
        if ip is None:
            return (), f"{field}: {text.strip()!r} is not an IP address"
        ips.append(ip)
    if len(ips) > 2 or len({ip.version for ip in ips}) != len(ips):
        return (), f"{field}: give at most one address per IP family"
    return tuple(ips), None


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one Service.

    `allocation` is what the Service should show (None: no address); `previous` is
    what it showed or held before; `refusal` says why it has no (or not the wanted)
    address; `released` says why a previous address was taken away; `ignored` marks
    Services that are not ours (another loadBalancerClass): leave them untouched.
    """

    service: str
    allocation: Allocation | None
    previous: tuple[IPAddress, ...] = ()
    refusal: Refusal | None = None
    released: Refusal | None = None
    ignored: bool = False

    @property
    def ips(self) -> tuple[IPAddress, ...]:
        return self.allocation.ips if self.allocation else ()

    @property
    def changed(self) -> bool:
        return set(self.ips) != set(self.previous)


class _Shown:
    __slots__ = ("ips",)

    def __init__(self, ips: tuple[IPAddress, ...]) -> None:
        self.ips = ips

    def __str__(self) -> str:
        return ", ".join(map(str, self.ips))

    def __format__(self, spec: str) -> str:
        return str(self)


class Assigner:
    """Pools as the config model gives them, plus the allocator they feed."""

    def __init__(self, allocator: Allocator, lb_class: str | None = None) -> None:
        self.allocator = allocator
        self.lb_class = lb_class
        self.pools: dict[str, IPAddressPool] = {}

    def set_pools(self, pools: Mapping[str, IPAddressPool]) -> list[str]:
        """Install pools; returns the Services whose assignment was taken back."""
        self.pools = dict(pools)
        return [e.service for e in self.allocator.set_pools(pool_defs(self.pools))]

    def is_ours(self, svc: Mapping[str, Any]) -> bool:
        spec = svc.get("spec") or {}
        return spec.get("loadBalancerClass") in (None, "", self.lb_class)

    def restore(self, svc: Mapping[str, Any]) -> Allocation | Refusal | None:
        """Record what a Service's status already shows, before anything new is assigned.

        Run over every Service at start-up; `decide()` later re-checks the rest of the
        rules. Two Services showing the same unshareable address: the first restored
        keeps it (the shell restores oldest first), the other is refused here and gets
        a new address when it is decided.
        """
        if not self.is_ours(svc):
            return None
        view = ServiceView.from_dict(svc)
        if not view.is_load_balancer or not view.status_ips:
            return None
        return self.allocator.assign(view.key, view.status_ips, view.ports, view.share)

    def decide(
        self, svc: Mapping[str, Any], namespace_labels: Mapping[str, Mapping[str, str]]
    ) -> Decision:
        view = ServiceView.from_dict(svc)
        held = self.allocator.allocation(view.key)
        previous = held.ips if held else view.status_ips
        if not self.is_ours(svc):
            self.allocator.release(view.key)
            return Decision(view.key, None, previous, ignored=True)
        if not view.is_load_balancer:
            self.allocator.release(view.key)
            return Decision(view.key, None, previous)
        if not self.pools:
            self.allocator.release(view.key)
            refusal = Refusal(Reason.NO_POOLS, "no IPAddressPool is configured")
            return Decision(view.key, None, previous, refusal=refusal)
        ns_labels = namespace_labels.get(view.namespace) or {}
        if view.requested_error:
            # Keep what the Service holds; a typo must not take a working address away.
            refusal = Refusal(Reason.IP_INVALID, view.requested_error)
            return Decision(view.key, held, previous, refusal=refusal)
        released = None
        if previous:
            kept = self._keep(view, previous, ns_labels)
            if isinstance(kept, Allocation):
                return Decision(view.key, kept, previous)
            released = kept
            self.allocator.release(view.key)
        result = self._allocate(view, ns_labels)
        if isinstance(result, Refusal):
            return Decision(view.key, None, previous, refusal=result, released=released)
        return Decision(view.key, result, previous, released=released)

    # -- keeping the current address ----------------------------------------------

    def _keep(
        self, view: ServiceView, current: tuple[IPAddress, ...], ns_labels: Mapping[str, str]
    ) -> Allocation | Refusal:
        shown = _Shown(current)  # formatted only if a message needs it (IPv6 str() is slow)
        versions = {ip.version for ip in current}
        if not versions <= set(view.families) or (
            view.policy != PREFER and versions != set(view.families)
        ):
            return Refusal(Reason.IP_WRONG_FAMILY, f"{shown} does not match the ipFamilies")
        pool = self.allocator.pool_for(current)
        if pool is None:
            return self._left_pool(view, shown)
        if not self._allows(self.pools[pool], view, ns_labels):
            return Refusal(
                Reason.POOL_NOT_ALLOWED,
                f"IPAddressPool {pool} serviceAllocation no longer selects this Service",
            )
        if view.requested_pool and view.requested_pool != pool:
            return Refusal(Reason.POOL_NOT_ALLOWED, f"pool {view.requested_pool} was requested")
        if view.requested_ips and set(view.requested_ips) != set(current):
            wanted = ", ".join(map(str, view.requested_ips))
            return Refusal(Reason.IP_NOT_IN_POOL, f"{wanted} was requested instead of {shown}")
        held = self.allocator.allocation(view.key)
        if (
            held is not None
            and held.ips == current
            and held.ports == view.ports
            and held.key == view.share
            and (view.policy != PREFER or len(current) == 2)
        ):
            return held  # nothing changed since it was recorded: the common resync
        result = self.allocator.assign(view.key, current, view.ports, view.share)
        if isinstance(result, Refusal) or view.policy != PREFER or len(current) == 2:
            return result
        if view.requested_ips:
            return result  # the user pinned the addresses: no second family on top
        return self._add_missing_family(view, result)

    def _left_pool(self, view: ServiceView, shown: _Shown) -> Refusal:
        old = view.allocated_from
        if old and old not in self.pools:
            message = f"IPAddressPool {old} was deleted; {shown} released"
            return Refusal(Reason.POOL_DELETED, message)
        where = f"IPAddressPool {old}" if old else "any IPAddressPool"
        return Refusal(Reason.POOL_SHRUNK, f"{shown} is no longer in {where}; released")

    def _add_missing_family(self, view: ServiceView, held: Allocation) -> Allocation:
        missing = [f for f in view.families if f != held.ips[0].version]
        if not missing:
            return held
        ip = self.allocator.next_free(held.pool, missing[0], view.key, view.ports, view.share)
        if ip is None:
            return held
        both = self.allocator.assign(view.key, (*held.ips, ip), view.ports, view.share)
        return both if isinstance(both, Allocation) else held

    # -- a fresh allocation -------------------------------------------------------

    def _allocate(self, view: ServiceView, ns_labels: Mapping[str, str]) -> Allocation | Refusal:
        if view.requested_ips:
            return self._allocate_requested(view, ns_labels)
        if view.requested_pool:
            pool = self.pools.get(view.requested_pool)
            if pool is None:
                return Refusal(
                    Reason.POOL_MISSING, f"IPAddressPool {view.requested_pool} does not exist"
                )
            if not self._allows(pool, view, ns_labels):
                return Refusal(
                    Reason.POOL_NOT_ALLOWED,
                    f"IPAddressPool {pool.name} serviceAllocation does not select this Service",
                )
            return self._from_pools(view, [pool.name])
        pinned, general = self._candidates(view, ns_labels)
        if not pinned and not general:
            return Refusal(
                Reason.NO_SUITABLE_POOL, "no IPAddressPool with autoAssign selects this Service"
            )
        result = self._from_pools(view, pinned) if pinned else None
        if result is None or isinstance(result, Refusal):
            result = self._from_pools(view, general) if general else result
        assert result is not None
        return result

    def _allocate_requested(
        self, view: ServiceView, ns_labels: Mapping[str, str]
    ) -> Allocation | Refusal:
        shown = ", ".join(map(str, view.requested_ips))
        versions = {ip.version for ip in view.requested_ips}
        if not versions <= set(view.families) or (
            view.policy != PREFER and versions != set(view.families)
        ):
            return Refusal(
                Reason.IP_WRONG_FAMILY, f"requested {shown} does not match the Service ipFamilies"
            )
        pool = self.allocator.pool_for(view.requested_ips)
        if pool is None:
            return Refusal(Reason.IP_NOT_IN_POOL, f"requested {shown} is not in any IPAddressPool")
        if view.requested_pool and view.requested_pool != pool:
            return Refusal(
                Reason.IP_NOT_IN_POOL,
                f"requested {shown} is in IPAddressPool {pool}, not {view.requested_pool}",
            )
        if not self._allows(self.pools[pool], view, ns_labels):
            return Refusal(
                Reason.POOL_NOT_ALLOWED,
                f"IPAddressPool {pool} serviceAllocation does not select this Service",
            )
        result = self.allocator.assign(view.key, view.requested_ips, view.ports, view.share)
        if isinstance(result, Refusal) and result.reason is not Reason.PORT_CLASH:
            return Refusal(Reason.IP_TAKEN, f"requested {result.message}")
        return result

    def _candidates(
        self, view: ServiceView, ns_labels: Mapping[str, str]
    ) -> tuple[list[str], list[str]]:
        pinned: list[tuple[int, int, str]] = []
        general: list[str] = []
        for name, pool in sorted(self.pools.items()):
            if not pool.auto_assign:
                continue
            alloc = pool.service_allocation
            if alloc is None:
                general.append(name)
            elif self._allows(pool, view, ns_labels):
                # Lower priority number wins; 0 means "no priority" and goes last.
                pinned.append((alloc.priority == 0, alloc.priority, name))
        return [name for _, _, name in sorted(pinned)], general

    @staticmethod
    def _allows(pool: IPAddressPool, view: ServiceView, ns_labels: Mapping[str, str]) -> bool:
        alloc = pool.service_allocation
        if alloc is None:
            return True
        if alloc.namespaces or alloc.namespace_selectors:
            by_name = view.namespace in alloc.namespaces
            by_label = any(s.matches(ns_labels) for s in alloc.namespace_selectors)
            if not (by_name or by_label):
                return False
        if alloc.service_selectors:
            return any(s.matches(view.labels) for s in alloc.service_selectors)
        return True

    def _from_pools(self, view: ServiceView, pools: list[str]) -> Allocation | Refusal:
        """The first pool that gives every wanted family (PreferDualStack: the best it can)."""
        primary: list[IPAddress] | None = None
        fallback: list[IPAddress] | None = None
        served = False
        for name in pools:
            families = self.allocator.pool_families(name)
            served |= bool(families & set(view.families))
            got = [
                ip
                for f in view.families
                if f in families
                and (ip := self.allocator.next_free(name, f, view.key, view.ports, view.share))
            ]
            if len(got) == len(view.families):
                return self._commit(view, got)
            if view.policy != PREFER or not got:
                continue
            if got[0].version == view.families[0] and primary is None:
                primary = got
            elif fallback is None:
                fallback = got
        chosen = primary or fallback
        if chosen:
            return self._commit(view, chosen)
        want = " and ".join(f"IPv{f}" for f in view.families)
        names = ", ".join(pools)
        if served:
            return Refusal(Reason.POOL_EXHAUSTED, f"no free {want} address in {names}")
        return Refusal(Reason.NO_SUITABLE_POOL, f"no IPAddressPool among {names} serves {want}")

    def _commit(self, view: ServiceView, ips: list[IPAddress]) -> Allocation | Refusal:
        return self.allocator.assign(view.key, ips, view.ports, view.share)
