"""Vendor-neutral BGP intent for a ToR switch: what `switch_bgp` wants or what a device has.

Pure data: frozen dataclasses, normalised (sorted, canonical addresses), so two intents compare
equal exactly when the configurations mean the same thing. `from_params` builds one from the
module's options; each platform's `parse()` builds one from running-config text.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any

FAMILIES = ("ipv4", "ipv6")
# Names of the objects the module owns on the device (prefix lists, route maps, BFD profile).
POOLS_V4 = "IRONLB-POOLS-V4"
POOLS_V6 = "IRONLB-POOLS-V6"
IMPORT_V4 = "IRONLB-IMPORT-V4"
IMPORT_V6 = "IRONLB-IMPORT-V6"
BFD_PROFILE = "ironlb"
DEFAULT_TAG = "ironlb"


class IntentError(ValueError):
    """The user's options are invalid; names the field and the reason."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True, order=True)
class PrefixRule:
    """Accept `prefix` and, with `le`, its more-specifics up to length `le`. `seq` is the
    device's sequence number (0 = not yet placed; diff.align assigns it)."""

    prefix: str
    le: int | None = None
    seq: int = 0

    @property
    def version(self) -> int:
        return ipaddress.ip_network(self.prefix).version

    @property
    def family(self) -> str:
        return "ipv4" if self.version == 4 else "ipv6"

    def same_rule(self, other: PrefixRule) -> bool:
        return (self.prefix, self.le) == (other.prefix, other.le)


@dataclass(frozen=True)
class BfdTimers:
    """BFD timers in milliseconds and the detection multiplier."""

    min_rx: int = 300
    min_tx: int = 300
    multiplier: int = 3


@dataclass(frozen=True, order=True)
class Neighbor:
    address: str
    remote_asn: int
    description: str = ""
    password: str | None = None
    bfd: bool = False
    ebgp_multihop: int | None = None

    @property
    def family(self) -> str:
        return "ipv4" if ipaddress.ip_address(self.address).version == 4 else "ipv6"


@dataclass(frozen=True)
class BgpIntent:
    """The managed part of one switch's BGP configuration.

    `families`: address families the neighbors carry; `maximum_paths` applies in each of them;
    `accept` is the import filter (only the service pools); `bfd_timers` is None without BFD.
    """

    asn: int
    router_id: str | None = None
    neighbors: tuple[Neighbor, ...] = ()
    accept: tuple[PrefixRule, ...] = ()
    maximum_paths: int | None = None
    bfd_timers: BfdTimers | None = None
    families: tuple[str, ...] = ("ipv4",)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def accept_for(self, family: str) -> tuple[PrefixRule, ...]:
        return tuple(r for r in self.accept if r.family == family)

    def normalised(self) -> BgpIntent:
        return replace(
            self,
            neighbors=tuple(sorted(self.neighbors, key=lambda n: _addr_key(n.address))),
            accept=tuple(sorted(self.accept, key=_rule_key)),
            families=tuple(f for f in FAMILIES if f in self.families),
        )


def _addr_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return (ip.version, int(ip))


def _rule_key(rule: PrefixRule) -> tuple[int, int, int, int, int]:
    net = ipaddress.ip_network(rule.prefix)
    return (net.version, rule.seq, int(net.network_address), net.prefixlen, rule.le or 0)


def canonical_address(value: str, field_name: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise IntentError(field_name, f"{value!r} is not an IP address") from None


def expand_prefix(value: str, field_name: str) -> list[str]:
    """A CIDR, a single address, or a MetalLB range `a-b` → the list of CIDRs covering it."""
    text = value.strip()
    try:
        if "-" in text:
            first, last = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            if first.version != last.version or int(first) > int(last):
                raise ValueError("bad range")
            nets = ipaddress.summarize_address_range(first, last)  # type: ignore[arg-type]
            return [str(n) for n in nets]
        return [str(ipaddress.ip_network(text, strict=False))]
    except ValueError:
        reason = f"{value!r} is not a CIDR, an address or a range a-b"
        raise IntentError(field_name, reason) from None


def from_params(params: dict[str, Any]) -> BgpIntent:
    """Module options → the wanted intent (validated; raises IntentError naming the field)."""
    tag = params.get("owner_tag") or DEFAULT_TAG
    families = tuple(params.get("address_families") or ("ipv4",))
    bfd = params.get("bfd") or {}
    timers = None
    if bfd.get("enabled"):
        timers = BfdTimers(
            min_rx=int(bfd.get("min_rx") or 300),
            min_tx=int(bfd.get("min_tx") or 300),
            multiplier=int(bfd.get("multiplier") or 3),
        )
    password = params.get("md5_password") or None
    multihop = params.get("ebgp_multihop") or None
    neighbors = []
    seen: set[str] = set()
    for i, item in enumerate(params.get("neighbors") or []):
        address = canonical_address(str(item["address"]), f"neighbors[{i}].address")
        if address in seen:
            raise IntentError(f"neighbors[{i}].address", f"{address} is listed twice")
        seen.add(address)
        text = str(item.get("description") or "").strip()
        neighbors.append(
            Neighbor(
                address=address,
                remote_asn=int(item["remote_asn"]),
                description=f"{tag} {text}".strip(),
                password=password,
                bfd=timers is not None,
                ebgp_multihop=multihop,
            )
        )
    rules: list[PrefixRule] = []
    for i, item in enumerate(params.get("accept") or []):
        spec = item if isinstance(item, dict) else {"prefix": item}
        for cidr in expand_prefix(str(spec["prefix"]), f"accept[{i}].prefix"):
            rules.append(_rule(cidr, spec.get("max_length"), f"accept[{i}].max_length"))
    rules = list(dict.fromkeys(rules))
    router_id = params.get("router_id")
    if router_id:
        router_id = canonical_address(router_id, "router_id")
    return BgpIntent(
        asn=int(params["asn"]),
        router_id=router_id,
        neighbors=tuple(neighbors),
        accept=tuple(rules),
        maximum_paths=params.get("maximum_paths") or None,
        bfd_timers=timers,
        families=families,
    ).normalised()


def _rule(cidr: str, max_length: Any, field_name: str) -> PrefixRule:
    net = ipaddress.ip_network(cidr)
    if max_length in (None, ""):
        return PrefixRule(str(net))
    le = int(max_length)
    if not net.prefixlen <= le <= net.max_prefixlen:
        reason = f"{le} must be between {net.prefixlen} and {net.max_prefixlen} for {net}"
        raise IntentError(field_name, reason)
    return PrefixRule(str(net), None if le == net.prefixlen else le)


def owned(intent: BgpIntent, tag: str = DEFAULT_TAG) -> BgpIntent:
    """Keep only the neighbors this module manages: those whose description carries `tag`."""
    mine = tuple(
        n for n in intent.neighbors if n.description == tag or n.description.startswith(tag + " ")
    )
    return replace(intent, neighbors=mine)


def without_neighbors(have: BgpIntent) -> BgpIntent:
    """The `absent` target: no managed neighbors, filter objects, BFD profile or maximum-paths;
    the BGP process and its router ID stay (other sessions, such as uplinks, use them)."""
    return replace(have, neighbors=(), accept=(), bfd_timers=None, families=(), maximum_paths=None)
