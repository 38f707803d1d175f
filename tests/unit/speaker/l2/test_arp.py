"""ARP codec checked against scapy as an independent oracle."""

import contextlib
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.l2 import ARP, Ether

from speaker.l2 import arp
from speaker.l2.frames import FrameError

MAC = bytes.fromhex("020000000001")
CLIENT = bytes.fromhex("020000000099")
VIP = IPv4Address("203.0.113.10")


def request(target: str = "203.0.113.10", sender: str = "198.51.100.99") -> bytes:
    return bytes(
        Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:99")
        / ARP(op=1, hwsrc="02:00:00:00:00:99", psrc=sender, pdst=target)
    )


def test_parse_request_from_scapy() -> None:
    pkt = arp.parse(request())
    assert pkt.op == arp.OP_REQUEST
    assert pkt.sender_mac == CLIENT and pkt.sender_ip == IPv4Address("198.51.100.99")
    assert pkt.target_ip == VIP and not pkt.is_probe


def test_reply_as_scapy_sees_it() -> None:
    reply = Ether(arp.build_reply(MAC, VIP, arp.parse(request())))
    assert reply.dst == "02:00:00:00:00:99" and reply.src == "02:00:00:00:00:01"
    assert reply[ARP].op == 2 and reply[ARP].psrc == str(VIP)
    assert reply[ARP].hwsrc == "02:00:00:00:00:01"
    assert reply[ARP].pdst == "198.51.100.99" and reply[ARP].hwdst == "02:00:00:00:00:99"


def test_announcement_and_probe() -> None:
    garp = Ether(arp.build_announcement(MAC, VIP))
    assert garp.dst == "ff:ff:ff:ff:ff:ff" and garp[ARP].op == 1
    assert garp[ARP].psrc == garp[ARP].pdst == str(VIP)
    probe = arp.parse(arp.build_probe(MAC, VIP))
    assert probe.is_probe and probe.target_ip == VIP and probe.sender_mac == MAC
    assert len(arp.build_probe(MAC, VIP)) == 60


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x00" * 10, "short"),
        (request()[:30], "short"),
        (request()[:12] + b"\x08\x00" + request()[14:], "not_arp"),
        (request()[:14] + b"\x00\x06" + request()[16:], "arp_format"),
        (request()[:20] + b"\x00\x09" + request()[22:], "arp_op"),
        (request()[:22] + b"\xff" * 6 + request()[28:], "arp_sender"),
    ],
)
def test_bad_frames_name_their_reason(frame: bytes, reason: str) -> None:
    with pytest.raises(FrameError) as err:
        arp.parse(frame)
    assert err.value.reason == reason


@given(st.binary(max_size=80))
def test_fuzz_never_raises_anything_else(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        arp.parse(data)
