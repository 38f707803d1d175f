"""Shell for one peer: a sans-IO `Session` driven over asyncio TCP, plus its BFD session.

`PeerRunner` only feeds the core, drains it and re-arms one timer; every decision (timers,
backoff, what to send) is the session's. A connection that is not the current one is ignored,
so a late `connection_lost` from an old socket cannot touch a new session.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import zlib
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ironlb.aio import TimerDriver
from ironlb.log import StructLogger
from speaker.bgp.attributes import Prefix
from speaker.bgp.codec import Update
from speaker.bgp.desired import PeerDesired
from speaker.bgp.fsm import DownReason, State
from speaker.bgp.metrics import BgpMetrics
from speaker.bgp.session import (
    ConnectRequest,
    Route,
    RouteRefreshRequested,
    Session,
    SessionConfig,
    SessionDown,
    SessionUp,
    UpdateReceived,
)
from speaker.bgp.session_state import NO_BFD, PeerState, notification_text, rejects_prefixes
from speaker.bgp.transport import TcpOptions, connect

if TYPE_CHECKING:
    from speaker.bfd.transport import BfdEndpoint

CONNECT_TIMEOUT = 5.0

OnChange = Callable[[], None]
OnEvent = Callable[[str, str, str], None]  # (peer, reason, message): a Warning Event
# Going down because we asked to is not news; everything else is.
_OWN_REASONS = (DownReason.ADMIN_SHUTDOWN, DownReason.PEER_DECONFIGURED)


def session_config(d: PeerDesired, router_id: str | None, node_name: str) -> SessionConfig:
    rid = d.router_id or router_id or _router_id_from_name(node_name)
    ct = d.connect_time
    return SessionConfig(
        local_asn=d.my_asn,
        peer_asn=d.peer_asn,
        router_id=ipaddress.IPv4Address(rid),
        hold_time=int(d.hold_time),
        keepalive_time=d.keepalive_time,
        connect_retry=ct if ct else 1.0,
        max_connect_retry=ct if ct else 30.0,
        passive=d.passive,
        graceful_restart=d.graceful_restart,
        next_hop_v4=_v4(d.next_hop_v4),
        next_hop_v6=_v6(d.next_hop_v6),
    )


def _router_id_from_name(name: str) -> str:
    # A stable 32-bit id when nothing better is known (RFC 6286: any unique non-zero value).
    return str(ipaddress.IPv4Address(zlib.crc32(name.encode()) or 1))


def _v4(a: str | None) -> ipaddress.IPv4Address | None:
    return ipaddress.IPv4Address(a) if a else None


def _v6(a: str | None) -> ipaddress.IPv6Address | None:
    return ipaddress.IPv6Address(a) if a else None


class _Protocol(asyncio.Protocol):
    def __init__(self, runner: PeerRunner, adopt_local: str | None = None) -> None:
        self.runner = runner
        self.transport: asyncio.Transport | None = None
        self._adopt_local = adopt_local
        self.closed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self._adopt_local is not None:  # an accepted inbound connection
            self.runner._adopt(self, self._adopt_local)

    def data_received(self, data: bytes) -> None:
        self.runner._on_data(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self.runner._on_lost(self)


class PeerRunner:
    def __init__(
        self,
        desired: PeerDesired,
        *,
        node_name: str,
        log: StructLogger,
        metrics: BgpMetrics | None,
        router_id: str | None = None,
        bfd: BfdEndpoint | None = None,
        on_change: OnChange | None = None,
        on_event: OnEvent | None = None,
    ) -> None:
        self.desired = desired
        self.name = desired.name
        self.log = log
        self.metrics = metrics
        self.session = Session(session_config(desired, router_id, node_name))
        self._loop = asyncio.get_running_loop()
        self._timer = TimerDriver(self.session, lambda now: self.pump())
        self._proto: _Protocol | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._state = ""
        self._closed = False
        self._bfd = bfd
        self._bfd_peer: Any = None
        self.established = asyncio.Event()
        self.received: set[Prefix] = set()  # Adj-RIB-In prefixes (we never install them)
        self._closing: list[_Protocol] = []
        self._counted = 0  # UPDATEs already added to the metric
        self._on_change = on_change
        self._on_event = on_event
        self.bfd_state = NO_BFD if desired.bfd is None or bfd is None else "Down"
        self.last_down = ""

    # ------------------------------------------------------------ control

    def start(self) -> None:
        self.session.start(self._loop.time())
        if self._bfd is not None and self.desired.bfd is not None:
            self._bfd_peer = self._bfd.add_peer(self.desired, self._on_bfd_state)
        self.pump()

    def set_routes(self, routes: frozenset[Route]) -> None:
        self.session.set_routes(routes)
        self.pump()

    async def stop(self, reason: DownReason = DownReason.ADMIN_SHUTDOWN) -> None:
        """Cease NOTIFICATION (if connected), flush, close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._bfd is not None and self._bfd_peer is not None:
            self._bfd.remove_peer(self._bfd_peer)
        self.session.close(self._loop.time(), reason)
        self.pump()
        self._timer.close()
        if self._connect_task is not None:
            self._connect_task.cancel()
            with contextlib.suppress(BaseException):
                await self._connect_task
        proto, self._proto = self._proto, None
        if proto is not None and proto.transport is not None:
            proto.transport.close()
            self._closing.append(proto)
        # close() flushes the write buffer (the Cease) before the socket goes: wait for that.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                for closing in self._closing:
                    await closing.closed.wait()
        if self.metrics is not None:
            self.metrics.forget(self.name)

    def accept(self, local_ip: str) -> asyncio.Protocol | None:
        """A passive inbound connection from this peer: take it if we have none."""
        # Only while we hold no connection (Idle waits out its retry delay): no collisions.
        if self._closed or self.session.state not in (State.CONNECT, State.ACTIVE):
            return None
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()  # the peer was faster: use its connection
        return _Protocol(self, adopt_local=local_ip)

    # ------------------------------------------------------------ pump

    def pump(self) -> None:
        data = self.session.data_to_send()
        proto = self._proto
        if data and proto is not None and proto.transport is not None:
            proto.transport.write(data)
        while (ev := self.session.next_event()) is not None:
            if isinstance(ev, ConnectRequest):
                self._start_connect()
            elif isinstance(ev, SessionUp):
                self.log.info(
                    "bgp.session.up",
                    peer=self.name,
                    hold=ev.negotiated.hold_time,
                    families=len(ev.negotiated.families),
                )
                self.established.set()
            elif isinstance(ev, SessionDown):
                self._on_down(ev)
            elif isinstance(ev, UpdateReceived):
                self._adj_in(ev.update)
            elif isinstance(ev, RouteRefreshRequested):
                self.log.info("bgp.route_refresh", peer=self.name, afi=ev.afi)
        self._observe()
        self._timer.rearm()

    def _adj_in(self, update: Update) -> None:
        a = update.attributes
        gone = set(update.withdrawn) | set(a.mp_unreach.withdrawn if a.mp_unreach else ())
        new = set(update.nlri) | set(a.mp_reach.nlri if a.mp_reach else ())
        if update.treat_as_withdraw:  # RFC 7606: the NLRI of a damaged UPDATE is withdrawn
            gone, new = gone | new, set()
        self.received -= gone
        self.received |= new

    def _observe(self) -> None:
        state = self.session.state.value
        if state != self._state:
            self._state = state
            self.log.debug("bgp.session.state", peer=self.name, state=state)
            if self._on_change is not None:
                self._on_change()
        if self.metrics is not None:
            self.metrics.set_state(self.name, state)
            self.metrics.prefixes.labels(self.name).set(self.session.advertised)
            sent = self.session.counters.updates_sent
            counter = self.metrics.updates_sent.labels(self.name)
            counter.inc(sent - self._counted)
            self._counted = sent

    def _on_down(self, ev: SessionDown) -> None:
        self.established.clear()
        self.received.clear()
        level = self.log.warning if ev.was_established else self.log.info
        note = ev.notification
        level(
            "bgp.session.down",
            peer=self.name,
            reason=ev.reason.value,
            detail=ev.detail,
            notification=f"{note.code}/{note.subcode}" if note else "",
            was_established=ev.was_established,
        )
        self._report_down(ev)
        if self.metrics is not None:
            self.metrics.session_down.labels(self.name, ev.reason.value).inc()
            if note is not None and ev.reason is DownReason.NOTIFICATION_RECEIVED:
                codes = (str(note.code), str(note.subcode))
                self.metrics.notifications_received.labels(self.name, *codes).inc()
        proto, self._proto = self._proto, None
        if proto is not None and proto.transport is not None:
            proto.transport.close()
            self._closing = [p for p in self._closing if not p.closed.is_set()] + [proto]

    def _report_down(self, ev: SessionDown) -> None:
        note, received = ev.notification, ev.reason is DownReason.NOTIFICATION_RECEIVED
        why = ev.reason.value
        if note is not None:
            side = "received" if received else "sent"
            why += f": {side} {notification_text(note.code, note.subcode)}"
        elif ev.detail:
            why += f": {ev.detail}"
        self.last_down = why
        if self._on_event is None or ev.reason in _OWN_REASONS:
            return
        where = f"{self.desired.peer_address} (AS {self.desired.peer_asn})"
        if received and note is not None and rejects_prefixes(note.code, note.subcode):
            self._on_event(self.name, "PrefixesRejected", f"peer {where} refused our routes: {why}")
        elif ev.was_established or ev.reason is DownReason.OPEN_REJECTED or received:
            self._on_event(self.name, "BGPSessionDown", f"session with {where} down: {why}")

    def state(self) -> PeerState:
        return PeerState(
            self.name, self.desired.peer_address, self.session.state.value, self.bfd_state,
            self.last_down,
        )  # fmt: skip

    # ------------------------------------------------------------ TCP

    def _options(self) -> TcpOptions:
        d = self.desired
        ibgp = d.my_asn == d.peer_asn
        return TcpOptions(
            peer_address=d.peer_address,
            peer_port=d.peer_port,
            source_address=d.source_address,
            password=d.password,
            ttl=255 if ibgp or d.ebgp_multihop else 1,
            connect_timeout=CONNECT_TIMEOUT,
        )

    def _start_connect(self) -> None:
        if self._closed or (self._connect_task is not None and not self._connect_task.done()):
            return
        self._connect_task = self._loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            _, proto = await connect(self._options(), lambda: _Protocol(self))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a refused/unreachable/timed-out connect is routine
            self.log.debug("bgp.connect.failed", peer=self.name, error=type(e).__name__)
            self.session.connection_failed(self._loop.time())
            self.pump()
            return
        assert isinstance(proto, _Protocol) and proto.transport is not None
        if self._closed or self.session.state not in (State.CONNECT, State.ACTIVE):
            proto.transport.close()
            return
        self._adopt(proto, proto.transport.get_extra_info("sockname")[0])

    def _adopt(self, proto: _Protocol, local_ip: str) -> None:
        local = ipaddress.ip_address(local_ip.split("%")[0])
        cfg = self.session.config
        nh4 = cfg.next_hop_v4 or (local if local.version == 4 else None)
        nh6 = cfg.next_hop_v6 or (local if local.version == 6 else None)
        self.session.config = replace(cfg, next_hop_v4=nh4, next_hop_v6=nh6)  # type: ignore[arg-type]
        self._proto = proto
        self.session.connection_made(self._loop.time())
        self.pump()

    def _on_data(self, proto: _Protocol, data: bytes) -> None:
        if proto is not self._proto:
            return
        self.session.receive_data(data, self._loop.time())
        self.pump()

    def _on_lost(self, proto: _Protocol) -> None:
        if proto is not self._proto:
            return
        self._proto = None
        self.session.connection_lost(self._loop.time())
        self.pump()

    # ------------------------------------------------------------ BFD

    def _on_bfd_state(self, up: bool, state: str) -> None:
        was_up, self.bfd_state = self.bfd_state == "Up", state
        if self.metrics is not None:
            self.metrics.set_bfd_state(self.name, state)
        if self._on_change is not None:
            self._on_change()
        if not up:
            self.log.warning("bfd.down", peer=self.name, state=state)
            if was_up and self._on_event is not None:
                where = self.desired.peer_address
                self._on_event(self.name, "BFDDown", f"BFD with {where} went {state}")
            self.session.bfd_down(self._loop.time())
            self.pump()
        else:
            self.log.info("bfd.up", peer=self.name)
