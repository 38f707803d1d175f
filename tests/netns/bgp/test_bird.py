"""ironlb speakers against BIRD 2.0 as the ToR, in network namespaces."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ironlb.netns import Topology, wait_until
from ironlb.netns.peers.bird import BirdRouter, bird_bgp_conf
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
NEIGHBORS = [
    {"name": f"n{i}", "address": node_v4(i), "asn": 64513, "password": PASSWORD, "hold": 9}
    for i in (1, 2, 3)
]
NEIGHBORS[1]["bfd"] = True
NEIGHBORS.append({"name": "n3v6", "address": node_v6(3), "asn": 64512, "ipv6": True, "hold": 9})
BFD = {"name": "fast", "receive_interval": 100, "transmit_interval": 100, "detect_multiplier": 3}


@pytest.fixture(scope="module")
def lab(netns_topology_module: Any) -> Iterator[tuple[Topology, BirdRouter]]:
    topo = build_lab(netns_topology_module, "ilb-bgp-b")
    conf = bird_bgp_conf(TOR_V4, 64512, NEIGHBORS, bfd=True)
    with BirdRouter(topo.netns("tor"), conf) as tor:
        yield topo, tor


def paths(tor: BirdRouter, prefix: str, table: str = "master4") -> list[dict[str, Any]]:
    return tor.routes(table).get(prefix, [])


def ebgp_speaker(topo: Topology, i: int, password: str = PASSWORD, **kw: Any) -> Speaker:
    opts: dict[str, Any] = {"hold_time": 9, **({"bfd": BFD} if i == 2 else {}), **kw}
    p = peer("tor", 64513, 64512, TOR_V4, password=password, **opts)
    routes = [
        {
            "prefix": f"{SERVICE}/32",
            "communities": ["64512:100"],
            "large_communities": ["64512:7:8"],
        }
    ]
    return Speaker(topo, NODES[i - 1], {"peers": [p], "routes": routes})


def kernel_nexthops(topo: Topology, prefix: str) -> set[str]:
    done = topo.exec("tor", ["ip", "-j", "route", "show", prefix])
    hops: set[str] = set()
    for r in json.loads(done.stdout or "[]"):
        if "gateway" in r:
            hops.add(r["gateway"])
        hops.update(nh["gateway"] for nh in r.get("nexthops", []))
    return hops


def test_ecmp_md5_communities_client_and_withdraw(lab: tuple[Topology, BirdRouter]) -> None:
    topo, tor = lab
    speakers = [ebgp_speaker(topo, i) for i in (1, 2, 3)]
    try:
        want = {node_v4(i) for i in (1, 2, 3)}

        def three_paths() -> object:
            hops = {h for p in paths(tor, f"{SERVICE}/32") for h in p["next_hops"]}
            return None if hops == want else hops

        wait_until(three_paths, 20)
        for p in paths(tor, f"{SERVICE}/32"):
            assert p["communities"] == ["64512:100"]
            assert p["large_communities"] == ["64512:7:8"]
            assert p["as_path"] == [64513]
        wait_until(lambda: None if kernel_nexthops(topo, SERVICE) == want else 1, 10)
        reached = {client_reach(topo) for _ in range(3)}
        assert reached <= set(NODES) and reached - {None}

        assert speakers[0].stop() == 0
        wait_until(lambda: None if len(paths(tor, f"{SERVICE}/32")) == 2 else 1, 5)
        for s in speakers[1:]:
            s.update(routes=[])
        wait_until(lambda: paths(tor, f"{SERVICE}/32") or None, 5)
        wait_until(lambda: kernel_nexthops(topo, SERVICE) or None, 5)
    finally:
        for s in speakers[1:]:
            s.stop()


def test_wrong_password_fails_cleanly(lab: tuple[Topology, BirdRouter]) -> None:
    topo, tor = lab
    s = ebgp_speaker(topo, 1, password="not-the-password")
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # bounded: 3 s of refused attempts
            assert tor.established().get("n1") is False
            time.sleep(0.5)
        assert s.proc.alive
        log = s.log()
        assert "Traceback" not in log and "not-the-password" not in log
        assert "bgp.session.up" not in log
    finally:
        s.stop()


def test_ibgp_ipv6_local_pref(lab: tuple[Topology, BirdRouter]) -> None:
    topo, tor = lab
    p = peer("tor6", 64512, 64512, TOR_V6, hold_time=9)
    routes = [{"prefix": "2001:db8:100::/64", "local_pref": 250, "communities": ["64512:6"]}]
    s = Speaker(topo, "node3", {"peers": [p], "routes": routes})
    try:
        wait_until(lambda: None if paths(tor, "2001:db8:100::/64", "master6") else 1, 20)
        [path] = paths(tor, "2001:db8:100::/64", "master6")
        assert path["local_pref"] == 250
        assert path["next_hops"] == [node_v6(3)]
        assert path["communities"] == ["64512:6"]
        assert "as_path" not in path or path["as_path"] == []
    finally:
        s.stop()


def test_kill9_path_removed_within_hold_time(lab: tuple[Topology, BirdRouter]) -> None:
    topo, tor = lab
    s = ebgp_speaker(topo, 1, hold_time=3)
    wait_until(lambda: None if paths(tor, f"{SERVICE}/32") else 1, 20)
    t0 = time.monotonic()
    s.kill9()
    wait_until(lambda: paths(tor, f"{SERVICE}/32") or None, 3 + 2)
    print(f"kill -9: path removed after {time.monotonic() - t0:.3f} s (hold 3 s)")


def test_bfd_link_cut_removes_path_fast(lab: tuple[Topology, BirdRouter]) -> None:
    topo, tor = lab
    s = ebgp_speaker(topo, 2, hold_time=30)
    try:
        wait_until(lambda: None if paths(tor, f"{SERVICE}/32") else 1, 20)

        def bfd_up() -> object:
            out = tor.birdc("show bfd sessions")
            return (
                None if any(node_v4(2) in ln and " Up " in ln for ln in out.splitlines()) else out
            )

        wait_until(bfd_up, 10)
        t0 = time.monotonic()
        topo.link_set("node2", "lan", up=False)
        wait_until(lambda: paths(tor, f"{SERVICE}/32") or None, 5)
        print(f"BFD (100 ms x 3): path removed after {time.monotonic() - t0:.3f} s")
    finally:
        topo.link_set("node2", "lan", up=True)
        s.stop()
