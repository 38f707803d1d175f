"""Typed, immutable views of the metallb.io objects (field names snake_case).

Each class mirrors one MetalLB v0.16 kind: defaults are MetalLB's, values are
already validated (see `parse.py`) and normalised (durations in seconds, address
ranges as integer intervals, selectors as `LabelSelector`). `labels` dicts are
excluded from hashing; treat every object as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ironlb.config.addresses import AddressRange
from ironlb.config.selectors import LabelSelector
from ironlb.log import Secret

GROUP = "metallb.io"

Selectors = tuple[LabelSelector, ...]


class ConfigError(Exception):
    """A user's configuration mistake: which object, which field, and why.

    str() is `Kind namespace/name: field: reason`. Never put secrets in `reason`.
    """

    def __init__(self, kind: str, name: str, field: str, reason: str, namespace: str = "") -> None:
        self.kind = kind
        self.name = name
        self.field = field
        self.reason = reason
        self.namespace = namespace
        super().__init__(str(self))

    @property
    def object_ref(self) -> str:
        who = f"{self.namespace}/{self.name}" if self.namespace else self.name or "<unnamed>"
        return f"{self.kind} {who}"

    def __str__(self) -> str:
        return (
            f"{self.object_ref}: {self.field}: {self.reason}"
            if self.field
            else (f"{self.object_ref}: {self.reason}")
        )

    def __repr__(self) -> str:
        return f"ConfigError({self.kind!r}, {self.name!r}, {self.field!r}, {self.reason!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigError) and (
            (self.kind, self.namespace, self.name, self.field, self.reason)
            == (other.kind, other.namespace, other.name, other.field, other.reason)
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.namespace, self.name, self.field, self.reason))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, str, str, str, str]]:
        # Exceptions pickle through their args; keep every attribute instead.
        return (ConfigError, (self.kind, self.name, self.field, self.reason, self.namespace))


@dataclass(frozen=True, slots=True)
class StandardCommunity:
    """RFC 1997 community `asn:value` (two 16-bit halves)."""

    asn: int
    value: int

    def __str__(self) -> str:
        return f"{self.asn}:{self.value}"

    def to_uint32(self) -> int:
        return (self.asn << 16) | self.value


@dataclass(frozen=True, slots=True)
class LargeCommunity:
    """RFC 8092 large community, written `large:global:local1:local2` in MetalLB."""

    global_admin: int
    local_data1: int
    local_data2: int

    def __str__(self) -> str:
        return f"large:{self.global_admin}:{self.local_data1}:{self.local_data2}"


BGPCommunity = StandardCommunity | LargeCommunity


@dataclass(frozen=True, slots=True)
class ServiceAllocation:
    priority: int = 0
    namespaces: tuple[str, ...] = ()
    namespace_selectors: Selectors = ()
    service_selectors: Selectors = ()


@dataclass(frozen=True, slots=True)
class IPAddressPool:
    name: str
    namespace: str
    addresses: tuple[str, ...]
    ranges: tuple[AddressRange, ...]  # ranges[i] is addresses[i] parsed
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    service_allocation: ServiceAllocation | None = None
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "IPAddressPool"


@dataclass(frozen=True, slots=True)
class L2Advertisement:
    name: str
    namespace: str
    ip_address_pools: tuple[str, ...] = ()
    ip_address_pool_selectors: Selectors = ()
    node_selectors: Selectors = ()
    interfaces: tuple[str, ...] = ()  # empty: every interface
    service_selectors: Selectors = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "L2Advertisement"

    @property
    def selects_all_pools(self) -> bool:
        return not self.ip_address_pools and not self.ip_address_pool_selectors


@dataclass(frozen=True, slots=True)
class BGPAdvertisement:
    name: str
    namespace: str
    aggregation_length: int = 32
    aggregation_length_v6: int = 128
    local_pref: int | None = None  # None: not set (MetalLB's 0)
    communities: tuple[str, ...] = ()  # as written: literal or Community alias name
    community_values: tuple[BGPCommunity, ...] = ()  # resolved by build_config
    ip_address_pools: tuple[str, ...] = ()
    ip_address_pool_selectors: Selectors = ()
    node_selectors: Selectors = ()
    peers: tuple[str, ...] = ()  # empty: every BGPPeer
    service_selectors: Selectors = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "BGPAdvertisement"

    @property
    def selects_all_pools(self) -> bool:
        return not self.ip_address_pools and not self.ip_address_pool_selectors


@dataclass(frozen=True, slots=True)
class CommunityAlias:
    name: str
    value: str
    parsed: BGPCommunity


@dataclass(frozen=True, slots=True)
class Community:
    name: str
    namespace: str
    communities: tuple[CommunityAlias, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "Community"


@dataclass(frozen=True, slots=True)
class BFDProfile:
    name: str
    namespace: str
    receive_interval: int = 300  # ms
    transmit_interval: int = 300  # ms
    detect_multiplier: int = 3
    echo_interval: int = 50  # ms
    echo_mode: bool = False
    passive_mode: bool = False
    minimum_ttl: int = 254
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "BFDProfile"


@dataclass(frozen=True, slots=True)
class SecretRef:
    name: str
    namespace: str = ""  # empty: the BGPPeer's namespace


@dataclass(frozen=True, slots=True)
class BGPPeer:
    """BGPPeer v1beta2. Timers are seconds, already resolved the MetalLB way:
    only holdTime given -> keepalive = hold/3; only keepaliveTime -> hold = 3*keepalive;
    neither -> 90 s / 30 s. `hold_time_set`/`keepalive_time_set` say what was written.
    """

    name: str
    namespace: str
    my_asn: int
    peer_asn: int | None = None  # None when dynamic_asn is used
    dynamic_asn: str | None = None  # "internal" | "external"
    local_asn: int | None = None
    peer_address: str | None = None  # normalised IP text; None with `interface`
    interface: str | None = None  # unnumbered BGP
    source_address: str | None = None
    peer_port: int = 179
    hold_time: float = 90.0
    keepalive_time: float = 30.0
    hold_time_set: bool = False
    keepalive_time_set: bool = False
    connect_time: float | None = None
    router_id: str | None = None
    node_selectors: Selectors = ()  # empty: every node
    password: Secret | None = None
    password_secret: SecretRef | None = None
    bfd_profile: str | None = None
    ebgp_multi_hop: bool = False
    vrf: str | None = None
    disable_mp: bool = False
    dual_stack_address_family: bool = False
    enable_graceful_restart: bool = False
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "BGPPeer"


@dataclass(frozen=True, slots=True)
class ServiceL2Status:
    name: str
    namespace: str
    node: str = ""
    service_name: str = ""
    service_namespace: str = ""
    interfaces: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "ServiceL2Status"


@dataclass(frozen=True, slots=True)
class ServiceBGPStatus:
    name: str
    namespace: str
    node: str = ""
    service_name: str = ""
    service_namespace: str = ""
    peers: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "ServiceBGPStatus"


@dataclass(frozen=True, slots=True)
class BGPSessionState:
    name: str
    namespace: str
    node: str = ""
    peer: str = ""
    peer_address: str = ""
    bgp_status: str = ""
    bfd_status: str = ""
    last_down_reason: str = ""
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    kind = "BGPSessionState"


ConfigObject = (
    IPAddressPool
    | L2Advertisement
    | BGPAdvertisement
    | Community
    | BFDProfile
    | BGPPeer
    | ServiceL2Status
    | ServiceBGPStatus
    | BGPSessionState
)
