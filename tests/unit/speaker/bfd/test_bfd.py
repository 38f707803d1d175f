"""BFD codec and sans-IO session: handshake, poll/final, detection, passive, admin down."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from speaker.bfd.codec import BfdDecodeError, BfdState, ControlPacket, Diag, decode, encode
from speaker.bfd.session import BfdConfig, BfdSession, StateChange

FAST = BfdConfig(desired_min_tx_us=100_000, required_min_rx_us=100_000, detect_mult=3)


def test_codec_round_trip_and_wire_layout() -> None:
    p = ControlPacket(BfdState.UP, 7, 9, 3, 300_000, 200_000, 0, Diag.NONE, poll=True)
    data = encode(p)
    assert len(data) == 24 and data[0] == 0x20 and data[1] == (3 << 6) | 0x20
    assert decode(data) == p


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:20],  # short
        lambda b: bytes([0x40]) + b[1:],  # version 2
        lambda b: b[:2] + b"\x00" + b[3:],  # detect mult 0
        lambda b: b[:4] + b"\x00\x00\x00\x00" + b[8:],  # my discr 0
        lambda b: b[:1] + bytes([b[1] | 0x04]) + b[2:],  # auth bit without auth
        lambda b: b[:8] + b"\x00\x00\x00\x00" + b[12:],  # your discr 0 while Up
    ],
)
def test_codec_rejects(mutate) -> None:  # type: ignore[no-untyped-def]
    good = encode(ControlPacket(BfdState.UP, 7, 9, 3, 1, 1))
    with pytest.raises(BfdDecodeError):
        decode(mutate(good))


@given(st.binary(max_size=64))
def test_fuzz_decode_only_raises_decode_error(data: bytes) -> None:
    with contextlib.suppress(BfdDecodeError):
        decode(data)


class Pair:
    def __init__(self, a: BfdConfig = FAST, b: BfdConfig = FAST) -> None:
        self.a = BfdSession(a, 1, random=lambda: 1.0)
        self.b = BfdSession(b, 2, random=lambda: 1.0)
        self.cut = False

    def step(self, now: float) -> None:
        for _ in range(10):
            moved = False
            for src, dst in ((self.a, self.b), (self.b, self.a)):
                src.handle_timer(now)
                for d in src.datagrams_to_send(now):
                    moved = True
                    if not self.cut:
                        dst.receive_datagram(d, now)
            if not moved:
                return

    def run(self, until: float, tick: float = 0.01, start: float = 0.0) -> None:
        t = start
        while t <= until:
            self.step(t)
            t = round(t + tick, 6)


def events(s: BfdSession) -> list[StateChange]:
    out = []
    while (e := s.next_event()) is not None:
        out.append(e)
    return out


def test_three_way_handshake_then_poll_to_fast_timers() -> None:
    p = Pair()
    p.a.start(0.0)
    p.b.start(0.0)
    p.step(0.0)
    assert p.a.state is BfdState.UP and p.b.state is BfdState.UP
    # a spoke first: b went Down→Init, then a went Down→Up on b's Init (RFC 5880 §6.8.6).
    assert [e.new for e in events(p.a)] == [BfdState.UP]
    assert [e.new for e in events(p.b)] == [BfdState.INIT, BfdState.UP]
    p.run(3.0)
    # After the poll sequence both sides send every 100 ms and detect in 300 ms.
    assert p.a.detection_time_s == pytest.approx(0.3)
    assert p.b.get_timer() is not None and p.b.get_timer() <= 3.0 + 0.1 + 1e-9


def test_detection_time_expiry_goes_down_with_diag_1() -> None:
    p = Pair()
    p.a.start(0.0)
    p.b.start(0.0)
    p.run(2.0)
    events(p.a)
    p.cut = True
    p.run(2.5, start=2.01)
    assert p.a.state is BfdState.DOWN and p.a.diag is Diag.DETECTION_TIME_EXPIRED
    [down] = events(p.a)
    assert down.old is BfdState.UP and down.new is BfdState.DOWN


def test_passive_side_waits_to_be_spoken_to() -> None:
    passive = BfdConfig(100_000, 100_000, 3, passive=True)
    p = Pair(a=passive)
    p.a.start(0.0)
    assert p.a.datagrams_to_send(0.0) == []
    p.b.start(0.0)
    p.step(0.0)
    assert p.a.state is BfdState.UP


def test_admin_down_takes_peer_down_with_neighbor_down() -> None:
    p = Pair()
    p.a.start(0.0)
    p.b.start(0.0)
    p.run(1.0)
    p.a.set_admin_down(1.0)
    p.step(1.0)
    assert p.b.state is BfdState.DOWN and p.b.diag is Diag.NEIGHBOR_DOWN


def test_jitter_keeps_interval_within_75_to_100_percent() -> None:
    for r, expected in ((0.0, 0.075), (1.0, 0.1)):
        s = BfdSession(FAST, 5, random=lambda r=r: r)
        s.start(0.0)
        s.receive_packet(ControlPacket(BfdState.INIT, 9, 5, 3, 100_000, 100_000), 0.0)
        s.datagrams_to_send(0.0)
        s.handle_timer(0.0)
        assert s.state is BfdState.UP
        assert s.get_timer() == pytest.approx(expected)
