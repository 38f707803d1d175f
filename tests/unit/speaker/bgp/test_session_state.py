"""BGPSessionState: the pure plan, the notification wording, and what a BgpManager reports
(states, the change signal and Warning Events) over real TCP on loopback."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from ironlb.log import Secret, get_logger
from ironlb.netns import async_wait_until
from speaker.bgp.codec import Notification
from speaker.bgp.desired import BgpDesired, PeerDesired
from speaker.bgp.fsm import DownReason
from speaker.bgp.manager import BgpManager
from speaker.bgp.metrics import BgpMetrics
from speaker.bgp.session import SessionDown
from speaker.bgp.session_state import (
    PeerState,
    build_object,
    notification_text,
    object_name,
    plan_session_states,
    rejects_prefixes,
)

LOG = get_logger("test.bgp.state")
NS = "metallb-system"
UP = PeerState("tor1", "198.51.100.1", "Established")


def test_plan_creates_updates_and_deletes_only_this_nodes_objects() -> None:
    stale = build_object("node1", NS, PeerState("tor1", "198.51.100.1", "Active"))
    gone = build_object("node1", NS, PeerState("old", "198.51.100.9", "Established"))
    other = build_object("node2", NS, PeerState("tor1", "198.51.100.1", "Active"))
    twin = {**stale, "metadata": {**stale["metadata"], "name": "node1-tor1-copy"}}
    states = {"tor1": UP, "tor2": PeerState("tor2", "198.51.100.2", "Connect", "Down")}
    plan = plan_session_states("node1", NS, states, [stale, gone, other, twin])
    assert plan.update == [("node1-tor1", build_object("node1", NS, UP)["status"])]
    assert sorted(plan.delete) == ["node1-old", "node1-tor1-copy"]
    [created] = plan.create
    assert created["metadata"]["labels"] == {"metallb.io/node": "node1", "metallb.io/peer": "tor2"}
    assert created["status"] == {
        "node": "node1",
        "peer": "tor2",
        "peerAddress": "198.51.100.2",
        "bgpStatus": "Connect",
        "bfdStatus": "Down",
    }
    current = build_object("node1", NS, UP)
    assert not plan_session_states("node1", NS, {"tor1": UP}, [current, other])


def test_pod_owner_and_long_names() -> None:
    owner = {"apiVersion": "v1", "kind": "Pod", "name": "speaker-x", "uid": "u1"}
    assert build_object("n", NS, UP, owner)["metadata"]["ownerReferences"] == [owner]
    name = object_name("n" * 200, "p" * 100)
    assert len(name) == 253 and name != object_name("n" * 200, "p" * 99 + "q")


def test_notification_wording_and_what_counts_as_refusing_our_routes() -> None:
    assert notification_text(2, 2) == "OPEN_MESSAGE/BAD_PEER_AS (2/2)"
    assert notification_text(6, 1) == "CEASE/MAX_PREFIXES (6/1)"
    assert notification_text(6, 99) == "CEASE/99 (6/99)"
    assert notification_text(42, 1) == "code 42/1"
    assert rejects_prefixes(6, 1) and rejects_prefixes(3, 11)
    assert not rejects_prefixes(6, 2) and not rejects_prefixes(2, 2)


async def _tor(**peer: object) -> BgpManager:
    tor = BgpManager(
        "tor", LOG, BgpMetrics(CollectorRegistry()), listen_address="127.0.0.1", listen_port=0
    )
    want = PeerDesired("node", 64512, 64513, "127.0.0.1", passive=True, hold_time=9)
    await tor.apply(BgpDesired({"node": PeerDesired(**{**_fields(want), **peer})}))
    return tor


def _fields(p: PeerDesired) -> dict:
    return {f: getattr(p, f) for f in PeerDesired.__dataclass_fields__}


class Recorder:
    def __init__(self) -> None:
        self.changes = 0
        self.events: list[tuple[str, str, str]] = []

    def changed(self) -> None:
        self.changes += 1

    def event(self, peer: str, reason: str, message: str) -> None:
        self.events.append((peer, reason, message))


def _node(rec: Recorder) -> BgpManager:
    return BgpManager(
        "node", LOG, router_id="198.51.100.11", on_change=rec.changed, on_event=rec.event
    )


async def test_established_then_the_router_drops_the_neighbor() -> None:
    tor, rec = await _tor(), Recorder()
    node = _node(rec)
    want = PeerDesired("tor", 64513, 64512, "127.0.0.1", peer_port=tor.listen_port or 0)
    try:
        await node.apply(BgpDesired({"tor": want}))
        await async_wait_until(lambda: None if node.established()["tor"] else 1, 10)
        assert node.session_states() == {"tor": PeerState("tor", "127.0.0.1", "Established")}
        assert rec.changes >= 2 and rec.events == []
        await tor.apply(BgpDesired())  # the switch removes the neighbor: Cease 6/3 to us
        await async_wait_until(lambda: None if rec.events else "no event", 10)
        [(peer, reason, message)] = rec.events[:1]
        assert (peer, reason) == ("tor", "BGPSessionDown")
        assert "received CEASE/PEER_DECONFIGURED (6/3)" in message
        state = node.session_states()["tor"]
        assert state.bgp != "Established" and "CEASE/PEER_DECONFIGURED" in state.last_down
    finally:
        await node.shutdown()
        await tor.shutdown()


async def test_wrong_peer_asn_names_the_open_error() -> None:
    tor, rec = await _tor(peer_asn=64999), Recorder()
    registry = CollectorRegistry()
    node = BgpManager(
        "node", LOG, BgpMetrics(registry), router_id="198.51.100.11", on_event=rec.event
    )
    want = PeerDesired("tor", 64513, 64512, "127.0.0.1", peer_port=tor.listen_port or 0)
    try:
        await node.apply(BgpDesired({"tor": want}))
        await async_wait_until(lambda: None if node.session_states()["tor"].last_down else 1, 10)
        assert "OPEN_MESSAGE/BAD_PEER_AS (2/2)" in node.session_states()["tor"].last_down
        assert rec.events and rec.events[0][1] == "BGPSessionDown"
        labels = {"peer": "tor", "code": "2", "subcode": "2"}
        name = "ironlb_speaker_bgp_notifications_received_total"
        assert (registry.get_sample_value(name, labels) or 0) >= 1
    finally:
        await node.shutdown()
        await tor.shutdown()


async def test_max_prefix_cease_is_reported_as_rejected_prefixes() -> None:
    rec = Recorder()
    node = _node(rec)
    want = PeerDesired("tor", 64513, 64512, "127.0.0.1", peer_port=9, connect_time=30)
    try:
        await node.apply(BgpDesired({"tor": want}))
        down = SessionDown(DownReason.NOTIFICATION_RECEIVED, True, "", Notification(6, 1))
        node.runners["tor"]._report_down(down)
        [(_, reason, message)] = rec.events
        assert reason == "PrefixesRejected" and "CEASE/MAX_PREFIXES" in message
        rec.events.clear()
        node.runners["tor"]._report_down(SessionDown(DownReason.ADMIN_SHUTDOWN, True))
        assert rec.events == []  # our own shutdown is not news
    finally:
        await node.shutdown()


async def test_an_invalid_peer_is_reported_idle_with_the_field() -> None:
    rec = Recorder()
    node = _node(rec)
    bad = PeerDesired("bad", 64513, 64512, "127.0.0.1", password=Secret("x" * 81))
    try:
        await node.apply(BgpDesired({"bad": bad}))
        state = node.session_states()["bad"]
        assert state.bgp == "Idle" and "spec.password" in state.last_down
        assert "x" * 81 not in state.last_down
        assert rec.changes >= 1
        await node.apply(BgpDesired())
        assert node.session_states() == {}
    finally:
        await node.shutdown()
