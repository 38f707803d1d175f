"""asyncio TCP for BGP: active connect and passive listen, TCP MD5, TTL, source address.

Socket options are set before connect/listen because Linux checks the MD5 key on the SYN:
- `TCP_MD5SIG` (RFC 2385) takes `struct tcp_md5sig` (sockaddr_storage of the peer, flags,
  prefix length, key length, ifindex, 80-byte key); on a listener one key per peer address.
- TTL: eBGP single hop sends with TTL 1 (what FRR, BIRD and GoBGP do by default), iBGP and
  ebgp-multihop with 255. GTSM (RFC 5082, TTL 255 + minimum TTL 254 on receive) is not on by
  default because the peer must enable it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from ironlb.log import Secret

TCP_MD5SIG = 14
TCP_MD5SIG_MAXKEYLEN = 80
BGP_PORT = 179


class TransportError(Exception):
    """Socket setup failed in a way the user can fix (bad address, key too long)."""


@dataclass(frozen=True, slots=True)
class TcpOptions:
    peer_address: str
    peer_port: int = BGP_PORT
    source_address: str | None = None
    password: Secret | None = None
    ttl: int = 1
    connect_timeout: float = 5.0


def md5sig(peer: str, key: str) -> bytes:
    """The `struct tcp_md5sig` bytes for one peer address (empty key deletes it)."""
    raw = key.encode()
    if len(raw) > TCP_MD5SIG_MAXKEYLEN:
        raise TransportError(f"TCP MD5 password longer than {TCP_MD5SIG_MAXKEYLEN} bytes")
    addr = ipaddress.ip_address(peer)
    if addr.version == 4:
        sa = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 0) + addr.packed
    else:
        sa = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", 0, 0) + addr.packed
        sa += struct.pack("=I", 0)
    sa = sa.ljust(128, b"\0")
    return sa + struct.pack("=BBHI", 0, 0, len(raw), 0) + raw.ljust(TCP_MD5SIG_MAXKEYLEN, b"\0")


def set_md5(sock: socket.socket, peer: str, password: Secret | None) -> None:
    if password:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(peer, password.reveal()))


def set_ttl(sock: socket.socket, family: int, ttl: int) -> None:
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)


def _family(address: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


async def connect(
    opts: TcpOptions, protocol_factory: Callable[[], asyncio.Protocol]
) -> tuple[asyncio.Transport, asyncio.Protocol]:
    """Open one BGP TCP connection with the options applied before the SYN."""
    loop = asyncio.get_running_loop()
    family = _family(opts.peer_address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        set_ttl(sock, family, opts.ttl)
        set_md5(sock, opts.peer_address, opts.password)
        if opts.source_address:
            sock.bind((opts.source_address, 0))
        async with asyncio.timeout(opts.connect_timeout):
            await loop.sock_connect(sock, (opts.peer_address, opts.peer_port))
        transport, protocol = await loop.create_connection(protocol_factory, sock=sock)
    except BaseException:
        sock.close()
        raise
    return transport, protocol  # type: ignore[return-value]


class Listener:
    """Passive side: accept connections on port 179 and hand them to `on_accept(peer_ip)`.

    `on_accept` returns a protocol for a configured peer or None to refuse the connection.
    """

    def __init__(
        self,
        address: str,
        port: int,
        on_accept: Callable[[str, str], asyncio.Protocol | None],
    ) -> None:
        self.address = address
        self.port = port
        self._on_accept = on_accept
        self._sock: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._keys: dict[str, str] = {}

    async def start(self) -> None:
        family = _family(self.address)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setblocking(False)
        try:
            sock.bind((self.address, self.port))
        except OSError as e:
            sock.close()
            raise TransportError(f"cannot listen on {self.address}:{self.port}: {e}") from None
        sock.listen(16)
        self.port = sock.getsockname()[1]  # the real port when asked for 0
        self._sock = sock
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._factory, sock=sock)

    def set_password(self, peer: str, password: Secret | None) -> None:
        """Install (or with None remove) the MD5 key the listener expects from `peer`."""
        if self._sock is None:
            return
        if password:
            set_md5(self._sock, peer, password)
            self._keys[peer] = "set"
        elif self._keys.pop(peer, None):
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(peer, ""))

    def _factory(self) -> asyncio.Protocol:
        return _Dispatch(self._on_accept)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


class _Dispatch(asyncio.Protocol):
    """Accepted connection: find the peer's protocol by address, then get out of the way."""

    def __init__(self, on_accept: Callable[[str, str], asyncio.Protocol | None]) -> None:
        self._on_accept = on_accept
        self._inner: asyncio.Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")[0]
        local = transport.get_extra_info("sockname")[0]
        inner = self._on_accept(str(ipaddress.ip_address(peer.split("%")[0])), local)
        if inner is None:
            transport.close()
            return
        self._inner = inner
        inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None:
            self._inner.connection_lost(exc)


def is_refused(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH)
