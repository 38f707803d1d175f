"""Pure: which node owns an address, by rendezvous (highest-random-weight) hashing.

Every speaker computes `elect(address, eligible)` on its own and gets the same answer,
because it depends only on the address and the set of names, not on their order or on
any state. Rendezvous hashing scores each (node, address) pair independently, so a node
joining or leaving only moves the addresses it wins or held: unrelated addresses stay put.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence


def score(node: str, address: str) -> bytes:
    """The weight of `node` for `address`; bigger wins (bytes compare lexicographically)."""
    return hashlib.sha256(f"{node}\x00{address}".encode()).digest()


def rank(address: str, eligible: Iterable[str]) -> list[str]:
    """Eligible nodes in order of preference for `address`: owner first, then successors."""
    return sorted(set(eligible), key=lambda node: (score(node, address), node), reverse=True)


def elect(address: str, eligible: Sequence[str]) -> str | None:
    """The node that owns `address`, or None when nobody is eligible."""
    best: tuple[bytes, str] | None = None
    for node in eligible:
        candidate = (score(node, address), node)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[1]
