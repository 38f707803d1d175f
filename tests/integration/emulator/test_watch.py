"""Watch from a resourceVersion, ordering, bookmarks, 410 Gone in watch and list, paging."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from kubernetes import client, watch

from tests.plugins.emulator import start_apiserver


def _cm(v1: client.CoreV1Api, name: str, labels: dict | None = None):
    body = {"metadata": {"name": name, "labels": labels or {}}}
    return v1.create_namespaced_config_map("default", body)


def _events(fn, timeout: int = 1, **kwargs) -> list[tuple[str, str, str]]:
    w = watch.Watch()
    out = []
    for ev in w.stream(fn, timeout_seconds=timeout, **kwargs):
        obj = ev["raw_object"]
        out.append(
            (ev["type"], obj["metadata"].get("name", ""), obj["metadata"]["resourceVersion"])
        )
    return out


def test_watch_from_resource_version_replays_exactly_later_events(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    first = _cm(v1, "a")
    start = first.metadata.resource_version
    _cm(v1, "b")
    v1.patch_namespaced_config_map("b", "default", {"data": {"k": "v"}})
    v1.create_namespaced_secret("default", {"metadata": {"name": "other-kind"}})
    v1.delete_namespaced_config_map("a", "default")
    events = _events(v1.list_namespaced_config_map, namespace="default", resource_version=start)
    assert [(t, n) for t, n, _ in events] == [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "a")]
    rvs = [int(rv) for _, _, rv in events]
    assert rvs == sorted(rvs) and rvs[0] > int(start)


def test_watch_without_resource_version_starts_with_current_state(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    _cm(v1, "x")
    events = _events(v1.list_namespaced_config_map, namespace="default")
    assert [(t, n) for t, n, _ in events] == [("ADDED", "x")]


def test_live_watch_sees_changes_in_order(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    rv = v1.list_namespaced_config_map("default").metadata.resource_version
    got: list[tuple[str, str, str]] = []
    ready = threading.Event()

    def consume() -> None:
        w = watch.Watch()
        ready.set()
        for ev in w.stream(
            v1.list_namespaced_config_map,
            namespace="default",
            resource_version=rv,
            timeout_seconds=5,
        ):
            got.append(
                (ev["type"], ev["object"].metadata.name, ev["object"].metadata.resource_version)
            )
            if len(got) == 40:
                w.stop()

    t = threading.Thread(target=consume)
    t.start()
    ready.wait()
    for i in range(20):
        _cm(v1, f"n{i}")
        v1.patch_namespaced_config_map(f"n{i}", "default", {"data": {"i": str(i)}})
    t.join(10)
    assert [g[:2] for g in got] == [
        x for i in range(20) for x in (("ADDED", f"n{i}"), ("MODIFIED", f"n{i}"))
    ]
    assert [int(g[2]) for g in got] == list(range(int(rv) + 1, int(rv) + 41))


def test_bookmarks_carry_current_resource_version(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, [], bookmark_interval=0.2)
    try:
        v1 = client.CoreV1Api(server.api_client())
        cm = _cm(v1, "a")
        w = watch.Watch()
        types = []
        for ev in w.stream(
            v1.list_namespaced_config_map,
            namespace="default",
            resource_version=cm.metadata.resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=1,
        ):
            types.append(ev["type"])
            if ev["type"] == "BOOKMARK":
                assert (
                    ev["raw_object"]["metadata"]["resourceVersion"] == cm.metadata.resource_version
                )
                assert ev["raw_object"]["kind"] == "ConfigMap"
        assert "BOOKMARK" in types
        assert w.resource_version == cm.metadata.resource_version
    finally:
        server.close()


def test_no_bookmarks_unless_asked(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, [], bookmark_interval=0.1)
    try:
        v1 = client.CoreV1Api(server.api_client())
        rv = v1.list_namespaced_config_map("default").metadata.resource_version
        assert (
            _events(v1.list_namespaced_config_map, namespace="default", resource_version=rv) == []
        )
    finally:
        server.close()


def test_send_initial_events_ends_with_marked_bookmark(apiserver) -> None:
    from tests.integration.emulator.http import raw

    v1 = client.CoreV1Api(apiserver.api_client())
    _cm(v1, "a")
    code, text, _ = raw(
        apiserver.url,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true"
        "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
        as_text=True,
    )
    assert code == 200
    lines = [json.loads(line) for line in text.splitlines()]
    assert [x["type"] for x in lines][:2] == ["ADDED", "BOOKMARK"]
    assert lines[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_expired_resource_version_in_watch_is_410(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, [], history=5)
    try:
        v1 = client.CoreV1Api(server.api_client())
        old = _cm(v1, "first").metadata.resource_version
        for i in range(10):
            _cm(v1, f"c{i}")
        from tests.integration.emulator.http import raw

        code, text, _ = raw(
            server.url,
            "GET",
            f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old}",
            as_text=True,
        )
        assert code == 200
        event = json.loads(text.splitlines()[0])
        assert event["type"] == "ERROR"
        assert event["object"]["code"] == 410
        assert event["object"]["reason"] == "Expired"
        assert event["object"]["message"].startswith(f"too old resource version: {old} (")
        with pytest.raises(client.ApiException) as info:
            _events(v1.list_namespaced_config_map, namespace="default", resource_version=old)
        assert info.value.status == 410
    finally:
        server.close()


def test_expired_resource_version_in_list_is_410(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, [], history=5)
    try:
        v1 = client.CoreV1Api(server.api_client())
        old = _cm(v1, "first").metadata.resource_version
        _cm(v1, "second")
        page = v1.list_namespaced_config_map("default", limit=1)
        assert page.metadata._continue
        for i in range(10):
            _cm(v1, f"c{i}")
        with pytest.raises(client.ApiException) as info:
            v1.list_namespaced_config_map(
                "default", resource_version=old, resource_version_match="Exact"
            )
        assert info.value.status == 410
        body = json.loads(info.value.body)
        assert body["reason"] == "Expired"
        assert body["message"] == "The resourceVersion for the provided list is too old."
        with pytest.raises(client.ApiException) as info:
            v1.list_namespaced_config_map("default", limit=1, _continue=page.metadata._continue)
        assert info.value.status == 410
        assert json.loads(info.value.body)["metadata"]["continue"]
    finally:
        server.close()


def test_list_exact_resource_version_shows_past_state(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    _cm(v1, "a")
    rv = v1.list_namespaced_config_map("default").metadata.resource_version
    _cm(v1, "b")
    v1.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    past = v1.list_namespaced_config_map(
        "default", resource_version=rv, resource_version_match="Exact"
    )
    assert [(c.metadata.name, c.data) for c in past.items] == [("a", None)]
    assert past.metadata.resource_version == rv


def test_paging_is_a_consistent_snapshot(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    for i in range(5):
        _cm(v1, f"p{i}")
    page = v1.list_namespaced_config_map("default", limit=2)
    names = [c.metadata.name for c in page.items]
    assert page.metadata.remaining_item_count == 3
    _cm(v1, "p9")  # created after the first page: not part of this list
    while page.metadata._continue:
        page = v1.list_namespaced_config_map("default", limit=2, _continue=page.metadata._continue)
        names += [c.metadata.name for c in page.items]
    assert names == [f"p{i}" for i in range(5)]


def test_watch_with_label_selector_sees_objects_leave_and_enter(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    rv = _cm(v1, "w", {"app": "x"}).metadata.resource_version
    v1.patch_namespaced_config_map("w", "default", {"metadata": {"labels": {"app": "y"}}})
    v1.patch_namespaced_config_map("w", "default", {"metadata": {"labels": {"app": "x"}}})
    _cm(v1, "other", {"app": "y"})
    events = _events(
        v1.list_namespaced_config_map,
        namespace="default",
        resource_version=rv,
        label_selector="app=x",
    )
    assert [(t, n) for t, n, _ in events] == [("DELETED", "w"), ("ADDED", "w")]


def test_watch_single_object_by_field_selector(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    rv = v1.list_namespaced_config_map("default").metadata.resource_version
    _cm(v1, "mine")
    _cm(v1, "theirs")
    events = _events(
        v1.list_namespaced_config_map,
        namespace="default",
        resource_version=rv,
        field_selector="metadata.name=mine",
    )
    assert [(t, n) for t, n, _ in events] == [("ADDED", "mine")]


def test_abandoned_watches_are_released(apiserver) -> None:
    import http.client
    import time

    port = apiserver.emulator.port
    conns = []
    for _ in range(3):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1")
        assert c.getresponse().status == 200
        conns.append(c)

    def listeners() -> int:
        return apiserver.call(lambda: len(apiserver.emulator.store.listeners))

    assert listeners() == 3
    for c in conns:
        c.sock.close()
        c.close()
    deadline = time.monotonic() + 10
    while listeners() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listeners() == 0
