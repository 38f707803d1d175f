"""Sans-IO session: handshake, timers, routes, errors; exact timer values, no event loop."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from speaker.bgp.capabilities import GracefulRestart, Negotiated
from speaker.bgp.codec import Keepalive, Notification, Open, RouteRefresh, encode
from speaker.bgp.fsm import DownReason, State
from speaker.bgp.session import (
    ConnectRequest,
    Route,
    Session,
    SessionDown,
    SessionUp,
    UpdateReceived,
)
from tests.unit.speaker.bgp.helpers import SessionPair, config, drain, messages

N = ipaddress.ip_network


def pair(**kw: object) -> SessionPair:
    p = SessionPair(
        config(64512, 64513, "198.51.100.1", hold_time=9, **kw),
        config(64513, 64512, "198.51.100.2", hold_time=30),
    )
    p.connect(0.0)
    return p


def test_handshake_negotiates_min_hold_and_keepalive() -> None:
    p = pair()
    assert p.a.state is State.ESTABLISHED and p.b.state is State.ESTABLISHED
    up = [e for e in p.events["a"] if isinstance(e, SessionUp)]
    assert up and up[0].negotiated.hold_time == 9 and up[0].negotiated.keepalive_time == 3
    assert up[0].negotiated.four_octet_as
    assert p.a.get_timer() == 3.0  # keepalive due before the hold timer (9 s)


def test_keepalives_keep_session_and_silence_expires_hold() -> None:
    p = pair()
    for t in (3.0, 6.0, 9.0, 12.0):
        p.a.handle_timer(t)
        p.b.handle_timer(t)
        p.pump(t)
    assert p.a.state is State.ESTABLISHED
    # b goes silent: a's hold timer fires 9 s after the last message from b.
    p.a.handle_timer(21.0)
    assert p.a.state is State.IDLE
    downs = [e for e in drain(p.a) if isinstance(e, SessionDown)]
    assert downs[0].reason is DownReason.HOLD_TIMER_EXPIRED
    assert messages(p.a.data_to_send(), Negotiated())[-1] == Notification(4, 0)
    assert p.a.get_timer() == 22.0  # automatic restart after connect_retry (1 s)
    p.a.handle_timer(22.0)
    assert p.a.state is State.CONNECT and drain(p.a) == [ConnectRequest()]


def test_routes_announced_packed_then_end_of_rib_and_withdrawn() -> None:
    p = pair()
    routes = [Route(N(f"198.18.{i // 256}.{i % 256}/32"), communities=(100,)) for i in range(2000)]
    p.a.announce(routes)
    p.pump(1.0)
    ups = [e.update for e in p.events["b"] if isinstance(e, UpdateReceived)]
    announced = [pfx for u in ups for pfx in u.nlri]
    assert len(announced) == 2000
    assert len([u for u in ups if u.nlri]) == 3  # ~800 /32 fit in 4096 bytes
    assert all(u.attributes.as_path == ((2, (64512,)),) for u in ups if u.nlri)
    # End-of-RIB went out for both families when the (then empty) table was first sent.
    assert [u.end_of_rib() for u in ups if u.end_of_rib()] == [(1, 1), (2, 1)]
    p.events["b"].clear()
    p.a.withdraw([routes[0].prefix])
    p.pump(2.0)
    ups = [e.update for e in p.events["b"] if isinstance(e, UpdateReceived)]
    assert [u.withdrawn for u in ups] == [(routes[0].prefix,)]
    assert p.a.advertised == 1999


def test_ibgp_sends_local_pref_and_ipv6_mp_reach() -> None:
    p = SessionPair(
        config(64512, 64512, "198.51.100.1"),
        config(64512, 64512, "198.51.100.2"),
    )
    p.a.announce([Route(N("203.0.113.5/32"), local_pref=250), Route(N("2001:db8:5::/64"))])
    p.connect(0.0)
    ups = [e.update for e in p.events["b"] if isinstance(e, UpdateReceived)]
    v4 = next(u for u in ups if u.nlri)
    v6 = next(u for u in ups if u.attributes.mp_reach and u.attributes.mp_reach.nlri)
    assert v4.attributes.local_pref == 250 and v4.attributes.as_path == ()
    assert v6.attributes.local_pref == 100
    assert v6.attributes.mp_reach.next_hops == (ipaddress.IPv6Address("2001:db8::1"),)
    assert {u.end_of_rib() for u in ups} >= {(1, 1), (2, 1)}


def test_set_routes_is_level_triggered() -> None:
    p = pair()
    p.a.set_routes([Route(N("203.0.113.1/32")), Route(N("203.0.113.2/32"))])
    p.a.set_routes([Route(N("203.0.113.2/32"), communities=(7,))])
    p.pump(1.0)
    assert set(p.a.adj_out.sent) == {N("203.0.113.2/32")}
    assert p.a.adj_out.sent[N("203.0.113.2/32")].communities == (7,)


def test_wrong_peer_as_is_refused_with_bad_peer_as() -> None:
    p = SessionPair(
        config(64512, 64999, "198.51.100.1"),
        config(64513, 64512, "198.51.100.2"),
    )
    p.connect(0.0)
    down = next(e for e in p.events["a"] if isinstance(e, SessionDown))
    assert down.reason is DownReason.OPEN_REJECTED
    assert down.notification == Notification(2, 2, (64513).to_bytes(2, "big"))
    assert any(isinstance(e, SessionDown) for e in p.events["b"])


def test_close_sends_cease_and_stays_idle() -> None:
    p = pair()
    p.a.close(5.0)
    assert p.a.state is State.IDLE and p.a.get_timer() is None
    p.pump(5.0)
    down = next(e for e in p.events["b"] if isinstance(e, SessionDown))
    assert down.reason is DownReason.NOTIFICATION_RECEIVED
    assert down.notification == Notification(6, 2)


def test_bfd_down_drops_session_and_retries() -> None:
    p = pair()
    p.a.bfd_down(4.0)
    assert p.a.state is State.IDLE
    assert [e.reason for e in drain(p.a) if isinstance(e, SessionDown)] == [DownReason.BFD_DOWN]
    assert p.a.get_timer() == 5.0


def test_connect_failures_back_off_exponentially() -> None:
    s = Session(config(64512, 64513, "198.51.100.1"))
    s.start(0.0)
    assert drain(s) == [ConnectRequest()]
    now = 0.0
    delays = []
    for _ in range(7):
        s.connection_failed(now)
        deadline = s.get_timer()
        delays.append(deadline - now)
        now = deadline
        s.handle_timer(now)
        assert drain(s) == [ConnectRequest()]
    assert delays == [1, 2, 4, 8, 16, 30, 30]


def test_unexpected_open_in_established_is_fsm_error() -> None:
    p = pair()
    rid = ipaddress.IPv4Address("198.51.100.2")
    p.a.receive_data(encode(Open(64513, 9, rid), Negotiated()), 1.0)
    assert p.a.state is State.IDLE
    assert messages(p.a.data_to_send())[-1] == Notification(5, 3)


def test_keepalive_before_open_is_fsm_error() -> None:
    s = Session(config(64512, 64513, "198.51.100.1"))
    s.start(0.0)
    s.connection_made(0.0)
    s.data_to_send()
    s.receive_data(encode(Keepalive(), Negotiated()), 0.1)
    assert messages(s.data_to_send()) == [Notification(5, 1)]


def _fed(state_established: bool, data: bytes) -> None:
    if state_established:
        p = pair()
        s = p.a
    else:
        s = Session(config(64512, 64513, "198.51.100.1"))
        s.start(0.0)
        s.connection_made(0.0)
        s.data_to_send()
        drain(s)
    s.receive_data(data, 1.0)
    out = messages(s.data_to_send(), s.negotiated or Negotiated(four_octet_as=False))
    events = drain(s)
    downs = [e for e in events if isinstance(e, SessionDown)]
    # Either the bytes were absorbed (need more / valid) or we answered with one NOTIFICATION.
    if downs:
        assert s.state is State.IDLE
        if downs[0].reason is not DownReason.NOTIFICATION_RECEIVED:
            assert isinstance(out[-1], Notification)
    notes = [m for m in out if isinstance(m, Notification)]
    assert len(notes) <= 1


@settings(max_examples=300)
@given(st.booleans(), st.binary(max_size=120))
def test_fuzz_session_arbitrary_bytes(established: bool, data: bytes) -> None:
    _fed(established, data)


@settings(max_examples=300)
@given(st.booleans(), st.integers(0, 5), st.binary(max_size=120))
def test_fuzz_session_valid_header_arbitrary_body(established: bool, t: int, body: bytes) -> None:
    header = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + bytes((t,))
    _fed(established, header + body)


def test_update_received_counts() -> None:
    p = pair()
    before = p.a.counters.updates_received
    p.b.announce([Route(N("203.0.113.9/32"))])
    p.pump(1.0)
    got = [e.update for e in p.events["a"] if isinstance(e, UpdateReceived) and e.update.nlri]
    assert [u.nlri for u in got] == [(N("203.0.113.9/32"),)]
    assert p.a.counters.updates_received == before + 1


def test_route_refresh_resends_the_family() -> None:
    p = pair()
    p.a.announce([Route(N("203.0.113.1/32")), Route(N("2001:db8:1::/64"))])
    p.pump(1.0)
    p.events["b"].clear()
    p.a.receive_data(encode(RouteRefresh(1, 1), p.a.negotiated), 2.0)
    p.pump(2.0)
    again = [e.update for e in p.events["b"] if isinstance(e, UpdateReceived)]
    assert [u.nlri for u in again] == [(N("203.0.113.1/32"),)]


def test_graceful_restart_capability_only_when_enabled() -> None:
    p = pair(graceful_restart=True, restart_time=60)
    seen = messages(p.wire["a"], Negotiated(four_octet_as=False))
    gr = seen[0].capability(GracefulRestart)
    assert gr == GracefulRestart(60, False, ((1, 1, False), (2, 1, False)))
    assert p.b.negotiated is not None and p.b.negotiated.peer_graceful_restart == gr
    plain = pair()
    assert (
        messages(plain.wire["a"], Negotiated(four_octet_as=False))[0].capability(GracefulRestart)
        is None
    )


def test_dynamic_external_asn_accepts_any_other_as() -> None:
    p = SessionPair(
        config(64512, 0, "198.51.100.1"),
        config(64999, 64512, "198.51.100.2"),
    )
    p.connect(0.0)
    assert p.a.state is State.ESTABLISHED
    same = SessionPair(config(64512, 0, "198.51.100.1"), config(64512, 64512, "198.51.100.2"))
    same.connect(0.0)
    assert same.a.state is State.IDLE
