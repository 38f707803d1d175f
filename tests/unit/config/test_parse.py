"""parse_object: every kind, MetalLB defaults, and per-object errors naming kind/name/field."""

from __future__ import annotations

from typing import Any

import pytest

from ironlb.config import (
    BFDProfile,
    BGPAdvertisement,
    BGPPeer,
    Community,
    ConfigError,
    IPAddressPool,
    L2Advertisement,
    LargeCommunity,
    ServiceBGPStatus,
    ServiceL2Status,
    StandardCommunity,
    parse_community,
    parse_duration,
    parse_object,
    parse_object_errors,
)


def obj(kind: str, spec: Any = None, version: str = "v1beta1", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": f"metallb.io/{version}",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "metallb-system"},
    }
    if spec is not None:
        out["spec"] = spec
    out.update(extra)
    return out


def peer(**spec: Any) -> dict[str, Any]:
    base = {"myASN": 64500, "peerASN": 64501, "peerAddress": "198.51.100.1"}
    base.update(spec)
    return obj("BGPPeer", {k: v for k, v in base.items() if v is not None}, "v1beta2")


def error_of(o: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_object(o)
    return info.value


def test_pool_defaults_and_ranges() -> None:
    pool = parse_object(
        obj("IPAddressPool", {"addresses": ["203.0.113.0/30", "2001:db8::1-2001:db8::3"]})
    )
    assert isinstance(pool, IPAddressPool)
    assert pool.auto_assign is True and pool.avoid_buggy_ips is False
    assert pool.service_allocation is None
    assert pool.ranges == (
        (0xCB007100, 0xCB007103, 4),
        (0x20010DB8 << 96 | 1, 0x20010DB8 << 96 | 3, 6),
    )
    assert (pool.name, pool.namespace) == ("x", "metallb-system")


def test_pool_service_allocation() -> None:
    pool = parse_object(
        obj(
            "IPAddressPool",
            {
                "addresses": ["203.0.113.8/29"],
                "autoAssign": False,
                "avoidBuggyIPs": True,
                "serviceAllocation": {
                    "priority": 50,
                    "namespaces": ["a", "b"],
                    "namespaceSelectors": [{"matchLabels": {"team": "web"}}],
                    "serviceSelectors": [
                        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x"]}]}
                    ],
                },
            },
        )
    )
    assert isinstance(pool, IPAddressPool)
    alloc = pool.service_allocation
    assert alloc is not None and alloc.priority == 50 and alloc.namespaces == ("a", "b")
    assert alloc.namespace_selectors[0].matches({"team": "web"})
    assert not alloc.service_selectors[0].matches({"tier": "y"})
    assert (pool.auto_assign, pool.avoid_buggy_ips) == (False, True)


def test_reversed_range_message_is_exact() -> None:
    err = error_of(obj("IPAddressPool", {"addresses": ["203.0.113.1/32", "10.0.0.9-10.0.0.1"]}))
    assert str(err) == (
        "IPAddressPool metallb-system/x: spec.addresses[1]: "
        '"10.0.0.9-10.0.0.1": range end is before its start'
    )
    assert (err.kind, err.name, err.field) == ("IPAddressPool", "x", "spec.addresses[1]")


def test_advertisement_defaults() -> None:
    l2 = parse_object(obj("L2Advertisement"))
    assert isinstance(l2, L2Advertisement) and l2.selects_all_pools and l2.interfaces == ()
    bgp = parse_object(obj("BGPAdvertisement", {"communities": ["65000:1", "large:1:2:3"]}))
    assert isinstance(bgp, BGPAdvertisement)
    assert (bgp.aggregation_length, bgp.aggregation_length_v6, bgp.local_pref) == (32, 128, None)
    assert bgp.community_values == (StandardCommunity(65000, 1), LargeCommunity(1, 2, 3))


def test_bfd_defaults_follow_metallb() -> None:
    bfd = parse_object(obj("BFDProfile"))
    assert isinstance(bfd, BFDProfile)
    assert (bfd.receive_interval, bfd.transmit_interval, bfd.detect_multiplier) == (300, 300, 3)
    assert (bfd.echo_interval, bfd.echo_mode, bfd.passive_mode, bfd.minimum_ttl) == (
        50,
        False,
        False,
        254,
    )


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"receiveInterval": 5}, "spec.receiveInterval"),
        ({"detectMultiplier": 256}, "spec.detectMultiplier"),
        ({"minimumTtl": 255}, "spec.minimumTtl"),
        ({"echoMode": "yes"}, "spec.echoMode"),
    ],
)
def test_bfd_bounds(spec: dict[str, Any], field: str) -> None:
    assert error_of(obj("BFDProfile", spec)).field == field


