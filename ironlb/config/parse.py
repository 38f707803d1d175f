"""One metallb.io object (a dict as the API or a manifest gives it) -> model object.

`parse_object` raises the first `ConfigError`; `parse_object_errors` returns every
problem it finds in the object, which `build_config` and `ironlb validate` use.
Checks here need only the object itself; checks across objects are in validate.py.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from ironlb.config import model as m
from ironlb.config.addresses import AddressError, parse_range
from ironlb.config.quoting import q
from ironlb.config.selectors import LabelSelector, SelectorError, parse_selector
from ironlb.log import Secret

MAX_ASN = 4294967295
MAX_PEER_PORT = 16384  # MetalLB's CRD bound for v1beta2 peerPort

# apiVersion versions each kind is served at (BGPPeer v1beta2 is the storage version).
VERSIONS: dict[str, tuple[str, ...]] = {
    "IPAddressPool": ("v1beta1",),
    "L2Advertisement": ("v1beta1",),
    "BGPAdvertisement": ("v1beta1",),
    "Community": ("v1beta1",),
    "BFDProfile": ("v1beta1",),
    "BGPPeer": ("v1beta2", "v1beta1"),
    "ServiceL2Status": ("v1beta1",),
    "ServiceBGPStatus": ("v1beta1",),
    "BGPSessionState": ("v1beta1",),
}

_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}  # fmt: skip


def parse_duration(text: Any) -> float:
    """A Go duration string ("90s", "1m30s", "500ms", "0") in seconds; raises ValueError."""
    if not isinstance(text, str):
        raise ValueError(f'must be a duration string like "90s", not {_type_name(text)}')
    if text == "0":
        return 0.0
    if not _DURATION_RE.match(text):
        raise ValueError(f'{q(text)} is not a duration (like "90s", "1m30s", "500ms")')
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))


def parse_community(text: Any) -> m.BGPCommunity:
    """`65000:100` (standard) or `large:1:2:3` (large); raises ValueError with the reason."""
    if not isinstance(text, str):
        raise ValueError(f"must be a string, not {_type_name(text)}")
    parts = text.split(":")
    if len(parts) == 2:
        asn, value = (_uint(p, 16, text) for p in parts)
        return m.StandardCommunity(asn, value)
    if len(parts) == 4 and parts[0] == "large":
        a, b, c = (_uint(p, 32, text) for p in parts[1:])
        return m.LargeCommunity(a, b, c)
    if len(parts) == 4:
        raise ValueError(
            f"{q(text)}: a large community is written large:<uint32>:<uint32>:<uint32>"
        )
    raise ValueError(
        f"{q(text)} is not a community (65000:100, large:65000:1:2, or a Community alias name)"
    )


def _uint(part: str, bits: int, text: str) -> int:
    if not part.isdigit() or not part.isascii():
        raise ValueError(f"{q(text)}: {q(part)} is not a number")
    value = int(part)
    if value >= 1 << bits:
        raise ValueError(f"{q(text)}: {part} does not fit in {bits} bits")
    return value


class _Ctx:
    """Collects every field error of one object while its parser runs."""

    def __init__(self, kind: str, name: str, namespace: str) -> None:
        self.kind, self.name, self.namespace = kind, name, namespace
        self.errors: list[m.ConfigError] = []

    def error(self, field: str, reason: str) -> None:
        self.errors.append(m.ConfigError(self.kind, self.name, field, reason, self.namespace))


_TYPE_NAMES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    list: "a list",
    dict: "an object",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    for typ, name in _TYPE_NAMES.items():
        if type(value) is typ:
            return name
    return type(value).__name__


class _Spec:
    """Typed access to a spec mapping; wrong types become errors, not exceptions."""

    def __init__(self, ctx: _Ctx, raw: Any, path: str, known: tuple[str, ...]) -> None:
        self.ctx, self.path = ctx, path
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            ctx.error(path, f"must be an object, not {_type_name(raw)}")
            raw = {}
        self.raw: Mapping[str, Any] = raw
        for key in raw:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                ctx.error(f"{path}.{key}", f"unknown field{hint}")

    def f(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str, typ: type, default: Any = None) -> Any:
        value = self.raw.get(key)
        if value is None:
            return default
        # bool is an int in Python; YAML `true` is never a valid integer here.
        if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.ctx.error(self.f(key), f"must be an integer, not {_type_name(value)}")
            return default
        if not isinstance(value, typ):
            self.ctx.error(self.f(key), f"must be {_TYPE_NAMES[typ]}, not {_type_name(value)}")
            return default
        return value

    def string(self, key: str) -> str | None:
        value = self.get(key, str)
        return value or None

    def int_in(self, key: str, lo: int, hi: int, default: Any = None) -> Any:
        value = self.get(key, int)
        if value is None:
            return default
        if not lo <= value <= hi:
            self.ctx.error(self.f(key), f"{value} is out of range {lo}..{hi}")
            return default
        return value

    def strings(self, key: str, unique: bool = True) -> tuple[str, ...]:
        items = self.get(key, list, [])
        out: list[str] = []
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.ctx.error(f"{self.f(key)}[{i}]", f"must be a string, not {_type_name(item)}")
            elif unique and item in out:
                self.ctx.error(f"{self.f(key)}[{i}]", f"duplicate entry {q(item)}")
            else:
                out.append(item)
        return tuple(out)

    def selectors(self, key: str) -> tuple[LabelSelector, ...]:
        items = self.get(key, list, [])
        out: list[LabelSelector] = []
        for i, item in enumerate(items):
            field = f"{self.f(key)}[{i}]"
            try:
                sel = parse_selector(item)
            except SelectorError as exc:
                self.ctx.error(f"{field}.{exc.field}" if exc.field else field, exc.reason)
                continue
            if sel in out:
                self.ctx.error(field, "duplicate selector")
                continue
            out.append(sel)
        return tuple(out)


def _ip_text(spec: _Spec, key: str, v4_only: bool = False) -> str | None:
    text = spec.string(key)
    if text is None:
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        spec.ctx.error(spec.f(key), f"{q(text)} is not an IP address")
        return None
    if v4_only and ip.version != 4:
        spec.ctx.error(spec.f(key), f"{q(text)} must be an IPv4 address")
        return None
    return str(ip)


# --- per-kind parsers: (ctx, spec mapping, meta) -> model ------------------------------


def _pool(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.IPAddressPool:
    spec = _Spec(
        ctx, raw, "spec", ("addresses", "autoAssign", "avoidBuggyIPs", "serviceAllocation")
    )
    addresses = spec.strings("addresses", unique=False)
    if "addresses" not in spec.raw:
        ctx.error("spec.addresses", "is required")
    elif not addresses and not ctx.errors:
        ctx.error("spec.addresses", "must list at least one CIDR or range")
    ranges = []
    for i, text in enumerate(addresses):
        try:
            ranges.append(parse_range(text))
        except AddressError as exc:
            ctx.error(f"spec.addresses[{i}]", f"{q(text)}: {exc}")
    return m.IPAddressPool(
        name=meta["name"],
        namespace=meta["namespace"],
        addresses=addresses,
        ranges=tuple(ranges),
        auto_assign=spec.get("autoAssign", bool, True),
        avoid_buggy_ips=spec.get("avoidBuggyIPs", bool, False),
        service_allocation=_service_allocation(ctx, spec.raw.get("serviceAllocation")),
        labels=meta["labels"],
    )


def _service_allocation(ctx: _Ctx, raw: Any) -> m.ServiceAllocation | None:
    if raw is None:
        return None
    spec = _Spec(
        ctx,
        raw,
        "spec.serviceAllocation",
        ("priority", "namespaces", "namespaceSelectors", "serviceSelectors"),
    )
    return m.ServiceAllocation(
        priority=spec.get("priority", int, 0),
        namespaces=spec.strings("namespaces"),
        namespace_selectors=spec.selectors("namespaceSelectors"),
        service_selectors=spec.selectors("serviceSelectors"),
    )


def _l2(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.L2Advertisement:
    spec = _Spec(
        ctx,
        raw,
        "spec",
        (
            "ipAddressPools",
            "ipAddressPoolSelectors",
            "nodeSelectors",
            "interfaces",
            "serviceSelectors",
        ),
    )
    return m.L2Advertisement(
        name=meta["name"],
        namespace=meta["namespace"],
        ip_address_pools=spec.strings("ipAddressPools"),
        ip_address_pool_selectors=spec.selectors("ipAddressPoolSelectors"),
        node_selectors=spec.selectors("nodeSelectors"),
        interfaces=spec.strings("interfaces"),
        service_selectors=spec.selectors("serviceSelectors"),
        labels=meta["labels"],
    )


_BGP_ADV_FIELDS = (
    "aggregationLength", "aggregationLengthV6", "localPref", "communities", "ipAddressPools",
    "ipAddressPoolSelectors", "nodeSelectors", "peers", "serviceSelectors",
)  # fmt: skip


def _bgp_adv(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.BGPAdvertisement:
    spec = _Spec(ctx, raw, "spec", _BGP_ADV_FIELDS)
    agg4 = spec.int_in("aggregationLength", 1, 32, 32)
    agg6 = spec.int_in("aggregationLengthV6", 1, 128, 128)
    service_selectors = spec.selectors("serviceSelectors")
    if service_selectors and agg4 != 32:
        ctx.error("spec.aggregationLength", "cannot be set with serviceSelectors (only 32 is)")
    if service_selectors and agg6 != 128:
        ctx.error("spec.aggregationLengthV6", "cannot be set with serviceSelectors (only 128 is)")
    communities = spec.strings("communities")
    literal = []
    for text in communities:
        # Alias names are resolved in build_config; here only what parses as a value.
        try:
            literal.append(parse_community(text))
        except ValueError:
            continue
    return m.BGPAdvertisement(
        name=meta["name"],
        namespace=meta["namespace"],
        aggregation_length=agg4,
        aggregation_length_v6=agg6,
        local_pref=spec.int_in("localPref", 0, MAX_ASN),
        communities=communities,
        community_values=tuple(literal) if len(literal) == len(communities) else (),
        ip_address_pools=spec.strings("ipAddressPools"),
        ip_address_pool_selectors=spec.selectors("ipAddressPoolSelectors"),
        node_selectors=spec.selectors("nodeSelectors"),
        peers=spec.strings("peers"),
        service_selectors=service_selectors,
        labels=meta["labels"],
    )


def _community(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.Community:
    spec = _Spec(ctx, raw, "spec", ("communities",))
    aliases: list[m.CommunityAlias] = []
    for i, item in enumerate(spec.get("communities", list, [])):
        entry = _Spec(ctx, item, f"spec.communities[{i}]", ("name", "value"))
        name, value = entry.string("name"), entry.string("value")
        if name is None:
            ctx.error(entry.f("name"), "is required")
        if value is None:
            ctx.error(entry.f("value"), "is required")
        if name is None or value is None:
            continue
        try:
            parsed = parse_community(value)
        except ValueError as exc:
            ctx.error(entry.f("value"), str(exc))
            continue
        if any(a.name == name for a in aliases):
            ctx.error(entry.f("name"), f"duplicate alias {q(name)}")
            continue
        aliases.append(m.CommunityAlias(name, value, parsed))
    return m.Community(meta["name"], meta["namespace"], tuple(aliases), labels=meta["labels"])


def _bfd(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.BFDProfile:
    spec = _Spec(
        ctx,
        raw,
        "spec",
        (
            "receiveInterval", "transmitInterval", "detectMultiplier", "echoInterval",
            "echoMode", "passiveMode", "minimumTtl",
        ),
    )  # fmt: skip
    return m.BFDProfile(
        name=meta["name"],
        namespace=meta["namespace"],
        receive_interval=spec.int_in("receiveInterval", 10, 60000, 300),
        transmit_interval=spec.int_in("transmitInterval", 10, 60000, 300),
        detect_multiplier=spec.int_in("detectMultiplier", 2, 255, 3),
        echo_interval=spec.int_in("echoInterval", 10, 60000, 50),
        echo_mode=spec.get("echoMode", bool, False),
        passive_mode=spec.get("passiveMode", bool, False),
        minimum_ttl=spec.int_in("minimumTtl", 1, 254, 254),
        labels=meta["labels"],
    )


_PEER_FIELDS_V1BETA1 = (
    "myASN", "peerASN", "peerAddress", "sourceAddress", "peerPort", "holdTime", "keepaliveTime",
    "routerID", "nodeSelectors", "password", "bfdProfile", "ebgpMultiHop",
)  # fmt: skip
_PEER_FIELDS = (
    *_PEER_FIELDS_V1BETA1, "localASN", "dynamicASN", "interface", "connectTime",
    "passwordSecret", "enableGracefulRestart", "vrf", "disableMP", "dualStackAddressFamily",
)  # fmt: skip


def _peer(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.BGPPeer:
    fields = _PEER_FIELDS if meta["version"] == "v1beta2" else _PEER_FIELDS_V1BETA1
    spec = _Spec(ctx, raw, "spec", fields)
    my_asn = _asn(spec, "myASN", required=True)
    peer_asn, dynamic = _peer_asn(spec)
    address = _ip_text(spec, "peerAddress")
    interface = spec.string("interface")
    if address is None and interface is None and "peerAddress" not in spec.raw:
        ctx.error("spec.peerAddress", "is required (or spec.interface for unnumbered BGP)")
    if address is not None and interface is not None:
        ctx.error("spec.interface", "cannot be set together with spec.peerAddress")
    ebgp_multi_hop = spec.get("ebgpMultiHop", bool, False)
    if ebgp_multi_hop and peer_asn is not None and peer_asn == my_asn:
        ctx.error("spec.ebgpMultiHop", "cannot be set for an iBGP peer (peerASN equals myASN)")
    hold, keepalive, hold_set, keepalive_set = _timers(spec)
    password = spec.string("password")
    secret_ref = _secret_ref(spec)
    if password is not None and secret_ref is not None:
        ctx.error("spec.passwordSecret", "cannot be set together with spec.password")
    if dynamic is not None and peer_asn is not None:
        ctx.error("spec.dynamicASN", "cannot be set together with spec.peerASN")
    return m.BGPPeer(
        name=meta["name"],
        namespace=meta["namespace"],
        my_asn=my_asn or 0,
        peer_asn=peer_asn,
        dynamic_asn=dynamic,
        local_asn=_asn(spec, "localASN"),
        peer_address=address,
        interface=interface,
        source_address=_ip_text(spec, "sourceAddress"),
        peer_port=spec.int_in("peerPort", 1, MAX_PEER_PORT, 179),
        hold_time=hold,
        keepalive_time=keepalive,
        hold_time_set=hold_set,
        keepalive_time_set=keepalive_set,
        connect_time=_connect_time(spec),
        router_id=_ip_text(spec, "routerID", v4_only=True),
        node_selectors=spec.selectors("nodeSelectors"),
        password=Secret(password) if password is not None else None,
        password_secret=secret_ref,
        bfd_profile=spec.string("bfdProfile"),
        ebgp_multi_hop=ebgp_multi_hop,
        vrf=spec.string("vrf"),
        disable_mp=spec.get("disableMP", bool, False),
        dual_stack_address_family=spec.get("dualStackAddressFamily", bool, False),
        enable_graceful_restart=spec.get("enableGracefulRestart", bool, False),
        labels=meta["labels"],
    )


def _asn(spec: _Spec, key: str, required: bool = False) -> int | None:
    value = spec.get(key, int)
    if value is None:
        if required:
            spec.ctx.error(spec.f(key), "is required")
        return None
    if not 1 <= value <= MAX_ASN:
        spec.ctx.error(spec.f(key), f"ASN {value} is out of range 1..{MAX_ASN}")
        return None
    return value


def _peer_asn(spec: _Spec) -> tuple[int | None, str | None]:
    dynamic = spec.string("dynamicASN")
    if dynamic is not None and dynamic not in ("internal", "external"):
        spec.ctx.error(spec.f("dynamicASN"), f"{q(dynamic)} must be internal or external")
        dynamic = None
    if spec.raw.get("peerASN") is None and dynamic is None and "dynamicASN" not in spec.raw:
        spec.ctx.error(spec.f("peerASN"), "is required (or spec.dynamicASN)")
        return None, None
    return _asn(spec, "peerASN"), dynamic


def _duration(spec: _Spec, key: str) -> float | None:
    value = spec.raw.get(key)
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        spec.ctx.error(spec.f(key), str(exc))
        return None
    return seconds


def _timers(spec: _Spec) -> tuple[float, float, bool, bool]:
    hold = _duration(spec, "holdTime")
    keepalive = _duration(spec, "keepaliveTime")
    hold_set, keepalive_set = hold is not None, keepalive is not None
    if hold is not None and hold != 0 and hold < 3:
        spec.ctx.error(spec.f("holdTime"), f"{q(spec.raw['holdTime'])} must be 0 or at least 3s")
    if hold is None:
        hold = 90.0 if keepalive is None else keepalive * 3
    if keepalive is None:
        keepalive = hold / 3
    elif keepalive > hold:
        spec.ctx.error(
            spec.f("keepaliveTime"),
            f"{q(spec.raw['keepaliveTime'])} must not be longer than holdTime ({hold:g}s)",
        )
    return hold, keepalive, hold_set, keepalive_set


def _connect_time(spec: _Spec) -> float | None:
    seconds = _duration(spec, "connectTime")
    if seconds is None:
        return None
    if not 1 <= seconds <= 65535 or seconds != int(seconds):
        spec.ctx.error(spec.f("connectTime"), "must be a whole number of seconds in 1..65535")
        return None
    return seconds


def _secret_ref(spec: _Spec) -> m.SecretRef | None:
    raw = spec.raw.get("passwordSecret")
    if raw is None:
        return None
    ref = _Spec(spec.ctx, raw, spec.f("passwordSecret"), ("name", "namespace"))
    name = ref.string("name")
    if name is None:
        return None  # MetalLB treats an empty reference as unset
    return m.SecretRef(name=name, namespace=ref.string("namespace") or "")


def _l2_status(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.ServiceL2Status:
    st = _Spec(
        ctx, meta["status"], "status", ("node", "serviceName", "serviceNamespace", "interfaces")
    )
    names = []
    for i, item in enumerate(st.get("interfaces", list, [])):
        entry = _Spec(ctx, item, f"status.interfaces[{i}]", ("name",))
        names.append(entry.string("name") or "")
    return m.ServiceL2Status(
        meta["name"], meta["namespace"], node=st.string("node") or "",
        service_name=st.string("serviceName") or "",
        service_namespace=st.string("serviceNamespace") or "",
        interfaces=tuple(names), labels=meta["labels"],
    )  # fmt: skip


def _bgp_status(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.ServiceBGPStatus:
    st = _Spec(ctx, meta["status"], "status", ("node", "serviceName", "serviceNamespace", "peers"))
    return m.ServiceBGPStatus(
        meta["name"], meta["namespace"], node=st.string("node") or "",
        service_name=st.string("serviceName") or "",
        service_namespace=st.string("serviceNamespace") or "",
        peers=st.strings("peers"), labels=meta["labels"],
    )  # fmt: skip


_SESSION_FIELDS = ("node", "peer", "peerAddress", "bgpStatus", "bfdStatus", "lastDownReason")


def _session_state(ctx: _Ctx, raw: Any, meta: dict[str, Any]) -> m.BGPSessionState:
    st = _Spec(ctx, meta["status"], "status", _SESSION_FIELDS)
    return m.BGPSessionState(
        meta["name"], meta["namespace"], node=st.string("node") or "",
        peer=st.string("peer") or "", peer_address=st.string("peerAddress") or "",
        bgp_status=st.string("bgpStatus") or "", bfd_status=st.string("bfdStatus") or "",
        last_down_reason=st.string("lastDownReason") or "", labels=meta["labels"],
    )  # fmt: skip


_PARSERS: dict[str, Callable[[_Ctx, Any, dict[str, Any]], m.ConfigObject]] = {
    "IPAddressPool": _pool,
    "L2Advertisement": _l2,
    "BGPAdvertisement": _bgp_adv,
    "Community": _community,
    "BFDProfile": _bfd,
    "BGPPeer": _peer,
    "ServiceL2Status": _l2_status,
    "ServiceBGPStatus": _bgp_status,
    "BGPSessionState": _session_state,
}


def is_metallb(obj: Any) -> bool:
    """Whether the object's apiVersion is in the metallb.io group."""
    api = obj.get("apiVersion") if isinstance(obj, Mapping) else None
    return isinstance(api, str) and api.split("/", 1)[0] == m.GROUP


