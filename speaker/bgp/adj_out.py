"""Adj-RIB-Out: routes we want the peer to hold vs routes it holds → packed UPDATEs.

Pure. Prefixes sharing path attributes go out together, as many per UPDATE as fit in 4096
bytes; withdrawals first, so a changed route never leaves two versions at the peer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from speaker.bgp.attributes import (
    MpReach,
    MpUnreach,
    PathAttributes,
    Prefix,
    afi_of,
    encode_attributes,
)
from speaker.bgp.capabilities import AFI_IPV4, SAFI_UNICAST
from speaker.bgp.codec import HEADER_LEN, MAX_MESSAGE_LEN, Update, encode_update_body

# Bytes an UPDATE spends before any NLRI: header + withdrawn length + attribute length.
_FIXED = HEADER_LEN + 4


class AdjOut:
    def __init__(self) -> None:
        self.desired: dict[Prefix, PathAttributes] = {}
        self.sent: dict[Prefix, PathAttributes] = {}

    def set(self, prefix: Prefix, attrs: PathAttributes) -> None:
        self.desired[prefix] = attrs

    def remove(self, prefix: Prefix) -> None:
        self.desired.pop(prefix, None)

    def forget_sent(self, afi: int | None = None) -> None:
        """The peer lost (or asked again for) what we sent: resend it all."""
        if afi is None:
            self.sent.clear()
        else:
            self.sent = {p: a for p, a in self.sent.items() if afi_of(p) != afi}

    def pending(self, families: frozenset[tuple[int, int]]) -> bool:
        gone, changed = self._diff(families)
        return bool(gone or changed)

    def _diff(
        self, families: frozenset[tuple[int, int]]
    ) -> tuple[list[Prefix], dict[Prefix, PathAttributes]]:
        afis = {afi for afi, safi in families if safi == SAFI_UNICAST}
        gone = [p for p in self.sent if p not in self.desired and afi_of(p) in afis]
        changed = {
            p: a for p, a in self.desired.items() if self.sent.get(p) != a and afi_of(p) in afis
        }
        return gone, changed

    def updates(self, families: frozenset[tuple[int, int]], four_octet_as: bool) -> list[Update]:
        """UPDATEs bringing the peer from `sent` to `desired`; marks them sent."""
        gone, changed = self._diff(families)
        out = _pack_withdrawals(gone)
        # Group by object identity first (the session shares equal attributes), then merge
        # groups whose attributes are equal but distinct objects.
        by_id: dict[int, tuple[PathAttributes, list[Prefix]]] = {}
        for prefix, attrs in changed.items():
            entry = by_id.get(id(attrs))
            if entry is None:
                entry = by_id[id(attrs)] = (attrs, [])
            entry[1].append(prefix)
        groups: dict[PathAttributes, list[Prefix]] = defaultdict(list)
        for attrs, prefixes in by_id.values():
            groups[attrs].extend(prefixes)
        for attrs, prefixes in groups.items():
            out.extend(_pack_announcements(attrs, prefixes, four_octet_as))
        for prefix in gone:
            del self.sent[prefix]
        self.sent.update(changed)
        return out


def _chunks(prefixes: list[Prefix], budget: int) -> list[list[Prefix]]:
    chunks: list[list[Prefix]] = []
    current: list[Prefix] = []
    used = 0
    for prefix in prefixes:
        size = 1 + (prefix.prefixlen + 7) // 8
        if current and used + size > budget:
            chunks.append(current)
            current, used = [], 0
        current.append(prefix)
        used += size
    if current:
        chunks.append(current)
    return chunks


def _pack_withdrawals(gone: list[Prefix]) -> list[Update]:
    v4 = sorted(p for p in gone if p.version == 4)
    v6 = sorted(p for p in gone if p.version == 6)
    out = [Update(withdrawn=tuple(c)) for c in _chunks(v4, MAX_MESSAGE_LEN - _FIXED)]
    # MP_UNREACH costs an extended attribute header (4) and AFI/SAFI (3).
    for chunk in _chunks(v6, MAX_MESSAGE_LEN - _FIXED - 7):
        out.append(Update(attributes=PathAttributes(mp_unreach=MpUnreach(2, 1, tuple(chunk)))))
    return out


def _pack_announcements(
    attrs: PathAttributes, prefixes: list[Prefix], four_octet_as: bool
) -> list[Update]:
    fixed = len(encode_attributes(attrs, four_octet_as))
    if attrs.mp_reach is None:
        chunks = _chunks(prefixes, MAX_MESSAGE_LEN - _FIXED - fixed)
        return [Update(attributes=attrs, nlri=tuple(c)) for c in chunks]  # type: ignore[misc]
    # +1: MP_REACH may switch to the extended-length header once NLRI is added.
    chunks = _chunks(prefixes, MAX_MESSAGE_LEN - _FIXED - fixed - 1)
    mp: MpReach = attrs.mp_reach
    return [Update(attributes=replace(attrs, mp_reach=replace(mp, nlri=tuple(c)))) for c in chunks]


def end_of_rib(afi: int, safi: int) -> Update:
    """RFC 4724 §2: an empty UPDATE (IPv4) or an empty MP_UNREACH_NLRI (other families)."""
    if (afi, safi) == (AFI_IPV4, SAFI_UNICAST):
        return Update()
    return Update(attributes=PathAttributes(mp_unreach=MpUnreach(afi, safi)))


def size_ok(update: Update, four_octet_as: bool) -> bool:
    return HEADER_LEN + len(encode_update_body(update, four_octet_as)) <= MAX_MESSAGE_LEN
