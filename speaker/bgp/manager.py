"""BgpManager: running peer sessions reconciled against a `BgpDesired`, level-triggered.

`apply(desired)` may be called any number of times with the full desired state: peers that
disappeared are closed with a Cease (peer de-configured), peers whose settings changed are
restarted, and every peer gets exactly its routes. `shutdown()` withdraws everything by
closing each session with a Cease (administrative shutdown) before the process exits.
"""

from __future__ import annotations

import asyncio
import ipaddress

from ironlb.log import StructLogger
from speaker.bfd.transport import BfdEndpoint
from speaker.bgp.desired import BgpDesired, PeerDesired
from speaker.bgp.fsm import DownReason, State
from speaker.bgp.metrics import BgpMetrics
from speaker.bgp.peers import OnChange, OnEvent, PeerRunner
from speaker.bgp.session_state import PeerState
from speaker.bgp.transport import BGP_PORT, TCP_MD5SIG_MAXKEYLEN, Listener, TransportError


class BgpManager:
    def __init__(
        self,
        node_name: str,
        log: StructLogger,
        metrics: BgpMetrics | None = None,
        *,
        router_id: str | None = None,
        listen_address: str | None = None,
        listen_port: int = BGP_PORT,
        bfd_port: int | None = None,
        on_change: OnChange | None = None,
        on_event: OnEvent | None = None,
    ) -> None:
        self.node_name = node_name
        self.log = log
        self.metrics = metrics
        self.router_id = router_id
        self._listen = (listen_address, listen_port) if listen_address else None
        self._listener: Listener | None = None
        self._bfd_port = bfd_port
        self._bfd: BfdEndpoint | None = None
        self.runners: dict[str, PeerRunner] = {}
        self.invalid: dict[str, PeerState] = {}  # peers the session cannot use, and why
        self._on_change = on_change
        self._on_event = on_event
        self.desired = BgpDesired()
        self._lock = asyncio.Lock()

    async def apply(self, desired: BgpDesired) -> None:
        async with self._lock:
            await self._apply(desired)

    async def _apply(self, desired: BgpDesired) -> None:
        self.desired = desired
        for name in list(self.runners):
            want = desired.peers.get(name)
            if want is None or want != self.runners[name].desired:
                reason = DownReason.PEER_DECONFIGURED
                self.log.info("bgp.peer.remove", peer=name, changed=want is not None)
                await self.runners.pop(name).stop(reason)
        if any(p.bfd is not None for p in desired.peers.values()):
            await self._ensure_bfd()
        await self._ensure_listener(desired)
        self.invalid.clear()
        for name, want in desired.peers.items():
            runner = self.runners.get(name)
            if runner is None:
                problem = peer_problem(want)
                if problem is not None:
                    field, reason = problem
                    self.log.warning("bgp.peer.invalid", peer=name, field=field, reason=reason)
                    why = f"invalid BGPPeer: {field}: {reason}"
                    self.invalid[name] = PeerState(name, want.peer_address, "Idle", last_down=why)
                    continue
                runner = self._make_runner(want)
                self.runners[name] = runner
                self.log.info(
                    "bgp.peer.add",
                    peer=name,
                    address=want.peer_address,
                    peer_asn=want.peer_asn,
                    md5=want.password is not None,
                    bfd=want.bfd.name if want.bfd else "",
                )
                runner.start()
            runner.set_routes(desired.routes.get(name, frozenset()))
        if self._on_change is not None:  # peers added/removed/invalid: a no-op plan is cheap
            self._on_change()

    def _make_runner(self, want: PeerDesired) -> PeerRunner:
        if self._listener is not None:
            self._listener.set_password(want.peer_address, want.password)
        return PeerRunner(
            want,
            node_name=self.node_name,
            log=self.log,
            metrics=self.metrics,
            router_id=self.router_id,
            bfd=self._bfd,
            on_change=self._on_change,
            on_event=self._on_event,
        )

    async def _ensure_bfd(self) -> None:
        if self._bfd is None:
            self._bfd = BfdEndpoint(self.log, port=self._bfd_port)
            await self._bfd.start()

    async def _ensure_listener(self, desired: BgpDesired) -> None:
        if self._listen is None or self._listener is not None:
            return
        address, port = self._listen
        listener = Listener(address, port, self._on_accept)
        try:
            await listener.start()
        except TransportError as err:  # e.g. port 179 taken: active sessions still work
            self.log.warning("bgp.listen.failed", address=address, port=port, reason=str(err))
            self._listen = None
            return
        self._listener = listener
        for p in desired.peers.values():
            self._listener.set_password(p.peer_address, p.password)

    def _on_accept(self, peer_ip: str, local_ip: str) -> asyncio.Protocol | None:
        for runner in self.runners.values():
            if runner.desired.peer_address == peer_ip:
                return runner.accept(local_ip)
        self.log.info("bgp.accept.refused", peer_address=peer_ip, reason="not a configured peer")
        return None

    @property
    def listen_port(self) -> int | None:
        return self._listener.port if self._listener is not None else None

    def established(self) -> dict[str, bool]:
        return {n: r.session.state is State.ESTABLISHED for n, r in self.runners.items()}

    def session_states(self) -> dict[str, PeerState]:
        """Every configured peer's session as BGPSessionState reports it."""
        return {**self.invalid, **{n: r.state() for n, r in self.runners.items()}}

    def announced_to(self) -> dict[str, int]:
        return {n: r.session.advertised for n, r in self.runners.items()}

    async def shutdown(self) -> None:
        """Withdraw everything: Cease to every peer, then close sockets."""
        async with self._lock:
            runners = list(self.runners.values())
            self.runners.clear()
            await asyncio.gather(*(r.stop(DownReason.ADMIN_SHUTDOWN) for r in runners))
            if self._listener is not None:
                await self._listener.close()
                self._listener = None
            if self._bfd is not None:
                self._bfd.close()
                self._bfd = None
            self.log.info("bgp.shutdown", node=self.node_name, peers=len(runners))


def peer_problem(p: PeerDesired) -> tuple[str, str] | None:
    """(BGPPeer field, reason) for settings the transport or session cannot use, or None."""
    for field, value in (
        ("spec.peerAddress", p.peer_address),
        ("spec.sourceAddress", p.source_address),
    ):
        if value is None:
            continue
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return field, f"{value!r} is not an IP address"
    if p.router_id is not None:
        try:
            ipaddress.IPv4Address(p.router_id)
        except ValueError:
            return "spec.routerID", f"{p.router_id!r} is not an IPv4 address"
    if p.password is not None and len(p.password.reveal().encode()) > TCP_MD5SIG_MAXKEYLEN:
        return "spec.password", f"longer than {TCP_MD5SIG_MAXKEYLEN} bytes (TCP MD5 limit)"
    if not 0 <= p.my_asn < 2**32 or not 0 <= p.peer_asn < 2**32:
        return "spec.myASN", "ASN out of range"
    if p.hold_time and p.hold_time < 3:
        return "spec.holdTime", "must be 0 or at least 3 seconds (RFC 4271)"
    return None
