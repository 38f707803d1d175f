"""BgpManager over real asyncio TCP on loopback: two managers peer (one active, one passive)."""

from __future__ import annotations

import asyncio
import ipaddress

from prometheus_client import CollectorRegistry

from ironlb.log import Secret, get_logger
from ironlb.netns import async_wait_until
from speaker.bgp.desired import BgpDesired, PeerDesired
from speaker.bgp.manager import BgpManager, peer_problem
from speaker.bgp.metrics import BgpMetrics
from speaker.bgp.session import Route

N = ipaddress.ip_network
LOG = get_logger("test.bgp")


def routes(*prefixes: str) -> frozenset[Route]:
    return frozenset(Route(N(p), communities=(7,)) for p in prefixes)


async def pair(password: str | None = None, wrong: bool = False):  # type: ignore[no-untyped-def]
    registry = CollectorRegistry()
    tor = BgpManager(
        "tor",
        LOG,
        BgpMetrics(CollectorRegistry()),
        listen_address="127.0.0.1",
        listen_port=0,
        router_id="198.51.100.1",
    )
    pw = Secret(password) if password else None
    tor_peer = PeerDesired(
        "node", 64512, 64513, "127.0.0.1", passive=True, hold_time=9, password=pw
    )
    await tor.apply(BgpDesired({"node": tor_peer}))
    node_pw = Secret("wrong") if wrong else pw
    node_peer = PeerDesired(
        "tor",
        64513,
        64512,
        "127.0.0.1",
        peer_port=tor.listen_port or 0,
        hold_time=9,
        password=node_pw,
    )
    node = BgpManager("node", LOG, BgpMetrics(registry), router_id="198.51.100.11")
    return tor, node, node_peer, registry


async def test_announce_withdraw_reconcile_and_shutdown() -> None:
    tor, node, node_peer, registry = await pair()
    try:
        await node.apply(BgpDesired({"tor": node_peer}, {"tor": routes("203.0.113.1/32")}))
        got = tor.runners["node"]

        await async_wait_until(
            lambda: None if got.received == {N("203.0.113.1/32")} else got.received, 10
        )
        assert node.established() == {"tor": True}
        assert registry.get_sample_value("ironlb_speaker_bgp_session_up", {"peer": "tor"}) == 1
        value = registry.get_sample_value("ironlb_speaker_bgp_prefixes_advertised", {"peer": "tor"})
        assert value == 1

        # Level-triggered: the next desired state replaces the routes.
        await node.apply(BgpDesired({"tor": node_peer}, {"tor": routes("203.0.113.2/32")}))
        await async_wait_until(
            lambda: None if got.received == {N("203.0.113.2/32")} else got.received, 5
        )
        # Shutdown: Cease, the passive side sees the session go down and forgets the routes.
        await node.shutdown()
        await async_wait_until(lambda: None if not got.received else got.received, 5)
        assert tor.established() == {"node": False}
    finally:
        await node.shutdown()
        await tor.shutdown()


async def test_md5_on_loopback_and_wrong_key_never_establishes() -> None:
    tor, node, node_peer, _ = await pair(password="s3cret")
    try:
        await node.apply(BgpDesired({"tor": node_peer}, {"tor": routes("203.0.113.9/32")}))
        await async_wait_until(lambda: None if node.established()["tor"] else 1, 10)
    finally:
        await node.shutdown()
        await tor.shutdown()
    tor, node, node_peer, _ = await pair(password="s3cret", wrong=True)
    try:
        await node.apply(BgpDesired({"tor": node_peer}))
        await asyncio.sleep(1.0)
        assert node.established() == {"tor": False}
    finally:
        await node.shutdown()
        await tor.shutdown()


async def test_removed_peer_gets_cease_and_changed_peer_restarts() -> None:
    tor, node, node_peer, _ = await pair()
    try:
        await node.apply(BgpDesired({"tor": node_peer}, {"tor": routes("203.0.113.1/32")}))
        await async_wait_until(lambda: None if node.established()["tor"] else 1, 10)
        first = node.runners["tor"]
        changed = PeerDesired(**{**_fields(node_peer), "hold_time": 30})
        await node.apply(BgpDesired({"tor": changed}, {"tor": routes("203.0.113.1/32")}))
        assert node.runners["tor"] is not first
        await async_wait_until(lambda: None if node.established()["tor"] else 1, 10)
        await node.apply(BgpDesired())
        assert node.runners == {}
        await async_wait_until(lambda: None if not tor.established()["node"] else 1, 5)
    finally:
        await node.shutdown()
        await tor.shutdown()


def _fields(p: PeerDesired) -> dict:
    return {f: getattr(p, f) for f in PeerDesired.__dataclass_fields__}


async def test_invalid_peer_is_skipped_with_a_named_field(caplog) -> None:  # type: ignore[no-untyped-def]
    node = BgpManager("node", LOG)
    long_pw = Secret("x" * 81)
    bad = PeerDesired("bad", 64513, 64512, "127.0.0.1", password=long_pw)
    worse = PeerDesired("worse", 64513, 64512, "127.0.0.1", router_id="not-an-ip")
    try:
        await node.apply(BgpDesired({"bad": bad, "worse": worse}))
        assert node.runners == {}
    finally:
        await node.shutdown()
    assert peer_problem(bad) == ("spec.password", "longer than 80 bytes (TCP MD5 limit)")
    assert peer_problem(worse) is not None and peer_problem(worse)[0] == "spec.routerID"
    assert "x" * 81 not in caplog.text
