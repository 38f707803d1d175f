"""The membership core driven by hand: exact times, no event loop."""

import pytest

from speaker.membership.codec import Kind, Message, encode
from speaker.membership.protocol import (
    DownReason,
    MemberDown,
    Membership,
    MemberUp,
    Settings,
)

KEY = b"secret-key-bytes"
ADDRS = {"a": ("198.51.100.1", 7946), "b": ("198.51.100.2", 7946), "c": ("198.51.100.3", 7946)}


def events(m: Membership) -> list:
    out = []
    while (ev := m.next_event()) is not None:
        out.append(ev)
    return out


class Cluster:
    """Speakers wired back to back in memory; `down` ones neither send nor receive."""

    def __init__(self, names=("a", "b", "c"), settings: Settings | None = None) -> None:
        self.now = 0.0
        self.nodes = {n: Membership(n, KEY, incarnation=1, settings=settings) for n in names}
        self.by_addr = {ADDRS[n]: n for n in names}
        self.down: set[str] = set()
        for m in self.nodes.values():
            m.set_peers({n: ADDRS[n] for n in names}, self.now)

    def flush(self) -> None:
        for name, m in self.nodes.items():
            for data, addr in m.datagrams_to_send(self.now):
                target = self.by_addr[addr]
                if name not in self.down and target not in self.down:
                    self.nodes[target].receive_datagram(data, ADDRS[name], self.now)

    def run_until(self, until: float) -> None:
        for _ in range(100_000):
            timers = [t for m in self.nodes.values() if (t := m.get_timer()) is not None]
            nxt = min(timers, default=None)
            if nxt is None or nxt > until:
                break
            self.now = max(self.now, nxt)
            for m in self.nodes.values():
                if (t := m.get_timer()) is not None and t <= self.now:
                    m.handle_timer(self.now)
            self.flush()
        self.now = until


def test_peers_come_up_after_first_heartbeat() -> None:
    c = Cluster()
    c.run_until(0.0)
    assert events(c.nodes["a"]) == [MemberUp("b"), MemberUp("c")]
    assert c.nodes["a"].up_members() == {"a", "b", "c"}


def test_silent_peer_goes_down_after_suspect_timeout() -> None:
    c = Cluster()
    c.run_until(0.01)
    for m in c.nodes.values():
        events(m)
    c.down.add("c")  # last heard at 0.0
    c.run_until(0.249)
    assert events(c.nodes["a"]) == []
    c.run_until(0.26)
    assert events(c.nodes["a"]) == [MemberDown("c", DownReason.TIMEOUT)]
    assert c.nodes["a"].up_members() == {"a", "b"}


def test_timer_is_next_heartbeat_or_expiry() -> None:
    m = Membership("a", KEY, 1)
    assert m.get_timer() is None
    m.set_peers(ADDRS, 10.0)
    assert m.get_timer() == 10.0
    assert len(m.datagrams_to_send(10.0)) == 2
    assert m.get_timer() == pytest.approx(10.05)
    b = Membership("b", KEY, 1)
    b.set_peers(ADDRS, 10.0)
    for data, addr in b.datagrams_to_send(10.0):
        if addr == ADDRS["a"]:
            m.receive_datagram(data, ADDRS["b"], 10.01)
    for due in (10.05, 10.10, 10.15, 10.20, 10.25):
        assert m.get_timer() == pytest.approx(due)
        m.datagrams_to_send(m.get_timer())  # type: ignore[arg-type]
    assert m.get_timer() == pytest.approx(10.01 + 0.25)  # b's expiry comes before 10.30


def test_leave_is_immediate_and_not_undone_by_late_heartbeats() -> None:
    c = Cluster()
    c.run_until(0.1)
    for m in c.nodes.values():
        events(m)
    b = c.nodes["b"]
    late = [d for d, addr in b.datagrams_to_send(0.1) if addr == ADDRS["a"]]
    b.leave(0.1)
    c.flush()
    assert events(c.nodes["a"]) == [MemberDown("b", DownReason.LEAVE)]
    assert b.get_timer() is None and "b" not in b.up_members()
    late = encode(Message(Kind.HEARTBEAT, "b", 1, 10**6), KEY)  # same incarnation, reordered
    c.nodes["a"].receive_datagram(late, ADDRS["b"], 0.11)
    assert events(c.nodes["a"]) == []
    # A restarted b (new incarnation) is welcome again.
    c.nodes["a"].receive_datagram(encode(Message(Kind.HEARTBEAT, "b", 2, 1), KEY), ADDRS["b"], 0.2)
    assert events(c.nodes["a"]) == [MemberUp("b")]


def test_bad_datagrams_are_dropped_and_counted() -> None:
    m = Membership("a", KEY, 1)
    m.set_peers(ADDRS, 0.0)
    good = encode(Message(Kind.HEARTBEAT, "b", 5, 5), KEY)
    m.receive_datagram(b"garbage", ADDRS["b"], 0.0)
    m.receive_datagram(encode(Message(Kind.HEARTBEAT, "b", 5, 5), b"wrong"), ADDRS["b"], 0.0)
    m.receive_datagram(good, ADDRS["b"], 0.0)
    m.receive_datagram(good, ADDRS["b"], 0.01)  # replayed
    m.receive_datagram(encode(Message(Kind.HEARTBEAT, "b", 5, 4), KEY), ADDRS["b"], 0.02)
    m.receive_datagram(encode(Message(Kind.HEARTBEAT, "a", 9, 9), KEY), ADDRS["b"], 0.02)
    assert m.dropped == {"short": 1, "signature": 1, "replay": 2, "self": 1}
    assert events(m) == [MemberUp("b")]


def test_forged_leave_without_key_cannot_take_a_peer_down() -> None:
    c = Cluster()
    c.run_until(0.1)
    for m in c.nodes.values():
        events(m)
    forged = encode(Message(Kind.LEAVE, "b", 1, 10**9), b"attacker")
    c.nodes["a"].receive_datagram(forged, ADDRS["b"], 0.1)
    assert events(c.nodes["a"]) == []
    assert "b" in c.nodes["a"].up_members()


def test_flapping_peer_is_damped() -> None:
    s = Settings(flap_limit=3, damp_hold=2.0)
    c = Cluster(settings=s)
    t = 0.0
    for _ in range(3):
        c.run_until(t + 0.5)
        c.down.add("c")
        c.run_until(t + 1.0)
        c.down.discard("c")
        t += 1.0
    downs = [e for e in events(c.nodes["a"]) if e == MemberDown("c", DownReason.TIMEOUT)]
    assert len(downs) == 3
    c.run_until(t + 1.9)  # heard continuously, but not yet for damp_hold
    assert "c" not in c.nodes["a"].up_members()
    c.run_until(t + 2.1)
    assert "c" in c.nodes["a"].up_members()
    assert events(c.nodes["a"]) == [MemberUp("c")]


def test_removed_peer_goes_down() -> None:
    c = Cluster()
    c.run_until(0.1)
    a = c.nodes["a"]
    events(a)
    a.set_peers({"a": ADDRS["a"], "b": ADDRS["b"]}, 0.1)
    assert events(a) == [MemberDown("c", DownReason.REMOVED)]


def test_large_clusters_stretch_the_interval() -> None:
    s = Settings()
    assert s.scaled(9) == (0.05, 0.25)
    assert s.scaled(99) == (0.05, 0.25)
    interval, timeout = s.scaled(999)
    assert 999 / interval <= s.max_send_rate + 1e-6
    assert timeout / interval == pytest.approx(5.0)


def test_repr_hides_the_key() -> None:
    assert "secret" not in repr(Membership("a", KEY, 1))
