"""AF_PACKET asyncio shell: one raw socket per selected interface feeding the responder.

A classic BPF filter attached to each socket passes only ARP and ICMPv6 NS/NA, so the
Service traffic itself never wakes Python. Frames the host sends itself (PACKET_OUTGOING)
are skipped. For IPv6 the speaker joins each owned address's solicited-node group
(IPV6_JOIN_GROUP), so the NIC's multicast filter and MLD-snooping switches deliver the
solicitations to this node at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path

from ironlb.log import get_logger
from speaker.l2.frames import mac_bytes
from speaker.l2.ndp import solicited_node
from speaker.l2.responder import Interface

log = get_logger("speaker.l2")

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4
ARPHRD_ETHER = 1
MAX_BURST = 256  # frames read per wake-up, so one flooded interface cannot starve the loop


def _attach_filter(sock: socket.socket) -> None:
    """ldh [12]; ARP -> accept; not IPv6 -> drop; ldb [20] == 58; ldb [54] in (135, 136)."""
    prog = [(0x28, 0, 0, 12), (0x15, 6, 0, 0x0806), (0x15, 0, 6, 0x86DD), (0x30, 0, 0, 20)]
    prog += [(0x15, 0, 4, 58), (0x30, 0, 0, 54), (0x15, 1, 0, 135), (0x15, 0, 1, 136)]
    prog += [(0x06, 0, 0, 0x40000), (0x06, 0, 0, 0)]
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw)
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def list_interfaces() -> dict[str, Interface]:
    """Ethernet interfaces that are up, with MAC and IPv6 link-local address."""
    link_locals: dict[str, IPv6Address] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            hexaddr, _, _, scope, _, name = line.split()
            if scope == "20":
                link_locals.setdefault(name, IPv6Address(int(hexaddr, 16)))
    out = {}
    for _, name in socket.if_nameindex():
        base = Path("/sys/class/net") / name
        try:
            if int((base / "type").read_text()) != ARPHRD_ETHER:
                continue
            if not int((base / "flags").read_text(), 16) & 0x1:  # IFF_UP
                continue
            mac = mac_bytes((base / "address").read_text().strip())
        except (OSError, ValueError):
            continue
        out[name] = Interface(name, mac, link_locals.get(name))
    return out


@dataclass
class _Port:
    sock: socket.socket
    ifindex: int
    groups: dict[IPv6Address, socket.socket]


class RawSockets:
    """Raw sockets on a changing set of interfaces; `send(ifname, frame)`."""

    def __init__(self, on_frame: Callable[[str, bytes], None]) -> None:
        self._on_frame = on_frame
        self._ports: dict[str, _Port] = {}
        self._loop = asyncio.get_running_loop()
        self.send_errors = 0

    def set_interfaces(self, names: set[str]) -> None:
        for name in set(self._ports) - names:
            self._close(name)
        for name in names - set(self._ports):
            try:
                self._open(name)
            except OSError as err:
                log.warning("l2.socket.open_failed", interface=name, error=str(err))

    def interfaces(self) -> set[str]:
        return set(self._ports)

    def _open(self, name: str) -> None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            _attach_filter(sock)
            sock.bind((name, ETH_P_ALL))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._ports[name] = _Port(sock, socket.if_nametoindex(name), {})
        self._loop.add_reader(sock.fileno(), self._read, name, sock)
        log.info("l2.socket.open", interface=name)

    def _close(self, name: str) -> None:
        port = self._ports.pop(name)
        self._loop.remove_reader(port.sock.fileno())
        port.sock.close()
        for g in port.groups.values():
            g.close()
        log.info("l2.socket.closed", interface=name)

    def _read(self, name: str, sock: socket.socket) -> None:
        for _ in range(MAX_BURST):
            try:
                data, addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                log.warning("l2.socket.read_failed", interface=name, error=str(err))
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            self._on_frame(name, data)

    def send(self, name: str, frame: bytes) -> None:
        port = self._ports.get(name)
        if port is None:
            return
        try:
            port.sock.send(frame)
        except OSError:
            self.send_errors += 1

    def set_ipv6_groups(self, addresses: set[IPv6Address], on: set[str]) -> None:
        """Join the solicited-node groups of `addresses` on interfaces `on`, leave the rest."""
        for name, port in self._ports.items():
            want = {solicited_node(a) for a in addresses} if name in on else set()
            for group in set(port.groups) - want:
                port.groups.pop(group).close()
            for group in want - set(port.groups):
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                try:
                    mreq = group.packed + struct.pack("@I", port.ifindex)
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
                except OSError as err:
                    s.close()
                    log.warning("l2.mcast.join_failed", interface=name, error=str(err))
                    continue
                port.groups[group] = s

    def close(self) -> None:
        for name in list(self._ports):
            self._close(name)
