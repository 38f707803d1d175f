"""`ironlb_speaker_bgp_*` and `ironlb_speaker_bfd_*` metrics (prometheus_client).

One `BgpMetrics` per process, on the registry the speaker serves; tests pass a fresh registry.
"""

from __future__ import annotations

import contextlib

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

SESSION_STATES = ("Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established")
BFD_STATES = ("AdminDown", "Down", "Init", "Up")


class BgpMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else REGISTRY
        self.session_up = Gauge(
            "ironlb_speaker_bgp_session_up",
            "1 if the BGP session with the peer is Established",
            ["peer"],
            registry=reg,
        )
        self.session_state = Gauge(
            "ironlb_speaker_bgp_session_state",
            "1 for the current RFC 4271 state of the session with the peer",
            ["peer", "state"],
            registry=reg,
        )
        self.prefixes = Gauge(
            "ironlb_speaker_bgp_prefixes_advertised",
            "Prefixes the peer currently holds from us",
            ["peer"],
            registry=reg,
        )
        self.updates_sent = Counter(
            "ironlb_speaker_bgp_updates_sent",
            "UPDATE messages sent to the peer",
            ["peer"],
            registry=reg,
        )
        self.session_down = Counter(
            "ironlb_speaker_bgp_session_down",
            "Sessions lost, by reason",
            ["peer", "reason"],
            registry=reg,
        )
        # By RFC 4271 code/subcode: 6/1 (maximum prefixes) and 3/* (UPDATE errors) mean the
        # router refuses what we announce; kept per peer until the process restarts.
        self.notifications_received = Counter(
            "ironlb_speaker_bgp_notifications_received",
            "NOTIFICATION messages received from the peer, by error code and subcode",
            ["peer", "code", "subcode"],
            registry=reg,
        )
        self.bfd_up = Gauge(
            "ironlb_speaker_bfd_session_up",
            "1 if the BFD session with the peer is Up",
            ["peer"],
            registry=reg,
        )
        self.bfd_state = Gauge(
            "ironlb_speaker_bfd_session_state",
            "1 for the current RFC 5880 state of the BFD session with the peer",
            ["peer", "state"],
            registry=reg,
        )

    def set_state(self, peer: str, state: str) -> None:
        for s in SESSION_STATES:
            self.session_state.labels(peer, s).set(1 if s == state else 0)
        self.session_up.labels(peer).set(1 if state == "Established" else 0)

    def set_bfd_state(self, peer: str, state: str) -> None:
        for s in BFD_STATES:
            self.bfd_state.labels(peer, s).set(1 if s == state else 0)
        self.bfd_up.labels(peer).set(1 if state == "Up" else 0)

    def forget(self, peer: str) -> None:
        pairs: list[tuple[Gauge, tuple[str, ...]]] = [
            (self.session_state, (peer, s)) for s in SESSION_STATES
        ]
        pairs += [(self.bfd_state, (peer, s)) for s in BFD_STATES]
        pairs += [(g, (peer,)) for g in (self.session_up, self.prefixes, self.bfd_up)]
        for metric, labels in pairs:
            with contextlib.suppress(KeyError):
                metric.remove(*labels)
