"""Restart safety: kill the controller mid-burst, start a new one, nothing moves."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from ironlb.kube.resources import SERVICES
from tests.integration.controller.harness import (
    NS,
    Cluster,
    kill,
    start_controller,
    wait_for,
)

COUNT = 150


async def snapshot(c: Cluster) -> dict[str, list[str]]:
    listing = await c.akube.list(SERVICES, c.ns)
    out = {}
    for svc in listing["items"]:
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if ingress:
            out[svc["metadata"]["name"]] = [i["ip"] for i in ingress]
    return out


@pytest.mark.slow
async def test_kill_mid_burst_then_restart_changes_nothing(
    apiserver: Any, kube_namespace: str
) -> None:
    c = Cluster(apiserver, kube_namespace)
    await c.namespace(NS)
    await c.pool("p", "203.0.113.0/24", avoidBuggyIPs=True)
    await c.l2("l2")
    app, task = await start_controller(apiserver, identity="first")

    async def burst() -> None:
        for i in range(COUNT):
            await c.service(f"s{i:03d}")

    creating = asyncio.create_task(burst())

    async def some_assigned() -> bool:
        return len(await snapshot(c)) >= 40

    await wait_for(some_assigned, 30, "a third of the burst assigned")
    await kill(app, task)
    before = await snapshot(c)
    assert 0 < len(before) < COUNT, "the kill should land mid-burst"
    await creating

    app2, task2 = await start_controller(apiserver, identity="second")
    try:

        async def all_assigned() -> dict[str, list[str]] | None:
            snap = await snapshot(c)
            return snap if len(snap) == COUNT else None

        after = await wait_for(all_assigned, 60, "every Service assigned")
    finally:
        await kill(app2, task2)
    changed = {n: (ips, after[n]) for n, ips in before.items() if after[n] != ips}
    assert changed == {}, f"addresses moved across the restart: {changed}"
    flat = [ip for ips in after.values() for ip in ips]
    assert len(flat) == len(set(flat)) == COUNT, "an address was handed out twice"
    for ip in flat:
        addr = ipaddress.ip_address(ip)
        assert addr in ipaddress.ip_network("203.0.113.0/24")
        assert int(addr) % 256 not in (0, 255)