def test_peer_defaults_and_timers() -> None:
    p = parse_object(peer())
    assert isinstance(p, BGPPeer)
    assert (p.peer_port, p.hold_time, p.keepalive_time, p.hold_time_set) == (179, 90.0, 30.0, False)
    p = parse_object(peer(holdTime="1m30s", keepaliveTime="10s", connectTime="5s"))
    assert isinstance(p, BGPPeer)
    assert (p.hold_time, p.keepalive_time, p.connect_time) == (90.0, 10.0, 5.0)
    p = parse_object(peer(holdTime="9s"))
    assert isinstance(p, BGPPeer) and p.keepalive_time == 3.0
    p = parse_object(peer(keepaliveTime="4s"))
    assert isinstance(p, BGPPeer) and p.hold_time == 12.0
    p = parse_object(peer(holdTime="0s"))
    assert isinstance(p, BGPPeer) and (p.hold_time, p.keepalive_time) == (0.0, 0.0)


def test_peer_password_is_never_shown() -> None:
    p = parse_object(peer(password="hunter2"))
    assert isinstance(p, BGPPeer) and p.password is not None
    assert "hunter2" not in repr(p) and p.password.reveal() == "hunter2"


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        ({"myASN": 0}, "spec.myASN", "ASN 0 is out of range 1..4294967295"),
        ({"peerASN": 4294967296}, "spec.peerASN", "ASN 4294967296 is out of range 1..4294967295"),
        ({"myASN": None}, "spec.myASN", "is required"),
        ({"holdTime": "2s"}, "spec.holdTime", '"2s" must be 0 or at least 3s'),
        ({"holdTime": "500ms"}, "spec.holdTime", '"500ms" must be 0 or at least 3s'),
        (
            {"holdTime": "9s", "keepaliveTime": "10s"},
            "spec.keepaliveTime",
            '"10s" must not be longer than holdTime (9s)',
        ),
        ({"holdTime": 90}, "spec.holdTime", 'must be a duration string like "90s", not an integer'),
        (
            {"holdTime": "90"},
            "spec.holdTime",
            '"90" is not a duration (like "90s", "1m30s", "500ms")',
        ),
        ({"peerAddress": "10.0.0.300"}, "spec.peerAddress", '"10.0.0.300" is not an IP address'),
        ({"routerID": "2001:db8::1"}, "spec.routerID", '"2001:db8::1" must be an IPv4 address'),
        ({"peerPort": 0}, "spec.peerPort", "0 is out of range 1..16384"),
        (
            {"dynamicASN": "both", "peerASN": None},
            "spec.dynamicASN",
            '"both" must be internal or external',
        ),
        ({"dynamicASN": "external"}, "spec.dynamicASN", "cannot be set together with spec.peerASN"),
        (
            {"peerASN": 64500, "ebgpMultiHop": True},
            "spec.ebgpMultiHop",
            "cannot be set for an iBGP peer (peerASN equals myASN)",
        ),
        (
            {"password": "x", "passwordSecret": {"name": "s"}},
            "spec.passwordSecret",
            "cannot be set together with spec.password",
        ),
        (
            {"connectTime": "0.5s"},
            "spec.connectTime",
            "must be a whole number of seconds in 1..65535",
        ),
        ({"myAsn": 1}, "spec.myAsn", "unknown field (did you mean myASN?)"),
    ],
)
def test_peer_errors(spec: dict[str, Any], field: str, reason: str) -> None:
    err = error_of(peer(**spec))
    assert (err.kind, err.name, err.namespace, err.field, err.reason) == (
        "BGPPeer", "x", "metallb-system", field, reason
    )  # fmt: skip


