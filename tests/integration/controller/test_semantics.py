"""MetalLB allocation semantics end to end: real client, real kube-apiserver (dual-stack
Service ranges), in-process controller."""

from __future__ import annotations

from typing import Any

from ironlb.kube.resources import EVENTS, IPADDRESSPOOLS, SERVICES
from tests.integration.controller.harness import NS, Cluster, running_controller, wait_for


async def setup(c: Cluster) -> None:
    await c.namespace(NS)
    await c.namespace("team-a", {"tier": "gold"})
    await c.namespace("team-b")


async def test_sharing_same_key_shares_and_port_clash_does_not(
    apiserver: Any, kube_namespace: str
) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("p", "203.0.113.0/24")
    await c.l2("l2")
    share = {"metallb.io/allow-shared-ip": "dns"}
    async with running_controller(apiserver):
        await c.service("dns-tcp", annotations=share, ports=[("TCP", 53)])
        await c.service("dns-udp", annotations=share, ports=[("UDP", 53)])
        await c.service("dns-tcp-2", annotations=share, ports=[("TCP", 53)])
        tcp = await wait_for(lambda: c.ips("dns-tcp"))
        udp = await wait_for(lambda: c.ips("dns-udp"))
        clash = await wait_for(lambda: c.ips("dns-tcp-2"))
        assert tcp == udp
        assert clash != tcp
        # Asking for the shared address with another key is refused with a reason.
        await c.service(
            "intruder",
            annotations={"metallb.io/allow-shared-ip": "other"},
            ports=[("TCP", 99)],
            loadBalancerIP=tcp[0],
        )
        reasons = await wait_for(lambda: c.reasons("intruder"), what="intruder event")
        assert "RequestedIPTaken" in reasons
        assert await c.ips("intruder") == []


