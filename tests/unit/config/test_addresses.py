"""addresses.py: parsing round trips and overlap detection against brute force."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb.config.addresses import (
    AddressError,
    find_overlaps,
    format_range,
    overlap,
    parse_range,
    range_to_cidrs,
    shortest_prefix,
    size,
)

MAX = {4: 2**32 - 1, 6: 2**128 - 1}


@st.composite
def ranges(draw: st.DrawFn, family: int | None = None) -> tuple[int, int, int]:
    fam = family or draw(st.sampled_from([4, 6]))
    a = draw(st.integers(0, MAX[fam]))
    b = draw(st.integers(0, MAX[fam]))
    return (min(a, b), max(a, b), fam)


def ip(value: int, family: int) -> str:
    return str(ipaddress.IPv4Address(value) if family == 4 else ipaddress.IPv6Address(value))


@given(ranges())
def test_format_then_parse_round_trips(r: tuple[int, int, int]) -> None:
    assert parse_range(format_range(r)) == r


@given(ranges())
def test_dash_form_round_trips(r: tuple[int, int, int]) -> None:
    first, last, fam = r
    assert parse_range(f"{ip(first, fam)}-{ip(last, fam)}") == r
    assert parse_range(f"{ip(first, fam)} - {ip(last, fam)}") == r


@given(ranges())
def test_cidr_summary_covers_exactly_the_range(r: tuple[int, int, int]) -> None:
    parts = [parse_range(c) for c in range_to_cidrs(r)]
    assert parts[0][0] == r[0] and parts[-1][1] == r[1]
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(parts))
    assert sum(size(p) for p in parts) == size(r)
    assert shortest_prefix(r) == min(int(c.split("/")[1]) for c in range_to_cidrs(r))


@given(st.sampled_from([4, 6]), st.data())
def test_cidr_with_host_bits_is_masked(family: int, data: st.DataObject) -> None:
    bits = 32 if family == 4 else 128
    prefix = data.draw(st.integers(0, bits))
    value = data.draw(st.integers(0, MAX[family]))
    net = ipaddress.ip_network(f"{ip(value, family)}/{prefix}", strict=False)
    assert parse_range(f"{ip(value, family)}/{prefix}") == (
        int(net.network_address),
        int(net.broadcast_address),
        family,
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("10.0.0.0/33", "is not a valid CIDR"),
        ("10.0.0.9-10.0.0.1", "range end is before its start"),
        ("10.0.0.1-::1", "range mixes IPv4 and IPv6"),
        ("2001:db8::1-10.0.0.1", "range mixes IPv6 and IPv4"),
        ("10.0.0.1-", 'range end "" is not an IP address'),
        ("nonsense", 'address "nonsense" is not an IP address'),
        ("", "is empty"),
    ],
)
def test_parse_errors(text: str, reason: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_range(text)
    assert str(info.value) == reason


def test_single_address_and_canonical_text() -> None:
    assert parse_range("203.0.113.7") == (0xCB007107, 0xCB007107, 4)
    assert format_range(parse_range("203.0.113.7")) == "203.0.113.7/32"
    assert format_range(parse_range("203.0.113.0-203.0.113.255")) == "203.0.113.0/24"
    assert format_range(parse_range("2001:db8::1-2001:db8::2")) == "2001:db8::1-2001:db8::2"


def brute_force(items: list[tuple[int, tuple[int, int, int]]]) -> set[tuple[int, int, tuple]]:
    found = set()
    for (ka, a), (kb, b) in itertools.combinations(items, 2):
        common = {x for x in range(a[0], a[1] + 1)} & {x for x in range(b[0], b[1] + 1)}
        if a[2] == b[2] and common:
            found.add((*sorted((ka, kb)), (min(common), max(common), a[2])))
    return found


small_range = st.builds(
    lambda a, n, fam: (a, a + n, fam),
    st.integers(0, 40),
    st.integers(0, 8),
    st.sampled_from([4, 6]),
)


@settings(max_examples=300)
@given(st.lists(small_range, max_size=12))
def test_find_overlaps_matches_brute_force(rs: list[tuple[int, int, int]]) -> None:
    items = list(enumerate(rs))
    got = find_overlaps(items)
    assert {(*sorted((a, b)), common) for a, b, common in got} == brute_force(items)
    assert len(got) == len(brute_force(items))  # each pair once


@given(small_range, small_range)
def test_overlap_is_symmetric(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    assert overlap(a, b) == overlap(b, a)
