"""The seed's hands-on, in the emulator: one pool, one L2Advertisement, one Service."""

from __future__ import annotations

from typing import Any

from tests.integration.controller.harness import NS, Cluster, running_controller, wait_for


async def test_seed_hands_on_gets_first_address(apiserver_with_crds: Any) -> None:
    c = Cluster(apiserver_with_crds)
    await c.namespace(NS)
    await c.pool("kind-pool", "172.18.255.200-172.18.255.250")
    await c.l2("kind-l2", "kind-pool")
    async with running_controller(apiserver_with_crds):
        await c.service("web")
        ips = await wait_for(lambda: c.ips("web"), what="web to get an address")
        assert ips == ["172.18.255.200"]
        svc = await c.get_service("web")
        assert svc["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"] == "kind-pool"
        assert "IPAllocated" in await wait_for(lambda: c.reasons("web"), what="IPAllocated event")