async def test_dual_stack_require_and_prefer(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("dual", "203.0.113.0/24", "2001:db8:1::/64")
    await c.pool("v6only", "2001:db8:2::/64", autoAssign=False)
    await c.l2("l2")
    async with running_controller(apiserver):
        await c.service("both", ipFamilies=["IPv4", "IPv6"], ipFamilyPolicy="RequireDualStack")
        await c.service("prefer6", ipFamilies=["IPv6", "IPv4"], ipFamilyPolicy="PreferDualStack")
        await c.service(
            "single6",
            ipFamilies=["IPv6"],
            annotations={"metallb.io/address-pool": "v6only"},
        )
        assert await wait_for(lambda: c.ips("both")) == ["203.0.113.0", "2001:db8:1::"]
        assert sorted(await wait_for(lambda: c.ips("prefer6"))) == [
            "2001:db8:1::1",
            "203.0.113.1",
        ]
        assert await wait_for(lambda: c.ips("single6")) == ["2001:db8:2::"]


async def test_service_allocation_priority_namespaces_and_selectors(
    apiserver: Any, kube_namespace: str
) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("general", "203.0.113.0/24")
    await c.pool(
        "gold",
        "198.51.100.0/28",
        serviceAllocation={
            "priority": 20,
            "namespaceSelectors": [{"matchLabels": {"tier": "gold"}}],
        },
    )
    await c.pool(
        "gold-first",
        "198.51.100.16/31",
        serviceAllocation={"priority": 10, "namespaces": ["team-a"]},
    )
    await c.pool(
        "web",
        "198.51.100.32/28",
        serviceAllocation={"serviceSelectors": [{"matchLabels": {"role": "web"}}]},
    )
    await c.l2("l2")
    async with running_controller(apiserver):
        for i in range(3):
            await c.service(f"a{i}", "team-a")
        await c.service("b", "team-b")
        await c.service("w", "team-b", labels={"role": "web"})
        got = [await wait_for(lambda i=i: c.ips(f"a{i}", "team-a")) for i in range(3)]
        # priority 10 pool first (two addresses), then the priority 20 pool.
        assert got == [["198.51.100.16"], ["198.51.100.17"], ["198.51.100.0"]]
        assert await wait_for(lambda: c.ips("b", "team-b")) == ["203.0.113.0"]
        assert await wait_for(lambda: c.ips("w", "team-b")) == ["198.51.100.32"]


async def test_explicit_ip_requests_and_reasons(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("p", "203.0.113.0/24")
    await c.l2("l2")
    async with running_controller(apiserver):
        await c.service("first", loadBalancerIP="203.0.113.50")
        await c.service(
            "legacy", annotations={"metallb.universe.tf/loadBalancerIPs": "203.0.113.51"}
        )
        assert await wait_for(lambda: c.ips("first")) == ["203.0.113.50"]
        assert await wait_for(lambda: c.ips("legacy")) == ["203.0.113.51"]
        await c.service("second", annotations={"metallb.io/loadBalancerIPs": "203.0.113.50"})
        await c.service("outside", loadBalancerIP="10.10.10.10")
        await c.service("nopool", annotations={"metallb.io/address-pool": "missing"})
        for name, reason in [
            ("second", "RequestedIPTaken"),
            ("outside", "RequestedIPNotInPool"),
            ("nopool", "RequestedPoolMissing"),
        ]:
            reasons = await wait_for(lambda n=name: c.reasons(n), what=f"{name} events")
            assert reason in reasons, (name, reasons)
            assert await c.ips(name) == []
        # The taken address frees up: the waiting Service gets it.
        await c.akube.delete(SERVICES, "first", c.ns)
        assert await wait_for(lambda: c.ips("second")) == ["203.0.113.50"]


async def test_non_load_balancer_and_other_class(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("p", "203.0.113.7/32")
    await c.l2("l2")
    async with running_controller(apiserver):
        await c.service("other", loadBalancerClass="example.com/other-lb")
        await c.service("mine")
        assert await wait_for(lambda: c.ips("mine")) == ["203.0.113.7"]
        assert await c.ips("other") == []
        await c.service("next")
        events = await wait_for(lambda: _with_reason(c, "next", "PoolExhausted"), what="exhausted")
        assert "203.0.113.7" not in events[0]["message"] and "p" in events[0]["message"]
        svc = await c.get_service("mine")
        svc["spec"]["type"] = "ClusterIP"
        svc["spec"].pop("allocateLoadBalancerNodePorts", None)
        for port in svc["spec"]["ports"]:
            port.pop("nodePort", None)
        await c.akube.replace(SERVICES, svc)
        # The released address goes to the Service that was waiting for one.
        assert await wait_for(lambda: c.ips("next")) == ["203.0.113.7"]
        assert await c.ips("other") == []


async def test_pool_shrunk_and_deleted_release_with_event(
    apiserver: Any, kube_namespace: str
) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("p", "203.0.113.0/30")
    await c.pool("q", "198.51.100.0/30", autoAssign=False)
    await c.l2("l2")
    async with running_controller(apiserver):
        await c.service("low", loadBalancerIP="203.0.113.1")
        await c.service("high", loadBalancerIP="203.0.113.3")
        await c.service("inq", annotations={"metallb.io/address-pool": "q"})
        assert await wait_for(lambda: c.ips("high")) == ["203.0.113.3"]
        assert await wait_for(lambda: c.ips("inq")) == ["198.51.100.0"]
        await c.pool("p", "203.0.113.0/31")  # shrink: .3 leaves, .1 stays
        assert await wait_for(lambda: _empty(c, "high"), what="high released") is True
        await wait_for(lambda: _with_reason(c, "high", "AddressReleased"), what="release event")
        assert await c.ips("low") == ["203.0.113.1"]
        await c.akube.delete(IPADDRESSPOOLS, "q", NS)
        assert await wait_for(lambda: _empty(c, "inq"), what="inq released") is True
        events = await wait_for(
            lambda: _with_reason(c, "inq", "AddressReleased"), what="inq release event"
        )
        assert "q was deleted" in events[0]["message"]


async def _empty(c: Cluster, name: str) -> bool:
    return await c.ips(name) == []


async def test_pool_status_counts(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("p", "203.0.113.0/29", "2001:db8::/64")
    await c.l2("l2")
    async with running_controller(apiserver):
        for i in range(3):
            await c.service(f"s{i}")

        async def status() -> dict[str, Any] | None:
            pool = await c.akube.get(IPADDRESSPOOLS, "p", NS)
            s = pool.get("status") or {}
            return s if s.get("assignedIPv4") == 3 else None

        s = await wait_for(status, what="pool status counts")
        assert s["availableIPv4"] == 5
        assert s["assignedIPv6"] == 0
        assert s["availableIPv6"] == 2**63 - 1  # a /64 is clamped to int64


async def test_assigned_but_not_announced_warns(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("lonely", "203.0.113.0/24")
    async with running_controller(apiserver) as app:
        await c.service("web")
        assert await wait_for(lambda: c.ips("web")) == ["203.0.113.0"]
        events = await wait_for(
            lambda: _with_reason(c, "web", "NotAnnounced"), what="NotAnnounced event"
        )
        assert "lonely" in events[0]["message"] and events[0]["type"] == "Warning"
        # The pool itself says so too: an Announced=False condition kept by the CRD schema.
        cond = await wait_for(
            lambda: _condition(c, "lonely", "Announced", "False"), what="Announced=False"
        )
        assert cond["reason"] == "NoAdvertisement" and "nothing announces" in cond["message"]
        # Warned once, not on every resync: a new Service change re-checks without repeating.
        await c.service("other")
        assert await wait_for(lambda: c.ips("other")) == ["203.0.113.1"]
        assert len(await _with_reason(c, "web", "NotAnnounced")) == 1
        # With an advertisement selecting the pool, new Services are not warned about.
        await c.l2("l2", "lonely")
        await wait_for(lambda: _pool_announced(app), what="pool announced")
        await c.service("later")
        assert await wait_for(lambda: c.ips("later")) == ["203.0.113.2"]
        assert await _with_reason(c, "later", "NotAnnounced") == []


async def _condition(c: Any, pool: str, type_: str, status: str) -> dict[str, Any] | None:
    obj = await c.akube.get(IPADDRESSPOOLS, pool, NS)
    conditions = (obj.get("status") or {}).get("conditions") or []
    wanted = (type_, status)
    return next((x for x in conditions if (x.get("type"), x.get("status")) == wanted), None)


async def _pool_announced(app: Any) -> bool:
    return "lonely" not in app.state.unannounced


async def _with_reason(c: Cluster, name: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in await c.events(name) if e.get("reason") == reason]


async def test_invalid_config_reported_and_last_valid_kept(
    apiserver: Any, kube_namespace: str
) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("good", "203.0.113.0/24")
    await c.l2("l2")
    async with running_controller(apiserver):
        await c.service("a")
        assert await wait_for(lambda: c.ips("a")) == ["203.0.113.0"]
        # Overlaps "good": the whole new config is refused, the last valid one stays.
        await c.pool("bad", "203.0.113.128/25")
        events = await wait_for(
            lambda: _pool_events(c, "InvalidConfiguration"), what="config error event"
        )
        assert any("overlap" in e["message"] for e in events)
        await c.service("b")
        assert await wait_for(lambda: c.ips("b")) == ["203.0.113.1"]
        assert await c.ips("a") == ["203.0.113.0"]


async def _pool_events(c: Cluster, reason: str) -> list[dict[str, Any]]:
    listing = await c.akube.list(EVENTS, NS)
    return [e for e in listing["items"] if e.get("reason") == reason]


async def test_klipper_daemonset_warns(apiserver: Any, kube_namespace: str) -> None:
    from ironlb.kube.resources import DAEMONSETS

    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.namespace("kube-system")
    await c.pool("p", "203.0.113.0/24")
    await c.l2("l2")
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "svclb-web-1a2b3c4d",
            "namespace": "kube-system",
            "labels": {
                "svccontroller.k3s.cattle.io/svcname": "web",
                "svccontroller.k3s.cattle.io/svcnamespace": c.ns,
            },
        },
        "spec": {
            "selector": {"matchLabels": {"app": "svclb-web"}},
            "template": {
                "metadata": {"labels": {"app": "svclb-web"}},
                "spec": {"containers": [{"name": "lb", "image": "rancher/klipper-lb"}]},
            },
        },
    }
    await c.akube.create(DAEMONSETS, ds)
    async with running_controller(apiserver):
        await c.service("web")
        events = await wait_for(
            lambda: _with_reason(c, "web", "AnotherLoadBalancer"), what="Klipper warning"
        )
        assert "svclb-web-1a2b3c4d" in events[0]["message"]


async def test_metrics_and_health(apiserver: Any, kube_namespace: str) -> None:
    import aiohttp

    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("p", "203.0.113.0/30")
    await c.l2("l2")
    async with running_controller(apiserver, metrics_port=0, metrics_host="127.0.0.1") as app:
        await c.service("s")
        await wait_for(lambda: c.ips("s"))
        base = f"http://127.0.0.1:{app.metrics_port}"
        async with aiohttp.ClientSession() as http:

            async def scrape() -> str | None:
                async with http.get(f"{base}/metrics") as r:
                    text = await r.text()
                line = 'ironlb_controller_addresses_in_use{family="ipv4",pool="p"} 1.0'
                return text if line in text else None

            text = await wait_for(scrape, what="in-use metric")
            assert 'ironlb_controller_addresses_available{family="ipv4",pool="p"} 3.0' in text
            assert "ironlb_controller_reconcile_seconds_count" in text
            for path in ("/healthz", "/readyz"):
                async with http.get(base + path) as r:
                    assert r.status == 200


async def test_status_flapping_between_writers_warns(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await setup(c)
    await c.pool("p", "203.0.113.0/24")
    await c.l2("l2")
    async with running_controller(apiserver):
        await c.service("web")
        assert await wait_for(lambda: c.ips("web")) == ["203.0.113.0"]
        foreign = {"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.99"}]}}}
        for round_ in range(4):
            await c.akube.patch(SERVICES, "web", foreign, c.ns, subresource="status")
            # The controller puts its address back each time.
            assert await wait_for(lambda: _is(c, "web", ["203.0.113.0"]), what=f"rewrite {round_}")
            if await _with_reason(c, "web", "AnotherLoadBalancer"):
                break
        events = await wait_for(
            lambda: _with_reason(c, "web", "AnotherLoadBalancer"), what="flapping warning"
        )
        assert "another" in events[0]["message"].lower()


async def _is(c: Cluster, name: str, ips: list[str]) -> bool:
    return await c.ips(name) == ips
