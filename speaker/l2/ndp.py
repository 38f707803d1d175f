"""Pure: IPv6 neighbour discovery (RFC 4861) solicitations parsed, advertisements built.

Raw `struct` on the hot path. Only what a responder needs: NS and NA over Ethernet with no
extension headers, hop limit 255 enforced (RFC 4861 §7.1.1: anything else was routed, so it
is forged), ICMPv6 checksum verified.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address

from speaker.l2.frames import ETH, ETH_P_IPV6, FrameError, ethernet

IP6 = struct.Struct("!IHBB16s16s")
ICMP_HEAD = struct.Struct("!BBH")
NEXT_ICMPV6 = 58
NS = 135
NA = 136
OPT_SOURCE_LL = 1
OPT_TARGET_LL = 2
FLAG_ROUTER = 0x80
FLAG_SOLICITED = 0x40
FLAG_OVERRIDE = 0x20
ALL_NODES = IPv6Address("ff02::1")
UNSPECIFIED = IPv6Address("::")
_ND_OFFSET = ETH.size + IP6.size


@dataclass(frozen=True, slots=True)
class NdpPacket:
    type: int
    eth_src: bytes
    src: IPv6Address
    dst: IPv6Address
    target: IPv6Address
    flags: int
    lladdr: bytes | None  # source link-layer option of an NS, target one of an NA


def solicited_node(ip: IPv6Address) -> IPv6Address:
    return IPv6Address(b"\xff\x02" + bytes(9) + b"\x01\xff" + ip.packed[13:])


def multicast_mac(ip: IPv6Address) -> bytes:
    return b"\x33\x33" + ip.packed[12:]


def checksum(src: bytes, dst: bytes, icmp: bytes) -> int:
    pseudo = src + dst + struct.pack("!I3xB", len(icmp), NEXT_ICMPV6)
    data = pseudo + icmp + (b"\x00" if len(icmp) % 2 else b"")
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def is_candidate(frame: bytes) -> bool:
    """Cheap pre-filter: an ICMPv6 NS/NA frame? (most IPv6 frames are not, skip parsing)."""
    return (
        len(frame) > _ND_OFFSET
        and frame[12:14] == b"\x86\xdd"
        and frame[20] == NEXT_ICMPV6
        and frame[_ND_OFFSET] in (NS, NA)
    )


def parse(frame: bytes) -> NdpPacket:
    if len(frame) < _ND_OFFSET + 24:
        raise FrameError("short")
    _, eth_src, proto = ETH.unpack_from(frame)
    if proto != ETH_P_IPV6:
        raise FrameError("not_ipv6")
    vtf, plen, nxt, hops, src, dst = IP6.unpack_from(frame, ETH.size)
    if vtf >> 28 != 6 or nxt != NEXT_ICMPV6:
        raise FrameError("not_icmpv6")
    if plen < 24 or _ND_OFFSET + plen > len(frame):
        raise FrameError("length")
    if hops != 255:
        raise FrameError("hop_limit")
    icmp = frame[_ND_OFFSET : _ND_OFFSET + plen]
    kind, code, _ = ICMP_HEAD.unpack_from(icmp)
    if kind not in (NS, NA) or code != 0:
        raise FrameError("ndp_type")
    if checksum(src, dst, icmp) != 0:
        raise FrameError("checksum")
    flags = icmp[4]
    target = IPv6Address(icmp[8:24])
    if target.is_multicast:
        raise FrameError("ndp_target")
    want = OPT_SOURCE_LL if kind == NS else OPT_TARGET_LL
    return NdpPacket(
        kind, eth_src, IPv6Address(src), IPv6Address(dst), target, flags, _lladdr(icmp, want)
    )


def _lladdr(icmp: bytes, want: int) -> bytes | None:
    pos, found = 24, None
    while pos < len(icmp):
        if pos + 2 > len(icmp):
            raise FrameError("ndp_option")
        opt, units = icmp[pos], icmp[pos + 1]
        end = pos + units * 8
        if units == 0 or end > len(icmp):
            raise FrameError("ndp_option")
        if opt == want and units == 1:
            found = icmp[pos + 2 : pos + 8]
        pos = end
    return found


def _packet(src_mac: bytes, dst_mac: bytes, src: IPv6Address, dst: IPv6Address, icmp: bytes):
    body = bytearray(icmp)
    struct.pack_into("!H", body, 2, checksum(src.packed, dst.packed, bytes(body)))
    ip6 = IP6.pack(6 << 28, len(body), NEXT_ICMPV6, 255, src.packed, dst.packed)
    return ethernet(dst_mac, src_mac, ETH_P_IPV6, ip6 + bytes(body))


def build_na(
    mac: bytes,
    src: IPv6Address,
    dst: IPv6Address,
    dst_mac: bytes,
    target: IPv6Address,
    solicited: bool,
) -> bytes:
    flags = FLAG_OVERRIDE | (FLAG_SOLICITED if solicited else 0)
    icmp = (
        ICMP_HEAD.pack(NA, 0, 0)
        + bytes([flags, 0, 0, 0])
        + target.packed
        + bytes([OPT_TARGET_LL, 1])
        + mac
    )
    return _packet(mac, dst_mac, src, dst, icmp)


def build_reply(mac: bytes, src: IPv6Address, request: NdpPacket) -> bytes:
    """Answer an NS for `request.target`; a DAD NS (from ::) is answered to all-nodes."""
    if request.src == UNSPECIFIED:
        return build_na(mac, src, ALL_NODES, multicast_mac(ALL_NODES), request.target, False)
    dst_mac = request.lladdr or request.eth_src
    return build_na(mac, src, request.src, dst_mac, request.target, True)


def build_unsolicited(mac: bytes, src: IPv6Address, target: IPv6Address) -> bytes:
    """Unsolicited NA with Override to all-nodes: neighbours replace their cached MAC."""
    return build_na(mac, src, ALL_NODES, multicast_mac(ALL_NODES), target, False)


def build_dad_probe(mac: bytes, target: IPv6Address) -> bytes:
    """DAD-style NS from :: to the solicited-node group: whoever holds `target` answers."""
    group = solicited_node(target)
    icmp = ICMP_HEAD.pack(NS, 0, 0) + bytes(4) + target.packed
    return _packet(mac, multicast_mac(group), UNSPECIFIED, group, icmp)
