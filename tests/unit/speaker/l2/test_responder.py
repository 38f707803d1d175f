"""The responder core with frames built by scapy; time is a parameter."""

from ipaddress import IPv6Address

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from speaker.l2 import ndp
from speaker.l2.probe import FENCE
from speaker.l2.responder import (
    ANNOUNCE_SCHEDULE,
    Announced,
    ClaimState,
    Conflict,
    Interface,
    Responder,
)

ETH0 = Interface("eth0", bytes.fromhex("020000000001"), IPv6Address("fe80::1"))
ETH1 = Interface("eth1", bytes.fromhex("020000000002"), None)
OTHER = "02:00:00:00:00:77"


def who_has(ip: str, hwsrc: str = "02:00:00:00:00:99", psrc: str = "198.51.100.99") -> bytes:
    return bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=hwsrc) / ARP(hwsrc=hwsrc, psrc=psrc, pdst=ip))


def is_at(ip: str, hwsrc: str = OTHER) -> bytes:
    return bytes(Ether(dst="02:00:00:00:00:01", src=hwsrc) / ARP(op=2, hwsrc=hwsrc, psrc=ip))


def ns(target: str) -> bytes:
    group = str(ndp.solicited_node(IPv6Address(target)))
    return bytes(
        Ether(src="02:00:00:00:00:99")
        / IPv6(src="2001:db8::99", dst=group, hlim=255)
        / ICMPv6ND_NS(tgt=target)
        / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:99")
    )


def na(target: str, mac: str = OTHER) -> bytes:
    from scapy.layers.inet6 import ICMPv6NDOptDstLLAddr

    return bytes(
        Ether(src=mac, dst="33:33:00:00:00:01")
        / IPv6(src="fe80::77", dst="ff02::1", hlim=255)
        / ICMPv6ND_NA(tgt=target, O=1)
        / ICMPv6NDOptDstLLAddr(lladdr=mac)
    )


def responder() -> Responder:
    r = Responder()
    r.set_interfaces({"eth0": ETH0, "eth1": ETH1})
    return r


def drain_events(r: Responder) -> list:
    out = []
    while (e := r.next_event()) is not None:
        out.append(e)
    return out


def test_unowned_address_is_never_answered() -> None:
    r = responder()
    r.receive_frame("eth0", who_has("203.0.113.10"), 0.0)
    r.receive_frame("eth0", ns("2001:db8:5::10"), 0.0)
    assert r.frames_to_send() == []
    assert r.ignored["not_owned"] == 2


def test_claim_without_probe_announces_burst_and_answers() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    first = r.frames_to_send()
    assert len(first) == 1 and first[0][0] == "eth0"
    garp = Ether(first[0][1])
    assert garp[ARP].psrc == garp[ARP].pdst == "203.0.113.10"
    assert drain_events(r) == [Announced("203.0.113.10")]
    sent = 1
    for t in ANNOUNCE_SCHEDULE[1:]:
        assert r.get_timer() == t
        r.handle_timer(t)
        sent += len(r.frames_to_send())
    assert sent == len(ANNOUNCE_SCHEDULE) and r.get_timer() is None
    r.receive_frame("eth0", who_has("203.0.113.10"), 2.0)
    (ifname, frame), *_ = r.frames_to_send()
    reply = Ether(frame)
    assert ifname == "eth0" and reply[ARP].op == 2 and reply[ARP].hwsrc == "02:00:00:00:00:01"
    assert r.answered["arp"] == 1


def test_only_selected_interfaces_answer() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    r.frames_to_send()
    r.receive_frame("eth1", who_has("203.0.113.10"), 0.1)
    assert r.frames_to_send() == [] and r.ignored["interface"] == 1


def test_release_stops_answering_at_once() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    r.release("203.0.113.10")
    r.frames_to_send()
    r.receive_frame("eth0", who_has("203.0.113.10"), 0.01)
    assert r.frames_to_send() == [] and r.get_timer() is None


def test_probe_then_announce_when_nobody_answers() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=FENCE)
    probes = r.frames_to_send()
    assert Ether(probes[0][1])[ARP].psrc == "0.0.0.0"
    r.receive_frame("eth0", who_has("203.0.113.10"), 0.005)
    assert r.frames_to_send() == []  # not answering while probing
    for _ in range(10):
        t = r.get_timer()
        assert t is not None
        r.handle_timer(t)
        if r.state("203.0.113.10") is ClaimState.ANNOUNCED:
            break
    assert r.state("203.0.113.10") is ClaimState.ANNOUNCED
    assert drain_events(r) == [Announced("203.0.113.10")]


def test_answer_during_probe_is_a_conflict_then_retried() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=FENCE)
    r.frames_to_send()
    r.receive_frame("eth0", is_at("203.0.113.10"), 0.003)
    assert r.state("203.0.113.10") is ClaimState.CONFLICT
    assert drain_events(r) == [Conflict("203.0.113.10", "eth0", OTHER)]
    r.receive_frame("eth0", who_has("203.0.113.10"), 0.01)
    assert r.frames_to_send() == []
    assert r.get_timer() == 0.003 + r.conflict_retry
    r.handle_timer(0.003 + r.conflict_retry)
    assert r.state("203.0.113.10") is ClaimState.PROBING
    assert len(r.frames_to_send()) == 1  # probing again


