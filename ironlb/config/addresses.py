"""Address ranges of IPAddressPool.spec.addresses as integer intervals.

A pool entry is a CIDR (`10.0.0.0/24`, `2001:db8::/64`), an explicit range
(`10.0.0.1-10.0.0.9`, whitespace around the dash allowed as MetalLB trims it) or a
single address (an ironlb extension: one /32 or /128). Each becomes an
`AddressRange` = `(first, last, family)` with inclusive integer bounds, so a /8 or
a /64 costs one tuple and overlap checks never enumerate addresses.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

from ironlb.config.quoting import q

AddressRange = tuple[int, int, int]
"""`(first, last, family)`: inclusive integer bounds; family is 4 or 6."""

K = TypeVar("K", bound=Hashable)

_BITS = {4: 32, 6: 128}


class AddressError(ValueError):
    """A pool entry that is not a CIDR, a range or an address; str() is the reason."""


def _parse_ip(text: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise AddressError(f"{what} {q(text.strip())} is not an IP address") from None


def parse_range(text: str) -> AddressRange:
    """Parse one pool entry; raise `AddressError` saying what is wrong with it."""
    if not isinstance(text, str):
        raise AddressError(f"must be a string, not {type(text).__name__}")
    if not text.strip():
        raise AddressError("is empty")
    if "-" in text:
        return _parse_dash_range(text)
    if "/" in text:
        return _parse_cidr(text)
    ip = _parse_ip(text, "address")
    return int(ip), int(ip), ip.version


def _parse_dash_range(text: str) -> AddressRange:
    start_text, end_text = text.split("-", 1)
    start = _parse_ip(start_text, "range start")
    end = _parse_ip(end_text, "range end")
    if start.version != end.version:
        raise AddressError(f"range mixes IPv{start.version} and IPv{end.version}")
    if int(end) < int(start):
        raise AddressError("range end is before its start")
    return int(start), int(end), start.version


def _parse_cidr(text: str) -> AddressRange:
    # Host bits are allowed and masked off, as Go's net.ParseCIDR (MetalLB) does.
    # (ipaddress.ip_network would do the same, several times slower.)
    addr_text, _, length_text = text.strip().partition("/")
    try:
        ip = ipaddress.ip_address(addr_text)
    except ValueError:
        raise AddressError("is not a valid CIDR") from None
    bits = _BITS[ip.version]
    if not length_text.isdigit() or not length_text.isascii() or int(length_text) > bits:
        raise AddressError("is not a valid CIDR")
    host = (1 << (bits - int(length_text))) - 1
    return int(ip) & ~host, int(ip) | host, ip.version


def ip_to_str(value: int, family: int) -> str:
    return str(ipaddress.ip_address(value) if family == 4 else ipaddress.IPv6Address(value))


def format_range(r: AddressRange) -> str:
    """Canonical text: a CIDR when the range is exactly one prefix, else `first-last`."""
    first, last, family = r
    if first == last:
        return f"{ip_to_str(first, family)}/{_BITS[family]}"
    cidrs = range_to_cidrs(r)
    if len(cidrs) == 1:
        return cidrs[0]
    return f"{ip_to_str(first, family)}-{ip_to_str(last, family)}"


def range_to_cidrs(r: AddressRange) -> list[str]:
    """The smallest list of CIDRs covering exactly the range."""
    first, last, family = r
    cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    return [str(n) for n in ipaddress.summarize_address_range(cls(first), cls(last))]


def shortest_prefix(r: AddressRange) -> int:
    """Length of the widest CIDR in the range's summary (MetalLB's aggregation bound)."""
    return min(int(c.rsplit("/", 1)[1]) for c in range_to_cidrs(r))


def size(r: AddressRange) -> int:
    return r[1] - r[0] + 1


def overlap(a: AddressRange, b: AddressRange) -> AddressRange | None:
    """The common part of two ranges, or None."""
    if a[2] != b[2]:
        return None
    first, last = max(a[0], b[0]), min(a[1], b[1])
    return (first, last, a[2]) if first <= last else None


def find_overlaps(
    items: Iterable[tuple[K, AddressRange]],
) -> list[tuple[K, K, AddressRange]]:
    """Every pair of overlapping ranges as `(key_a, key_b, common_part)`.

    A sweep over ranges sorted by start keeps the ranges still open in a heap by
    end, so the cost is O(n log n + pairs), not O(n^2). `key_a` is the one that
    starts first (input order breaks ties).
    """
    ordered = sorted(
        ((r[2], r[0], i, key, r) for i, (key, r) in enumerate(items)),
        key=lambda t: (t[0], t[1], t[2]),
    )
    found: list[tuple[K, K, AddressRange]] = []
    open_: list[tuple[int, int, int, K, AddressRange]] = []  # (family, last, idx, key, range)
    for family, first, idx, key, r in ordered:
        while open_ and (open_[0][0], open_[0][1]) < (family, first):
            heapq.heappop(open_)
        for _, _, _, other_key, other in sorted(open_, key=lambda t: t[2]):
            common = overlap(other, r)
            if common is not None:
                found.append((other_key, key, common))
        heapq.heappush(open_, (family, r[1], idx, key, r))
    return found


def families(ranges: Sequence[AddressRange]) -> set[int]:
    return {r[2] for r in ranges}
