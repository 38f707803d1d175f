"""Network-namespace topologies for tests and the lab (see docs/netns.md)."""

from ironlb.netns.process import Proc, start_in_netns
from ironlb.netns.ranges import ALLOWED_NETWORKS, AddressNotAllowed, check_address, check_network
from ironlb.netns.topology import Topology, TopologyError, cleanup_stale
from ironlb.netns.wait import WaitTimeout, async_wait_until, wait_until

__all__ = [
    "ALLOWED_NETWORKS",
    "AddressNotAllowed",
    "Proc",
    "Topology",
    "TopologyError",
    "WaitTimeout",
    "async_wait_until",
    "check_address",
    "check_network",
    "cleanup_stale",
    "start_in_netns",
    "wait_until",
]
