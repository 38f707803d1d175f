"""Codec round trips, RFC error codes, hypothesis properties and a decoder fuzz."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speaker.bgp.attributes import (
    AS_SEQUENCE,
    MpReach,
    MpUnreach,
    PathAttributes,
    RawAttribute,
)
from speaker.bgp.capabilities import (
    AS_TRANS,
    FourOctetAs,
    GracefulRestart,
    Multiprotocol,
    Negotiated,
    RouteRefreshCap,
    UnknownCapability,
)
from speaker.bgp.codec import (
    Keepalive,
    Notification,
    Open,
    RouteRefresh,
    Update,
    decode,
    encode,
)
from speaker.bgp.errors import Action, BgpDecodeError
from speaker.bgp.framing import ReceiveBuffer

NEG4 = Negotiated(four_octet_as=True)
NEG2 = Negotiated(four_octet_as=False)
RID = ipaddress.IPv4Address("198.51.100.1")


def rt(msg, neg=NEG4):
    return decode(encode(msg, neg), neg)


def test_open_round_trip_with_as_trans() -> None:
    caps = (
        Multiprotocol(1, 1),
        Multiprotocol(2, 1),
        RouteRefreshCap(),
        GracefulRestart(120, False, ((1, 1, False), (2, 1, True))),
        FourOctetAs(4200000001),
        UnknownCapability(70, b"\x01\x02"),
    )
    msg = Open(4200000001, 90, RID, caps)
    data = encode(msg, NEG4)
    assert int.from_bytes(data[20:22], "big") == AS_TRANS
    assert decode(data, NEG4) == msg


def test_open_without_four_octet_uses_two_octet_field() -> None:
    msg = Open(64512, 3, RID, (Multiprotocol(1, 1),))
    assert rt(msg) == msg


def test_keepalive_notification_refresh_round_trip() -> None:
    assert encode(Keepalive(), NEG4) == b"\xff" * 16 + b"\x00\x13\x04"
    for msg in (Keepalive(), Notification(6, 2, b"bye"), RouteRefresh(2, 1)):
        assert rt(msg) == msg


def _update_v4() -> Update:
    attrs = PathAttributes(
        origin=2,
        as_path=((AS_SEQUENCE, (64512, 4200000001)),),
        next_hop=ipaddress.IPv4Address("198.51.100.10"),
        med=5,
        local_pref=200,
        communities=((64512 << 16) | 100, 0xFFFFFF01),
        large_communities=((64512, 1, 2),),
    )
    nlri = tuple(ipaddress.IPv4Network(f"203.0.113.{i}/32") for i in range(10))
    return Update((ipaddress.IPv4Network("203.0.113.128/25"),), attrs, nlri)


def test_update_v4_round_trip_four_and_two_octet() -> None:
    msg = _update_v4()
    assert rt(msg) == msg
    back = rt(msg, NEG2)
    # 2-octet sessions carry AS_TRANS in AS_PATH and the real path in AS4_PATH.
    assert back.attributes.as_path == ((AS_SEQUENCE, (64512, AS_TRANS)),)
    assert back.attributes.as4_path == ((AS_SEQUENCE, (64512, 4200000001)),)


def test_update_v6_mp_reach_and_unreach() -> None:
    reach = MpReach(
        2,
        1,
        (ipaddress.IPv6Address("2001:db8::1"), ipaddress.IPv6Address("fe80::1")),
        (ipaddress.IPv6Network("2001:db8:100::/64"), ipaddress.IPv6Network("2001:db8:1::5/128")),
    )
    unreach = MpUnreach(2, 1, (ipaddress.IPv6Network("2001:db8:200::/48"),))
    msg = Update(
        attributes=PathAttributes(origin=0, as_path=(), mp_reach=reach, mp_unreach=unreach)
    )
    assert rt(msg) == msg


def test_end_of_rib_markers() -> None:
    assert rt(Update()).end_of_rib() == (1, 1)
    eor6 = Update(attributes=PathAttributes(mp_unreach=MpUnreach(2, 1)))
    assert rt(eor6).end_of_rib() == (2, 1)
    assert _update_v4().end_of_rib() is None


def test_extended_length_attribute() -> None:
    comms = tuple(range(100))  # 400 bytes: needs the extended-length flag
    msg = Update(attributes=PathAttributes(communities=comms))
    assert rt(msg) == msg


def test_unknown_optional_transitive_kept_with_partial_bit() -> None:
    msg = Update(attributes=PathAttributes(other=(RawAttribute(0xC0, 99, b"abc"),)))
    back = rt(msg)
    assert back.attributes.other == (RawAttribute(0xE0, 99, b"abc"),)


def hdr(length: int, msg_type: int) -> bytes:
    return b"\xff" * 16 + length.to_bytes(2, "big") + bytes((msg_type,))


@pytest.mark.parametrize(
    ("data", "code", "subcode"),
    [
        (b"\x00" * 16 + b"\x00\x13\x04", 1, 1),  # bad marker
        (hdr(20, 4) + b"\x00", 1, 2),  # keepalive with a body
        (hdr(19, 9), 1, 3),  # unknown type
        (hdr(29, 1) + b"\x03" + b"\x00" * 9, 2, 1),  # version 3
        (hdr(29, 1) + b"\x04\xfc\x00\x00\x02\xc6\x33\x64\x01\x00", 2, 6),  # hold 2
        (hdr(29, 1) + b"\x04\xfc\x00\x00\x5a\x00\x00\x00\x00\x00", 2, 3),  # router id 0
        (hdr(31, 1) + b"\x04\xfc\x00\x00\x5a\xc6\x33\x64\x01\x02\x01\x00", 2, 4),  # param type 1
        (hdr(24, 5) + b"\x00\x01\x00\x01\x00", 7, 1),  # route refresh wrong length
        (hdr(23, 2) + b"\x00\x05\x00\x00", 3, 1),  # withdrawn length overruns
        (hdr(25, 2) + b"\x00\x00\x00\x00\x21\x01", 3, 10),  # NLRI /33
        (hdr(26, 2) + b"\x00\x00\x00\x03\x00\x63\x00", 3, 2),  # unknown well-known attribute
    ],
)
def test_rfc4271_error_codes(data: bytes, code: int, subcode: int) -> None:
    with pytest.raises(BgpDecodeError) as info:
        decode(data, NEG4)
    assert (info.value.code, info.value.subcode, info.value.action) == (code, subcode, Action.RESET)


def _raw_update(attrs: bytes, nlri: bytes = b"\x18\xcb\x00\x71") -> bytes:
    body = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + nlri
    return hdr(19 + len(body), 2) + body


GOOD = b"\x40\x01\x01\x00" + b"\x40\x02\x00" + b"\x40\x03\x04\xc6\x33\x64\x0a"


@pytest.mark.parametrize(
    ("attrs", "subcode", "action"),
    [
        (b"\x40\x01\x01\x07" + GOOD[4:], 6, Action.TREAT_AS_WITHDRAW),  # bad ORIGIN value
        (GOOD + b"\x80\x05\x04\x00\x00\x00\x64", 4, Action.TREAT_AS_WITHDRAW),  # LOCAL_PREF flags
        (GOOD + b"\xc0\x08\x03\x00\x00\x01", 5, Action.TREAT_AS_WITHDRAW),  # communities length
        (GOOD + b"\x40\x06\x01\x00", 5, Action.DISCARD_ATTRIBUTE),  # atomic aggregate length
        (GOOD[4:], 3, Action.TREAT_AS_WITHDRAW),  # ORIGIN missing
        (GOOD + b"\x40\x01\x01\x00", 1, Action.TREAT_AS_WITHDRAW),  # ORIGIN repeated
        (
            GOOD[:4] + b"\x40\x02\x04\x02\x05\x00\x01" + GOOD[7:],
            11,
            Action.TREAT_AS_WITHDRAW,
        ),  # AS_PATH overrun
    ],
)
def test_rfc7606_actions(attrs: bytes, subcode: int, action: Action) -> None:
    msg = decode(_raw_update(attrs), NEG4)
    assert isinstance(msg, Update)
    assert [(e.code, e.subcode, e.action) for e in msg.errors] == [(3, subcode, action)]


def test_malformed_mp_reach_resets() -> None:
    attrs = GOOD + b"\x80\x0e\x05\x00\x02\x01\x07\x00"
    with pytest.raises(BgpDecodeError) as info:
        decode(_raw_update(attrs), NEG4)
    assert info.value.action is Action.RESET


# ---------------------------------------------------------------- properties

v4nets = st.builds(
    lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
v6nets = st.builds(
    lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(0, 128),
)
u32 = st.integers(0, 2**32 - 1)
v4addr = st.builds(ipaddress.IPv4Address, u32)
segments = st.lists(
    st.tuples(st.sampled_from([1, 2]), st.lists(u32, min_size=1, max_size=5).map(tuple)),
    max_size=3,
).map(tuple)


@st.composite
def updates(draw: st.DrawFn) -> Update:
    v6 = draw(st.booleans())
    reach = None
    nlri: tuple = ()
    if v6:
        hops = (ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1))),)
        reach = MpReach(2, 1, hops, tuple(draw(st.lists(v6nets, max_size=20))))
    else:
        nlri = tuple(draw(st.lists(v4nets, max_size=40)))
    attrs = PathAttributes(
        origin=draw(st.integers(0, 2)),
        as_path=draw(segments),
        next_hop=None if v6 else draw(v4addr),
        med=draw(st.none() | u32),
        local_pref=draw(st.none() | u32),
        communities=tuple(draw(st.lists(u32, max_size=10))),
        large_communities=tuple(draw(st.lists(st.tuples(u32, u32, u32), max_size=5))),
        mp_reach=reach,
    )
    withdrawn = tuple(draw(st.lists(v4nets, max_size=20)))
    return Update(withdrawn, attrs, nlri)


@given(updates())
def test_update_round_trip_property(msg: Update) -> None:
    back = rt(msg)
    assert back == msg
    assert not back.errors


@given(
    asn=u32.filter(bool),
    hold=st.sampled_from([0, 3, 9, 90, 180, 65535]),
    rid=st.integers(1, 2**32 - 1),
)
def test_open_round_trip_property(asn: int, hold: int, rid: int) -> None:
    msg = Open(asn, hold, ipaddress.IPv4Address(rid), (FourOctetAs(asn), Multiprotocol(1, 1)))
    assert rt(msg) == msg


def _decode_all(data: bytes) -> None:
    buf = ReceiveBuffer()
    buf.feed(data)
    try:
        while (one := buf.next_message()) is not None:
            decode(one, NEG4)
            decode(one, NEG2)
    except BgpDecodeError:
        pass


@settings(max_examples=400)
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes_only_raise_decode_error(data: bytes) -> None:
    _decode_all(data)
    _decode_all(hdr(19 + len(data), 2) + data)  # valid header, arbitrary UPDATE body
    _decode_all(hdr(19 + len(data), 1) + data)  # arbitrary OPEN body


@settings(max_examples=120)
@given(updates(), st.integers(19, 300), st.integers(0, 255))
def test_fuzz_mutated_updates(msg: Update, pos: int, byte: int) -> None:
    data = bytearray(encode(msg, NEG4))
    if pos < len(data):
        data[pos] = byte
    _decode_all(bytes(data))


def test_framing_splits_stream_at_any_point() -> None:
    stream = encode(Keepalive(), NEG4) + encode(_update_v4(), NEG4) + encode(Keepalive(), NEG4)
    for cut in range(len(stream)):
        buf = ReceiveBuffer()
        got = []
        for part in (stream[:cut], stream[cut:]):
            buf.feed(part)
            while (one := buf.next_message()) is not None:
                got.append(decode(one, NEG4))
        assert got == [Keepalive(), _update_v4(), Keepalive()]
