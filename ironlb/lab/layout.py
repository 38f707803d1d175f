"""Names and addresses of one lab, computed from its prefix (pure).

Everything the lab creates is named from ``prefix`` (``ilb-lab`` for the user's lab, ``ilb-lt``
for tests), so two labs can coexist and ``lab down`` finds everything by name. Addresses come
only from the documentation ranges (DESIGN.md, "The lab"); the root namespace gets one veth end
with a /32 peer address from 198.19.0.0/16 (the ToR's management address), nothing else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

NODE_COUNT = 3
DEFAULT_PREFIX = "ilb-lab"
DEFAULT_STATE_DIR = Path("/run/ironlb-lab")
DATA_ROOT = Path("/var/lib/ironlb-lab")
LAN_V4 = "198.51.100"
LAN_V6 = "2001:db8:100"
UPLINK_V4 = "198.19.1"
UPLINK_V6 = "2001:db8:1"
POOL_V4 = "203.0.113"
TOR_ASN = 64512
NODE_ASN = 64513


@dataclass(frozen=True)
class Node:
    """One lab node: its namespace, LAN addresses and pod CIDR."""

    name: str
    netns: str
    index: int
    ipv4: str
    ipv6: str
    pod_cidr: str
    pod_gateway: str


@dataclass(frozen=True)
class Layout:
    prefix: str = DEFAULT_PREFIX
    state_dir: Path = DEFAULT_STATE_DIR
    # The second octet group of the management /32 pair; distinct per prefix so the user's lab
    # and a test lab can be up together.
    mgmt_octet: int = 254
    api_port: int = 16443
    nodes: tuple[Node, ...] = field(default_factory=tuple)

    @classmethod
    def for_prefix(cls, prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> Layout:
        test = prefix != DEFAULT_PREFIX
        mgmt_octet = 253 if test else 254
        api_port = 16444 if test else 16443
        nodes = tuple(_node(prefix, i) for i in range(1, NODE_COUNT + 1))
        state = state_dir or (DEFAULT_STATE_DIR if not test else Path(f"/run/ironlb-{prefix}"))
        return cls(prefix, state, mgmt_octet, api_port, nodes)

    # --- namespaces and interfaces ------------------------------------------------------
    @property
    def tor_netns(self) -> str:
        return f"{self.prefix}-tor"

    @property
    def client_netns(self) -> str:
        return f"{self.prefix}-client"

    @property
    def lan_if(self) -> str:
        """The interface name every node/client uses for its uplink (inside its namespace)."""
        return f"{self.prefix}-eth"

    @property
    def bridge(self) -> str:
        return f"{self.prefix}-br"

    @property
    def pod_bridge(self) -> str:
        return f"{self.prefix}-cni"

    @property
    def mgmt_if(self) -> str:
        return f"{self.prefix}-mg"

    def tor_port(self, node: Node) -> str:
        return f"{self.prefix}-n{node.index}"

    @property
    def tor_uplink(self) -> str:
        return f"{self.prefix}-up"

    def pod_netns(self, namespace: str, pod: str) -> str:
        return f"{self.prefix}-p-{_short_hash(namespace + '/' + pod)}"

    def pod_host_if(self, namespace: str, pod: str) -> str:
        name = f"{self.prefix}{_short_hash(namespace + '/' + pod)}"
        return name[:15]

    def all_netns(self) -> list[str]:
        return [n.netns for n in self.nodes] + [self.tor_netns, self.client_netns]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no lab node named {name!r}")

    # --- addresses ----------------------------------------------------------------------
    @property
    def tor_lan_v4(self) -> str:
        return f"{LAN_V4}.1"

    @property
    def tor_lan_v6(self) -> str:
        return f"{LAN_V6}::1"

    @property
    def tor_uplink_v4(self) -> str:
        return f"{UPLINK_V4}.1"

    @property
    def client_v4(self) -> str:
        return f"{UPLINK_V4}.10"

    @property
    def client_v6(self) -> str:
        return f"{UPLINK_V6}::10"

    @property
    def mgmt_root(self) -> str:
        return f"198.19.{self.mgmt_octet}.249"

    @property
    def mgmt_tor(self) -> str:
        return f"198.19.{self.mgmt_octet}.250"

    @property
    def pool_v4(self) -> str:
        return f"{POOL_V4}.0/24"

    # --- files --------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def api_socket(self) -> Path:
        return self.state_dir / "api.sock"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "lab.json"

    @property
    def data_dir(self) -> Path:
        """Where the nodes keep their disks (containerd images, etcd, kubelet): not tmpfs."""
        return DATA_ROOT / self.prefix

    def cgroup_root(self, node: Node) -> str:
        """kubelet's --cgroup-root on ``node``: each node's pods in their own subtree."""
        return f"/{self.prefix}-{node.name}"

    @property
    def ssh_user(self) -> str:
        return self.prefix.replace("-", "") + "adm"


def _node(prefix: str, index: int) -> Node:
    return Node(
        name=f"node{index}",
        netns=f"{prefix}-node{index}",
        index=index,
        ipv4=f"{LAN_V4}.{10 + index}",
        ipv6=f"{LAN_V6}::{10 + index}",
        pod_cidr=f"198.19.{10 + index}.0/24",
        pod_gateway=f"198.19.{10 + index}.1",
    )


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]
