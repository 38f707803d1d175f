"""ironlb speakers against FRR 8.4 (bgpd, bfdd, zebra) as the ToR, in network namespaces."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ironlb.netns import Topology, wait_until
from ironlb.netns.peers.frr import FrrRouter
from tests.netns.bgp.helpers import (
    NODES,
    SERVICE,
    TOR_V4,
    TOR_V6,
    Speaker,
    build_lab,
    client_reach,
    node_v4,
    node_v6,
    peer,
)

pytestmark = [pytest.mark.netns, pytest.mark.peers, pytest.mark.slow]

PASSWORD = "ironlb-md5"
MULTIHOP = "198.51.100.23"  # node3's second address: an ebgp-multihop session with BFD
BGPD = (
    f"""
router bgp 64512
 bgp router-id {TOR_V4}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 timers bgp 3 9
"""
    + "".join(
        f""" neighbor {node_v4(i)} remote-as 64513
 neighbor {node_v4(i)} password {PASSWORD}
 neighbor {node_v4(i)} timers connect 1
 neighbor {node_v6(i)} remote-as {64513 if i == 1 else 64512}
 neighbor {node_v6(i)} timers connect 1
"""
        for i in (1, 2, 3)
    )
    + f" neighbor {node_v6(1)} password {PASSWORD}\n"
    + f""" neighbor {node_v4(2)} bfd profile fast
 neighbor {MULTIHOP} remote-as 64513
 neighbor {MULTIHOP} ebgp-multihop 2
 neighbor {MULTIHOP} timers connect 1
 neighbor {MULTIHOP} bfd profile fast
 address-family ipv4 unicast
  maximum-paths 8
  neighbor {MULTIHOP} activate
"""
    + "".join(f"  neighbor {node_v4(i)} activate\n" for i in (1, 2, 3))
    + """ exit-address-family
 address-family ipv6 unicast
"""
    + "".join(f"  neighbor {node_v6(i)} activate\n" for i in (1, 2, 3))
    + """ exit-address-family
