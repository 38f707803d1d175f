"""MetalLB allocation semantics through `Assigner.decide`."""

from __future__ import annotations

from controller.allocator import Reason
from tests.unit.controller.helpers import assigner, pool, svc

NS: dict[str, dict[str, str]] = {"default": {}, "team-a": {"tier": "gold"}, "team-b": {}}


def ips(decision: object) -> list[str]:
    return [str(i) for i in decision.ips]  # type: ignore[attr-defined]


def test_seed_hands_on_gets_first_address() -> None:
    a = assigner(pool("kind-pool", "172.18.255.200-172.18.255.250"))
    d = a.decide(svc("web"), NS)
    assert ips(d) == ["172.18.255.200"]
    assert d.allocation is not None and d.allocation.pool == "kind-pool"
    assert d.changed and d.refusal is None


def test_current_address_is_kept_and_not_moved() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    d = a.decide(svc("web", status=["203.0.113.77"]), NS)
    assert ips(d) == ["203.0.113.77"] and not d.changed
    # Deciding again gives the same answer; the next Service gets the lowest free one.
    assert ips(a.decide(svc("web", status=["203.0.113.77"]), NS)) == ["203.0.113.77"]
    assert ips(a.decide(svc("other"), NS)) == ["203.0.113.0"]


def test_non_load_balancer_releases() -> None:
    a = assigner(pool("p", "203.0.113.10/32"))
    a.decide(svc("web"), NS)
    d = a.decide(svc("web", type="ClusterIP"), NS)
    assert d.allocation is None and ips(d) == []
    assert [str(i) for i in d.previous] == ["203.0.113.10"]
    assert ips(a.decide(svc("next"), NS)) == ["203.0.113.10"]


def test_other_load_balancer_class_is_ignored() -> None:
    a = assigner(pool("p", "203.0.113.0/24"), lb_class="ironlb")
    assert a.decide(svc("web", loadBalancerClass="other.io/lb"), NS).ignored
    assert ips(a.decide(svc("mine", loadBalancerClass="ironlb"), NS)) == ["203.0.113.0"]
    assert ips(a.decide(svc("plain"), NS)) == ["203.0.113.1"]


def test_requested_pool_even_without_auto_assign() -> None:
    a = assigner(
        pool("auto", "203.0.113.0/24"), pool("manual", "198.51.100.0/24", autoAssign=False)
    )
    assert ips(a.decide(svc("x"), NS)) == ["203.0.113.0"]
    d = a.decide(svc("y", annotations={"metallb.io/address-pool": "manual"}), NS)
    assert ips(d) == ["198.51.100.0"]


def test_auto_assign_false_only_pool_leaves_pending() -> None:
    a = assigner(pool("manual", "198.51.100.0/24", autoAssign=False))
    d = a.decide(svc("x"), NS)
    assert d.allocation is None and d.refusal is not None
    assert d.refusal.reason is Reason.NO_SUITABLE_POOL


def test_requested_pool_missing() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    d = a.decide(svc("x", annotations={"metallb.io/address-pool": "nope"}), NS)
    assert d.refusal is not None and d.refusal.reason is Reason.POOL_MISSING
    assert "nope" in d.refusal.message


def test_legacy_annotations() -> None:
    a = assigner(pool("a", "203.0.113.0/24"), pool("b", "198.51.100.0/24"))
    d = a.decide(svc("x", annotations={"metallb.universe.tf/address-pool": "b"}), NS)
    assert ips(d) == ["198.51.100.0"]
    d = a.decide(svc("y", annotations={"metallb.universe.tf/loadBalancerIPs": "203.0.113.9"}), NS)
    assert ips(d) == ["203.0.113.9"]


def test_requested_ip_spec_and_annotation() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    assert ips(a.decide(svc("x", loadBalancerIP="203.0.113.50"), NS)) == ["203.0.113.50"]
    d = a.decide(svc("y", annotations={"metallb.io/loadBalancerIPs": "203.0.113.51"}), NS)
    assert ips(d) == ["203.0.113.51"]


