"""What the BGP side of one speaker should be doing: peers to hold and routes per peer.

`plan_bgp` (plan.py) builds it from the cluster; `BgpManager.apply` (manager.py) makes it so.
Plain frozen values, so two plans compare equal when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ironlb.log import Secret
from speaker.bgp.session import Route


@dataclass(frozen=True, slots=True)
class BfdDesired:
    """A BFDProfile as the session needs it (milliseconds as in the CRD)."""

    name: str
    receive_interval: int = 300
    transmit_interval: int = 300
    detect_multiplier: int = 3
    passive_mode: bool = False
    minimum_ttl: int = 254


@dataclass(frozen=True, slots=True)
class PeerDesired:
    """One BGPPeer that selects this node (namespace/name in `name`)."""

    name: str
    my_asn: int
    peer_asn: int
    peer_address: str
    peer_port: int = 179
    source_address: str | None = None
    router_id: str | None = None
    hold_time: float = 90.0
    keepalive_time: float | None = None
    connect_time: float | None = None
    password: Secret | None = None
    ebgp_multihop: bool = False
    graceful_restart: bool = False
    passive: bool = False
    bfd: BfdDesired | None = None
    # Override the next hop (default: our address on the TCP connection).
    next_hop_v4: str | None = None
    next_hop_v6: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceAnnouncement:
    """Which peers announce a Service's addresses from this node (for ServiceBGPStatus)."""

    namespace: str
    name: str
    peers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BgpDesired:
    peers: dict[str, PeerDesired] = field(default_factory=dict)
    routes: dict[str, frozenset[Route]] = field(default_factory=dict)  # peer name → routes
    services: tuple[ServiceAnnouncement, ...] = ()
