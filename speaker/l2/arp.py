"""Pure: ARP (RFC 826) requests parsed, replies and RFC 5227 probes/announcements built.

Raw `struct` only: this is the hot path of the responder.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

from speaker.l2.frames import BROADCAST, ETH, ETH_P_ARP, FrameError, ethernet

ARP = struct.Struct("!HHBBH6s4s6s4s")
HTYPE_ETHERNET = 1
PTYPE_IPV4 = 0x0800
OP_REQUEST = 1
OP_REPLY = 2
ZERO_MAC = b"\x00" * 6
ZERO_IP = b"\x00" * 4


@dataclass(frozen=True, slots=True)
class ArpPacket:
    op: int
    eth_src: bytes
    sender_mac: bytes
    sender_ip: IPv4Address
    target_mac: bytes
    target_ip: IPv4Address

    @property
    def is_probe(self) -> bool:
        """RFC 5227 probe: a host asking whether anyone holds the address (sender 0.0.0.0)."""
        return self.op == OP_REQUEST and int(self.sender_ip) == 0


def parse(frame: bytes) -> ArpPacket:
    """An Ethernet/IPv4 ARP request or reply; anything else raises FrameError(reason)."""
    if len(frame) < ETH.size + ARP.size:
        raise FrameError("short")
    _, eth_src, proto = ETH.unpack_from(frame)
    if proto != ETH_P_ARP:
        raise FrameError("not_arp")
    htype, ptype, hlen, plen, op, smac, sip, tmac, tip = ARP.unpack_from(frame, ETH.size)
    if htype != HTYPE_ETHERNET or ptype != PTYPE_IPV4 or hlen != 6 or plen != 4:
        raise FrameError("arp_format")
    if op not in (OP_REQUEST, OP_REPLY):
        raise FrameError("arp_op")
    if smac[0] & 1:  # a multicast/broadcast sender hardware address is never legitimate
        raise FrameError("arp_sender")
    return ArpPacket(op, eth_src, smac, IPv4Address(sip), tmac, IPv4Address(tip))


def _arp(op: int, smac: bytes, sip: bytes, tmac: bytes, tip: bytes) -> bytes:
    return ARP.pack(HTYPE_ETHERNET, PTYPE_IPV4, 6, 4, op, smac, sip, tmac, tip)


def build_reply(mac: bytes, ip: IPv4Address, request: ArpPacket) -> bytes:
    """`ip is-at mac`, unicast to the asker (also to a prober, whose sender IP is 0.0.0.0)."""
    payload = _arp(OP_REPLY, mac, ip.packed, request.sender_mac, request.sender_ip.packed)
    return ethernet(request.sender_mac, mac, ETH_P_ARP, payload)


def build_announcement(mac: bytes, ip: IPv4Address) -> bytes:
    """Gratuitous ARP request (RFC 5227 announcement): neighbours update their caches."""
    payload = _arp(OP_REQUEST, mac, ip.packed, ZERO_MAC, ip.packed)
    return ethernet(BROADCAST, mac, ETH_P_ARP, payload)


def build_probe(mac: bytes, ip: IPv4Address) -> bytes:
    """RFC 5227 probe: who has `ip`? asked from 0.0.0.0 so no cache learns anything."""
    payload = _arp(OP_REQUEST, mac, ZERO_IP, ZERO_MAC, ip.packed)
    return ethernet(BROADCAST, mac, ETH_P_ARP, payload)
