"""desired_l2 on plain API objects, as the informer cache holds them."""

from typing import Any

from ironlb.config import build_config
from speaker.desired import EXCLUDE_LABEL, Snapshot, desired_l2
from speaker.election import elect

NS = "metallb-system"
NODES3 = ("n1", "n2", "n3")


def pool(name: str = "p", addresses=("203.0.113.0/24", "2001:db8:5::/64"), labels=None) -> dict:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "spec": {"addresses": list(addresses)},
    }


def l2adv(name: str = "l2", **spec: Any) -> dict:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "L2Advertisement",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def node(name: str, ready: bool = True, labels=None) -> dict:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def service(name: str = "web", ips=("203.0.113.10",), local=False, cls=None, labels=None):
    spec: dict[str, Any] = {"type": "LoadBalancer", "ports": [{"port": 80}]}
    if local:
        spec["externalTrafficPolicy"] = "Local"
    if cls:
        spec["loadBalancerClass"] = cls
    return {
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}},
    }


def slice_(svc: str, endpoints: list[tuple[str, bool | None]]) -> dict:
    return {
        "metadata": {
            "name": f"{svc}-abc",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": svc},
        },
        "endpoints": [
            {"addresses": ["10.0.0.1"], "nodeName": n, "conditions": {"ready": r}}
            for n, r in endpoints
        ],
    }


def snap(objs=None, services=None, nodes=None, slices=()) -> Snapshot:
    objs = [pool(), l2adv()] if objs is None else objs
    services = [service()] if services is None else services
    result = build_config(list(objs))
    assert result.ok, result.errors
    return Snapshot(
        config=result.config,
        services=list(services),
        endpoint_slices=list(slices),
        nodes=list(nodes if nodes is not None else [node(n) for n in NODES3]),
    )


def test_owner_is_the_election_winner_among_healthy_ready_nodes() -> None:
    d = desired_l2(snap(), healthy=NODES3)
    a = d.announcements["203.0.113.10"]
    assert a.owner == elect("203.0.113.10", NODES3)
    assert set(a.ranked) == set(NODES3) and a.services == ("default/web",)
    assert a.interfaces[a.owner] is None  # no interfaces listed: all
    assert d.owned_by(a.owner) == {"203.0.113.10": a}


def test_unhealthy_speaker_not_ready_and_excluded_nodes_are_not_eligible() -> None:
    nodes = [node("n1"), node("n2", ready=False), node("n3", labels={EXCLUDE_LABEL: ""})]
    d = desired_l2(snap(nodes=nodes), healthy={"n1", "n2", "n3"})
    assert d.announcements["203.0.113.10"].ranked == ("n1",)
    d = desired_l2(snap(nodes=nodes), healthy={"n2", "n3"})
    assert d.announcements == {} and "203.0.113.10" in d.unannounced


def test_node_selectors_and_interfaces() -> None:
    objs = [
        pool(),
        l2adv("a", nodeSelectors=[{"matchLabels": {"zone": "x"}}], interfaces=["eth1"]),
        l2adv("b", nodeSelectors=[{"matchLabels": {"rack": "r1"}}], interfaces=["eth2"]),
    ]
    nodes = [node("n1", labels={"zone": "x", "rack": "r1"}), node("n2", labels={"zone": "x"})]
    nodes.append(node("n3"))
    a = desired_l2(snap(objs, nodes=nodes), healthy=NODES3).announcements["203.0.113.10"]
    assert set(a.ranked) == {"n1", "n2"}
    assert a.interfaces == {"n1": frozenset({"eth1", "eth2"}), "n2": frozenset({"eth1"})}


def test_pool_selection_by_name_and_label() -> None:
    objs = [
        pool("a", ["203.0.113.0/25"]),
        pool("b", ["203.0.113.128/25"], labels={"l2": "yes"}),
        pool("c", ["2001:db8:5::/64"]),
        l2adv("x", ipAddressPools=["a"]),
        l2adv("y", ipAddressPoolSelectors=[{"matchLabels": {"l2": "yes"}}]),
    ]
    svc = service(ips=["203.0.113.10", "203.0.113.200", "2001:db8:5::10"])
    d = desired_l2(snap(objs, services=[svc]), healthy=NODES3)
    assert set(d.announcements) == {"203.0.113.10", "203.0.113.200"}
    assert d.announcements["203.0.113.200"].pool == "b"
    assert d.unannounced == {}  # pool c is not an L2 pool: nothing to complain about


def test_local_policy_restricts_to_nodes_with_ready_endpoints() -> None:
    svc = service(local=True)
    slices = [slice_("web", [("n2", True), ("n3", False)])]
    a = desired_l2(snap(services=[svc], slices=slices), NODES3).announcements["203.0.113.10"]
    assert a.ranked == ("n2",)
    slices = [slice_("web", [("n3", None)])]  # nil ready = ready
    a = desired_l2(snap(services=[svc], slices=slices), NODES3).announcements["203.0.113.10"]
    assert a.ranked == ("n3",)


def test_no_ready_endpoint_means_no_announcement_but_no_slice_announces() -> None:
    slices = [slice_("web", [("n1", False)])]
    d = desired_l2(snap(slices=slices), NODES3)
    assert d.announcements == {} and d.unannounced["203.0.113.10"] == "no ready endpoint"
    assert "203.0.113.10" in desired_l2(snap(slices=()), NODES3).announcements


def test_other_classes_and_types_are_ignored() -> None:
    cls = service(cls="other.io/lb")
    cip = service("c")
    cip["spec"]["type"] = "ClusterIP"
    assert desired_l2(snap(services=[cls, cip]), NODES3).announcements == {}


def test_shared_ip_needs_a_node_eligible_for_all() -> None:
    a = service("a", local=True)
    b = service("b", local=True)
    slices = [slice_("a", [("n1", True), ("n2", True)]), slice_("b", [("n2", True)])]
    ann = desired_l2(snap(services=[a, b], slices=slices), NODES3).announcements["203.0.113.10"]
    assert ann.ranked == ("n2",) and ann.services == ("default/a", "default/b")


def test_ipv6_and_allocated_from_pool_annotation() -> None:
    objs = [pool("v4", ["203.0.113.0/24"]), pool("v6", ["2001:db8:5::/64"]), l2adv()]
    svc = service(ips=["2001:db8:5:0::10"])
    svc["metadata"]["annotations"] = {"metallb.io/ip-allocated-from-pool": "v6"}
    d = desired_l2(snap(objs, services=[svc]), NODES3)
    assert d.announcements["2001:db8:5::10"].pool == "v6"


def test_service_selectors_on_the_advertisement() -> None:
    objs = [pool(), l2adv(serviceSelectors=[{"matchLabels": {"expose": "l2"}}])]
    assert desired_l2(snap(objs), NODES3).announcements == {}
    svc = service(labels={"expose": "l2"})
    assert "203.0.113.10" in desired_l2(snap(objs, services=[svc]), NODES3).announcements
