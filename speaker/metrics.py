"""`ironlb_speaker_*` Prometheus metrics (L2 and membership; BGP keeps its own).

Counters the cores keep (frames answered/ignored, datagrams dropped) are copied in as
deltas by `sync_*`, so the cores stay free of prometheus_client.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

OWNERSHIP_CHANGES = Counter(
    "ironlb_speaker_l2_ownership_changes_total",
    "L2 addresses taken or given up by this speaker, by direction and reason",
    ["direction", "reason"],
    registry=REGISTRY,
)
OWNED = Gauge(
    "ironlb_speaker_l2_owned_addresses",
    "L2 addresses this speaker owns, by state (probing, announced, conflict)",
    ["state"],
    registry=REGISTRY,
)
FRAMES_ANSWERED = Counter(
    "ironlb_speaker_l2_frames_answered_total",
    "ARP requests / neighbour solicitations answered",
    ["protocol"],
    registry=REGISTRY,
)
FRAMES_IGNORED = Counter(
    "ironlb_speaker_l2_frames_ignored_total",
    "Frames received and not answered, by reason (not_owned, malformed reasons, ...)",
    ["reason"],
    registry=REGISTRY,
)
ANNOUNCEMENTS = Counter(
    "ironlb_speaker_l2_announcements_total",
    "Gratuitous ARP / unsolicited NA frames sent",
    registry=REGISTRY,
)
PROBE_CONFLICTS = Counter(
    "ironlb_speaker_l2_probe_conflicts_total",
    "Duplicate-address probes (or failover fences) answered by another host",
    registry=REGISTRY,
)
FENCE_BLOCKED = Counter(
    "ironlb_speaker_l2_fence_blocked_total",
    "Takeovers refused because the previous owner still answered on the LAN (split brain avoided)",
    registry=REGISTRY,
)
MEMBERS = Gauge(
    "ironlb_speaker_members",
    "Speakers this one sees as healthy (itself included)",
    registry=REGISTRY,
)
MEMBER_EVENTS = Counter(
    "ironlb_speaker_member_events_total",
    "Membership transitions seen, by event (up, down) and reason",
    ["event", "reason"],
    registry=REGISTRY,
)
DATAGRAMS_DROPPED = Counter(
    "ironlb_speaker_membership_dropped_total",
    "Membership datagrams dropped, by reason (signature, replay, short, ...)",
    ["reason"],
    registry=REGISTRY,
)
DATAGRAMS = Counter(
    "ironlb_speaker_membership_datagrams_total",
    "Membership datagrams sent and accepted",
    ["direction"],
    registry=REGISTRY,
)


class DeltaSync:
    """Copies monotonically growing counts from a core into a labelled Counter."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._seen: dict[str, int] = {}

    def sync(self, counts: Mapping[str, int]) -> None:
        for label, value in counts.items():
            delta = value - self._seen.get(label, 0)
            if delta > 0:
                self._counter.labels(label).inc(delta)
                self._seen[label] = value


class ScalarSync:
    def __init__(self, counter: Counter, label: str | None = None) -> None:
        self._counter = counter.labels(label) if label is not None else counter
        self._seen = 0

    def sync(self, value: int) -> None:
        if value > self._seen:
            self._counter.inc(value - self._seen)
            self._seen = value


@functools.cache
def bgp_metrics() -> Any:
    """The `ironlb_speaker_bgp_*`/`bfd_*` metrics on this registry, made once per process
    (a registry refuses the same names twice)."""
    from speaker.bgp.metrics import BgpMetrics

    return BgpMetrics(REGISTRY)
