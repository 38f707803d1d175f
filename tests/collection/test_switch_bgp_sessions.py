"""After the playbook, the ToR really peers with the nodes: sessions (MD5 + BFD) come up,
the import filter lets in only the service pools, and ECMP installs both nodes as next hops.

The nodes are BIRD 2 speakers standing in for ironlb's speaker: each announces one service
address from the pool (the same /32 from both, as MetalLB's BGP mode does) and one prefix
outside the pools that the ToR must refuse.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ironlb.netns import Topology
from ironlb.netns.peers.bird import BirdRouter
from ironlb.netns.peers.frr import FrrRouter
from ironlb.netns.peers.sshd import SshServer
from ironlb.netns.wait import wait_until

from .playbook import recap, run_playbook, write_inventory

pytestmark = [pytest.mark.netns, pytest.mark.peers, pytest.mark.slow]

TOR = "198.51.100.254"
NODES = {"node1": "198.51.100.11", "node2": "198.51.100.12"}
SERVICE = "203.0.113.5/32"
OUTSIDE = "198.18.0.0/24"
MD5 = "md5-" + secrets.token_hex(4)


def bird_node(address: str) -> str:
    return f"""
router id {address};
protocol device {{ }}
protocol static announced {{ ipv4; route {SERVICE} blackhole; route {OUTSIDE} blackhole; }}
protocol bfd {{ interface "*" {{ min rx interval 300 ms; min tx interval 300 ms; }}; }}
protocol bgp tor {{
  local as 64513; neighbor {TOR} as 64512;
  connect retry time 1; error wait time 1, 2;
  password "{MD5}"; bfd on;
  ipv4 {{ import none; export where proto = "announced"; }};
}}
"""


@pytest.fixture
def rack(netns_topology: Callable[..., Topology]) -> Iterator[dict[str, Any]]:
    topo = netns_topology({"lan": ("node1", "node2", "tor")}, prefix="ilb-sw-s")
    topo.add_address("tor", "lan", f"{TOR}/24")
    for name, addr in NODES.items():
        topo.add_address(name, "lan", f"{addr}/24")
    tor_ns = topo.netns("tor")
    with (
        FrrRouter(tor_ns, hostname="tor1") as frr,
        SshServer(tor_ns, address=TOR, user=f"ilbsw{secrets.token_hex(3)}",
                  password=secrets.token_urlsafe(12), login_argv=frr.vtysh_argv(),
                  groups=("frrvty",)) as ssh,
        BirdRouter(topo.netns("node1"), bird_node(NODES["node1"])),
        BirdRouter(topo.netns("node2"), bird_node(NODES["node2"])),
    ):  # fmt: skip
        yield {"netns": tor_ns, "frr": frr, "ssh": ssh}


def test_tor_peers_filters_and_spreads(rack: dict[str, Any], tmp_path: Path) -> None:
    frr: FrrRouter = rack["frr"]
    ssh: SshServer = rack["ssh"]
    inv = write_inventory(tmp_path / "inv", {"all": {
        "vars": {"ironlb_bgp_asn": 64513, "ironlb_bgp_password": MD5, "ironlb_bfd_enabled": True,
                 "ironlb_pools": [{"name": "public", "addresses": ["203.0.113.0/28"]}]},
        "children": {
            "nodes": {"hosts": {n: {"ansible_host": a} for n, a in NODES.items()}},
            "switches": {"hosts": {"tor1": {
                "ansible_host": TOR, "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "tor_bgp_platform": "frr", "tor_bgp_asn": 64512, "tor_bgp_router_id": TOR,
                "tor_bgp_username": ssh.user, "tor_bgp_password": ssh.password}}},
        },
    }})  # fmt: skip
    res = run_playbook(rack["netns"], inv, tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert recap(res.stdout, "tor1")["changed"] == 1

    def sessions_up() -> object | None:
        peers = frr.show_json("show bgp ipv4 unicast summary").get("peers", {})
        states = {a: p.get("state") for a, p in peers.items()}
        return None if states == dict.fromkeys(NODES.values(), "Established") else states

    wait_until(sessions_up, timeout=30, interval=0.2)

    def ecmp_installed() -> object | None:
        route = frr.show_json(f"show ip route {SERVICE}").get(SERVICE, [{}])[0]
        hops = sorted(h.get("ip", "") for h in route.get("nexthops", []) if h.get("active"))
        return None if hops == sorted(NODES.values()) else route

    wait_until(ecmp_installed, timeout=20, interval=0.2)
    rib = frr.show_json("show bgp ipv4 unicast")["routes"]
    assert SERVICE in rib and len(rib[SERVICE]) == 2
    assert OUTSIDE not in rib  # refused by the import filter

    def bfd_up() -> object | None:
        # BFD comes up on its own timers, after the BGP sessions it protects.
        bfd = frr.show_json("show bfd peers")
        up = sorted(p["peer"] for p in bfd if p.get("status") == "up")
        return None if up == sorted(NODES.values()) else bfd

    wait_until(bfd_up, timeout=20, interval=0.2)
