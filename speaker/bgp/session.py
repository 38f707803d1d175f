"""Sans-IO BGP session: bytes and `now` in; bytes, timers and events out (h11 + aioquic shape).

One `Session` lives as long as the peer is configured and spans TCP connections. The shell:
- opens TCP when it sees `ConnectRequest`, then calls `connection_made(now)` or
  `connection_failed(now)`; an accepted inbound connection also calls `connection_made`;
- feeds `receive_data(data, now)`, writes `data_to_send()`, closes TCP on `SessionDown`;
- arms one timer at `get_timer()` and calls `handle_timer(now)`.
Routes are level-triggered: `announce`/`withdraw` edit the wanted set, and whatever differs
from what the peer holds goes out as packed UPDATEs whenever the session is Established.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from speaker.bgp.adj_out import AdjOut, end_of_rib
from speaker.bgp.attributes import (
    AS_SEQUENCE,
    ORIGIN_INCOMPLETE,
    Address,
    MpReach,
    PathAttributes,
    Prefix,
)
from speaker.bgp.capabilities import (
    AFI_IPV4,
    IPV4_UNICAST,
    IPV6_UNICAST,
    SAFI_UNICAST,
    Capability,
    FourOctetAs,
    GracefulRestart,
    Multiprotocol,
    Negotiated,
    RouteRefreshCap,
    families_of,
)
from speaker.bgp.codec import (
    Keepalive,
    Message,
    Notification,
    Open,
    RouteRefresh,
    Update,
    decode,
    encode,
)
from speaker.bgp.errors import BgpDecodeError, CeaseSub, ErrorCode, OpenSub
from speaker.bgp.framing import ReceiveBuffer
from speaker.bgp.fsm import FSM_SUBCODE, DownReason, FsmError, Input, State, transition

OPEN_HOLD_TIME = 240.0  # RFC 4271 §8.2.2: "a large value" while waiting for the OPEN
_OPEN_NEG = Negotiated(four_octet_as=False)


@dataclass(frozen=True, slots=True)
class SessionConfig:
    local_asn: int
    peer_asn: int
    router_id: ipaddress.IPv4Address
    hold_time: int = 90
    keepalive_time: float | None = None
    connect_retry: float = 1.0
    max_connect_retry: float = 30.0
    passive: bool = False
    families: frozenset[tuple[int, int]] = frozenset({IPV4_UNICAST, IPV6_UNICAST})
    next_hop_v4: ipaddress.IPv4Address | None = None
    next_hop_v6: ipaddress.IPv6Address | None = None
    graceful_restart: bool = False
    restart_time: int = 120

    @property
    def ibgp(self) -> bool:
        return self.local_asn == self.peer_asn


@dataclass(frozen=True, slots=True)
class Route:
    prefix: Prefix
    local_pref: int | None = None
    communities: tuple[int, ...] = ()
    large_communities: tuple[tuple[int, int, int], ...] = ()
    next_hop: Address | None = None


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """Open a TCP connection to the peer now."""


@dataclass(frozen=True, slots=True)
class SessionUp:
    negotiated: Negotiated


@dataclass(frozen=True, slots=True)
class SessionDown:
    """Flush `data_to_send()` and close TCP."""

    reason: DownReason
    was_established: bool
    detail: str = ""
    notification: Notification | None = None


@dataclass(frozen=True, slots=True)
class UpdateReceived:
    update: Update


@dataclass(frozen=True, slots=True)
class RouteRefreshRequested:
    afi: int
    safi: int


Event = ConnectRequest | SessionUp | SessionDown | UpdateReceived | RouteRefreshRequested


@dataclass(slots=True)
class Counters:
    updates_sent: int = 0
    updates_received: int = 0
    notifications_sent: int = 0
    flaps: int = 0


@dataclass(slots=True)
class _Timers:
    connect_retry: float | None = None
    hold: float | None = None
    keepalive: float | None = None

    def earliest(self) -> float | None:
        values = [t for t in (self.connect_retry, self.hold, self.keepalive) if t is not None]
        return min(values) if values else None


class Session:
    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.state = State.IDLE
        self.negotiated: Negotiated | None = None
        self.adj_out = AdjOut()
        self.counters = Counters()
        self.last_down: DownReason | None = None
        self._routes: dict[Prefix, Route] = {}
        self._events: deque[Event] = deque()
        self._out = bytearray()
        self._buf = ReceiveBuffer()
        self._timers = _Timers()
        self._retry_delay = config.connect_retry
        self._started = False
        self._eor_sent = False
        self._attr_cache: dict[object, object] = {}

    # ------------------------------------------------------------ shell API

    def start(self, now: float) -> None:
        """ManualStart: begin connecting (or listening, if passive); restarts after a down."""
        self._started = True
        if self.state is not State.IDLE:
            return
        if self.config.passive:
            self._move(Input.START_PASSIVE)
        else:
            self._move(Input.START_ACTIVE)
            self._events.append(ConnectRequest())

    def connection_made(self, now: float) -> None:
        if self.state not in (State.CONNECT, State.ACTIVE):
            raise FsmError(self.state, Input.TCP_CONNECTED)
        self._move(Input.TCP_CONNECTED)
        self._buf = ReceiveBuffer()
        self._out.clear()
        self._timers = _Timers(hold=now + OPEN_HOLD_TIME)
        self._send(self._open_message())

    def connection_failed(self, now: float) -> None:
        """The TCP connect attempt failed: retry later with exponential backoff."""
        if self.state not in (State.CONNECT, State.ACTIVE):
            return
        self._move(Input.TCP_FAILED)
        self._arm_retry(now)

    def connection_lost(self, now: float) -> None:
        if self.state in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED):
            self._down(now, DownReason.CONNECTION_LOST, "TCP closed by peer")

    def receive_data(self, data: bytes, now: float) -> None:
        if self.state not in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED):
            return  # a connection we already gave up on: drop
        self._buf.feed(data)
        try:
            while self.state in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED):
                raw = self._buf.next_message()
                if raw is None:
                    return
                neg = self.negotiated or _OPEN_NEG
                self._handle(decode(raw, neg), now)
        except BgpDecodeError as err:
            reason = (
                DownReason.OPEN_REJECTED
                if err.code == ErrorCode.OPEN_MESSAGE
                else DownReason.MALFORMED_MESSAGE
            )
            self._notify_down(now, reason, Notification(err.code, err.subcode, err.data), err.why)
        except FsmError as err:
            sub = FSM_SUBCODE.get(self.state, 0)
            note = Notification(ErrorCode.FSM, sub)
            self._notify_down(now, DownReason.FSM_ERROR, note, str(err))

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def get_timer(self) -> float | None:
        return self._timers.earliest()

    def handle_timer(self, now: float) -> None:
        t = self._timers
        if t.hold is not None and now >= t.hold:
            note = Notification(ErrorCode.HOLD_TIMER_EXPIRED, 0)
            self._notify_down(now, DownReason.HOLD_TIMER_EXPIRED, note, "no message from peer")
            return
        if t.keepalive is not None and now >= t.keepalive:
            self._move(Input.KEEPALIVE_TIMER)
            self._send(Keepalive())
            t.keepalive = now + self._keepalive_interval()
        if t.connect_retry is not None and now >= t.connect_retry:
            t.connect_retry = None
            if self.state is State.IDLE and self._started:
                self.start(now)
            elif self.state in (State.CONNECT, State.ACTIVE):
                self._move(Input.CONNECT_RETRY_EXPIRED)
                self._events.append(ConnectRequest())

    def close(self, now: float, reason: DownReason = DownReason.ADMIN_SHUTDOWN) -> None:
        """ManualStop: Cease NOTIFICATION if connected, then stay Idle (no restart)."""
        self._started = False
        sub = {
            DownReason.PEER_DECONFIGURED: CeaseSub.PEER_DECONFIGURED,
            DownReason.BFD_DOWN: CeaseSub.BFD_DOWN,
        }.get(reason, CeaseSub.ADMIN_SHUTDOWN)
        if self.state in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED):
            self._notify_down(now, reason, Notification(ErrorCode.CEASE, sub), "closed locally")
        else:
            self._move(Input.STOP)
        self._timers = _Timers()

    def bfd_down(self, now: float) -> None:
        """BFD says the path is dead (RFC 5882 §4.3): drop at once, then reconnect as usual."""
        if self.state in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED):
            note = Notification(ErrorCode.CEASE, CeaseSub.BFD_DOWN)
            self._notify_down(now, DownReason.BFD_DOWN, note, "BFD session down")

    def announce(self, routes: Iterable[Route]) -> None:
        for route in routes:
            self._routes[route.prefix] = route
            attrs = self._attributes(route)
            if attrs is None:
                self.adj_out.remove(route.prefix)
            else:
                self.adj_out.set(route.prefix, attrs)
        self._flush()

    def withdraw(self, prefixes: Iterable[Prefix]) -> None:
        for prefix in prefixes:
            self._routes.pop(prefix, None)
            self.adj_out.remove(prefix)
        self._flush()

    def set_routes(self, routes: Iterable[Route]) -> None:
        """Level-triggered: exactly these routes, withdrawing the others."""
        wanted = {r.prefix: r for r in routes}
        stale = [p for p in self._routes if p not in wanted]
        for prefix in stale:
            self._routes.pop(prefix)
            self.adj_out.remove(prefix)
        changed = [r for p, r in wanted.items() if self._routes.get(p) != r]
        self.announce(changed)

    @property
    def routes(self) -> dict[Prefix, Route]:
        return dict(self._routes)

    @property
    def advertised(self) -> int:
        return len(self.adj_out.sent) if self.state is State.ESTABLISHED else 0

    # ------------------------------------------------------------ internals

    def _move(self, event: Input) -> None:
        self.state = transition(self.state, event)

    def _send(self, msg: Message) -> None:
        self._out += encode(msg, self.negotiated or _OPEN_NEG)
        if isinstance(msg, Update):
            self.counters.updates_sent += 1
        elif isinstance(msg, Notification):
            self.counters.notifications_sent += 1

    def _open_message(self) -> Open:
        c = self.config
        caps: list[Capability] = [Multiprotocol(afi, safi) for afi, safi in sorted(c.families)]
        caps += [RouteRefreshCap(), FourOctetAs(c.local_asn)]
        if c.graceful_restart:
            fams = tuple((afi, safi, False) for afi, safi in sorted(c.families))
            caps.append(GracefulRestart(c.restart_time, False, fams))
        return Open(c.local_asn, c.hold_time, c.router_id, tuple(caps))

    def _keepalive_interval(self) -> float:
        neg = self.negotiated
        assert neg is not None
        return neg.keepalive_time

    def _arm_retry(self, now: float) -> None:
        self._timers.connect_retry = now + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.config.max_connect_retry)

    def _handle(self, msg: Message, now: float) -> None:
        if isinstance(msg, Open):
            self._move(Input.OPEN)
            self._on_open(msg, now)
        elif isinstance(msg, Keepalive):
            self._move(Input.KEEPALIVE)
            self._rearm_hold(now)
            if self.state is State.ESTABLISHED and self.negotiated is not None:
                self._on_established(now)
        elif isinstance(msg, Update):
            self._move(Input.UPDATE)
            self._rearm_hold(now)
            self.counters.updates_received += 1
            self._events.append(UpdateReceived(msg))
        elif isinstance(msg, RouteRefresh):
            self._move(Input.ROUTE_REFRESH)
            self._rearm_hold(now)
            self._on_route_refresh(msg)
        else:
            self._move(Input.NOTIFICATION)
            self._down(now, DownReason.NOTIFICATION_RECEIVED, _describe(msg), msg)

    def _on_open(self, msg: Open, now: float) -> None:
        c = self.config
        # peer_asn 0: any external AS (BGPPeer dynamicASN: external).
        if msg.asn != c.peer_asn and not (c.peer_asn == 0 and msg.asn != c.local_asn):
            data = min(msg.asn, 0xFFFF).to_bytes(2, "big")
            raise BgpDecodeError(ErrorCode.OPEN_MESSAGE, OpenSub.BAD_PEER_AS, data, why="peer AS")
        if c.ibgp and msg.router_id == c.router_id:
            raise BgpDecodeError(ErrorCode.OPEN_MESSAGE, OpenSub.BAD_BGP_IDENTIFIER, why="same id")
        hold = min(c.hold_time, msg.hold_time)
        keepalive = hold / 3
        if c.keepalive_time and 0 < c.keepalive_time < hold:
            keepalive = c.keepalive_time
        gr = msg.capability(GracefulRestart)
        self.negotiated = Negotiated(
            four_octet_as=msg.capability(FourOctetAs) is not None,
            families=c.families & families_of(msg.capabilities),
            route_refresh=msg.capability(RouteRefreshCap) is not None,
            hold_time=hold,
            keepalive_time=keepalive,
            peer_asn=msg.asn,
            peer_router_id=str(msg.router_id),
            peer_graceful_restart=gr if isinstance(gr, GracefulRestart) else None,
        )
        self._send(Keepalive())
        self._timers.keepalive = now + keepalive if hold else None
        self._rearm_hold(now)
        # Attributes depend on what was negotiated (next hops per family): rebuild them.
        for route in self._routes.values():
            attrs = self._attributes(route)
            if attrs is None:
                self.adj_out.remove(route.prefix)
            else:
                self.adj_out.set(route.prefix, attrs)

    def _on_established(self, now: float) -> None:
        self._retry_delay = self.config.connect_retry
        assert self.negotiated is not None
        self._events.append(SessionUp(self.negotiated))
        self._eor_sent = False
        self._flush()

    def _on_route_refresh(self, msg: RouteRefresh) -> None:
        neg = self.negotiated
        if neg is None or (msg.afi, msg.safi) not in neg.families:
            return
        self._events.append(RouteRefreshRequested(msg.afi, msg.safi))
        self.adj_out.forget_sent(msg.afi)
        self._flush()

    def _rearm_hold(self, now: float) -> None:
        neg = self.negotiated
        if neg is not None and self.state in (State.OPEN_CONFIRM, State.ESTABLISHED):
            self._timers.hold = now + neg.hold_time if neg.hold_time else None

    def _flush(self) -> None:
        neg = self.negotiated
        if self.state is not State.ESTABLISHED or neg is None:
            return
        for update in self.adj_out.updates(neg.families, neg.four_octet_as):
            self._send(update)
        if not self._eor_sent:
            self._eor_sent = True
            for afi, safi in sorted(neg.families):
                self._send(end_of_rib(afi, safi))

    def _attributes(self, route: Route) -> PathAttributes | None:
        """Path attributes for one route, or None if no usable next hop for its family.

        Routes that share attributes share one object (cached per config), so grouping and
        comparing 10,000 routes costs identity checks, not field-by-field comparisons.
        """
        key = (
            route.prefix.version,
            route.next_hop,
            route.local_pref,
            route.communities,
            route.large_communities,
        )
        cache = self._attr_cache
        if cache.get("config") is not self.config:
            cache.clear()
            cache["config"] = self.config
        if key not in cache:
            cache[key] = self._build_attributes(route)
        return cache[key]  # type: ignore[return-value]

    def _build_attributes(self, route: Route) -> PathAttributes | None:
        c = self.config
        hop = route.next_hop or (c.next_hop_v4 if route.prefix.version == 4 else c.next_hop_v6)
        if hop is None:
            return None
        path = () if c.ibgp else ((AS_SEQUENCE, (c.local_asn,)),)
        local_pref = (route.local_pref if route.local_pref is not None else 100) if c.ibgp else None
        base = PathAttributes(
            origin=ORIGIN_INCOMPLETE,
            as_path=path,
            local_pref=local_pref,
            communities=tuple(sorted(set(route.communities))),
            large_communities=tuple(sorted(set(route.large_communities))),
        )
        if route.prefix.version == 4 and hop.version == 4:
            return replace(base, next_hop=hop)
        return replace(base, mp_reach=MpReach(_afi(route.prefix), SAFI_UNICAST, (hop,)))

    def _notify_down(self, now: float, reason: DownReason, note: Notification, why: str) -> None:
        self._send(note)
        self._down(now, reason, why, None, sent=note)

    def _down(
        self,
        now: float,
        reason: DownReason,
        detail: str,
        received: Notification | None = None,
        sent: Notification | None = None,
    ) -> None:
        was_established = self.state is State.ESTABLISHED
        self.state = State.IDLE  # every error path of RFC 4271 §8.2.2 ends in Idle
        self.last_down = reason
        if was_established:
            self.counters.flaps += 1
        self.negotiated = None
        self.adj_out.forget_sent()
        self._timers = _Timers()
        self._events.append(SessionDown(reason, was_established, detail, received or sent))
        if self._started:
            self._arm_retry(now)  # automatic restart after the (backed-off) retry delay


def _afi(prefix: Prefix) -> int:
    return AFI_IPV4 if prefix.version == 4 else 2


def _describe(note: Notification) -> str:
    return f"code={note.code} subcode={note.subcode}"
