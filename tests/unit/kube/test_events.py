"""EventRecorder: involvedObject, aggregation of repeats, best effort on API errors."""

from __future__ import annotations

import datetime as dt

import pytest

from ironlb.kube.errors import Forbidden
from ironlb.kube.events import WARNING, EventRecorder
from ironlb.kube.resources import EVENTS
from tests.unit.kube.fakes import FakeKube

SVC = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "7"},
}


def clock() -> dt.datetime:
    return dt.datetime(2026, 12, 3, 11, 0, tzinfo=dt.UTC)


def recorder(kube: FakeKube) -> EventRecorder:
    return EventRecorder(kube, "ironlb-controller", "node-a", wall_clock=clock)  # type: ignore[arg-type]


def test_event_fields() -> None:
    kube = FakeKube()
    event = recorder(kube).record(SVC, "Normal", "IPAllocated", "Assigned IP 203.0.113.5")
    assert event is not None
    assert event["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Service",
        "name": "web",
        "namespace": "shop",
        "uid": "u-1",
        "resourceVersion": "7",
    }
    assert event["metadata"]["namespace"] == "shop"
    assert event["metadata"]["name"].startswith("web.")
    assert (event["type"], event["reason"], event["count"]) == ("Normal", "IPAllocated", 1)
    assert event["source"] == {"component": "ironlb-controller", "host": "node-a"}
    assert event["firstTimestamp"] == "2026-12-03T11:00:00Z"


def test_repeats_aggregate_into_one_event_with_a_count() -> None:
    kube = FakeKube()
    rec = recorder(kube)
    for _ in range(3):
        rec.record(SVC, WARNING, "AllocationFailed", "pool p1 is exhausted")
    rec.record(SVC, WARNING, "AllocationFailed", "pool p2 is exhausted")
    events = kube.list(EVENTS)["items"]
    assert sorted((e["message"], e["count"]) for e in events) == [
        ("pool p1 is exhausted", 3),
        ("pool p2 is exhausted", 1),
    ]


def test_an_expired_event_starts_a_new_one() -> None:
    kube = FakeKube()
    rec = recorder(kube)
    first = rec.record(SVC, WARNING, "X", "m")
    assert first is not None
    kube.delete(EVENTS, first["metadata"]["name"], "shop")
    again = rec.record(SVC, WARNING, "X", "m")
    assert again is not None and again["count"] == 1
    assert len(kube.list(EVENTS)["items"]) == 1


def test_cluster_scoped_objects_get_events_in_default() -> None:
    kube = FakeKube()
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    event = recorder(kube).record(node, "Normal", "R", "m")
    assert event is not None and event["metadata"]["namespace"] == "default"
    assert "namespace" not in event["involvedObject"]


def test_api_errors_are_logged_not_raised_and_bad_input_is_refused() -> None:
    kube = FakeKube()

    def refuse(*_: object, **__: object) -> dict:
        raise Forbidden(403, "Forbidden", "events is forbidden")

    kube.create = refuse  # type: ignore[method-assign]
    assert recorder(kube).record(SVC, "Normal", "R", "m") is None
    with pytest.raises(ValueError, match="Normal"):
        recorder(kube).record(SVC, "Info", "R", "m")
    with pytest.raises(ValueError, match=r"kind and metadata\.name"):
        recorder(kube).record({"metadata": {}}, "Normal", "R", "m")
