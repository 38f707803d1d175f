"""NDP codec checked against scapy (checksums included)."""

import contextlib
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Ether

from speaker.l2 import ndp
from speaker.l2.frames import FrameError

MAC = bytes.fromhex("020000000001")
VIP = IPv6Address("2001:db8:5::10")
LL = IPv6Address("fe80::1")


def solicitation(src: str = "2001:db8::99", hlim: int = 255, target: str = str(VIP)) -> bytes:
    group = str(ndp.solicited_node(IPv6Address(target)))
    return bytes(
        Ether(src="02:00:00:00:00:99", dst="33:33:ff:00:00:10")
        / IPv6(src=src, dst=group, hlim=hlim)
        / ICMPv6ND_NS(tgt=target)
        / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:99")
    )


def test_solicited_node_group() -> None:
    assert ndp.solicited_node(VIP) == IPv6Address("ff02::1:ff00:10")
    assert ndp.multicast_mac(IPv6Address("ff02::1:ff00:10")) == bytes.fromhex("3333ff000010")


def test_parse_ns() -> None:
    pkt = ndp.parse(solicitation())
    assert pkt.type == ndp.NS and pkt.target == VIP
    assert pkt.src == IPv6Address("2001:db8::99")
    assert pkt.lladdr == bytes.fromhex("020000000099")


def test_reply_is_a_valid_solicited_na() -> None:
    frame = ndp.build_reply(MAC, LL, ndp.parse(solicitation()))
    pkt = Ether(frame)
    assert pkt.dst == "02:00:00:00:00:99"
    assert pkt[IPv6].hlim == 255 and pkt[IPv6].dst == "2001:db8::99"
    na = pkt[ICMPv6ND_NA]
    assert na.tgt == str(VIP) and na.S == 1 and na.O == 1 and na.R == 0
    assert pkt[ICMPv6NDOptDstLLAddr].lladdr == "02:00:00:00:00:01"
    # scapy recomputes the checksum: it must agree with ours.
    ours = na.cksum
    del na.cksum
    assert Ether(bytes(pkt))[ICMPv6ND_NA].cksum == ours


def test_dad_ns_is_answered_to_all_nodes() -> None:
    frame = ndp.build_reply(MAC, LL, ndp.parse(solicitation(src="::")))
    pkt = Ether(frame)
    assert pkt[IPv6].dst == "ff02::1" and pkt.dst == "33:33:00:00:00:01"
    assert pkt[ICMPv6ND_NA].S == 0


def test_unsolicited_na_and_dad_probe_round_trip() -> None:
    na = ndp.parse(ndp.build_unsolicited(MAC, LL, VIP))
    assert na.type == ndp.NA and na.target == VIP and na.lladdr == MAC
    assert na.flags & ndp.FLAG_OVERRIDE and not na.flags & ndp.FLAG_SOLICITED
    probe = ndp.parse(ndp.build_dad_probe(MAC, VIP))
    assert probe.type == ndp.NS and probe.src == ndp.UNSPECIFIED and probe.lladdr is None
    assert probe.dst == ndp.solicited_node(VIP)


def test_routed_ns_is_rejected() -> None:
    with pytest.raises(FrameError) as err:
        ndp.parse(solicitation(hlim=64))
    assert err.value.reason == "hop_limit"


def test_bad_checksum_is_rejected() -> None:
    frame = bytearray(solicitation())
    frame[-1] ^= 0xFF
    with pytest.raises(FrameError) as err:
        ndp.parse(bytes(frame))
    assert err.value.reason == "checksum"


def test_zero_length_option_is_rejected() -> None:
    ns = Ether(solicitation())
    ns[ICMPv6NDOptSrcLLAddr].len = 0
    del ns[ICMPv6ND_NS].cksum
    with pytest.raises(FrameError) as err:
        ndp.parse(bytes(ns))
    assert err.value.reason == "ndp_option"


@given(st.binary(max_size=120))
def test_fuzz_never_raises_anything_else(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        ndp.parse(data)


@given(st.binary(min_size=1, max_size=40), st.integers(0, 85))
def test_fuzz_mutated_ns(junk: bytes, at: int) -> None:
    frame = bytearray(solicitation())
    frame[at : at + len(junk)] = junk
    with contextlib.suppress(FrameError):
        ndp.parse(bytes(frame))