def test_ipv6_dad_conflict_and_answer() -> None:
    r = responder()
    r.claim("2001:db8:5::10", ["eth0"], 0.0, probe=FENCE)
    probe = Ether(r.frames_to_send()[0][1])
    assert probe[IPv6].src == "::" and probe[ICMPv6ND_NS].tgt == "2001:db8:5::10"
    r.receive_frame("eth0", na("2001:db8:5::10"), 0.001)
    assert r.state("2001:db8:5::10") is ClaimState.CONFLICT
    r2 = responder()
    r2.claim("2001:db8:5::10", ["eth0"], 0.0, probe=None)
    r2.frames_to_send()
    r2.receive_frame("eth0", ns("2001:db8:5::10"), 0.1)
    (_, frame), *_ = r2.frames_to_send()
    reply = Ether(frame)
    assert reply[ICMPv6ND_NA].tgt == "2001:db8:5::10" and reply[IPv6].src == "fe80::1"
    assert r2.answered["ndp"] == 1


def test_own_frames_are_ignored() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=FENCE)
    own_probe = r.frames_to_send()[0][1]
    r.receive_frame("eth0", own_probe, 0.001)
    r.receive_frame("eth0", is_at("203.0.113.10", hwsrc="02:00:00:00:00:02"), 0.001)
    assert r.state("203.0.113.10") is ClaimState.PROBING and r.ignored["own"] == 2


def test_adding_an_interface_re_announces() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    for t in ANNOUNCE_SCHEDULE:
        r.handle_timer(t)
    r.frames_to_send()
    r.claim("203.0.113.10", ["eth0", "eth1"], 5.0, probe=None)
    r.handle_timer(5.0)
    assert {name for name, _ in r.frames_to_send()} == {"eth0", "eth1"}


@settings(max_examples=300)
@given(st.binary(max_size=120), st.sampled_from(["eth0", "eth1", "eth9"]))
def test_hostile_frames_never_crash(frame: bytes, ifname: str) -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    r.receive_frame(ifname, frame, 0.1)
    assert sum(r.ignored.values()) + sum(r.answered.values()) >= 1


@given(st.binary(min_size=1, max_size=30), st.integers(0, 80))
def test_mutated_requests_never_crash(junk: bytes, at: int) -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    r.claim("2001:db8:5::10", ["eth0"], 0.0, probe=None)
    for base in (who_has("203.0.113.10"), ns("2001:db8:5::10")):
        frame = bytearray(base)
        frame[at : at + len(junk)] = junk
        r.receive_frame("eth0", bytes(frame), 0.1)


def test_fast_path_reply_is_identical_to_the_full_path() -> None:
    from speaker.l2 import arp

    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    r.frames_to_send()
    req = who_has("203.0.113.10")
    r.receive_frame("eth0", req, 1.0)
    ((_, fast),) = r.frames_to_send()
    full = arp.build_reply(ETH0.mac, arp.parse(req).target_ip, arp.parse(req))  # type: ignore[arg-type]
    assert fast == full


def test_sender_claiming_our_address_takes_the_full_path() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=FENCE)
    r.frames_to_send()
    # A gratuitous ARP request from another host for the address we are probing.
    r.receive_frame("eth0", who_has("203.0.113.10", hwsrc=OTHER, psrc="203.0.113.10"), 0.001)
    assert r.state("203.0.113.10") is ClaimState.CONFLICT


def test_silence_cancels_pending_announcements_but_keeps_answering() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    r.frames_to_send()
    r.silence()
    assert r.get_timer() is None
    r.handle_timer(1.0)
    assert r.frames_to_send() == []
    r.receive_frame("eth0", who_has("203.0.113.10"), 1.0)
    assert len(r.frames_to_send()) == 1


def test_leaving_owner_stops_answering_once_the_successor_announces() -> None:
    r = responder()
    r.claim("203.0.113.10", ["eth0"], 0.0, probe=None)
    r.frames_to_send()
    r.receive_frame("eth0", who_has("203.0.113.10", hwsrc=OTHER, psrc="203.0.113.10"), 0.5)
    assert r.state("203.0.113.10") is ClaimState.ANNOUNCED  # not leaving: we keep it
    assert r.frames_to_send() == []  # a gratuitous announcement is never answered
    r.silence()
    r.receive_frame("eth0", who_has("203.0.113.10", hwsrc=OTHER, psrc="203.0.113.10"), 0.6)
    assert r.state("203.0.113.10") is None and r.ignored["handed_over"] == 1
    r.receive_frame("eth0", who_has("203.0.113.10"), 0.7)
    assert r.frames_to_send() == []
