"""MetalLB ConfigMap (`metallb-system/config`, key `config`) → metallb.io manifests.

The ConfigMap format was removed in MetalLB v0.13. Each legacy option maps to the CR
that replaced it; options with no exact equivalent produce a warning instead of being
dropped silently. Pure: takes the ConfigMap (dict) or its `config` text, returns
manifests and warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ironlb import yamlio

DEFAULT_NAMESPACE = "metallb-system"
_V1BETA1 = "metallb.io/v1beta1"
_V1BETA2 = "metallb.io/v1beta2"


class MigrationError(ValueError):
    """The input is not a MetalLB ConfigMap configuration; the message says where."""


@dataclass
class MigrationResult:
    manifests: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        return yaml.safe_dump_all(self.manifests, sort_keys=False, default_flow_style=False)


def load_config_text(source: dict[str, Any] | str) -> tuple[dict[str, Any], str]:
    """Return (parsed config, namespace) from a ConfigMap object or its YAML text."""
    if isinstance(source, str):
        doc = yamlio.load(source) or {}
    else:
        doc = source
    namespace = DEFAULT_NAMESPACE
    if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
        namespace = (doc.get("metadata") or {}).get("namespace") or DEFAULT_NAMESPACE
        text = (doc.get("data") or {}).get("config")
        if text is None:
            name = (doc.get("metadata") or {}).get("name", "?")
            raise MigrationError(f"ConfigMap {namespace}/{name}: data.config: missing")
        doc = yamlio.load(text) or {}
    if not isinstance(doc, dict):
        raise MigrationError("config: expected a mapping with address-pools/peers")
    return doc, namespace


def migrate_configmap(source: dict[str, Any] | str) -> MigrationResult:
    config, namespace = load_config_text(source)
    result = MigrationResult()
    known = {"peers", "address-pools", "bgp-communities", "communities", "bfd-profiles"}
    for key in sorted(set(config) - known - {"protocol"}):
        result.warnings.append(f"config.{key}: unknown option, not migrated")
    ctx = _Context(namespace, result, config.get("protocol"))
    for index, profile in enumerate(config.get("bfd-profiles") or []):
        ctx.bfd_profile(index, profile)
    aliases = config.get("bgp-communities") or config.get("communities") or {}
    ctx.communities(aliases)
    for index, peer in enumerate(config.get("peers") or []):
        ctx.peer(index, peer)
    for index, pool in enumerate(config.get("address-pools") or []):
        ctx.pool(index, pool)
    return result


def _meta(name: str, namespace: str) -> dict[str, str]:
    return {"name": name, "namespace": namespace}


def _dns_name(text: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return cleaned[:63].rstrip("-") or "unnamed"


def _duration(value: Any) -> str:
    """Legacy hold-time accepted bare seconds (`120`) and Go durations (`120s`)."""
    text = str(value).strip()
    return f"{text}s" if re.fullmatch(r"\d+", text) else text


def _selectors(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for sel in raw or []:
        converted: dict[str, Any] = {}
        if sel.get("match-labels"):
            converted["matchLabels"] = dict(sel["match-labels"])
        if sel.get("match-expressions"):
            converted["matchExpressions"] = [
                {k: v for k, v in expr.items() if v is not None}
                for expr in sel["match-expressions"]
            ]
        out.append(converted)
    return out


_PEER_FIELDS = {
    "peer-address": ("peerAddress", str),
    "peer-asn": ("peerASN", int),
    "my-asn": ("myASN", int),
    "peer-port": ("peerPort", int),
    "source-address": ("sourceAddress", str),
    "router-id": ("routerID", str),
    "hold-time": ("holdTime", _duration),
    "keepalive-time": ("keepaliveTime", _duration),
    "ebgp-multihop": ("ebgpMultiHop", bool),
    "bfd-profile": ("bfdProfile", str),
    "vrf": ("vrf", str),
}

_BFD_FIELDS = {
    "receive-interval": "receiveInterval",
    "transmit-interval": "transmitInterval",
    "detect-multiplier": "detectMultiplier",
    "echo-interval": "echoInterval",
    "echo-mode": "echoMode",
    "passive-mode": "passiveMode",
    "minimum-ttl": "minimumTtl",
}


@dataclass
class _Context:
    namespace: str
    result: MigrationResult
    default_protocol: str | None

    def emit(self, manifest: dict[str, Any]) -> None:
        self.result.manifests.append(manifest)

    def warn(self, where: str, message: str) -> None:
        self.result.warnings.append(f"{where}: {message}")

    def bfd_profile(self, index: int, raw: dict[str, Any]) -> None:
        where = f"bfd-profiles[{index}]"
        name = raw.get("name")
        if not name:
            raise MigrationError(f"{where}.name: missing")
        spec = {}
        for key, value in raw.items():
            if key == "name":
                continue
            if key not in _BFD_FIELDS:
                self.warn(f"{where}.{key}", "unknown option, not migrated")
                continue
            spec[_BFD_FIELDS[key]] = value
        meta = _meta(name, self.namespace)
        self.emit({"apiVersion": _V1BETA1, "kind": "BFDProfile", "metadata": meta, "spec": spec})

    def communities(self, aliases: dict[str, Any]) -> None:
        if not aliases:
            return
        entries = [{"name": str(k), "value": str(v)} for k, v in aliases.items()]
        self.emit(
            {
                "apiVersion": _V1BETA1,
                "kind": "Community",
                "metadata": _meta("communities", self.namespace),
                "spec": {"communities": entries},
            }
        )

    def peer(self, index: int, raw: dict[str, Any]) -> None:
        where = f"peers[{index}]"
        for required in ("peer-address", "peer-asn", "my-asn"):
            if required not in raw:
                raise MigrationError(f"{where}.{required}: missing")
        spec: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _PEER_FIELDS:
                target, convert = _PEER_FIELDS[key]
                spec[target] = convert(value)
            elif key == "node-selectors":
                spec["nodeSelectors"] = _selectors(value)
            elif key == "password":
                spec["password"] = str(value)
                self.warn(
                    f"{where}.password",
                    "kept inline in the BGPPeer; move it to a Secret and use "
                    "spec.passwordSecret so it is not stored in the manifest",
                )
            else:
                self.warn(f"{where}.{key}", "no metallb.io equivalent, not migrated")
        name = _dns_name(f"peer-{raw['peer-address']}")
        doc = {"apiVersion": _V1BETA2, "kind": "BGPPeer", "metadata": _meta(name, self.namespace)}
        self.emit({**doc, "spec": spec})

    def pool(self, index: int, raw: dict[str, Any]) -> None:
        where = f"address-pools[{index}]"
        name = raw.get("name")
        if not name:
            raise MigrationError(f"{where}.name: missing")
        protocol = raw.get("protocol") or self.default_protocol
        addresses = raw.get("addresses") or raw.get("cidr")
        if not addresses:
            raise MigrationError(f"{where}.addresses: missing")
        spec: dict[str, Any] = {"addresses": [str(a) for a in addresses]}
        if "auto-assign" in raw:
            spec["autoAssign"] = bool(raw["auto-assign"])
        if "avoid-buggy-ips" in raw:
            spec["avoidBuggyIPs"] = bool(raw["avoid-buggy-ips"])
        handled = {"name", "protocol", "addresses", "cidr", "auto-assign", "avoid-buggy-ips"}
        handled |= {"bgp-advertisements", "advertisements"}
        for key in sorted(set(raw) - handled):
            self.warn(f"{where}.{key}", "no metallb.io equivalent, not migrated")
        pool_doc = {"apiVersion": _V1BETA1, "kind": "IPAddressPool"}
        self.emit({**pool_doc, "metadata": _meta(name, self.namespace), "spec": spec})
        if protocol == "layer2":
            self._l2(name)
        elif protocol == "bgp":
            adverts = raw.get("bgp-advertisements") or raw.get("advertisements")
            self._bgp(where, name, adverts)
        else:
            self.warn(
                f"{where}.protocol",
                f"{protocol!r} is neither layer2 nor bgp: the pool is migrated without an "
                "advertisement, so its addresses would be assigned but never announced",
            )

    def _l2(self, pool: str) -> None:
        self.emit(
            {
                "apiVersion": _V1BETA1,
                "kind": "L2Advertisement",
                "metadata": _meta(_dns_name(f"{pool}-l2"), self.namespace),
                "spec": {"ipAddressPools": [pool]},
            }
        )

    def _bgp(self, where: str, pool: str, adverts: list[dict[str, Any]] | None) -> None:
        # A legacy BGP pool without advertisements was announced with the defaults.
        for i, raw in enumerate(adverts or [{}]):
            spec: dict[str, Any] = {"ipAddressPools": [pool]}
            mapping = {
                "aggregation-length": "aggregationLength",
                "aggregation-length-v6": "aggregationLengthV6",
                "localpref": "localPref",
                "communities": "communities",
            }
            for key, value in raw.items():
                if key in mapping:
                    spec[mapping[key]] = value
                else:
                    self.warn(f"{where}.bgp-advertisements[{i}].{key}", "not migrated")
            name = _dns_name(f"{pool}-bgp" if len(adverts or [{}]) == 1 else f"{pool}-bgp-{i}")
            self.emit(
                {
                    "apiVersion": _V1BETA1,
                    "kind": "BGPAdvertisement",
                    "metadata": _meta(name, self.namespace),
                    "spec": spec,
                }
            )