def test_requested_ip_conflicts() -> None:
    a = assigner(pool("p", "203.0.113.0/24"), pool("q", "198.51.100.0/24"))
    a.decide(svc("x", loadBalancerIP="203.0.113.50"), NS)
    taken = a.decide(svc("y", loadBalancerIP="203.0.113.50"), NS)
    assert taken.refusal is not None and taken.refusal.reason is Reason.IP_TAKEN
    assert "default/x" in taken.refusal.message
    outside = a.decide(svc("z", loadBalancerIP="10.1.1.1"), NS)
    assert outside.refusal is not None and outside.refusal.reason is Reason.IP_NOT_IN_POOL
    garbage = a.decide(svc("g", loadBalancerIP="not-an-ip"), NS)
    assert garbage.refusal is not None and garbage.refusal.reason is Reason.IP_INVALID
    family = a.decide(svc("f", loadBalancerIP="2001:db8::1"), NS)
    assert family.refusal is not None and family.refusal.reason is Reason.IP_WRONG_FAMILY
    both = a.decide(
        svc("b", loadBalancerIP="203.0.113.1", annotations={"metallb.io/loadBalancerIPs": "x"}),
        NS,
    )
    assert both.refusal is not None and both.refusal.reason is Reason.IP_INVALID
    wrong_pool = a.decide(
        svc("w", loadBalancerIP="203.0.113.2", annotations={"metallb.io/address-pool": "q"}), NS
    )
    assert wrong_pool.refusal is not None and "not q" in wrong_pool.refusal.message


def test_invalid_request_keeps_working_address() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    a.decide(svc("x"), NS)
    d = a.decide(svc("x", loadBalancerIP="bogus", status=["203.0.113.0"]), NS)
    assert ips(d) == ["203.0.113.0"] and d.refusal is not None


def test_changing_requested_ip_moves_the_service() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    a.decide(svc("x"), NS)
    d = a.decide(svc("x", loadBalancerIP="203.0.113.99", status=["203.0.113.0"]), NS)
    assert ips(d) == ["203.0.113.99"] and d.changed and d.released is not None


def test_sharing_same_key_gets_same_address() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    share = {"metallb.io/allow-shared-ip": "dns"}
    tcp = a.decide(svc("dns-tcp", annotations=share, ports=[("TCP", 53)]), NS)
    udp = a.decide(svc("dns-udp", annotations=share, ports=[("UDP", 53)]), NS)
    assert ips(tcp) == ips(udp) == ["203.0.113.0"]
    clash = a.decide(svc("dns-tcp2", annotations=share, ports=[("TCP", 53)]), NS)
    assert ips(clash) == ["203.0.113.1"]
    loner = a.decide(svc("other", ports=[("TCP", 8080)]), NS)
    assert ips(loner) == ["203.0.113.2"]


def test_sharing_local_policy_needs_same_selector() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    share = {"metallb.io/allow-shared-ip": "k"}
    one = a.decide(
        svc("a", annotations=share, externalTrafficPolicy="Local", selector={"app": "x"}), NS
    )
    two = a.decide(
        svc(
            "b",
            annotations=share,
            ports=[("TCP", 81)],
            externalTrafficPolicy="Local",
            selector={"app": "x"},
        ),
        NS,
    )
    three = a.decide(
        svc(
            "c",
            annotations=share,
            ports=[("TCP", 82)],
            externalTrafficPolicy="Local",
            selector={"app": "y"},
        ),
        NS,
    )
    cluster = a.decide(svc("d", annotations=share, ports=[("TCP", 83)]), NS)
    assert ips(one) == ips(two) == ["203.0.113.0"]
    assert ips(three) != ips(one) and ips(cluster) != ips(one)
    # Explicitly asking for the shared address with a different selector is refused.
    forced = a.decide(
        svc(
            "e",
            annotations=share,
            ports=[("TCP", 84)],
            externalTrafficPolicy="Local",
            selector={"app": "z"},
            loadBalancerIP="203.0.113.0",
        ),
        NS,
    )
    assert forced.refusal is not None and forced.refusal.reason is Reason.IP_TAKEN


def test_dual_stack_policies() -> None:
    a = assigner(
        pool("v4only", "203.0.113.0/24"),
        pool("dual", "198.51.100.0/24", "2001:db8:1::/64"),
    )
    single6 = a.decide(svc("s6", ipFamilies=["IPv6"], ipFamilyPolicy="SingleStack"), NS)
    assert ips(single6) == ["2001:db8:1::"]
    req = a.decide(svc("r", ipFamilies=["IPv4", "IPv6"], ipFamilyPolicy="RequireDualStack"), NS)
    assert ips(req) == ["198.51.100.0", "2001:db8:1::1"]
    pref = a.decide(svc("p", ipFamilies=["IPv6", "IPv4"], ipFamilyPolicy="PreferDualStack"), NS)
    assert sorted(ips(pref)) == ["198.51.100.1", "2001:db8:1::2"]


def test_require_dual_stack_without_dual_pool_is_refused() -> None:
    a = assigner(pool("v4", "203.0.113.0/24"), pool("v6", "2001:db8::/64"))
    d = a.decide(svc("r", ipFamilies=["IPv4", "IPv6"], ipFamilyPolicy="RequireDualStack"), NS)
    assert d.allocation is None and d.refusal is not None
    pref = a.decide(svc("p", ipFamilies=["IPv4", "IPv6"], ipFamilyPolicy="PreferDualStack"), NS)
    assert ips(pref) == ["203.0.113.0"]


