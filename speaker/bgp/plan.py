"""Pure: cluster snapshot → what this node's BGP speaker announces, to whom (`BgpDesired`).

MetalLB's BGP semantics:
- Peers: every BGPPeer whose `nodeSelectors` match this node (none: every node).
- Routes: for each LoadBalancer Service address in `status.loadBalancer.ingress`, its pool's
  BGPAdvertisements (`ipAddressPools`/`ipAddressPoolSelectors`, none: every pool) whose
  `serviceSelectors` match the Service and `nodeSelectors` match this node announce
  address/aggregationLength (aggregationLengthV6 for IPv6) to `peers` (none: every peer of
  this node) with `communities` (inline or Community aliases) and `localPref` (sent to iBGP
  peers only).
- `externalTrafficPolicy: Local`: only from nodes with a ready endpoint of the Service;
  `Cluster`: from every eligible node while the Service has any ready endpoint.
- A node labelled `node.kubernetes.io/exclude-from-external-load-balancers` announces nothing.
Two advertisements giving the same prefix to the same peer merge: communities are united and
the highest localPref wins (MetalLB would send both and the last UPDATE would win).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ironlb.config import BGPPeer, LargeCommunity, StandardCommunity
from ironlb.config.selectors import matches_any
from ironlb.config.validate import Config
from ironlb.log import Secret
from speaker.bgp.desired import BfdDesired, BgpDesired, PeerDesired, ServiceAnnouncement
from speaker.bgp.session import Route
from speaker.desired import endpoint_nodes, ingress_ips, node_is_excluded, pool_of

Obj = Mapping[str, Any]
SecretKey = tuple[str, str]  # (namespace, name)


def plan_bgp(
    config: Config,
    services: Sequence[Obj],
    endpoint_slices: Sequence[Obj],
    nodes: Sequence[Obj],
    node_name: str,
    *,
    secrets: Mapping[SecretKey, Obj] | None = None,
    load_balancer_class: str | None = None,
) -> BgpDesired:
    node = next((n for n in nodes if _name(n) == node_name), None)
    labels = _labels(node) if node is not None else {}
    if node is not None and node_is_excluded(node):
        return BgpDesired()
    peers = {
        p.name: d
        for p in sorted(config.bgp_peers.values(), key=lambda p: p.name)
        if matches_any(p.node_selectors, labels)
        and (d := peer_desired(p, config, secrets or {})) is not None
    }
    routes: dict[str, dict[Any, Route]] = {name: {} for name in peers}
    announced: list[ServiceAnnouncement] = []
    for svc in services:
        if not _is_lb(svc, load_balancer_class):
            continue
        if not _eligible(svc, endpoint_slices, node_name):
            continue
        svc_peers: set[str] = set()
        for ip in ingress_ips(svc):
            pool = pool_of(config, svc, ip)
            if pool is None:
                continue
            for adv in config.bgp_advertisements_for(pool):
                if not matches_any(adv.service_selectors, _labels(svc)):
                    continue
                if not matches_any(adv.node_selectors, labels):
                    continue
                route = _route(ip, adv)
                targets = [p for p in (adv.peers or peers) if p in peers]
                for peer_name in targets:
                    table = routes[peer_name]
                    table[route.prefix] = _merge(table.get(route.prefix), route)
                    svc_peers.add(peer_name)
        if svc_peers:
            meta = svc.get("metadata") or {}
            announced.append(
                ServiceAnnouncement(
                    str(meta.get("namespace", "")),
                    str(meta.get("name", "")),
                    tuple(sorted(svc_peers)),
                )
            )
    return BgpDesired(
        peers=peers,
        routes={name: frozenset(table.values()) for name, table in routes.items()},
        services=tuple(sorted(announced, key=lambda a: (a.namespace, a.name))),
    )


def peer_desired(
    peer: BGPPeer, config: Config, secrets: Mapping[SecretKey, Obj]
) -> PeerDesired | None:
    """One BGPPeer as the session runner needs it; None for what ironlb cannot run."""
    if peer.peer_address is None:  # unnumbered (`interface`) peering is not supported
        return None
    peer_asn = peer.peer_asn
    if peer_asn is None:
        # dynamicASN: internal means the same AS; external accepts any other AS (0).
        peer_asn = peer.my_asn if peer.dynamic_asn == "internal" else 0
    bfd = None
    if peer.bfd_profile and peer.bfd_profile in config.bfd_profiles:
        prof = config.bfd_profiles[peer.bfd_profile]
        bfd = BfdDesired(
            name=prof.name,
            receive_interval=prof.receive_interval,
            transmit_interval=prof.transmit_interval,
            detect_multiplier=prof.detect_multiplier,
            passive_mode=prof.passive_mode,
            minimum_ttl=prof.minimum_ttl,
        )
    return PeerDesired(
        name=peer.name,
        my_asn=peer.my_asn,
        peer_asn=peer_asn,
        peer_address=peer.peer_address,
        peer_port=peer.peer_port,
        source_address=peer.source_address,
        router_id=peer.router_id,
        hold_time=peer.hold_time,
        keepalive_time=peer.keepalive_time if peer.keepalive_time_set else None,
        connect_time=peer.connect_time,
        password=_password(peer, secrets),
        ebgp_multihop=peer.ebgp_multi_hop,
        graceful_restart=peer.enable_graceful_restart,
        bfd=bfd,
    )


def _password(peer: BGPPeer, secrets: Mapping[SecretKey, Obj]) -> Secret | None:
    if peer.password:
        return peer.password
    ref = peer.password_secret
    if ref is None:
        return None
    secret = secrets.get((ref.namespace or peer.namespace, ref.name))
    if secret is None:
        return None  # the shell logs the missing Secret; the session then runs without MD5
    plain = (secret.get("stringData") or {}).get("password")
    if plain:
        return Secret(str(plain))
    raw = (secret.get("data") or {}).get("password")
    if not raw:
        return None
    try:
        return Secret(base64.b64decode(raw, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError):
        return None


def _route(ip: str, adv: Any) -> Route:
    addr = ipaddress.ip_address(ip)
    length = adv.aggregation_length if addr.version == 4 else adv.aggregation_length_v6
    prefix = ipaddress.ip_network((addr, length), strict=False)
    std = tuple(
        sorted({c.to_uint32() for c in adv.community_values if isinstance(c, StandardCommunity)})
    )
    large = tuple(
        sorted(
            {
                (c.global_admin, c.local_data1, c.local_data2)
                for c in adv.community_values
                if isinstance(c, LargeCommunity)
            }
        )
    )
    return Route(prefix, local_pref=adv.local_pref, communities=std, large_communities=large)


def _merge(old: Route | None, new: Route) -> Route:
    if old is None:
        return new
    prefs = [p for p in (old.local_pref, new.local_pref) if p is not None]
    return Route(
        new.prefix,
        local_pref=max(prefs) if prefs else None,
        communities=tuple(sorted(set(old.communities) | set(new.communities))),
        large_communities=tuple(sorted(set(old.large_communities) | set(new.large_communities))),
    )


def _eligible(svc: Obj, slices: Iterable[Obj], node_name: str) -> bool:
    seen, ready_nodes = endpoint_nodes(svc, slices)
    if seen and not (ready_nodes - {""}):
        return False  # no ready endpoint anywhere: announce from nowhere
    local = (svc.get("spec") or {}).get("externalTrafficPolicy") == "Local"
    return not local or node_name in ready_nodes


def _is_lb(svc: Obj, lb_class: str | None) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and spec.get("loadBalancerClass") == lb_class


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _labels(obj: Obj | None) -> Mapping[str, str]:
    if obj is None:
        return {}
    return (obj.get("metadata") or {}).get("labels") or {}
