"""Label and field selectors on list, as the real server parses them."""

from __future__ import annotations

import pytest
from kubernetes import client


@pytest.fixture
def pods(apiserver):
    v1 = client.CoreV1Api(apiserver.api_client())
    spec = {"containers": [{"name": "c", "image": "i"}]}
    for name, labels, node in [
        ("p1", {"app": "web", "tier": "front"}, "node1"),
        ("p2", {"app": "web"}, "node2"),
        ("p3", {"app": "db", "tier": "back"}, "node1"),
        ("p4", {}, "node2"),
    ]:
        v1.create_namespaced_pod(
            "default",
            {"metadata": {"name": name, "labels": labels}, "spec": {**spec, "nodeName": node}},
        )
    return v1


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["p1", "p2"]),
        ("app==web", ["p1", "p2"]),
        ("app!=web", ["p3", "p4"]),
        ("app in (web, db)", ["p1", "p2", "p3"]),
        ("app notin (web)", ["p3", "p4"]),
        ("tier", ["p1", "p3"]),
        ("!tier", ["p2", "p4"]),
        ("app=web,tier", ["p1"]),
        ("app=web,!tier", ["p2"]),
    ],
)
def test_label_selectors(pods, selector: str, expected: list[str]) -> None:
    got = pods.list_namespaced_pod("default", label_selector=selector)
    assert [p.metadata.name for p in got.items] == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=p2", ["p2"]),
        ("metadata.name!=p2", ["p1", "p3", "p4"]),
        ("spec.nodeName=node1", ["p1", "p3"]),
        ("spec.nodeName=node2,metadata.name!=p4", ["p2"]),
        ("metadata.namespace=default", ["p1", "p2", "p3", "p4"]),
    ],
)
def test_field_selectors(pods, selector: str, expected: list[str]) -> None:
    got = pods.list_namespaced_pod("default", field_selector=selector)
    assert [p.metadata.name for p in got.items] == expected


def test_field_selectors_across_namespaces_and_unsupported(pods) -> None:
    got = pods.list_pod_for_all_namespaces(field_selector="spec.nodeName=node2")
    assert [p.metadata.name for p in got.items] == ["p2", "p4"]
    with pytest.raises(client.ApiException) as info:
        pods.list_namespaced_pod("default", field_selector="spec.bogus=1")
    assert info.value.status == 400
    assert "field label not supported: spec.bogus" in info.value.body


def test_event_field_selectors(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    for i, kind in enumerate(["Service", "Node"]):
        v1.create_namespaced_event(
            "default",
            {
                "metadata": {"name": f"e{i}"},
                "involvedObject": {"kind": kind, "name": f"x{i}", "namespace": "default"},
                "reason": "Test",
            },
        )
    got = v1.list_namespaced_event("default", field_selector="involvedObject.kind=Service")
    assert [e.metadata.name for e in got.items] == ["e0"]


def test_bad_label_selector_is_400(pods) -> None:
    with pytest.raises(client.ApiException) as info:
        pods.list_namespaced_pod("default", label_selector="app in web")
    assert info.value.status == 400
