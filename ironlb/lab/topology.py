"""Builds and removes the lab's namespaces, links, addresses and routes.

::

    client ─ (uplink 198.19.1.0/24) ─ tor ─ bridge (LAN 198.51.100.0/24) ─ node1..3
                                       └── mgmt /32 pair ── root namespace (ssh to the tor)

The ToR holds the LAN bridge, so ARP from the nodes' speakers reaches it like a switch's SVI.
In L2 mode the ToR reaches the service pool on the LAN (an on-link route), in BGP mode the
speakers' more specific /32 routes win. Pod networking is the cluster's (the kubeadm role).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ironlb.lab.layout import Layout, Node
from ironlb.lab.shell import LabError, ip_batch, run, sysctl

_ROUTER_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv6.conf.all.forwarding": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_dad": "0",
}


def existing_netns(prefix: str) -> list[str]:
    names = [p.name for p in Path("/run/netns").glob(f"{prefix}-*")] if _has_netns_dir() else []
    return sorted(names)


def _has_netns_dir() -> bool:
    return Path("/run/netns").is_dir()


def build(layout: Layout) -> None:
    """Create the whole network; raises LabError (the caller tears down)."""
    leftovers = existing_netns(layout.prefix)
    if leftovers:
        raise LabError(
            f"lab namespaces already exist ({', '.join(leftovers)}); run `ironlb lab down` first"
        )
    for netns in layout.all_netns():
        run(["ip", "netns", "add", netns])
        ip_batch(netns, ["link set lo up"])
        sysctl(netns, _ROUTER_SYSCTLS)
    _build_tor(layout)
    for node in layout.nodes:
        _build_node(layout, node)
    _build_client(layout)
    _build_mgmt(layout)


def _build_tor(layout: Layout) -> None:
    tor = layout.tor_netns
    ip_batch(
        tor,
        [
            f"link add {layout.bridge} type bridge",
            f"link set {layout.bridge} up",
            f"addr add {layout.tor_lan_v4}/24 dev {layout.bridge}",
            f"addr add {layout.tor_lan_v6}/64 dev {layout.bridge} nodad",
            # L2 mode: the pool lives on the LAN segment, so the ToR ARPs for it there.
            f"route add {layout.pool_v4} dev {layout.bridge} scope link",
        ],
    )


def _build_node(layout: Layout, node: Node) -> None:
    port = layout.tor_port(node)
    # Both ends are created directly in their namespaces: no name ever lands in the root one.
    run(
        [
            "ip",
            "link",
            "add",
            port,
            "netns",
            layout.tor_netns,
            "type",
            "veth",
            "peer",
            "name",
            layout.lan_if,
            "netns",
            node.netns,
        ]
    )
    ip_batch(layout.tor_netns, [f"link set {port} master {layout.bridge}", f"link set {port} up"])
    lines = [
        f"link set {layout.lan_if} up",
        f"addr add {node.ipv4}/24 dev {layout.lan_if}",
        f"addr add {node.ipv6}/64 dev {layout.lan_if} nodad",
        f"route add default via {layout.tor_lan_v4}",
        f"route add default via {layout.tor_lan_v6}",
    ]
    ip_batch(node.netns, lines)


def _build_client(layout: Layout) -> None:
    run(
        [
            "ip",
            "link",
            "add",
            layout.tor_uplink,
            "netns",
            layout.tor_netns,
            "type",
            "veth",
            "peer",
            "name",
            layout.lan_if,
            "netns",
            layout.client_netns,
        ]
    )
    ip_batch(
        layout.tor_netns,
        [
            f"link set {layout.tor_uplink} up",
            f"addr add {layout.tor_uplink_v4}/24 dev {layout.tor_uplink}",
            f"addr add 2001:db8:1::1/64 dev {layout.tor_uplink} nodad",
        ],
    )
    ip_batch(
        layout.client_netns,
        [
            f"link set {layout.lan_if} up",
            f"addr add {layout.client_v4}/24 dev {layout.lan_if}",
            f"addr add {layout.client_v6}/64 dev {layout.lan_if} nodad",
            f"route add default via {layout.tor_uplink_v4}",
            "route add default via 2001:db8:1::1",
        ],
    )


def _build_mgmt(layout: Layout) -> None:
    """One veth end in the root namespace, with /32 peer addresses only (FIELD-NOTES)."""
    run(
        [
            "ip",
            "link",
            "add",
            layout.mgmt_if,
            "type",
            "veth",
            "peer",
            "name",
            layout.mgmt_if,
            "netns",
            layout.tor_netns,
        ]
    )
    ip_batch(
        None,
        [
            f"addr add {layout.mgmt_root}/32 peer {layout.mgmt_tor}/32 dev {layout.mgmt_if}",
            f"link set {layout.mgmt_if} up",
        ],
    )
    ip_batch(
        layout.tor_netns,
        [
            f"addr add {layout.mgmt_tor}/32 peer {layout.mgmt_root}/32 dev {layout.mgmt_if}",
            f"link set {layout.mgmt_if} up",
        ],
    )


def destroy(layout: Layout) -> list[str]:
    """Remove every namespace with the lab's prefix and the root veth end; return what went."""
    removed = []
    with contextlib.suppress(LabError):
        run(["ip", "link", "del", layout.mgmt_if])
        removed.append(layout.mgmt_if)
    for netns in existing_netns(layout.prefix):
        with contextlib.suppress(LabError):
            run(["ip", "netns", "del", netns])
            removed.append(netns)
    return removed
