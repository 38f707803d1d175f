"""Asyncio UDP shell around the membership core.

Feeds datagrams in, sends what the core wants sent, keeps one timer armed (TimerDriver),
and hands each MembershipEvent to `on_event`. Peers come from the API (each Node's
InternalIP, else its first address) via `set_peers`; the key comes from a Kubernetes Secret
and is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from ipaddress import ip_address
from typing import Any

from ironlb.aio import TimerDriver
from ironlb.log import get_logger
from speaker.membership.protocol import Addr, Membership, MembershipEvent

log = get_logger("speaker.membership")

DEFAULT_PORT = 7946  # memberlist's port, which MetalLB's speaker already has open


def node_address(node: Mapping[str, Any], family: int | None = None) -> str | None:
    """The address speakers use to reach `node`: InternalIP first, like kubelet."""
    addrs = (node.get("status") or {}).get("addresses") or []
    ordered = [a for a in addrs if a.get("type") == "InternalIP"]
    ordered += [a for a in addrs if a.get("type") == "ExternalIP"]
    for a in ordered:
        try:
            ip = ip_address(a.get("address", ""))
        except ValueError:
            continue
        if family is None or ip.version == family:
            return str(ip)
    return None


def peers_from_nodes(nodes: Iterable[Mapping[str, Any]], port: int) -> dict[str, Addr]:
    out = {}
    for node in nodes:
        name = (node.get("metadata") or {}).get("name")
        addr = node_address(node, family=4) or node_address(node)
        if name and addr:
            out[name] = (addr, port)
    return out


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: MembershipTransport) -> None:
        self._owner = owner

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._owner.received(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("membership.socket_error", error=str(exc))


class MembershipTransport:
    def __init__(
        self,
        core: Membership,
        on_event: Callable[[MembershipEvent], None],
        bind: tuple[str, int],
    ) -> None:
        self.core = core
        self._on_event = on_event
        self._bind = bind
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.DatagramTransport | None = None
        self._timer = TimerDriver(core, self._fired, self._loop)
        self.send_errors = 0

    async def start(self) -> None:
        family = 10 if ":" in self._bind[0] else 2
        self._transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=self._bind, family=family
        )
        log.info("membership.listening", address=self._bind[0], port=self._bind[1])
        self._timer.rearm()

    def set_peers(self, peers: Mapping[str, Addr]) -> None:
        self.core.set_peers(peers, self._loop.time())
        self._pump()

    def received(self, data: bytes, addr: Addr) -> None:
        self.core.receive_datagram(data, addr, self._loop.time())
        self._pump()

    def leave(self) -> None:
        self.core.leave(self._loop.time())
        self._pump()

    def _fired(self, now: float) -> None:
        self._pump(now)

    def _pump(self, now: float | None = None) -> None:
        now = self._loop.time() if now is None else now
        if self._transport is not None:
            v6 = ":" in self._bind[0]
            for data, addr in self.core.datagrams_to_send(now):
                if v6 and ":" not in addr[0]:  # a dual-stack socket reaches IPv4 peers mapped
                    addr = (f"::ffff:{addr[0]}", addr[1])
                try:
                    self._transport.sendto(data, addr)
                except OSError:
                    self.send_errors += 1
        while (event := self.core.next_event()) is not None:
            self._on_event(event)
        self._timer.rearm()

    def close(self) -> None:
        self._timer.close()
        if self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.close()
