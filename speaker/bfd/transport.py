"""asyncio UDP shell for BFD: RFC 5881 single hop (3784) and RFC 5883 multihop (4784).

One receive socket per (family, port) bound to the wildcard address with IP_RECVTTL /
IPV6_RECVHOPLIMIT so the TTL of every packet is checked: single hop accepts only 255 (GTSM,
RFC 5881 §5), multihop at least the profile's minimumTtl. Each session sends from its own
socket with TTL 255 and a source port in 49152-65535 (RFC 5881 §4). Packets are matched to
a session by Your Discriminator, or by source address while that is still 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from ironlb.log import StructLogger
from speaker.bfd.codec import BfdState
from speaker.bfd.session import BfdConfig, BfdSession

SINGLE_HOP_PORT = 3784
MULTI_HOP_PORT = 4784
SOURCE_PORTS = (49152, 65535)
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_TTL = socket.IP_TTL
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)

OnState = Callable[[bool, str], None]


@dataclass(eq=False)
class BfdPeer:
    """One BFD session bound to a peer address and its send socket."""

    address: str
    multihop: bool
    minimum_ttl: int
    session: BfdSession
    on_state: OnState
    sock: socket.socket
    handle: asyncio.TimerHandle | None = None
    deadline: float | None = None
    was_up: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def ttl_of(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancdata:
        if (level, kind) in ((socket.IPPROTO_IP, IP_TTL), (socket.IPPROTO_IP, IP_RECVTTL)):
            return data[0] if len(data) == 1 else struct.unpack("=i", data[:4])[0]
        if (level, kind) == (socket.IPPROTO_IPV6, IPV6_HOPLIMIT):
            return struct.unpack("=i", data[:4])[0]
    return None


class BfdEndpoint:
    def __init__(self, log: StructLogger, *, port: int | None = None) -> None:
        self.log = log
        self._port = port  # override both well-known ports (tests run two endpoints in one ns)
        self._rx: dict[tuple[int, int], socket.socket] = {}
        self._peers: list[BfdPeer] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    def _port_for(self, multihop: bool) -> int:
        if self._port is not None:
            return self._port
        return MULTI_HOP_PORT if multihop else SINGLE_HOP_PORT

    def _ensure_rx(self, family: int, port: int) -> None:
        if (family, port) in self._rx:
            return
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            sock.bind(("::", port))
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            sock.bind(("0.0.0.0", port))
        assert self._loop is not None
        self._loop.add_reader(sock.fileno(), self._on_readable, sock)
        self._rx[(family, port)] = sock

    def add_peer(self, desired: object, on_state: OnState) -> BfdPeer:
        """`desired` is a PeerDesired with `.bfd` set (duck-typed to keep layers apart)."""
        d = desired
        prof = d.bfd  # type: ignore[attr-defined]
        address = str(ipaddress.ip_address(d.peer_address))  # type: ignore[attr-defined]
        multihop = bool(d.ebgp_multihop)  # type: ignore[attr-defined]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        port = self._port_for(multihop)
        self._ensure_rx(family, port)
        sock = self._send_socket(family, d.source_address)  # type: ignore[attr-defined]
        config = BfdConfig(
            desired_min_tx_us=prof.transmit_interval * 1000,
            required_min_rx_us=prof.receive_interval * 1000,
            detect_mult=prof.detect_multiplier,
            passive=prof.passive_mode,
        )
        session = BfdSession(config, random.randint(1, 2**32 - 1))
        peer = BfdPeer(address, multihop, prof.minimum_ttl, session, on_state, sock)
        peer.extra["port"] = port
        self._peers.append(peer)
        assert self._loop is not None
        session.start(self._loop.time())
        self._pump(peer)
        self.log.info("bfd.peer.add", peer=address, multihop=multihop, port=port)
        return peer

    def _send_socket(self, family: int, source: str | None) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
        host = source or ("::" if family == socket.AF_INET6 else "0.0.0.0")
        for _ in range(64):  # bounded: pick a free source port in the RFC 5881 range
            try:
                sock.bind((host, random.randint(*SOURCE_PORTS)))
                return sock
            except OSError:
                continue
        sock.bind((host, 0))
        return sock

    def remove_peer(self, peer: BfdPeer) -> None:
        if peer not in self._peers:
            return
        # Tell the peer we are going away on purpose (AdminDown), then stop.
        assert self._loop is not None
        peer.session.set_admin_down(self._loop.time())
        self._transmit(peer)
        self._peers.remove(peer)
        if peer.handle is not None:
            peer.handle.cancel()
        peer.sock.close()

    def close(self) -> None:
        for peer in list(self._peers):
            self.remove_peer(peer)
        for sock in self._rx.values():
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._rx.clear()

    # ------------------------------------------------------------ I/O

    def _on_readable(self, sock: socket.socket) -> None:
        for _ in range(64):  # bounded drain per wake-up
            try:
                data, anc, _flags, addr = sock.recvmsg(512, socket.CMSG_SPACE(4) * 2)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._dispatch(data, anc, addr)

    def _dispatch(self, data: bytes, anc: list[tuple[int, int, bytes]], addr: tuple) -> None:
        src = str(ipaddress.ip_address(addr[0].split("%")[0]))
        ttl = ttl_of(anc)
        your = int.from_bytes(data[8:12], "big") if len(data) >= 12 else 0
        for peer in self._peers:
            if peer.address != src:
                continue
            if your and your != peer.session.local_discr:
                continue
            needed = peer.minimum_ttl if peer.multihop else 255
            if ttl is not None and ttl < needed:
                return  # RFC 5881 §5 / 5883 §2: TTL check failed, drop silently
            assert self._loop is not None
            peer.session.receive_datagram(data, self._loop.time())
            self._pump(peer)
            return

    def _pump(self, peer: BfdPeer) -> None:
        self._transmit(peer)
        while (ev := peer.session.next_event()) is not None:
            up = ev.new is BfdState.UP
            if up or peer.was_up:
                peer.on_state(up, ev.new.label)
            peer.was_up = up
        self._rearm(peer)

    def _transmit(self, peer: BfdPeer) -> None:
        assert self._loop is not None
        port = int(peer.extra["port"])  # type: ignore[call-overload]
        for pkt in peer.session.datagrams_to_send(self._loop.time()):
            with contextlib.suppress(OSError):
                peer.sock.sendto(pkt, (peer.address, port))

    def _rearm(self, peer: BfdPeer) -> None:
        assert self._loop is not None
        deadline = peer.session.get_timer()
        if deadline == peer.deadline and peer.handle is not None:
            return
        if peer.handle is not None:
            peer.handle.cancel()
        peer.deadline = deadline
        peer.handle = None if deadline is None else self._loop.call_at(deadline, self._fire, peer)

    def _fire(self, peer: BfdPeer) -> None:
        peer.handle = None
        peer.deadline = None
        if peer not in self._peers:
            return
        assert self._loop is not None
        peer.session.handle_timer(self._loop.time())
        self._pump(peer)
