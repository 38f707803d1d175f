"""Adj-RIB-Out packing: every UPDATE fits 4096 bytes, nothing lost, grouped by attributes."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from speaker.bgp.adj_out import AdjOut, end_of_rib, size_ok
from speaker.bgp.attributes import MpReach, PathAttributes
from speaker.bgp.capabilities import IPV4_UNICAST, IPV6_UNICAST

FAMS = frozenset({IPV4_UNICAST, IPV6_UNICAST})
A4 = PathAttributes(origin=2, as_path=((2, (64512,)),), next_hop=ipaddress.IPv4Address("1.1.1.1"))
A6 = PathAttributes(
    origin=2, as_path=(), mp_reach=MpReach(2, 1, (ipaddress.IPv6Address("2001:db8::1"),))
)

nets = st.one_of(
    st.builds(
        lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
        st.integers(0, 2**32 - 1),
        st.integers(0, 32),
    ),
    st.builds(
        lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
        st.integers(0, 2**128 - 1),
        st.integers(0, 128),
    ),
)


@settings(max_examples=50)
@given(st.sets(nets, max_size=3000), st.integers(0, 3))
def test_pack_all_fit_and_nothing_lost(prefixes: set, ncomm: int) -> None:
    adj = AdjOut()
    comms = tuple(range(ncomm * 50))
    for p in prefixes:
        base = A4 if p.version == 4 else A6
        adj.set(p, PathAttributes(**{**_f(base), "communities": comms}))
    ups = adj.updates(FAMS, True)
    assert all(size_ok(u, True) for u in ups)
    got = [p for u in ups for p in u.nlri] + [
        p for u in ups if u.attributes.mp_reach for p in u.attributes.mp_reach.nlri
    ]
    assert sorted(got, key=str) == sorted(prefixes, key=str)
    assert adj.updates(FAMS, True) == []  # converged
    for p in prefixes:
        adj.remove(p)
    gone = adj.updates(FAMS, True)
    wd = [p for u in gone for p in u.withdrawn] + [
        p for u in gone if u.attributes.mp_unreach for p in u.attributes.mp_unreach.withdrawn
    ]
    assert sorted(wd, key=str) == sorted(prefixes, key=str)
    assert all(size_ok(u, True) for u in gone)


def test_family_not_negotiated_is_held_back() -> None:
    adj = AdjOut()
    adj.set(ipaddress.ip_network("2001:db8::/64"), A6)
    assert adj.updates(frozenset({IPV4_UNICAST}), True) == []
    assert len(adj.updates(FAMS, True)) == 1


def test_end_of_rib_shapes() -> None:
    assert end_of_rib(1, 1).end_of_rib() == (1, 1)
    assert end_of_rib(2, 1).end_of_rib() == (2, 1)


def _f(a: PathAttributes) -> dict:
    return {n: getattr(a, n) for n in PathAttributes.__slots__}
