"""A two-host topology passes traffic, cuts cleanly, and leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ironlb.netns import AddressNotAllowed, Topology, TopologyError, wait_until
from tests.netns.topology.helpers import TCP_CLIENT, TCP_SERVER, leftovers, ping

PREFIX = "ilb-nt"
pytestmark = pytest.mark.netns


def two_hosts(factory, prefix: str = PREFIX) -> Topology:
    topo = factory({"lan": ("h1", "h2")}, prefix=prefix)
    topo.add_address("h1", "lan", "198.51.100.1/24")
    topo.add_address("h2", "lan", "198.51.100.2/24")
    topo.add_address("h1", "lan", "2001:db8:1::1/64")
    topo.add_address("h2", "lan", "2001:db8:1::2/64")
    return topo


def test_two_hosts_ping_and_tcp_then_nothing_left(netns_topology) -> None:
    topo = two_hosts(netns_topology)
    assert ping(topo, "h1", "198.51.100.2")
    server = topo.start(
        "h2", [sys.executable, "-c", TCP_SERVER, "2001:db8:1::2", "8080"], stdout=None
    )
    done = topo.exec("h1", [sys.executable, "-c", TCP_CLIENT, "2001:db8:1::2", "8080"])
    assert done.stdout.strip() == "echo:hello"
    assert server.wait(10) == 0
    sleeper = topo.start("h1", ["sleep", "300"])
    assert sleeper.alive
    assert sorted(topo.hosts) == ["h1", "h2"]
    assert leftovers(PREFIX, [])  # the namespaces exist while the topology does

    topo.teardown()
    assert leftovers(PREFIX, [sleeper.pid, server.pid]) == []
    topo.teardown()  # idempotent
    with pytest.raises(TopologyError, match="torn down"):
        topo.add_address("h1", "lan", "198.51.100.9/24")


def test_hosts_live_in_their_own_namespaces(netns_topology) -> None:
    topo = netns_topology(
        {"lan": ("node1", "node2", "tor"), "uplink": ("tor", "client")}, prefix=PREFIX
    )
    assert topo.netns("node1") == "ilb-nt-node1"
    assert topo.hub == "ilb-nt-hub"
    links = topo.exec("tor", ["ip", "-o", "link"]).stdout
    assert " lan@" in links and " uplink@" in links
    # The bridges live in the hub: the root namespace carries nothing of ours.
    assert "lan" in topo.exec("node1", ["ip", "-o", "link"]).stdout
    names = {f"netns ilb-nt-{h}" for h in ("node1", "node2", "tor", "client", "hub")}
    assert set(leftovers(PREFIX, [])) == names  # namespaces only: no root-namespace link
    hub = subprocess.run(
        ["ip", "netns", "exec", topo.hub, "ip", "-d", "link", "show", "lan"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "mcast_snooping 0" in hub  # a plain switch: NDP to any group reaches every port
    mac = topo.mac("node1", "lan")
    assert mac in topo.exec("node1", ["ip", "link", "show", "lan"]).stdout


def test_routing_through_a_router_host(netns_topology) -> None:
    topo = netns_topology({"lan": ("node", "tor"), "uplink": ("tor", "client")}, prefix=PREFIX)
    topo.add_address("node", "lan", "198.51.100.10/24")
    topo.add_address("tor", "lan", "198.51.100.1/24")
    topo.add_address("tor", "uplink", "198.19.0.1/24")
    topo.add_address("client", "uplink", "198.19.0.2/24")
    topo.sysctl("tor", "net.ipv4.ip_forward", 1)
    topo.add_route("client", "198.51.100.0/24", "198.19.0.1")
    assert not ping(topo, "node", "198.19.0.2", attempts=2)  # no route back yet
    topo.add_route("node", "default", "198.51.100.1")
    assert ping(topo, "node", "198.19.0.2")


def test_link_down_cuts_a_host(netns_topology) -> None:
    topo = two_hosts(netns_topology)
    assert ping(topo, "h1", "198.51.100.2")
    topo.link_set("h2", "lan", up=False)
    assert not ping(topo, "h1", "198.51.100.2", attempts=2)
    topo.link_set("h2", "lan", up=True)
    wait_until(lambda: None if ping(topo, "h1", "198.51.100.2") else "no reply", timeout=10)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("add_address", ("h1", "lan", "192.0.2.10/24")),
        ("add_address", ("h1", "lan", "10.0.0.1/8")),
        ("add_address", ("h1", "lan", "198.51.100.1/16")),  # connected route leaves the range
        ("add_route", ("h1", "192.0.2.0/24", "198.51.100.2")),
        ("add_route", ("h1", "default", "192.0.2.1")),
        ("add_address", ("h1", "lan", "2001:db9::1/64")),
    ],
)
def test_addresses_outside_documentation_ranges_are_refused(netns_topology, call, args) -> None:
    topo = netns_topology({"lan": ("h1",)}, prefix=PREFIX)
    with pytest.raises(AddressNotAllowed, match="outside the allowed documentation ranges"):
        getattr(topo, call)(*args)
    assert topo.addresses("h1", "lan") == [a for a in topo.addresses("h1", "lan") if "fe80" in a]


def test_unknown_host_and_bad_names_are_refused(netns_topology) -> None:
    topo = netns_topology({"lan": ("h1",)}, prefix=PREFIX)
    with pytest.raises(TopologyError, match="not in this topology"):
        topo.exec("nope", ["true"])
    with pytest.raises(TopologyError, match="hub"):
        topo.add_host("hub")
    with pytest.raises(TopologyError, match="valid interface name"):
        topo.add_segment("a-very-long-segment-name", ["h1"])
    with pytest.raises(TopologyError, match="no interface"):
        topo.mac("h1", "eth9")


def test_ipv6_routing_and_address_removal(netns_topology) -> None:
    topo = netns_topology({"lan": ("node", "tor"), "uplink": ("tor", "client")}, prefix=PREFIX)
    topo.add_address("node", "lan", "2001:db8:10::10/64")
    topo.add_address("tor", "lan", "2001:db8:10::1/64")
    topo.add_address("tor", "uplink", "2001:db8:20::1/64")
    topo.add_address("client", "uplink", "2001:db8:20::2/64")
    topo.sysctl("tor", "net.ipv6.conf.all.forwarding", 1)
    topo.add_route("node", "default", "2001:db8:10::1")
    topo.add_route("client", "2001:db8:10::/64", "2001:db8:20::1")
    assert "2001:db8:20::1" in topo.exec("client", ["ip", "-6", "route"]).stdout
    server = topo.start("node", [sys.executable, "-c", TCP_SERVER, "2001:db8:10::10", "9000"])
    done = topo.exec("client", [sys.executable, "-c", TCP_CLIENT, "2001:db8:10::10", "9000"])
    assert done.stdout.strip() == "echo:hello"
    assert server.wait(10) == 0
    topo.del_address("client", "uplink", "2001:db8:20::2/64")
    assert not [a for a in topo.addresses("client", "uplink") if a.startswith("2001:db8:20::2/")]


def test_processes_get_env_and_stop_by_pid(netns_topology) -> None:
    topo = netns_topology({"lan": ("h1",)}, prefix=PREFIX)
    code = "import os, sys, time; print(os.environ['IRONLB_X'], flush=True); time.sleep(300)"
    proc = topo.start("h1", [sys.executable, "-c", code], {"IRONLB_X": "42"}, stdout=-1, text=True)
    assert proc.popen.stdout is not None and proc.popen.stdout.readline().strip() == "42"
    assert proc.alive and proc.returncode is None
    assert proc.stop() == -15
    assert not proc.alive
    assert topo.exec("h1", ["sh", "-c", "exit 3"], check=False).returncode == 3
