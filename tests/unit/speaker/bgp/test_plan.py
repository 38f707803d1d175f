"""plan_bgp: BGPPeer/BGPAdvertisement semantics on real metallb.io objects via build_config."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

from ironlb.config import build_config
from speaker.bgp.plan import plan_bgp
from speaker.bgp.status import plan_bgp_status

NS = "metallb-system"


def obj(kind: str, name: str, spec: dict[str, Any], api: str = "metallb.io/v1beta1") -> dict:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def peer(name: str, **spec: Any) -> dict:
    base = {"myASN": 64513, "peerASN": 64512, "peerAddress": "198.51.100.1"}
    return obj("BGPPeer", name, {**base, **spec}, "metallb.io/v1beta2")


def node(name: str, **labels: str) -> dict:
    return {"metadata": {"name": name, "labels": labels}}


def service(name: str, ip: str, policy: str = "Cluster", **labels: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": policy},
        "status": {"loadBalancer": {"ingress": [{"ip": ip}]}},
    }


def slice_(svc: str, *nodes_ready: tuple[str, bool]) -> dict:
    return {
        "metadata": {
            "name": f"{svc}-x",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": svc},
        },
        "endpoints": [{"nodeName": n, "conditions": {"ready": r}} for n, r in nodes_ready],
    }


def config(*extra: dict) -> Any:
    objs = [
        obj("IPAddressPool", "pool-a", {"addresses": ["203.0.113.0/26", "2001:db8:100::/64"]}),
        obj("IPAddressPool", "pool-b", {"addresses": ["203.0.113.64/26"]}),
        obj(
            "Community", "aliases", {"communities": [{"name": "no-export", "value": "65535:65281"}]}
        ),
        *extra,
    ]
    result = build_config(objs)
    assert not result.errors, result.errors
    return result.config


def prefixes(desired: Any, peer_name: str) -> set[str]:
    return {str(r.prefix) for r in desired.routes[peer_name]}


def test_all_pools_all_peers_with_aggregation_communities_local_pref() -> None:
    cfg = config(
        peer("tor-a"),
        peer("tor-b", peerASN=64513, peerAddress="198.51.100.2"),
        obj(
            "BGPAdvertisement",
            "agg",
            {
                "aggregationLength": 28,
                "aggregationLengthV6": 64,
                "localPref": 300,
                "communities": ["no-export", "64512:7", "large:64512:1:2"],
            },
        ),
    )
    svcs = [service("web", "203.0.113.10"), service("web6", "2001:db8:100::5")]
    d = plan_bgp(cfg, svcs, [], [node("n1")], "n1")
    assert set(d.peers) == {"tor-a", "tor-b"}
    assert prefixes(d, "tor-a") == {"203.0.113.0/28", "2001:db8:100::/64"}
    route = next(r for r in d.routes["tor-b"] if r.prefix.version == 4)
    assert route.local_pref == 300
    assert route.communities == ((64512 << 16) | 7, (65535 << 16) | 65281)
    assert route.large_communities == ((64512, 1, 2),)
    assert [(a.name, a.peers) for a in d.services] == [
        ("web", ("tor-a", "tor-b")),
        ("web6", ("tor-a", "tor-b")),
    ]


def test_peer_node_selectors_and_adv_peers_pools_node_selectors() -> None:
    cfg = config(
        peer("rack1", nodeSelectors=[{"matchLabels": {"rack": "1"}}]),
        peer("rack2", peerAddress="198.51.100.2", nodeSelectors=[{"matchLabels": {"rack": "2"}}]),
        obj("BGPAdvertisement", "only-b", {"ipAddressPools": ["pool-b"], "peers": ["rack1"]}),
        obj(
            "BGPAdvertisement",
            "a-on-edge",
            {"ipAddressPools": ["pool-a"], "nodeSelectors": [{"matchLabels": {"edge": "y"}}]},
        ),
    )
    svcs = [service("a", "203.0.113.5"), service("b", "203.0.113.70")]
    d1 = plan_bgp(cfg, svcs, [], [node("n1", rack="1")], "n1")
    assert set(d1.peers) == {"rack1"}
    assert prefixes(d1, "rack1") == {"203.0.113.70/32"}
    d2 = plan_bgp(cfg, svcs, [], [node("n2", rack="1", edge="y")], "n2")
    assert prefixes(d2, "rack1") == {"203.0.113.70/32", "203.0.113.5/32"}
    d3 = plan_bgp(cfg, svcs, [], [node("n3", rack="2")], "n3")
    assert prefixes(d3, "rack2") == set()  # pool-b goes to rack1 only; pool-a needs edge=y


def test_external_traffic_policy_local_and_ready_endpoints() -> None:
    cfg = config(peer("tor"), obj("BGPAdvertisement", "all", {}))
    svcs = [service("loc", "203.0.113.5", "Local"), service("clu", "203.0.113.6")]
    slices = [slice_("loc", ("n1", True), ("n2", False)), slice_("clu", ("n2", False))]
    on = {n: prefixes(plan_bgp(cfg, svcs, slices, [node(n)], n), "tor") for n in ("n1", "n2")}
    assert on == {"n1": {"203.0.113.5/32"}, "n2": set()}  # clu has no ready endpoint at all
    slices[1] = slice_("clu", ("n2", True))
    assert prefixes(plan_bgp(cfg, svcs, slices, [node("n1")], "n1"), "tor") == {
        "203.0.113.5/32",
        "203.0.113.6/32",
    }


def test_excluded_node_announces_nothing() -> None:
    cfg = config(peer("tor"), obj("BGPAdvertisement", "all", {}))
    excluded = node("n1", **{"node.kubernetes.io/exclude-from-external-load-balancers": ""})
    d = plan_bgp(cfg, [service("a", "203.0.113.5")], [], [excluded], "n1")
    assert d.peers == {} and d.routes == {}


def test_password_secret_bfd_profile_timers() -> None:
    cfg = config(
        peer(
            "tor",
            passwordSecret={"name": "bgp-pass", "namespace": NS},
            bfdProfile="fast",
            holdTime="9s",
            keepaliveTime="3s",
            ebgpMultiHop=True,
        ),
        obj("BFDProfile", "fast", {"receiveInterval": 100, "transmitInterval": 150}),
    )
    secret = {"data": {"password": base64.b64encode(b"s3cret").decode()}}
    d = plan_bgp(cfg, [], [], [node("n1")], "n1", secrets={(NS, "bgp-pass"): secret})
    p = d.peers["tor"]
    assert p.password is not None and p.password.reveal() == "s3cret"
    assert "s3cret" not in repr(p)
    assert (p.hold_time, p.keepalive_time, p.ebgp_multihop) == (9.0, 3.0, True)
    assert p.bfd is not None and (p.bfd.receive_interval, p.bfd.transmit_interval) == (100, 150)


def test_status_objects_like_metallb() -> None:
    cfg = config(peer("tor"), obj("BGPAdvertisement", "all", {}))
    d = plan_bgp(cfg, [service("web", "203.0.113.10")], [], [node("n1")], "n1")
    plan = plan_bgp_status("n1", NS, d, [])
    [created] = plan.create
    assert created["kind"] == "ServiceBGPStatus"
    assert created["metadata"]["labels"]["metallb.io/node"] == "n1"
    assert created["status"] == {
        "node": "n1",
        "serviceName": "web",
        "serviceNamespace": "default",
        "peers": ["tor"],
    }
    again = plan_bgp_status("n1", NS, d, [created])
    assert not again
    gone = plan_bgp_status("n1", NS, plan_bgp(cfg, [], [], [node("n1")], "n1"), [created])
    assert gone.delete == [created["metadata"]["name"]]
    assert ipaddress.ip_network("203.0.113.10/32") in {r.prefix for r in d.routes["tor"]}