def test_prefer_dual_stack_gains_second_family_later() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    spec = {"ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack"}
    assert ips(a.decide(svc("p", **spec), NS)) == ["203.0.113.0"]
    a.set_pools({"p": pool("p", "203.0.113.0/24", "2001:db8::/120")})
    d = a.decide(svc("p", status=["203.0.113.0"], **spec), NS)
    assert ips(d) == ["203.0.113.0", "2001:db8::"]


def test_service_allocation_priority_and_selectors() -> None:
    a = assigner(
        pool("general", "203.0.113.0/24"),
        pool(
            "gold",
            "198.51.100.0/28",
            serviceAllocation={
                "priority": 10,
                "namespaceSelectors": [{"matchLabels": {"tier": "gold"}}],
            },
        ),
        pool(
            "gold-first",
            "198.51.100.16/28",
            serviceAllocation={"priority": 5, "namespaces": ["team-a"]},
        ),
        pool(
            "web-only",
            "198.51.100.32/28",
            serviceAllocation={"serviceSelectors": [{"matchLabels": {"role": "web"}}]},
        ),
    )
    assert ips(a.decide(svc("x", "team-a"), NS)) == ["198.51.100.16"]
    assert ips(a.decide(svc("y", "team-b"), NS)) == ["203.0.113.0"]
    assert ips(a.decide(svc("w", "team-b", labels={"role": "web"}), NS)) == ["198.51.100.32"]
    # A pinned pool refuses Services it does not select, even when asked by name.
    d = a.decide(svc("z", "team-b", annotations={"metallb.io/address-pool": "gold"}), NS)
    assert d.refusal is not None and d.refusal.reason is Reason.POOL_NOT_ALLOWED


def test_higher_priority_full_falls_back_to_next() -> None:
    a = assigner(
        pool(
            "first", "198.51.100.1/32", serviceAllocation={"priority": 1, "namespaces": ["team-a"]}
        ),
        pool(
            "second", "198.51.100.2/32", serviceAllocation={"priority": 2, "namespaces": ["team-a"]}
        ),
        pool("general", "203.0.113.0/30"),
    )
    got = [ips(a.decide(svc(f"s{i}", "team-a"), NS)) for i in range(3)]
    assert got == [["198.51.100.1"], ["198.51.100.2"], ["203.0.113.0"]]


def test_pool_exhausted() -> None:
    a = assigner(pool("tiny", "203.0.113.1/32"))
    a.decide(svc("a"), NS)
    d = a.decide(svc("b"), NS)
    assert d.refusal is not None and d.refusal.reason is Reason.POOL_EXHAUSTED


def test_pool_deleted_releases_with_reason() -> None:
    a = assigner(pool("old", "203.0.113.0/24"), pool("new", "198.51.100.0/24", autoAssign=False))
    a.decide(svc("x"), NS)
    evicted = a.set_pools({"new": pool("new", "198.51.100.0/24", autoAssign=False)})
    assert evicted == ["default/x"]
    d = a.decide(
        svc("x", status=["203.0.113.0"], annotations={"metallb.io/ip-allocated-from-pool": "old"}),
        NS,
    )
    assert d.allocation is None
    assert d.released is not None and d.released.reason is Reason.POOL_DELETED
    assert "old" in d.released.message


def test_pool_shrunk_moves_service_inside() -> None:
    a = assigner(pool("p", "203.0.113.0/24"))
    a.decide(svc("x", loadBalancerIP="203.0.113.200"), NS)
    a.set_pools({"p": pool("p", "203.0.113.0/25")})
    from_p = {"metallb.io/ip-allocated-from-pool": "p"}
    pinned = a.decide(
        svc("x", status=["203.0.113.200"], annotations=from_p, loadBalancerIP="203.0.113.200"), NS
    )
    # The requested address is now outside every pool: released, and pending.
    assert ips(pinned) == [] and pinned.refusal is not None
    assert pinned.released is not None and pinned.released.reason is Reason.POOL_SHRUNK
    d = a.decide(svc("y", status=["203.0.113.201"], annotations=from_p), NS)
    assert ips(d) == ["203.0.113.0"]
    assert d.released is not None and d.released.reason is Reason.POOL_SHRUNK


def test_no_pools() -> None:
    a = assigner()
    d = a.decide(svc("x"), NS)
    assert d.refusal is not None and d.refusal.reason is Reason.NO_POOLS
