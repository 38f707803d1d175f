"""build_config: cross-object checks and the assembled Config."""

from __future__ import annotations

from typing import Any

from ironlb.config import LargeCommunity, StandardCommunity, build_config


def mk(kind: str, name: str, spec: dict[str, Any], version: str = "v1beta1", **meta: Any) -> dict:
    return {
        "apiVersion": f"metallb.io/{version}",
        "kind": kind,
        "metadata": {"name": name, "namespace": "metallb-system", **meta},
        "spec": spec,
    }


def pool(name: str, *addresses: str, **meta: Any) -> dict:
    return mk("IPAddressPool", name, {"addresses": list(addresses)}, **meta)


def peer(name: str, **spec: Any) -> dict:
    return mk(
        "BGPPeer",
        name,
        {"myASN": 64512, "peerASN": 64513, "peerAddress": "198.51.100.1", **spec},
        "v1beta2",
    )


def messages(objs: list[dict]) -> list[str]:
    return [str(e) for e in build_config(objs).errors]


def test_valid_config_is_indexed_by_name() -> None:
    result = build_config(
        [
            pool("a", "203.0.113.0/28", labels={"tier": "web"}),
            pool("b", "203.0.113.16-203.0.113.20"),
            mk(
                "L2Advertisement",
                "l2",
                {"ipAddressPoolSelectors": [{"matchLabels": {"tier": "web"}}]},
            ),
            mk("BGPAdvertisement", "all", {"communities": ["gold", "65000:1"], "peers": ["p"]}),
            mk("Community", "c", {"communities": [{"name": "gold", "value": "large:1:2:3"}]}),
            mk("BFDProfile", "fast", {"receiveInterval": 100}),
            peer("p", bfdProfile="fast"),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}},
        ]
    )
    assert result.ok, result.errors
    cfg = result.config
    assert sorted(cfg.pools) == ["a", "b"] and list(cfg.bfd_profiles) == ["fast"]
    assert result.skipped == [("v1/ConfigMap", "cm")]
    assert cfg.pools_of(cfg.l2_advertisements["l2"]) == ["a"]
    assert cfg.pools_of(cfg.bgp_advertisements["all"]) == ["a", "b"]
    assert [a.name for a in cfg.l2_advertisements_for("b")] == []
    assert cfg.bgp_advertisements["all"].community_values == (
        LargeCommunity(1, 2, 3),
        StandardCommunity(65000, 1),
    )


def test_overlapping_pools_name_both_and_the_range() -> None:
    assert messages([pool("a", "203.0.113.0/24"), pool("b", "203.0.113.250-203.0.114.5")]) == [
        'IPAddressPool metallb-system/b: spec.addresses[0]: "203.0.113.250-203.0.114.5" overlaps '
        '"203.0.113.0/24" of IPAddressPool metallb-system/a (spec.addresses[0]) '
        "at 203.0.113.250-203.0.113.255"
    ]


def test_overlap_within_one_pool_and_ipv6() -> None:
    errs = build_config([pool("a", "2001:db8::/64", "2001:db8::5")]).errors
    assert [(e.name, e.field) for e in errs] == [("a", "spec.addresses[1]")]
    assert errs[0].reason.endswith("at 2001:db8::5/128")


def test_adjacent_pools_do_not_overlap() -> None:
    assert messages([pool("a", "203.0.113.0/25"), pool("b", "203.0.113.128/25")]) == []


def test_duplicate_name() -> None:
    errs = build_config([pool("a", "203.0.113.0/30"), pool("a", "203.0.113.8/30")]).errors
    assert [(e.field, e.reason) for e in errs] == [
        ("metadata.name", "duplicate IPAddressPool name in namespace metallb-system")
    ]


def test_missing_references() -> None:
    errs = build_config(
        [
            mk("L2Advertisement", "l2", {"ipAddressPools": ["nope"]}),
            mk("BGPAdvertisement", "b", {"peers": ["ghost"], "communities": ["silver"]}),
            peer("p", bfdProfile="fast"),
        ]
    ).errors
    assert sorted(str(e) for e in errs) == [
        "BGPAdvertisement metallb-system/b: spec.communities[0]: "
        '"silver" is neither a community value nor a Community alias',
        'BGPAdvertisement metallb-system/b: spec.peers[0]: BGPPeer "ghost" does not exist',
        'BGPPeer metallb-system/p: spec.bfdProfile: BFDProfile "fast" does not exist',
        "L2Advertisement metallb-system/l2: spec.ipAddressPools[0]: "
        'IPAddressPool "nope" does not exist',
    ]


def test_well_known_community_name_gets_a_hint() -> None:
    (err,) = build_config([mk("BGPAdvertisement", "b", {"communities": ["no-export"]})]).errors
    assert err.reason.endswith("MetalLB has no well-known names, write 65535:65281")


def test_duplicate_alias_across_community_objects() -> None:
    errs = build_config(
        [
            mk("Community", "c1", {"communities": [{"name": "gold", "value": "1:1"}]}),
            mk("Community", "c2", {"communities": [{"name": "gold", "value": "1:2"}]}),
        ]
    ).errors
    assert [(e.name, e.field) for e in errs] == [("c2", "spec.communities[0].name")]


def test_aggregation_shorter_than_pool_prefix() -> None:
    errs = build_config(
        [pool("a", "203.0.113.0/24"), mk("BGPAdvertisement", "b", {"aggregationLength": 16})]
    ).errors
    assert [str(e) for e in errs] == [
        "BGPAdvertisement metallb-system/b: spec.aggregationLength: 16 is shorter than prefix /24 "
        'of "203.0.113.0/24" in IPAddressPool a'
    ]
    ok = build_config(
        [pool("a", "203.0.113.0/24"), mk("BGPAdvertisement", "b", {"aggregationLength": 24})]
    )
    assert ok.ok


def test_invalid_objects_are_left_out_but_others_kept() -> None:
    result = build_config([pool("bad", "203.0.113.9-203.0.113.1"), pool("good", "203.0.113.16/28")])
    assert list(result.config.pools) == ["good"] and not result.ok


def test_bfd_echo_with_ipv6_pool() -> None:
    objs = [
        pool("v6", "2001:db8::/120"),
        mk("BFDProfile", "echo", {"echoMode": True}),
        peer("p", bfdProfile="echo"),
        mk("BGPAdvertisement", "b", {"ipAddressPools": ["v6"]}),
    ]
    assert messages(objs) == [
        'BGPPeer metallb-system/p: spec.bfdProfile: BFDProfile "echo" has echoMode, which cannot '
        "be used for IPv6 IPAddressPool v6 advertised to this peer by BGPAdvertisement b"
    ]
    objs[0] = pool("v4", "203.0.113.0/28")
    objs[3] = mk("BGPAdvertisement", "b", {"ipAddressPools": ["v4"]})
    assert messages(objs) == []


def test_duplicate_list_entries() -> None:
    errs = build_config([mk("L2Advertisement", "l2", {"interfaces": ["eth0", "eth0"]})]).errors
    assert [(e.field, e.reason) for e in errs] == [("spec.interfaces[1]", 'duplicate entry "eth0"')]
