"""BGP-4 messages as values: `decode(data, neg) -> Message`, `encode(msg, neg) -> bytes`.

One whole message in (framing.py cuts the stream), one frozen dataclass out. Faults raise
`BgpDecodeError` with the RFC 4271 §6 code/subcode/data to put in the NOTIFICATION; UPDATE
faults that RFC 7606 lets the session survive come back inside `Update.errors` instead.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from speaker.bgp.attributes import (
    PathAttributes,
    decode_attributes,
    decode_prefixes,
    encode_attributes,
    encode_prefixes,
)
from speaker.bgp.capabilities import (
    AFI_IPV4,
    AS_TRANS,
    Capability,
    FourOctetAs,
    Negotiated,
    decode_capabilities,
    encode_capability,
)
from speaker.bgp.errors import (
    Action,
    BgpDecodeError,
    ErrorCode,
    HeaderSub,
    LocalProtocolError,
    OpenSub,
    UpdateSub,
    update_error,
)

MARKER = b"\xff" * 16
HEADER_LEN = 19
MAX_MESSAGE_LEN = 4096

OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH = 1, 2, 3, 4, 5
_PARAM_CAPABILITIES = 2


@dataclass(frozen=True, slots=True)
class Open:
    asn: int
    hold_time: int
    router_id: ipaddress.IPv4Address
    capabilities: tuple[Capability, ...] = ()
    version: int = 4

    def capability(self, kind: type) -> Capability | None:
        return next((c for c in self.capabilities if isinstance(c, kind)), None)


@dataclass(frozen=True, slots=True)
class Update:
    withdrawn: tuple[ipaddress.IPv4Network, ...] = ()
    attributes: PathAttributes = field(default_factory=PathAttributes)
    nlri: tuple[ipaddress.IPv4Network, ...] = ()
    # Faults the session survives (RFC 7606); never encoded.
    errors: tuple[BgpDecodeError, ...] = field(default=(), compare=False)

    @property
    def treat_as_withdraw(self) -> bool:
        return any(e.action is Action.TREAT_AS_WITHDRAW for e in self.errors)

    def end_of_rib(self) -> tuple[int, int] | None:
        """The (afi, safi) this UPDATE marks End-of-RIB for (RFC 4724 §2), or None."""
        a = self.attributes
        if self.withdrawn or self.nlri:
            return None
        if a == PathAttributes():
            return (AFI_IPV4, 1)
        mp = a.mp_unreach
        if mp is not None and not mp.withdrawn and a == PathAttributes(mp_unreach=mp):
            return (mp.afi, mp.safi)
        return None


@dataclass(frozen=True, slots=True)
class Notification:
    code: int
    subcode: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class Keepalive:
    pass


@dataclass(frozen=True, slots=True)
class RouteRefresh:
    afi: int
    safi: int
    subtype: int = 0


Message = Open | Update | Notification | Keepalive | RouteRefresh


def _header(msg_type: int, body: bytes) -> bytes:
    length = HEADER_LEN + len(body)
    if length > MAX_MESSAGE_LEN:
        raise LocalProtocolError(f"message of {length} bytes exceeds {MAX_MESSAGE_LEN}")
    return MARKER + struct.pack("!HB", length, msg_type) + body


def encode(msg: Message, neg: Negotiated) -> bytes:
    if isinstance(msg, Keepalive):
        return _header(KEEPALIVE, b"")
    if isinstance(msg, Update):
        return _header(UPDATE, encode_update_body(msg, neg.four_octet_as))
    if isinstance(msg, Open):
        return _header(OPEN, _encode_open(msg))
    if isinstance(msg, Notification):
        return _header(NOTIFICATION, struct.pack("!BB", msg.code, msg.subcode) + msg.data)
    if isinstance(msg, RouteRefresh):
        return _header(ROUTE_REFRESH, struct.pack("!HBB", msg.afi, msg.subtype, msg.safi))
    raise LocalProtocolError(f"cannot encode {type(msg).__name__}")


def encode_update_body(msg: Update, four_octet_as: bool) -> bytes:
    withdrawn = encode_prefixes(msg.withdrawn)
    attrs = encode_attributes(msg.attributes, four_octet_as)
    return (
        struct.pack("!H", len(withdrawn))
        + withdrawn
        + struct.pack("!H", len(attrs))
        + attrs
        + encode_prefixes(msg.nlri)
    )


def _encode_open(msg: Open) -> bytes:
    caps = b"".join(encode_capability(c) for c in msg.capabilities)
    # One Capabilities parameter holding all capabilities (RFC 5492 §4 allows either way).
    params = bytes((_PARAM_CAPABILITIES, len(caps))) + caps if caps else b""
    if len(params) > 255:
        raise LocalProtocolError("optional parameters exceed 255 bytes")
    as2 = msg.asn if msg.asn <= 0xFFFF else AS_TRANS
    head = struct.pack("!BHH", msg.version, as2, msg.hold_time) + msg.router_id.packed
    return head + bytes((len(params),)) + params


# ---------------------------------------------------------------- decoding


def check_header(header: bytes) -> tuple[int, int]:
    """Validate the 19-byte header; return (length, type)."""
    if header[:16] != MARKER:
        raise BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSub.CONNECTION_NOT_SYNCHRONIZED)
    length, msg_type = struct.unpack("!HB", header[16:19])
    minimum = {OPEN: 29, UPDATE: 23, NOTIFICATION: 21, KEEPALIVE: 19, ROUTE_REFRESH: 23}
    if msg_type not in minimum:
        raise BgpDecodeError(
            ErrorCode.MESSAGE_HEADER, HeaderSub.BAD_MESSAGE_TYPE, bytes((msg_type,))
        )
    bad = length < minimum[msg_type] or length > MAX_MESSAGE_LEN
    if bad or (msg_type == KEEPALIVE and length != HEADER_LEN):
        raise BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSub.BAD_MESSAGE_LENGTH, header[16:18])
    return length, msg_type


def decode(data: bytes, neg: Negotiated) -> Message:
    if len(data) < HEADER_LEN:
        raise BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSub.BAD_MESSAGE_LENGTH, b"")
    length, msg_type = check_header(data[:HEADER_LEN])
    if length != len(data):
        raise BgpDecodeError(ErrorCode.MESSAGE_HEADER, HeaderSub.BAD_MESSAGE_LENGTH, data[16:18])
    body = data[HEADER_LEN:]
    if msg_type == KEEPALIVE:
        return Keepalive()
    if msg_type == UPDATE:
        return _decode_update(body, neg.four_octet_as)
    if msg_type == OPEN:
        return _decode_open(body)
    if msg_type == NOTIFICATION:
        return Notification(body[0], body[1], bytes(body[2:]))
    if length != 23:
        raise BgpDecodeError(ErrorCode.ROUTE_REFRESH, 1, data[16:18])
    afi, subtype, safi = struct.unpack("!HBB", body)
    return RouteRefresh(afi, safi, subtype)


def _open_error(sub: OpenSub, data: bytes = b"", why: str = "") -> BgpDecodeError:
    return BgpDecodeError(ErrorCode.OPEN_MESSAGE, sub, data, why=why)


def _decode_open(body: bytes) -> Open:
    version, as2, hold, rid = struct.unpack("!BHH4s", body[:9])
    if version != 4:
        raise _open_error(OpenSub.UNSUPPORTED_VERSION, b"\x00\x04", f"version {version}")
    if hold in (1, 2):
        raise _open_error(OpenSub.UNACCEPTABLE_HOLD_TIME, why=f"hold time {hold}")
    router_id = ipaddress.IPv4Address(rid)
    if int(router_id) == 0:
        raise _open_error(OpenSub.BAD_BGP_IDENTIFIER, why="router id 0.0.0.0")
    caps = _decode_params(body[9:])
    four = next((c for c in caps if isinstance(c, FourOctetAs)), None)
    asn = four.asn if four is not None else as2
    return Open(asn, hold, router_id, tuple(caps), version)


def _decode_params(data: bytes) -> list[Capability]:
    plen = data[0]
    params = data[1:]
    len_width = 1
    if plen == 255 and params[:1] == b"\xff":  # RFC 9072 extended optional parameters
        if len(params) < 3:
            raise _open_error(OpenSub.UNSUPPORTED_OPTIONAL_PARAMETER, why="extended params")
        plen = int.from_bytes(params[1:3], "big")
        params = params[3:]
        len_width = 2
    if len(params) != plen:
        raise _open_error(OpenSub.UNSUPPORTED_OPTIONAL_PARAMETER, why="parameter length")
    caps: list[Capability] = []
    pos = 0
    while pos < len(params):
        if pos + 1 + len_width > len(params):
            raise _open_error(OpenSub.UNSUPPORTED_OPTIONAL_PARAMETER, why="truncated parameter")
        ptype = params[pos]
        length = int.from_bytes(params[pos + 1 : pos + 1 + len_width], "big")
        start = pos + 1 + len_width
        value = params[start : start + length]
        if len(value) != length:
            raise _open_error(OpenSub.UNSUPPORTED_OPTIONAL_PARAMETER, why="parameter overruns")
        if ptype != _PARAM_CAPABILITIES:
            raise _open_error(OpenSub.UNSUPPORTED_OPTIONAL_PARAMETER, bytes((ptype,)))
        caps.extend(decode_capabilities(value))
        pos = start + length
    return caps


def _decode_update(body: bytes, four: bool) -> Update:
    (wlen,) = struct.unpack("!H", body[:2])
    if 2 + wlen + 2 > len(body):
        raise update_error(UpdateSub.MALFORMED_ATTRIBUTE_LIST, why="withdrawn length overruns")
    withdrawn = decode_prefixes(body[2 : 2 + wlen], AFI_IPV4)
    (alen,) = struct.unpack("!H", body[2 + wlen : 4 + wlen])
    if 4 + wlen + alen > len(body):
        raise update_error(UpdateSub.MALFORMED_ATTRIBUTE_LIST, why="attribute length overruns")
    attrs, errors = decode_attributes(body[4 + wlen : 4 + wlen + alen], four)
    nlri = decode_prefixes(body[4 + wlen + alen :], AFI_IPV4)
    reach = attrs.mp_reach is not None and bool(attrs.mp_reach.nlri)
    withdrawn_already = any(e.action is Action.TREAT_AS_WITHDRAW for e in errors)
    if (nlri or reach) and not withdrawn_already:
        # RFC 7606 §3 (d): a missing well-known mandatory attribute is treat-as-withdraw.
        missing = [n for n in ("origin", "as_path") if getattr(attrs, n) is None]
        if nlri and attrs.next_hop is None:
            missing.append("next_hop")
        if missing:
            errors.append(
                update_error(
                    UpdateSub.MISSING_WELL_KNOWN,
                    b"",
                    Action.TREAT_AS_WITHDRAW,
                    "missing " + ",".join(missing),
                )
            )
    return Update(withdrawn, attrs, nlri, tuple(errors))  # type: ignore[arg-type]