def test_peer_v1beta1_is_accepted_without_v1beta2_fields() -> None:
    o = peer()
    o["apiVersion"] = "metallb.io/v1beta1"
    assert isinstance(parse_object(o), BGPPeer)
    o["spec"]["dynamicASN"] = "external"
    assert error_of(o).field == "spec.dynamicASN"


def test_password_never_in_errors() -> None:
    _, errors = parse_object_errors(peer(password="hunter2", myAsn=3, holdTime="1s"))
    assert errors and all("hunter2" not in str(e) for e in errors)


def test_all_errors_of_one_object_are_collected() -> None:
    _, errors = parse_object_errors(
        obj("IPAddressPool", {"addresses": ["10.0.0.0/33", "1.2.3.4-::1"], "autoAssign": "no"})
    )
    assert [e.field for e in errors] == [
        "spec.addresses[0]",
        "spec.addresses[1]",
        "spec.autoAssign",
    ]
    assert errors[1].reason == '"1.2.3.4-::1": range mixes IPv4 and IPv6'


def test_community_kind() -> None:
    c = parse_object(obj("Community", {"communities": [{"name": "a", "value": "65535:65282"}]}))
    assert isinstance(c, Community) and c.communities[0].parsed == StandardCommunity(65535, 65282)
    err = error_of(obj("Community", {"communities": [{"name": "a", "value": "65536:1"}]}))
    assert (err.field, err.reason) == (
        "spec.communities[0].value",
        '"65536:1": 65536 does not fit in 16 bits',
    )


def test_status_kinds() -> None:
    s = parse_object(
        obj("ServiceL2Status", status={"node": "n1", "serviceName": "web", "serviceNamespace": "d",
                                       "interfaces": [{"name": "eth0"}]})
    )  # fmt: skip
    assert isinstance(s, ServiceL2Status) and s.interfaces == ("eth0",) and s.node == "n1"
    b = parse_object(obj("ServiceBGPStatus", status={"node": "n1", "peers": ["p1"]}))
    assert isinstance(b, ServiceBGPStatus) and b.peers == ("p1",)


@pytest.mark.parametrize(
    ("o", "field"),
    [
        ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}, "apiVersion"),
        ({"apiVersion": "metallb.io/v1beta1", "kind": "Pool", "metadata": {"name": "x"}}, "kind"),
        (
            {"apiVersion": "metallb.io/v1", "kind": "IPAddressPool", "metadata": {"name": "x"}},
            "apiVersion",
        ),
        (
            {"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": {}},
            "metadata.name",
        ),
        (
            {
                "apiVersion": "metallb.io/v1beta1",
                "kind": "L2Advertisement",
                "metadata": {"name": "x"},
                "spec": [],
            },
            "spec",
        ),
    ],
)
def test_envelope_errors(o: dict[str, Any], field: str) -> None:
    assert error_of(o).field == field


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("0", 0.0), ("1.5s", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "90", "-1s", "1d", "s", "1.2.3s", " 90s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("65000:100", StandardCommunity(65000, 100)),
        ("0:0", StandardCommunity(0, 0)),
        ("large:4294967295:1:2", LargeCommunity(4294967295, 1, 2)),
    ],
)
def test_communities(text: str, value: object) -> None:
    assert parse_community(text) == value
    assert str(parse_community(text)) == text


@pytest.mark.parametrize(
    "text",
    ["65536:1", "1:2:3", "large:1:2", "big:1:2:3", "large:4294967296:0:0", "a:b", "no-export"],
)
def test_bad_communities(text: str) -> None:
    with pytest.raises(ValueError):
        parse_community(text)


def test_config_error_pickles_and_compares() -> None:
    import pickle

    err = ConfigError("BGPPeer", "p", "spec.myASN", "is required", "metallb-system")
    assert pickle.loads(pickle.dumps(err)) == err
    assert str(err) == "BGPPeer metallb-system/p: spec.myASN: is required"
    assert str(ConfigError("Community", "", "", "must be an object")) == (
        "Community <unnamed>: must be an object"
    )