def _meta(ctx: _Ctx, obj: Mapping[str, Any], version: str) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {} if isinstance(meta, Mapping) else {}
    if not isinstance(labels, Mapping):
        ctx.error("metadata.labels", f"must be an object, not {_type_name(labels)}")
        labels = {}
    if not ctx.name:
        ctx.error("metadata.name", "is required")
    return {
        "name": ctx.name,
        "namespace": ctx.namespace,
        "labels": {str(k): str(v) for k, v in labels.items()},
        "version": version,
        "status": obj.get("status"),
    }


def parse_object_errors(obj: Any) -> tuple[m.ConfigObject | None, list[m.ConfigError]]:
    """Parse one object; return the model (None if it has errors) and every error found."""
    if not isinstance(obj, Mapping):
        return None, [
            m.ConfigError("<object>", "", "", f"must be an object, not {_type_name(obj)}")
        ]
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else "<no kind>"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else ""
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else ""
    ctx = _Ctx(kind, name, namespace)
    api = obj.get("apiVersion")
    group, _, version = api.partition("/") if isinstance(api, str) else ("", "", "")
    if group != m.GROUP:
        ctx.error("apiVersion", f"{q(api)} is not in the {m.GROUP} group")
        return None, ctx.errors
    if kind not in _PARSERS:
        ctx.error("kind", f"{q(kind)} is not a {m.GROUP} kind ({', '.join(_PARSERS)})")
        return None, ctx.errors
    if version not in VERSIONS[kind]:
        served = " or ".join(f"{m.GROUP}/{v}" for v in VERSIONS[kind])
        ctx.error("apiVersion", f"{q(api)}: {kind} is served as {served}")
        return None, ctx.errors
    parsed = _PARSERS[kind](ctx, obj.get("spec"), _meta(ctx, obj, version))
    return (None, ctx.errors) if ctx.errors else (parsed, [])


def parse_object(obj: Any) -> m.ConfigObject:
    """Parse one metallb.io object into its model class; raise the first `ConfigError`."""
    parsed, errors = parse_object_errors(obj)
    if errors:
        raise errors[0]
    assert parsed is not None
    return parsed
