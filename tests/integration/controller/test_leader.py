"""Two replicas with Lease election: only the leader assigns; the standby takes over."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.controller.harness import (
    NS,
    Cluster,
    kill,
    start_controller,
    wait_for,
)

FAST = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.4, "leader_elect": True}


@pytest.mark.slow
async def test_standby_takes_over_when_leader_dies(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await c.namespace(NS)
    await c.pool("p", "203.0.113.0/24")
    await c.l2("l2")
    a, ta = await start_controller(apiserver, identity="replica-a", **FAST)
    b, tb = await start_controller(apiserver, identity="replica-b", **FAST)
    try:

        async def one_leader() -> Any:
            leaders = [x for x in (a, b) if x.rebuilt.is_set()]
            return leaders[0] if len(leaders) == 1 else None

        leader = await wait_for(one_leader, 10, "exactly one leader")
        standby = b if leader is a else a
        await c.service("before")
        assert await wait_for(lambda: c.ips("before")) == ["203.0.113.0"]
        assert not standby.leading.is_set()

        await kill(leader, ta if leader is a else tb)
        # Lease of 2 s: the standby must lead within a few seconds.
        await wait_for(lambda: _rebuilt(standby), 10, "standby takes over")
        await c.service("after")
        assert await wait_for(lambda: c.ips("after")) == ["203.0.113.1"]
        assert await c.ips("before") == ["203.0.113.0"]
    finally:
        await kill(a, ta)
        await kill(b, tb)


async def _rebuilt(app: Any) -> bool:
    return app.rebuilt.is_set()


async def test_graceful_stop_hands_over_at_once(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await c.namespace(NS)
    await c.pool("p", "203.0.113.0/24")
    await c.l2("l2")
    slow = {**FAST, "lease_duration": 30.0, "renew_deadline": 20.0, "retry_period": 0.4}
    a, ta = await start_controller(apiserver, identity="replica-a", **slow)
    await wait_for(lambda: _rebuilt(a), 10, "first replica leads")
    b, tb = await start_controller(apiserver, identity="replica-b", **slow)
    try:
        a.stop()  # graceful: releases the Lease
        await ta
        # Released Lease: no 30 s expiry wait.
        await wait_for(lambda: _rebuilt(b), 5, "second replica leads after release")
        await c.service("x")
        assert await wait_for(lambda: c.ips("x")) == ["203.0.113.0"]
    finally:
        await kill(b, tb)
