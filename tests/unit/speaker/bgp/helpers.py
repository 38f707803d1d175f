"""Two sans-IO sessions wired back to back in memory (the h11 `tests/helpers.py` idea)."""

from __future__ import annotations

import ipaddress

from speaker.bgp.capabilities import Negotiated
from speaker.bgp.codec import Message, decode
from speaker.bgp.framing import ReceiveBuffer
from speaker.bgp.session import Event, Session, SessionConfig


def config(asn: int, peer: int, rid: str, **kw: object) -> SessionConfig:
    return SessionConfig(
        local_asn=asn,
        peer_asn=peer,
        router_id=ipaddress.IPv4Address(rid),
        next_hop_v4=ipaddress.IPv4Address(rid),
        next_hop_v6=ipaddress.IPv6Address("2001:db8::" + rid.split(".")[-1]),
        **kw,  # type: ignore[arg-type]
    )


def drain(session: Session) -> list[Event]:
    out = []
    while (ev := session.next_event()) is not None:
        out.append(ev)
    return out


def messages(data: bytes, neg: Negotiated | None = None) -> list[Message]:
    buf = ReceiveBuffer()
    buf.feed(data)
    out = []
    while (raw := buf.next_message()) is not None:
        out.append(decode(raw, neg or Negotiated()))
    return out


class SessionPair:
    """`a` connects actively to `b`; `pump(now)` moves bytes both ways until quiet."""

    def __init__(self, a: SessionConfig, b: SessionConfig) -> None:
        self.a = Session(a)
        self.b = Session(b)
        self.events: dict[str, list[Event]] = {"a": [], "b": []}
        self.wire: dict[str, bytes] = {"a": b"", "b": b""}  # bytes each side sent

    def connect(self, now: float = 0.0) -> None:
        self.a.start(now)
        self.b.start(now)
        self.a.connection_made(now)
        self.b.connection_made(now)
        self.pump(now)

    def pump(self, now: float) -> None:
        for _ in range(100):
            ab = self.a.data_to_send()
            ba = self.b.data_to_send()
            if not ab and not ba:
                break
            self.wire["a"] += ab
            self.wire["b"] += ba
            if ab:
                self.b.receive_data(ab, now)
            if ba:
                self.a.receive_data(ba, now)
        self.events["a"] += drain(self.a)
        self.events["b"] += drain(self.b)
