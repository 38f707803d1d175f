"""Properties over random intents, for every platform:
parse(render(x)) == x (up to what the platform can express) and plan(x, parse(render(x))) == []."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.diff import align, plan
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.model import (
    BfdTimers,
    BgpIntent,
    Neighbor,
    PrefixRule,
)
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.platforms import (
    PLATFORMS,
)
from hypothesis import given, settings
from hypothesis import strategies as st

V4_NODES = [str(ipaddress.ip_address("198.51.100.1") + i) for i in range(40)]
V6_NODES = [f"2001:db8::{i:x}" for i in range(1, 20)]


@st.composite
def rules(draw: st.DrawFn) -> PrefixRule:
    if draw(st.booleans()):
        length = draw(st.integers(24, 32))
        net = ipaddress.ip_network(f"203.0.113.{draw(st.integers(0, 255))}/{length}", strict=False)
        le = draw(st.one_of(st.none(), st.integers(length + 1, 32))) if length < 32 else None
    else:
        length = draw(st.integers(112, 128))
        base = f"2001:db8:100::{draw(st.integers(0, 0xFFFF)):x}/{length}"
        net = ipaddress.ip_network(base, strict=False)
        le = draw(st.one_of(st.none(), st.integers(length + 1, 128))) if length < 128 else None
    return PrefixRule(str(net), le)


@st.composite
def intents(draw: st.DrawFn) -> BgpIntent:
    timers = draw(
        st.one_of(
            st.none(),
            st.builds(BfdTimers, st.integers(50, 3000), st.integers(50, 3000), st.integers(2, 50)),
        )
    )
    password = draw(st.one_of(st.none(), st.text("abcdefgXYZ0123-_", min_size=4, max_size=16)))
    multihop = draw(st.one_of(st.none(), st.integers(2, 255)))
    addresses = draw(st.lists(st.sampled_from(V4_NODES + V6_NODES), max_size=6, unique=True))
    neighbors = tuple(
        Neighbor(
            address=a,
            remote_asn=draw(st.integers(64512, 65534)),
            description=draw(st.sampled_from(["ironlb", "ironlb node1", "ironlb rack-2-n7"])),
            password=password,
            bfd=timers is not None,
            ebgp_multihop=multihop,
        )
        for a in addresses
    )
    families = draw(st.sampled_from([("ipv4",), ("ipv6",), ("ipv4", "ipv6")]))
    want = BgpIntent(
        asn=draw(st.integers(64512, 65534)),
        router_id=draw(st.one_of(st.none(), st.sampled_from(["198.51.100.254", "198.19.0.9"]))),
        neighbors=neighbors,
        accept=tuple(
            dict.fromkeys(r for r in draw(st.lists(rules(), max_size=6)) if r.family in families)
        ),
        maximum_paths=draw(st.one_of(st.none(), st.integers(2, 64))) if families else None,
        bfd_timers=timers,
        families=families,
    ).normalised()
    return want


@pytest.mark.parametrize("name", sorted(PLATFORMS))
@settings(max_examples=60, deadline=None)
@given(x=intents())
def test_parse_render_round_trip(name: str, x: BgpIntent) -> None:
    pf = PLATFORMS[name]
    placed = pf.canonical(align(x, BgpIntent(asn=x.asn), seq_step=pf.seq_step))
    text = "\n".join(pf.render(placed))
    assert pf.parse(text) == placed
    assert plan(placed, pf.parse(text), pf) == []


@pytest.mark.parametrize("name", sorted(PLATFORMS))
@settings(max_examples=30, deadline=None)
@given(x=intents(), y=intents())
def test_plan_from_anything_reaches_want(name: str, x: BgpIntent, y: BgpIntent) -> None:
    """Applying plan(want, have) to `have` (as a line-set model of the device) gives `want`."""
    pf = PLATFORMS[name]
    have = pf.canonical(align(y, BgpIntent(asn=x.asn), seq_step=pf.seq_step))
    have = BgpIntent(**{**have.__dict__, "asn": x.asn})
    want = pf.canonical(align(x, have, seq_step=pf.seq_step))
    commands = plan(want, have, pf)
    if want == have:
        assert commands == []
    else:
        assert commands
