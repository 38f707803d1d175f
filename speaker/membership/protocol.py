"""Sans-IO membership: who among the speakers is alive, from signed UDP heartbeats.

Every speaker sends a heartbeat to every known peer each `interval`; a peer not heard from
for `suspect_timeout` is declared down (MemberDown "timeout"), and a speaker that stops
cleanly sends LEAVE so its peers hand over at once (MemberDown "leave"). A peer that
flaps (`flap_limit` downs inside `flap_window`) must then be heard continuously for
`damp_hold` before it counts as up again, so one bad link cannot move addresses back and
forth. Unsigned, wrongly signed, malformed and replayed datagrams are dropped and counted.

The surface follows aioquic: `receive_datagram(data, addr, now)`, `datagrams_to_send(now)`,
`get_timer()`, `handle_timer(now)`, `next_event()`. Time is only ever the `now` argument.
"""

from __future__ import annotations

import enum
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from speaker.membership.codec import DecodeError, Kind, Message, decode, encode

Addr = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Settings:
    """Defaults detect a dead peer in 250 ms, inside a 500 ms failover budget."""

    interval: float = 0.05
    suspect_timeout: float = 0.25
    flap_limit: int = 3
    flap_window: float = 30.0
    damp_hold: float = 5.0
    # Above this many datagrams/s per node the interval (and timeout) stretch in proportion,
    # so a 1000-node cluster costs bounded CPU at the price of slower detection.
    max_send_rate: float = 2000.0

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.suspect_timeout <= self.interval:
            raise ValueError("membership: need 0 < interval < suspect_timeout")

    def scaled(self, peers: int) -> tuple[float, float]:
        """(interval, suspect_timeout) in force with `peers` peers."""
        factor = max(1.0, peers / (self.interval * self.max_send_rate))
        return self.interval * factor, self.suspect_timeout * factor


class DownReason(enum.StrEnum):
    TIMEOUT = "timeout"
    LEAVE = "leave"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class MembershipEvent:
    node: str


@dataclass(frozen=True, slots=True)
class MemberUp(MembershipEvent):
    pass


@dataclass(frozen=True, slots=True)
class MemberDown(MembershipEvent):
    reason: DownReason


@dataclass(slots=True)
class _Peer:
    up: bool = False
    last_heard: float = float("-inf")
    last_id: tuple[int, int] = (-1, -1)
    left_incarnation: int = -1
    streak_start: float | None = None
    downs: deque[float] = field(default_factory=deque)


