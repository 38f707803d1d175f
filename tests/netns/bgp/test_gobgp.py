"""ironlb speakers against GoBGP 3.10 as the ToR, in network namespaces.

GoBGP's zebra client cannot drive FRR 8.4's zebra (FIELD-NOTES), so the ECMP kernel route is
shown with FRR and BIRD; here the RIB holds one path per node with the right attributes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from ironlb.netns import Topology, wait_until
from ironlb.netns.peers.gobgp import GobgpRouter, gobgp_conf
from tests.netns.bgp.helpers import (
    NODES,
    SERVICE,
    TOR_V4,
    TOR_V6,
    Speaker,
    build_lab,
    node_v4,
    node_v6,
    peer,
)

pytestmark = [pytest.mark.netns, pytest.mark.peers, pytest.mark.slow]

PASSWORD = "ironlb-md5"
NEIGHBORS = [
    {"address": node_v4(i), "asn": 64513, "password": PASSWORD, "hold": 9} for i in (1, 2, 3)
]
NEIGHBORS.append({"address": node_v6(3), "asn": 64512, "ipv6": True, "hold": 9})
SECOND = "198.51.100.23"  # node3's second address: an iBGP IPv4 session from a source address
NEIGHBORS.append({"address": SECOND, "asn": 64512, "hold": 9})


@pytest.fixture(scope="module")
def lab(netns_topology_module: Any) -> Iterator[tuple[Topology, GobgpRouter]]:
    topo = build_lab(netns_topology_module, "ilb-bgp-g")
    with GobgpRouter(topo.netns("tor"), gobgp_conf(64512, TOR_V4, NEIGHBORS)) as tor:
        yield topo, tor


def paths(tor: GobgpRouter, prefix: str, family: str = "ipv4") -> list[dict[str, Any]]:
    return tor.rib(family).get(prefix, [])


def ebgp_speaker(topo: Topology, i: int, password: str = PASSWORD) -> Speaker:
    p = peer("tor", 64513, 64512, TOR_V4, password=password, hold_time=9)
    routes = [
        {"prefix": f"{SERVICE}/32", "communities": ["64512:100"], "large_communities": ["1:2:3"]}
    ]
    return Speaker(topo, NODES[i - 1], {"peers": [p], "routes": routes})


def test_ebgp_md5_three_paths_communities_and_withdraw(
    lab: tuple[Topology, GobgpRouter],
) -> None:
    topo, tor = lab
    speakers = [ebgp_speaker(topo, i) for i in (1, 2, 3)]
    try:
        want = {node_v4(i) for i in (1, 2, 3)}

        def three_paths() -> object:
            hops = {p.get("next_hop") for p in paths(tor, f"{SERVICE}/32")}
            return None if hops == want else hops

        wait_until(three_paths, 20)
        assert set(tor.neighbors().values()) >= {"established"}
        for p in paths(tor, f"{SERVICE}/32"):
            assert p["communities"] == ["64512:100"]
            assert p["large_communities"] == ["1:2:3"]
            assert p["as_path"] == [64513]
        speakers[0].stop()
        wait_until(lambda: None if len(paths(tor, f"{SERVICE}/32")) == 2 else 1, 5)
        for s in speakers[1:]:
            s.update(routes=[])
        wait_until(lambda: paths(tor, f"{SERVICE}/32") or None, 5)
    finally:
        for s in speakers[1:]:
            s.stop()


def test_wrong_password_fails_cleanly(lab: tuple[Topology, GobgpRouter]) -> None:
    topo, tor = lab
    s = ebgp_speaker(topo, 1, password="not-the-password")
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # bounded: 3 s of refused attempts
            assert tor.neighbors()[node_v4(1)] != "established"
            time.sleep(0.5)
        log = s.log()
        assert s.proc.alive and "Traceback" not in log and "not-the-password" not in log
        assert "bgp.session.up" not in log
    finally:
        s.stop()


def test_ibgp_ipv6_local_pref(lab: tuple[Topology, GobgpRouter]) -> None:
    topo, tor = lab
    p = peer("tor6", 64512, 64512, TOR_V6, hold_time=9)
    routes = [{"prefix": "2001:db8:100::/64", "local_pref": 250, "communities": ["64512:6"]}]
    s = Speaker(topo, "node3", {"peers": [p], "routes": routes})
    try:
        wait_until(lambda: None if paths(tor, "2001:db8:100::/64", "ipv6") else 1, 20)
        [path] = paths(tor, "2001:db8:100::/64", "ipv6")
        assert path["local_pref"] == 250
        assert path["next_hop"] == node_v6(3)
        assert path["communities"] == ["64512:6"]
    finally:
        s.stop()
    wait_until(lambda: paths(tor, "2001:db8:100::/64", "ipv6") or None, 5)


def test_ibgp_ipv4_from_source_address(lab: tuple[Topology, GobgpRouter]) -> None:
    topo, tor = lab
    topo.add_address("node3", "lan", f"{SECOND}/24")
    p = peer("tor", 64512, 64512, TOR_V4, hold_time=9, source_address=SECOND)
    routes = [{"prefix": "203.0.113.20/32", "local_pref": 120}]
    s = Speaker(topo, "node3", {"peers": [p], "routes": routes})
    try:
        wait_until(lambda: None if paths(tor, "203.0.113.20/32") else 1, 20)
        [path] = paths(tor, "203.0.113.20/32")
        assert path["next_hop"] == SECOND  # our address on that TCP connection
        assert path["local_pref"] == 120
        assert path["as_path"] == []
        assert tor.neighbors()[SECOND] == "established"
    finally:
        s.stop()
        topo.del_address("node3", "lan", f"{SECOND}/24")
