"""Checks across metallb.io objects, and the assembled `Config`.

`build_config(objects)` parses every metallb.io object, then checks what no single
object can: duplicate names, overlapping pools, references to pools, peers,
communities and BFD profiles that do not exist, and aggregation lengths wider than
a pool's prefixes. Objects outside metallb.io are skipped (counted in `skipped`).

`config` holds every object that is valid on its own; `errors` lists every
problem. MetalLB rejects a configuration with any error as a whole and keeps the
last good one: shells should apply `config` only when `result.ok`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ironlb.config import model as m
from ironlb.config.addresses import find_overlaps, format_range, shortest_prefix
from ironlb.config.parse import is_metallb, parse_community, parse_object_errors
from ironlb.config.quoting import q
from ironlb.config.selectors import matches_any


@dataclass(slots=True)
class Config:
    """Valid objects by name (MetalLB keeps all of them in one namespace)."""

    pools: dict[str, m.IPAddressPool] = field(default_factory=dict)
    l2_advertisements: dict[str, m.L2Advertisement] = field(default_factory=dict)
    bgp_advertisements: dict[str, m.BGPAdvertisement] = field(default_factory=dict)
    bgp_peers: dict[str, m.BGPPeer] = field(default_factory=dict)
    bfd_profiles: dict[str, m.BFDProfile] = field(default_factory=dict)
    communities: dict[str, m.Community] = field(default_factory=dict)

    def community_aliases(self) -> dict[str, m.BGPCommunity]:
        return {a.name: a.parsed for c in self.communities.values() for a in c.communities}

    def pools_of(self, adv: m.L2Advertisement | m.BGPAdvertisement) -> list[str]:
        """Names of the pools an advertisement applies to (none listed or selected: all)."""
        if adv.selects_all_pools:
            return sorted(self.pools)
        selectors = adv.ip_address_pool_selectors
        by_label = (
            [name for name, pool in self.pools.items() if matches_any(selectors, pool.labels)]
            if selectors
            else []
        )
        return sorted({*(p for p in adv.ip_address_pools if p in self.pools), *by_label})

    def l2_advertisements_for(self, pool: str) -> list[m.L2Advertisement]:
        return [a for _, a in sorted(self.l2_advertisements.items()) if pool in self.pools_of(a)]

    def bgp_advertisements_for(self, pool: str) -> list[m.BGPAdvertisement]:
        return [a for _, a in sorted(self.bgp_advertisements.items()) if pool in self.pools_of(a)]


@dataclass(slots=True)
class ConfigResult:
    config: Config
    errors: list[m.ConfigError]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (apiVersion/kind, name)
    statuses: list[m.ServiceL2Status | m.ServiceBGPStatus | m.BGPSessionState] = field(
        default_factory=list
    )

    @property
    def ok(self) -> bool:
        return not self.errors


_TABLES = {
    "IPAddressPool": "pools",
    "L2Advertisement": "l2_advertisements",
    "BGPAdvertisement": "bgp_advertisements",
    "BGPPeer": "bgp_peers",
    "BFDProfile": "bfd_profiles",
    "Community": "communities",
}


def _err(obj: Any, field_: str, reason: str) -> m.ConfigError:
    return m.ConfigError(obj.kind, obj.name, field_, reason, obj.namespace)


def build_config(objects: Iterable[Mapping[str, Any]]) -> ConfigResult:
    result = ConfigResult(Config(), [])
    for obj in objects:
        if not is_metallb(obj):
            meta = obj.get("metadata") if isinstance(obj, Mapping) else None
            name = meta.get("name", "") if isinstance(meta, Mapping) else ""
            kind = obj.get("kind", "?") if isinstance(obj, Mapping) else type(obj).__name__
            api = obj.get("apiVersion", "?") if isinstance(obj, Mapping) else "?"
            result.skipped.append((f"{api}/{kind}", str(name)))
            continue
        parsed, errors = parse_object_errors(obj)
        result.errors.extend(errors)
        if parsed is not None:
            _add(result, parsed)
    cfg = result.config
    checks = (
        _pool_overlaps,
        _pool_refs,
        _community_refs,
        _peer_refs,
        _bfd_refs,
        _aggregation,
        _bfd_echo_ipv6,
    )
    for check in checks:
        result.errors.extend(check(cfg))
    return result


def _add(result: ConfigResult, obj: m.ConfigObject) -> None:
    if isinstance(obj, m.ServiceL2Status | m.ServiceBGPStatus | m.BGPSessionState):
        result.statuses.append(obj)
        return
    table: dict[str, Any] = getattr(result.config, _TABLES[obj.kind])
    other = table.get(obj.name)
    if other is not None:
        where = f" in namespace {other.namespace}" if other.namespace else ""
        result.errors.append(_err(obj, "metadata.name", f"duplicate {obj.kind} name{where}"))
        return
    table[obj.name] = obj


def _pool_overlaps(cfg: Config) -> Iterator[m.ConfigError]:
    items = [((pool, i), r) for pool in cfg.pools.values() for i, r in enumerate(pool.ranges)]
    for (pa, ia), (pb, ib), common in find_overlaps(items):
        # Report on the later object so the first one defined keeps its addresses.
        yield _err(
            pb,
            f"spec.addresses[{ib}]",
            f"{q(pb.addresses[ib])} overlaps {q(pa.addresses[ia])} of IPAddressPool "
            f"{pa.namespace + '/' if pa.namespace else ''}{pa.name} (spec.addresses[{ia}]) "
            f"at {format_range(common)}",
        )


def _pool_refs(cfg: Config) -> Iterator[m.ConfigError]:
    advs: list[m.L2Advertisement | m.BGPAdvertisement] = [
        *cfg.l2_advertisements.values(),
        *cfg.bgp_advertisements.values(),
    ]
    for adv in advs:
        for i, name in enumerate(adv.ip_address_pools):
            if name not in cfg.pools:
                yield _err(
                    adv, f"spec.ipAddressPools[{i}]", f"IPAddressPool {q(name)} does not exist"
                )


def _community_refs(cfg: Config) -> Iterator[m.ConfigError]:
    aliases: dict[str, m.Community] = {}
    for com in cfg.communities.values():
        for i, alias in enumerate(com.communities):
            first = aliases.setdefault(alias.name, com)
            if first is not com:
                yield _err(
                    com,
                    f"spec.communities[{i}].name",
                    f"alias {q(alias.name)} is already defined by Community {first.name}",
                )
    values = cfg.community_aliases()
    for name, adv in list(cfg.bgp_advertisements.items()):
        resolved: list[m.BGPCommunity] = []
        for i, text in enumerate(adv.communities):
            if text in values:
                resolved.append(values[text])
                continue
            try:
                resolved.append(parse_community(text))
            except ValueError as exc:
                yield _err(adv, f"spec.communities[{i}]", _community_reason(text, exc))
        cfg.bgp_advertisements[name] = replace(adv, community_values=tuple(resolved))


_WELL_KNOWN = {
    "no-export": "65535:65281",
    "no-advertise": "65535:65282",
    "no-export-subconfed": "65535:65283",
    "local-as": "65535:65283",
    "no-peer": "65535:65284",
    "blackhole": "65535:666",
    "graceful-shutdown": "65535:0",
}


def _community_reason(text: str, exc: ValueError) -> str:
    if ":" in text:
        return str(exc)
    hint = (
        f"; MetalLB has no well-known names, write {_WELL_KNOWN[text]}"
        if text in _WELL_KNOWN
        else ""
    )
    return f"{q(text)} is neither a community value nor a Community alias{hint}"


def _peer_refs(cfg: Config) -> Iterator[m.ConfigError]:
    for adv in cfg.bgp_advertisements.values():
        for i, name in enumerate(adv.peers):
            if name not in cfg.bgp_peers:
                yield _err(adv, f"spec.peers[{i}]", f"BGPPeer {q(name)} does not exist")


def _bfd_refs(cfg: Config) -> Iterator[m.ConfigError]:
    for peer in cfg.bgp_peers.values():
        if peer.bfd_profile is not None and peer.bfd_profile not in cfg.bfd_profiles:
            yield _err(peer, "spec.bfdProfile", f"BFDProfile {q(peer.bfd_profile)} does not exist")


def _aggregation(cfg: Config) -> Iterator[m.ConfigError]:
    # MetalLB: an aggregation length shorter than a pool's own prefix would announce
    # addresses outside the pool.
    for adv in cfg.bgp_advertisements.values():
        for pool_name in cfg.pools_of(adv):
            pool = cfg.pools[pool_name]
            for text, r in zip(pool.addresses, pool.ranges, strict=True):
                length = adv.aggregation_length if r[2] == 4 else adv.aggregation_length_v6
                widest = shortest_prefix(r)
                if length < widest:
                    key = "aggregationLength" if r[2] == 4 else "aggregationLengthV6"
                    yield _err(
                        adv,
                        f"spec.{key}",
                        f"{length} is shorter than prefix /{widest} of {q(text)} in "
                        f"IPAddressPool {pool.name}",
                    )


def _bfd_echo_ipv6(cfg: Config) -> Iterator[m.ConfigError]:
    # MetalLB: BFD echo mode does not work for IPv6, so a peer with an echo profile
    # must not be given IPv6 pools.
    reported: set[str] = set()
    for adv in cfg.bgp_advertisements.values():
        v6_pools = [p for p in cfg.pools_of(adv) if any(r[2] == 6 for r in cfg.pools[p].ranges)]
        if not v6_pools:
            continue
        for peer_name in adv.peers or sorted(cfg.bgp_peers):
            peer = cfg.bgp_peers.get(peer_name)
            profile = cfg.bfd_profiles.get(peer.bfd_profile or "") if peer else None
            if peer is None or profile is None or not profile.echo_mode or peer.name in reported:
                continue
            reported.add(peer.name)
            yield _err(
                peer,
                "spec.bfdProfile",
                f"BFDProfile {q(profile.name)} has echoMode, which cannot be used for IPv6 "
                f"IPAddressPool {v6_pools[0]} advertised to this peer by "
                f"BGPAdvertisement {adv.name}",
            )
