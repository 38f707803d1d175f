"""OPEN capabilities (RFC 5492) and what two OPENs negotiate.

Known capabilities decode into dataclasses; anything else is kept as `UnknownCapability` so
it can be logged and ignored (RFC 5492 §3: unknown capabilities are not an error).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from speaker.bgp.errors import BgpDecodeError, ErrorCode, OpenSub

AFI_IPV4 = 1
AFI_IPV6 = 2
SAFI_UNICAST = 1
IPV4_UNICAST = (AFI_IPV4, SAFI_UNICAST)
IPV6_UNICAST = (AFI_IPV6, SAFI_UNICAST)
AS_TRANS = 23456

CAP_MULTIPROTOCOL = 1
CAP_ROUTE_REFRESH = 2
CAP_GRACEFUL_RESTART = 64
CAP_FOUR_OCTET_AS = 65


@dataclass(frozen=True, slots=True)
class Multiprotocol:
    afi: int
    safi: int


@dataclass(frozen=True, slots=True)
class RouteRefreshCap:
    pass


@dataclass(frozen=True, slots=True)
class GracefulRestart:
    """RFC 4724; `families` holds (afi, safi, forwarding-state-preserved flag)."""

    restart_time: int = 120
    restarting: bool = False
    families: tuple[tuple[int, int, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class FourOctetAs:
    asn: int


@dataclass(frozen=True, slots=True)
class UnknownCapability:
    code: int
    value: bytes


Capability = Multiprotocol | RouteRefreshCap | GracefulRestart | FourOctetAs | UnknownCapability


def _open_error(why: str) -> BgpDecodeError:
    return BgpDecodeError(
        ErrorCode.OPEN_MESSAGE, OpenSub.UNSUPPORTED_OPTIONAL_PARAMETER, b"", why=why
    )


def encode_capability(cap: Capability) -> bytes:
    if isinstance(cap, Multiprotocol):
        code, value = CAP_MULTIPROTOCOL, struct.pack("!HBB", cap.afi, 0, cap.safi)
    elif isinstance(cap, RouteRefreshCap):
        code, value = CAP_ROUTE_REFRESH, b""
    elif isinstance(cap, GracefulRestart):
        head = (0x8000 if cap.restarting else 0) | (cap.restart_time & 0x0FFF)
        fams = b"".join(struct.pack("!HBB", a, s, 0x80 if f else 0) for a, s, f in cap.families)
        code, value = CAP_GRACEFUL_RESTART, struct.pack("!H", head) + fams
    elif isinstance(cap, FourOctetAs):
        code, value = CAP_FOUR_OCTET_AS, struct.pack("!I", cap.asn)
    else:
        code, value = cap.code, cap.value
    return bytes((code, len(value))) + value


def decode_capability(code: int, value: bytes) -> Capability:
    if code == CAP_MULTIPROTOCOL:
        if len(value) != 4:
            raise _open_error("multiprotocol capability length")
        afi, _, safi = struct.unpack("!HBB", value)
        return Multiprotocol(afi, safi)
    if code == CAP_ROUTE_REFRESH:
        return RouteRefreshCap()
    if code == CAP_GRACEFUL_RESTART:
        if len(value) < 2 or (len(value) - 2) % 4:
            raise _open_error("graceful restart capability length")
        (head,) = struct.unpack("!H", value[:2])
        fams = tuple((a, s, bool(f & 0x80)) for a, s, f in struct.iter_unpack("!HBB", value[2:]))
        return GracefulRestart(head & 0x0FFF, bool(head & 0x8000), fams)
    if code == CAP_FOUR_OCTET_AS:
        if len(value) != 4:
            raise _open_error("4-octet AS capability length")
        return FourOctetAs(struct.unpack("!I", value)[0])
    return UnknownCapability(code, value)


def decode_capabilities(data: bytes) -> list[Capability]:
    """The value of one Capabilities optional parameter (a list of code/length/value)."""
    caps: list[Capability] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise _open_error("truncated capability")
        code, length = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise _open_error("capability overruns its parameter")
        caps.append(decode_capability(code, value))
        pos += 2 + length
    return caps


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What both sides agreed; the codec reads `four_octet_as`, the session the rest."""

    four_octet_as: bool = True
    families: frozenset[tuple[int, int]] = frozenset({IPV4_UNICAST})
    route_refresh: bool = False
    hold_time: int = 0
    keepalive_time: float = 0.0
    peer_asn: int = 0
    peer_router_id: str = ""
    peer_graceful_restart: GracefulRestart | None = None
    unknown: tuple[int, ...] = field(default=())


def families_of(caps: tuple[Capability, ...] | list[Capability]) -> frozenset[tuple[int, int]]:
    fams = frozenset((c.afi, c.safi) for c in caps if isinstance(c, Multiprotocol))
    # RFC 4760 §1: a speaker that advertises no multiprotocol capability speaks IPv4 unicast.
    return fams or frozenset({IPV4_UNICAST})