"""
)
BFDD = """
bfd
 profile fast
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 exit
exit
"""
BFD = {"name": "fast", "receive_interval": 100, "transmit_interval": 100, "detect_multiplier": 3}


@pytest.fixture(scope="module")
def lab(netns_topology_module: Any) -> Iterator[tuple[Topology, FrrRouter]]:
    topo = build_lab(netns_topology_module, "ilb-bgp-f")
    with FrrRouter(topo.netns("tor"), bgpd_conf=BGPD, bfdd_conf=BFDD) as tor:
        yield topo, tor


def paths(tor: FrrRouter, prefix: str, afi: str = "ipv4") -> list[dict[str, Any]]:
    out = tor.show_json(f"show bgp {afi} unicast {prefix}")
    return list(out.get("paths", []))


def ebgp_speaker(topo: Topology, i: int, password: str = PASSWORD, **kw: Any) -> Speaker:
    extra: dict[str, Any] = {"hold_time": 9, "router_id": node_v4(i)}
    if i == 2:
        extra["bfd"] = BFD
    p = peer("tor", 64513, 64512, TOR_V4, password=password, **{**extra, **kw})
    routes = [
        {
            "prefix": f"{SERVICE}/32",
            "communities": ["64512:100", "65535:65281"],
            "large_communities": ["64512:7:8"],
        }
    ]
    return Speaker(topo, NODES[i - 1], {"peers": [p], "routes": routes})


def kernel_nexthops(topo: Topology, prefix: str) -> set[str]:
    done = topo.exec("tor", ["ip", "-j", "-d", "route", "show", prefix])
    routes = json.loads(done.stdout or "[]")
    hops: set[str] = set()
    for r in routes:
        if "gateway" in r:
            hops.add(r["gateway"])
        for nh in r.get("nexthops", []):
            hops.add(nh["gateway"])
    return hops


def test_ecmp_md5_communities_client_and_withdraw(lab: tuple[Topology, FrrRouter]) -> None:
    topo, tor = lab
    speakers = [ebgp_speaker(topo, i) for i in (1, 2, 3)]
    try:
        want_hops = {node_v4(i) for i in (1, 2, 3)}

        def three_paths() -> object:
            got = paths(tor, f"{SERVICE}/32")
            hops = {p["nexthops"][0]["ip"] for p in got}
            return None if hops == want_hops else hops

        wait_until(three_paths, 20)
        for p in paths(tor, f"{SERVICE}/32"):
            assert p["community"]["list"] == ["64512:100", "noExport"]
            assert p["largeCommunity"]["list"] == ["64512:7:8"]
            assert p["aspath"]["string"] == "64513"
            assert p["peer"]["routerId"] == p["nexthops"][0]["ip"]  # BGPPeer routerID
        wait_until(lambda: None if kernel_nexthops(topo, SERVICE) == want_hops else 1, 10)
        reached = {client_reach(topo) for _ in range(3)}
        assert reached <= set(NODES) and reached - {None}

        # SIGTERM on one speaker: Cease + withdraw, the path leaves at once.
        assert speakers[0].stop() == 0
        assert "Traceback" not in speakers[0].log()
        wait_until(lambda: None if len(paths(tor, f"{SERVICE}/32")) == 2 else 1, 5)

        # Deleting the Service (no routes any more) withdraws it everywhere.
        for s in speakers[1:]:
            s.update(routes=[])
        wait_until(lambda: paths(tor, f"{SERVICE}/32") or None, 5)
        wait_until(lambda: kernel_nexthops(topo, SERVICE) or None, 5)  # zebra follows the RIB
    finally:
        for s in speakers[1:]:
            s.stop()


def test_wrong_password_fails_cleanly(lab: tuple[Topology, FrrRouter]) -> None:
    topo, tor = lab
    s = ebgp_speaker(topo, 1, password="not-the-password")
    try:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:  # bounded: 4 s of refused attempts
            summary = tor.show_json(f"show bgp neighbors {node_v4(1)}")
            assert summary[node_v4(1)]["bgpState"] != "Established"
            time.sleep(0.5)
        assert s.proc.alive
        log = s.log()
        assert "Traceback" not in log and "not-the-password" not in log
        assert "bgp.session.up" not in log  # SYNs with a wrong MD5 key are dropped
    finally:
        s.stop()


def test_ibgp_ipv6_local_pref(lab: tuple[Topology, FrrRouter]) -> None:
    topo, tor = lab
    p = peer("tor6", 64512, 64512, TOR_V6, hold_time=9)
    routes = [{"prefix": "2001:db8:100::/64", "local_pref": 250, "communities": ["64512:6"]}]
    s = Speaker(topo, "node3", {"peers": [p], "routes": routes})
    try:
        wait_until(lambda: None if paths(tor, "2001:db8:100::/64", "ipv6") else 1, 20)
        [path] = paths(tor, "2001:db8:100::/64", "ipv6")
        assert path["locPrf"] == 250
        assert path["peer"]["type"] == "internal"
        assert path["nexthops"][0]["ip"] == node_v6(3)
        assert path["community"]["list"] == ["64512:6"]
    finally:
        s.stop()
    wait_until(lambda: None if not paths(tor, "2001:db8:100::/64", "ipv6") else 1, 5)


def test_kill9_path_removed_within_hold_time(lab: tuple[Topology, FrrRouter]) -> None:
    topo, tor = lab
    s = ebgp_speaker(topo, 1, hold_time=3)
    wait_until(lambda: None if paths(tor, f"{SERVICE}/32") else 1, 20)
    t0 = time.monotonic()
    s.kill9()
    wait_until(lambda: paths(tor, f"{SERVICE}/32") or None, 3 + 2)
    print(f"kill -9: path removed after {time.monotonic() - t0:.3f} s (hold 3 s)")


def test_bfd_link_cut_removes_path_fast(lab: tuple[Topology, FrrRouter]) -> None:
    topo, tor = lab
    s = ebgp_speaker(topo, 2, hold_time=30)  # hold 30 s: only BFD can be this fast
    try:
        wait_until(lambda: None if paths(tor, f"{SERVICE}/32") else 1, 20)

        def bfd_up() -> object:
            peers = tor.show_json("show bfd peers")
            up = [p for p in peers if p.get("peer") == node_v4(2) and p.get("status") == "up"]
            return None if up else peers

        wait_until(bfd_up, 10)
        t0 = time.monotonic()
        topo.link_set("node2", "lan", up=False)
        wait_until(lambda: paths(tor, f"{SERVICE}/32") or None, 5)
        print(f"BFD (100 ms x 3): path removed after {time.monotonic() - t0:.3f} s")
    finally:
        topo.link_set("node2", "lan", up=True)
        s.stop()


def test_frozen_speaker_path_removed_after_hold_time(lab: tuple[Topology, FrrRouter]) -> None:
    """SIGSTOP sends no FIN: only the hold timer (3 s) can take the path away."""
    topo, tor = lab
    s = ebgp_speaker(topo, 3, hold_time=3)
    try:
        wait_until(lambda: None if paths(tor, f"{SERVICE}/32") else 1, 20)
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGSTOP)
        wait_until(lambda: paths(tor, f"{SERVICE}/32") or None, 3 + 3)
        print(f"frozen speaker: path removed after {time.monotonic() - t0:.3f} s (hold 3 s)")
    finally:
        s.proc.send_signal(signal.SIGCONT)
        s.stop()


def test_ebgp_ipv6_md5(lab: tuple[Topology, FrrRouter]) -> None:
    """eBGP over IPv6 with TCP MD5 (the IPv6 sockaddr in struct tcp_md5sig)."""
    topo, tor = lab
    p = peer("tor6", 64513, 64512, TOR_V6, hold_time=9, password=PASSWORD)
    routes = [{"prefix": "2001:db8:200::/64", "large_communities": ["64513:1:1"]}]
    s = Speaker(topo, "node1", {"peers": [p], "routes": routes})
    try:
        wait_until(lambda: None if paths(tor, "2001:db8:200::/64", "ipv6") else 1, 20)
        [path] = paths(tor, "2001:db8:200::/64", "ipv6")
        assert path["peer"]["type"] == "external"
        assert path["aspath"]["string"] == "64513"
        assert path["nexthops"][0]["ip"] == node_v6(1)
        assert path["largeCommunity"]["list"] == ["64513:1:1"]
    finally:
        s.stop()
    wait_until(lambda: None if not paths(tor, "2001:db8:200::/64", "ipv6") else 1, 5)


def test_multihop_bfd_removes_path_fast(lab: tuple[Topology, FrrRouter]) -> None:
    """ebgp-multihop peer: BFD runs multihop (UDP 4784, RFC 5883) with FRR bfdd."""
    topo, tor = lab
    topo.add_address("node3", "lan", f"{MULTIHOP}/24")
    p = peer(
        "tor-mh",
        64513,
        64512,
        TOR_V4,
        hold_time=30,
        source_address=MULTIHOP,
        ebgp_multihop=True,
        bfd={**BFD, "minimum_ttl": 254},
    )
    routes = [{"prefix": "203.0.113.30/32"}]
    s = Speaker(topo, "node3", {"peers": [p], "routes": routes})
    try:
        wait_until(lambda: None if paths(tor, "203.0.113.30/32") else 1, 20)

        def bfd_up() -> object:
            peers = tor.show_json("show bfd peers")
            up = [
                q
                for q in peers
                if q.get("peer") == MULTIHOP and q.get("multihop") and q.get("status") == "up"
            ]
            return None if up else peers

        wait_until(bfd_up, 10)
        t0 = time.monotonic()
        topo.link_set("node3", "lan", up=False)
        wait_until(lambda: paths(tor, "203.0.113.30/32") or None, 5)
        print(f"multihop BFD (100 ms x 3): path removed after {time.monotonic() - t0:.3f} s")
    finally:
        topo.link_set("node3", "lan", up=True)
        s.stop()
        topo.del_address("node3", "lan", f"{MULTIHOP}/24")
