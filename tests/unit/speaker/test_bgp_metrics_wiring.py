"""The speaker serves the BGP/BFD metrics on the same registry as its L2 metrics, so the
alert rules and dashboard (`ironlb_speaker_bgp_session_up`, ...) find them."""

from __future__ import annotations

from prometheus_client import generate_latest

from speaker import metrics


def test_bgp_metrics_are_on_the_speaker_registry_once() -> None:
    first = metrics.bgp_metrics()
    assert metrics.bgp_metrics() is first  # a second SpeakerApp reuses them
    first.session_up.labels(peer="tor").set(1)
    text = generate_latest(metrics.REGISTRY).decode()
    assert 'ironlb_speaker_bgp_session_up{peer="tor"} 1.0' in text
    assert "ironlb_speaker_bfd_session_up" in text