class Membership:
    def __init__(self, node: str, key: bytes, incarnation: int, settings: Settings | None = None):
        self.node = node
        self._key = key
        self._incarnation = incarnation
        self._sequence = 0
        self.settings = settings or Settings()
        self._peers: dict[str, _Peer] = {}
        self._addrs: dict[str, Addr] = {}
        self._events: deque[MembershipEvent] = deque()
        self._out: list[tuple[bytes, Addr]] = []
        self._next_send: float | None = None
        self._left = False
        self.dropped: Counter[str] = Counter()
        self.received = 0
        self.sent = 0

    def __repr__(self) -> str:
        return f"Membership(node={self.node!r}, peers={len(self._addrs)}, key=<redacted>)"

    # --- inputs -------------------------------------------------------------------------

    def set_peers(self, peers: Mapping[str, Addr], now: float) -> None:
        """The speakers to heartbeat (from Node addresses); a removed up peer goes down."""
        for name in set(self._addrs) - set(peers):
            peer = self._peers.get(name)
            if peer is not None and peer.up:
                self._down(name, peer, DownReason.REMOVED, now)
        self._addrs = {name: addr for name, addr in peers.items() if name != self.node}
        if self._next_send is None and not self._left:
            self._next_send = now

    def receive_datagram(self, data: bytes, addr: Addr, now: float) -> None:
        try:
            msg = decode(data, self._key)
        except DecodeError as err:
            self.dropped[err.reason] += 1
            return
        if msg.node == self.node:
            self.dropped["self"] += 1
            return
        peer = self._peers.setdefault(msg.node, _Peer())
        msg_id = (msg.incarnation, msg.sequence)
        if msg_id <= peer.last_id or msg.incarnation <= peer.left_incarnation:
            self.dropped["replay"] += 1
            return
        peer.last_id = msg_id
        self.received += 1
        if msg.kind is Kind.LEAVE:
            peer.left_incarnation = msg.incarnation
            peer.streak_start = None
            if peer.up:
                self._down(msg.node, peer, DownReason.LEAVE, now)
            return
        self._heard(msg.node, peer, now)

    def leave(self, now: float) -> None:
        """Say goodbye to every peer (sent by the next `datagrams_to_send`), stop heartbeats."""
        if self._left:
            return
        self._left = True
        self._next_send = None
        self._sequence += 1
        data = encode(Message(Kind.LEAVE, self.node, self._incarnation, self._sequence), self._key)
        # Twice: one lost datagram must not turn a planned hand-over into a timeout.
        for _ in range(2):
            self._out.extend((data, addr) for addr in self._addrs.values())

    def handle_timer(self, now: float) -> None:
        _, timeout = self.settings.scaled(len(self._addrs))
        for name, peer in self._peers.items():
            silent = now - peer.last_heard >= timeout
            if peer.up and silent:
                self._down(name, peer, DownReason.TIMEOUT, now)
            elif not peer.up and peer.streak_start is not None:
                if silent:
                    peer.streak_start = None
                elif now - peer.streak_start >= self.settings.damp_hold:
                    self._up(name, peer)

    # --- outputs ------------------------------------------------------------------------

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Addr]]:
        if self._next_send is not None and now >= self._next_send:
            interval, _ = self.settings.scaled(len(self._addrs))
            self._sequence += 1
            msg = Message(Kind.HEARTBEAT, self.node, self._incarnation, self._sequence)
            data = encode(msg, self._key)
            self._out.extend((data, addr) for addr in self._addrs.values())
            self._next_send += interval
            if self._next_send <= now:  # we were late (a busy loop): do not send a burst
                self._next_send = now + interval
        out, self._out = self._out, []
        self.sent += len(out)
        return out

    def get_timer(self) -> float | None:
        if self._left:
            return None
        _, timeout = self.settings.scaled(len(self._addrs))
        deadlines = [self._next_send] if self._next_send is not None else []
        for peer in self._peers.values():
            if peer.up:
                deadlines.append(peer.last_heard + timeout)
            elif peer.streak_start is not None:
                deadlines.append(
                    min(peer.last_heard + timeout, peer.streak_start + self.settings.damp_hold)
                )
        return min(deadlines) if deadlines else None

    def next_event(self) -> MembershipEvent | None:
        return self._events.popleft() if self._events else None

    def up_members(self) -> frozenset[str]:
        """Healthy speakers, this one included (while it has not left)."""
        up = {name for name, peer in self._peers.items() if peer.up}
        if not self._left:
            up.add(self.node)
        return frozenset(up)

    @property
    def left(self) -> bool:
        return self._left

    # --- transitions --------------------------------------------------------------------

    def _heard(self, name: str, peer: _Peer, now: float) -> None:
        _, timeout = self.settings.scaled(len(self._addrs))
        if not peer.up and (peer.streak_start is None or now - peer.last_heard >= timeout):
            peer.streak_start = now
        peer.last_heard = now
        if peer.up:
            return
        self._prune(peer, now)
        damped = len(peer.downs) >= self.settings.flap_limit
        if not damped or now - (peer.streak_start or now) >= self.settings.damp_hold:
            self._up(name, peer)

    def _up(self, name: str, peer: _Peer) -> None:
        peer.up = True
        peer.streak_start = None
        self._events.append(MemberUp(name))

    def _down(self, name: str, peer: _Peer, reason: DownReason, now: float) -> None:
        peer.up = False
        peer.streak_start = None
        peer.downs.append(now)
        self._prune(peer, now)
        self._events.append(MemberDown(name, reason))

    def _prune(self, peer: _Peer, now: float) -> None:
        while peer.downs and now - peer.downs[0] > self.settings.flap_window:
            peer.downs.popleft()
