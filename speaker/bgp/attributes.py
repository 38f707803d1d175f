"""Path attributes and NLRI: encode and decode, with the RFC 7606 action for each fault.

`PathAttributes` is frozen and hashable so UPDATEs can be grouped by it (adj_out). Decoding
collects the milder faults (treat-as-withdraw, attribute discard) in a list and raises only for
the faults that must reset the session.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field, replace

from speaker.bgp.capabilities import AFI_IPV4, AFI_IPV6, SAFI_UNICAST
from speaker.bgp.errors import Action, BgpDecodeError, UpdateSub, update_error

Prefix = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

F_OPTIONAL, F_TRANSITIVE, F_PARTIAL, F_EXTENDED = 0x80, 0x40, 0x20, 0x10

ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF = 1, 2, 3, 4, 5
ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES = 6, 7, 8
MP_REACH_NLRI, MP_UNREACH_NLRI, AS4_PATH, AS4_AGGREGATOR = 14, 15, 17, 18
LARGE_COMMUNITIES = 32

ORIGIN_IGP, ORIGIN_EGP, ORIGIN_INCOMPLETE = 0, 1, 2
AS_SET, AS_SEQUENCE, AS_CONFED_SEQUENCE, AS_CONFED_SET = 1, 2, 3, 4

# Optional/transitive bits each known attribute must carry (RFC 4271 §5, 4760, 1997, 8092).
_EXPECTED_FLAGS = {
    ORIGIN: F_TRANSITIVE,
    AS_PATH: F_TRANSITIVE,
    NEXT_HOP: F_TRANSITIVE,
    MED: F_OPTIONAL,
    LOCAL_PREF: F_TRANSITIVE,
    ATOMIC_AGGREGATE: F_TRANSITIVE,
    AGGREGATOR: F_OPTIONAL | F_TRANSITIVE,
    COMMUNITIES: F_OPTIONAL | F_TRANSITIVE,
    MP_REACH_NLRI: F_OPTIONAL,
    MP_UNREACH_NLRI: F_OPTIONAL,
    AS4_PATH: F_OPTIONAL | F_TRANSITIVE,
    AS4_AGGREGATOR: F_OPTIONAL | F_TRANSITIVE,
    LARGE_COMMUNITIES: F_OPTIONAL | F_TRANSITIVE,
}
# RFC 7606 §7: what a malformed instance of each attribute costs.
_ACTION = {
    ORIGIN: Action.TREAT_AS_WITHDRAW,
    AS_PATH: Action.TREAT_AS_WITHDRAW,
    NEXT_HOP: Action.TREAT_AS_WITHDRAW,
    MED: Action.TREAT_AS_WITHDRAW,
    LOCAL_PREF: Action.TREAT_AS_WITHDRAW,
    ATOMIC_AGGREGATE: Action.DISCARD_ATTRIBUTE,
    AGGREGATOR: Action.DISCARD_ATTRIBUTE,
    COMMUNITIES: Action.TREAT_AS_WITHDRAW,
    MP_REACH_NLRI: Action.RESET,
    MP_UNREACH_NLRI: Action.RESET,
    AS4_PATH: Action.DISCARD_ATTRIBUTE,
    AS4_AGGREGATOR: Action.DISCARD_ATTRIBUTE,
    LARGE_COMMUNITIES: Action.TREAT_AS_WITHDRAW,
}


@dataclass(frozen=True, slots=True)
class MpReach:
    afi: int
    safi: int
    next_hops: tuple[Address, ...]
    nlri: tuple[Prefix, ...] = ()


@dataclass(frozen=True, slots=True)
class MpUnreach:
    afi: int
    safi: int
    withdrawn: tuple[Prefix, ...] = ()


@dataclass(frozen=True, slots=True)
class RawAttribute:
    flags: int
    type_code: int
    value: bytes


AsSegment = tuple[int, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class PathAttributes:
    origin: int | None = None
    as_path: tuple[AsSegment, ...] | None = None
    next_hop: ipaddress.IPv4Address | None = None
    med: int | None = None
    local_pref: int | None = None
    atomic_aggregate: bool = False
    aggregator: tuple[int, ipaddress.IPv4Address] | None = None
    communities: tuple[int, ...] = ()
    large_communities: tuple[tuple[int, int, int], ...] = ()
    mp_reach: MpReach | None = None
    mp_unreach: MpUnreach | None = None
    as4_path: tuple[AsSegment, ...] | None = None
    other: tuple[RawAttribute, ...] = field(default=())


# ---------------------------------------------------------------- NLRI


def encode_prefix(prefix: Prefix) -> bytes:
    plen = prefix.prefixlen
    return bytes((plen,)) + prefix.network_address.packed[: (plen + 7) // 8]


def encode_prefixes(prefixes: tuple[Prefix, ...] | list[Prefix]) -> bytes:
    return b"".join(encode_prefix(p) for p in prefixes)


def decode_prefixes(data: bytes, afi: int) -> tuple[Prefix, ...]:
    """Raises INVALID_NETWORK_FIELD (a session reset, RFC 7606 §5.3) on a bad length."""
    width = 4 if afi == AFI_IPV4 else 16
    maxlen = width * 8
    out: list[Prefix] = []
    pos = 0
    while pos < len(data):
        plen = data[pos]
        nbytes = (plen + 7) // 8
        if plen > maxlen or pos + 1 + nbytes > len(data):
            raise update_error(UpdateSub.INVALID_NETWORK_FIELD, why=f"bad NLRI length {plen}")
        raw = data[pos + 1 : pos + 1 + nbytes].ljust(width, b"\0")
        if width == 4:
            out.append(ipaddress.IPv4Network((raw, plen), strict=False))
        else:
            out.append(ipaddress.IPv6Network((raw, plen), strict=False))
        pos += 1 + nbytes
    return tuple(out)


def afi_of(prefix: Prefix | Address) -> int:
    return AFI_IPV4 if prefix.version == 4 else AFI_IPV6


# ---------------------------------------------------------------- encoding


def _attr(flags: int, type_code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | F_EXTENDED, type_code, len(value)) + value
    return struct.pack("!BBB", flags & ~F_EXTENDED, type_code, len(value)) + value


def _encode_as_path(segments: tuple[AsSegment, ...], four: bool) -> bytes:
    fmt = "!I" if four else "!H"
    out = bytearray()
    for seg_type, asns in segments:
        # A segment holds at most 255 ASNs; split longer sequences.
        for i in range(0, max(len(asns), 1), 255):
            chunk = asns[i : i + 255]
            out += bytes((seg_type, len(chunk)))
            for asn in chunk:
                out += struct.pack(fmt, asn if four or asn <= 0xFFFF else 23456)
    return bytes(out)


def encode_mp_reach(mp: MpReach) -> bytes:
    nh = b"".join(a.packed for a in mp.next_hops)
    return struct.pack("!HBB", mp.afi, mp.safi, len(nh)) + nh + b"\0" + encode_prefixes(mp.nlri)


def encode_mp_unreach(mp: MpUnreach) -> bytes:
    return struct.pack("!HB", mp.afi, mp.safi) + encode_prefixes(mp.withdrawn)


def encode_attributes(attrs: PathAttributes, four_octet_as: bool) -> bytes:
    out = bytearray()
    # RFC 7606 §5.1: MP_REACH/MP_UNREACH go first so a receiver finds the NLRI early.
    if attrs.mp_unreach is not None:
        out += _attr(F_OPTIONAL, MP_UNREACH_NLRI, encode_mp_unreach(attrs.mp_unreach))
    if attrs.mp_reach is not None:
        out += _attr(F_OPTIONAL, MP_REACH_NLRI, encode_mp_reach(attrs.mp_reach))
    if attrs.origin is not None:
        out += _attr(F_TRANSITIVE, ORIGIN, bytes((attrs.origin,)))
    if attrs.as_path is not None:
        out += _attr(F_TRANSITIVE, AS_PATH, _encode_as_path(attrs.as_path, four_octet_as))
        needs_as4 = not four_octet_as and any(a > 0xFFFF for _, s in attrs.as_path for a in s)
        if needs_as4 and attrs.as4_path is None:
            as4 = _encode_as_path(attrs.as_path, True)
            out += _attr(F_OPTIONAL | F_TRANSITIVE, AS4_PATH, as4)
    if attrs.next_hop is not None:
        out += _attr(F_TRANSITIVE, NEXT_HOP, attrs.next_hop.packed)
    if attrs.med is not None:
        out += _attr(F_OPTIONAL, MED, struct.pack("!I", attrs.med))
    if attrs.local_pref is not None:
        out += _attr(F_TRANSITIVE, LOCAL_PREF, struct.pack("!I", attrs.local_pref))
    if attrs.atomic_aggregate:
        out += _attr(F_TRANSITIVE, ATOMIC_AGGREGATE, b"")
    if attrs.aggregator is not None:
        asn, rid = attrs.aggregator
        fmt = "!I" if four_octet_as else "!H"
        value = struct.pack(fmt, asn if four_octet_as or asn <= 0xFFFF else 23456) + rid.packed
        out += _attr(F_OPTIONAL | F_TRANSITIVE, AGGREGATOR, value)
    if attrs.communities:
        value = b"".join(struct.pack("!I", c) for c in attrs.communities)
        out += _attr(F_OPTIONAL | F_TRANSITIVE, COMMUNITIES, value)
    if attrs.as4_path is not None:
        out += _attr(F_OPTIONAL | F_TRANSITIVE, AS4_PATH, _encode_as_path(attrs.as4_path, True))
    if attrs.large_communities:
        value = b"".join(struct.pack("!III", *c) for c in attrs.large_communities)
        out += _attr(F_OPTIONAL | F_TRANSITIVE, LARGE_COMMUNITIES, value)
    for raw in attrs.other:
        out += _attr(raw.flags, raw.type_code, raw.value)
    return bytes(out)


# ---------------------------------------------------------------- decoding


class _Fault(Exception):
    """One attribute is malformed; the caller turns it into an error with the right action."""

    def __init__(self, subcode: UpdateSub, why: str) -> None:
        super().__init__(why)
        self.subcode = subcode
        self.why = why


def _decode_as_path(value: bytes, four: bool) -> tuple[AsSegment, ...]:
    width = 4 if four else 2
    fmt = "!I" if four else "!H"
    segs: list[AsSegment] = []
    pos = 0
    while pos < len(value):
        if pos + 2 > len(value):
            raise _Fault(UpdateSub.MALFORMED_AS_PATH, "truncated AS_PATH segment")
        seg_type, count = value[pos], value[pos + 1]
        if seg_type not in (AS_SET, AS_SEQUENCE, AS_CONFED_SEQUENCE, AS_CONFED_SET) or count == 0:
            raise _Fault(UpdateSub.MALFORMED_AS_PATH, f"bad AS_PATH segment type={seg_type}")
        end = pos + 2 + count * width
        if end > len(value):
            raise _Fault(UpdateSub.MALFORMED_AS_PATH, "AS_PATH segment overruns")
        asns = tuple(
            struct.unpack(fmt, value[i : i + width])[0] for i in range(pos + 2, end, width)
        )
        segs.append((seg_type, asns))
        pos = end
    return tuple(segs)


def _need_len(value: bytes, ok: bool, what: str) -> None:
    if not ok:
        raise _Fault(UpdateSub.ATTRIBUTE_LENGTH, f"{what} length {len(value)}")


def _decode_mp_reach(value: bytes) -> MpReach:
    if len(value) < 5:
        raise _Fault(UpdateSub.OPTIONAL_ATTRIBUTE, "MP_REACH_NLRI too short")
    afi, safi, nhlen = struct.unpack("!HBB", value[:4])
    if afi not in (AFI_IPV4, AFI_IPV6) or safi != SAFI_UNICAST:
        return MpReach(afi, safi, (), ())  # a family we never negotiated: ignore its NLRI
    nh = value[4 : 4 + nhlen]
    if len(nh) != nhlen or len(value) < 5 + nhlen:
        raise _Fault(UpdateSub.OPTIONAL_ATTRIBUTE, "MP_REACH_NLRI next hop overruns")
    hops: tuple[Address, ...]
    if afi == AFI_IPV6 and nhlen in (16, 32):
        hops = tuple(ipaddress.IPv6Address(nh[i : i + 16]) for i in range(0, nhlen, 16))
    elif afi == AFI_IPV4 and nhlen == 4:
        hops = (ipaddress.IPv4Address(nh),)
    elif afi == AFI_IPV4 and nhlen in (16, 32):  # RFC 8950 IPv6 next hop for IPv4
        hops = tuple(ipaddress.IPv6Address(nh[i : i + 16]) for i in range(0, nhlen, 16))
    else:
        raise _Fault(UpdateSub.OPTIONAL_ATTRIBUTE, f"MP_REACH_NLRI next hop length {nhlen}")
    try:
        nlri = decode_prefixes(value[5 + nhlen :], afi)
    except BgpDecodeError as e:
        raise _Fault(UpdateSub.OPTIONAL_ATTRIBUTE, e.why) from None
    return MpReach(afi, safi, hops, nlri)


def _decode_mp_unreach(value: bytes) -> MpUnreach:
    if len(value) < 3:
        raise _Fault(UpdateSub.OPTIONAL_ATTRIBUTE, "MP_UNREACH_NLRI too short")
    afi, safi = struct.unpack("!HB", value[:3])
    if afi not in (AFI_IPV4, AFI_IPV6) or safi != SAFI_UNICAST:
        return MpUnreach(afi, safi, ())
    try:
        return MpUnreach(afi, safi, decode_prefixes(value[3:], afi))
    except BgpDecodeError as e:
        raise _Fault(UpdateSub.OPTIONAL_ATTRIBUTE, e.why) from None


def _decode_one(type_code: int, value: bytes, four: bool) -> dict[str, object]:
    """Decode one known attribute into the PathAttributes fields it sets."""
    if type_code == ORIGIN:
        _need_len(value, len(value) == 1, "ORIGIN")
        if value[0] > ORIGIN_INCOMPLETE:
            raise _Fault(UpdateSub.INVALID_ORIGIN, f"ORIGIN {value[0]}")
        return {"origin": value[0]}
    if type_code == AS_PATH:
        return {"as_path": _decode_as_path(value, four)}
    if type_code == NEXT_HOP:
        _need_len(value, len(value) == 4, "NEXT_HOP")
        return {"next_hop": ipaddress.IPv4Address(value)}
    if type_code in (MED, LOCAL_PREF):
        _need_len(value, len(value) == 4, "MED/LOCAL_PREF")
        return {"med" if type_code == MED else "local_pref": struct.unpack("!I", value)[0]}
    if type_code == ATOMIC_AGGREGATE:
        _need_len(value, not value, "ATOMIC_AGGREGATE")
        return {"atomic_aggregate": True}
    if type_code == AGGREGATOR:
        width = 4 if four else 2
        _need_len(value, len(value) == width + 4, "AGGREGATOR")
        asn = int.from_bytes(value[:width], "big")
        return {"aggregator": (asn, ipaddress.IPv4Address(value[width:]))}
    if type_code == COMMUNITIES:
        _need_len(value, bool(value) and len(value) % 4 == 0, "COMMUNITIES")
        return {"communities": tuple(c for (c,) in struct.iter_unpack("!I", value))}
    if type_code == LARGE_COMMUNITIES:
        _need_len(value, bool(value) and len(value) % 12 == 0, "LARGE_COMMUNITIES")
        return {"large_communities": tuple(struct.iter_unpack("!III", value))}
    if type_code == MP_REACH_NLRI:
        return {"mp_reach": _decode_mp_reach(value)}
    if type_code == MP_UNREACH_NLRI:
        return {"mp_unreach": _decode_mp_unreach(value)}
    if type_code == AS4_PATH:
        return {"as4_path": _decode_as_path(value, True)}
    if type_code == AS4_AGGREGATOR:
        _need_len(value, len(value) == 8, "AS4_AGGREGATOR")
        return {}
    raise AssertionError(type_code)


def decode_attributes(data: bytes, four: bool) -> tuple[PathAttributes, list[BgpDecodeError]]:
    """Decode the path attribute field; return the attributes and the non-fatal errors.

    Raises BgpDecodeError only for faults whose RFC 7606 action is a session reset.
    """
    fields: dict[str, object] = {}
    other: list[RawAttribute] = []
    errors: list[BgpDecodeError] = []
    seen: set[int] = set()
    pos = 0
    while pos < len(data):
        if pos + 3 > len(data):
            errors.append(_withdraw(UpdateSub.MALFORMED_ATTRIBUTE_LIST, "truncated attribute"))
            break
        flags, type_code = data[pos], data[pos + 1]
        hdr = 4 if flags & F_EXTENDED else 3
        if pos + hdr > len(data):
            errors.append(_withdraw(UpdateSub.MALFORMED_ATTRIBUTE_LIST, "truncated attribute"))
            break
        length = int.from_bytes(data[pos + 2 : pos + hdr], "big")
        start, end = pos + hdr, pos + hdr + length
        if end > len(data):
            # RFC 7606 §4: an attribute overrunning the attribute field: treat-as-withdraw.
            if type_code in (MP_REACH_NLRI, MP_UNREACH_NLRI):
                raise update_error(UpdateSub.ATTRIBUTE_LENGTH, why="MP attribute overruns")
            errors.append(_withdraw(UpdateSub.ATTRIBUTE_LENGTH, f"attribute {type_code} overruns"))
            break
        value = data[start:end]
        raw = data[pos:end]
        pos = end
        if type_code in seen:
            if type_code in (MP_REACH_NLRI, MP_UNREACH_NLRI):
                raise update_error(UpdateSub.MALFORMED_ATTRIBUTE_LIST, why="repeated MP attribute")
            errors.append(_withdraw(UpdateSub.MALFORMED_ATTRIBUTE_LIST, f"repeated {type_code}"))
            continue
        seen.add(type_code)
        expected = _EXPECTED_FLAGS.get(type_code)
        if expected is None:
            if not flags & F_OPTIONAL:
                raise update_error(UpdateSub.UNRECOGNIZED_WELL_KNOWN, raw, why=f"type {type_code}")
            if flags & F_TRANSITIVE:
                other.append(RawAttribute(flags | F_PARTIAL, type_code, value))
            continue
        action = _ACTION[type_code]
        if flags & (F_OPTIONAL | F_TRANSITIVE) != expected:
            err = update_error(UpdateSub.ATTRIBUTE_FLAGS, raw, action, f"flags of {type_code}")
            if action is Action.RESET:
                raise err
            errors.append(err)
            continue
        try:
            fields.update(_decode_one(type_code, value, four))
        except _Fault as fault:
            err = update_error(fault.subcode, raw, action, fault.why)
            if action is Action.RESET:
                raise err from None
            errors.append(err)
    attrs = PathAttributes(**fields, other=tuple(other))  # type: ignore[arg-type]
    return attrs, errors


def _withdraw(subcode: UpdateSub, why: str) -> BgpDecodeError:
    return update_error(subcode, b"", Action.TREAT_AS_WITHDRAW, why)


def without_nlri(attrs: PathAttributes) -> PathAttributes:
    """The attributes with the MP NLRI stripped: the grouping key for packing UPDATEs."""
    mp = attrs.mp_reach
    return replace(attrs, mp_reach=None if mp is None else replace(mp, nlri=()), mp_unreach=None)
