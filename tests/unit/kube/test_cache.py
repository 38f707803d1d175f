"""Cache: keyed by (resource, namespace, name), with indexes kept in step with writes."""

from __future__ import annotations

import pytest

from ironlb.kube.cache import Cache
from ironlb.kube.resources import NODES, SERVICES


def svc(ns: str, name: str, rv: str = "1", pool: str | None = None) -> dict:
    labels = {"pool": pool} if pool else {}
    return {"metadata": {"namespace": ns, "name": name, "resourceVersion": rv, "labels": labels}}


def pools(obj: dict) -> list[str]:
    label = obj["metadata"]["labels"].get("pool")
    return [label] if label else []


def test_get_list_and_namespaces() -> None:
    cache = Cache()
    assert cache.upsert(SERVICES, svc("b", "x"))
    assert cache.upsert(SERVICES, svc("a", "y"))
    assert cache.upsert(NODES, {"metadata": {"name": "n1", "resourceVersion": "3"}})
    assert cache.get(SERVICES, "b", "x")["metadata"]["name"] == "x"
    assert cache.get(SERVICES, "a", "x") is None
    assert cache.get(NODES, None, "n1") is not None
    assert [o["metadata"]["name"] for o in cache.list(SERVICES)] == ["y", "x"]
    assert [o["metadata"]["name"] for o in cache.list(SERVICES, "b")] == ["x"]
    assert cache.list(SERVICES, "nope") == []
    assert len(cache) == 3


def test_upsert_reports_whether_anything_changed() -> None:
    cache = Cache()
    assert cache.upsert(SERVICES, svc("a", "x", "1"))
    assert not cache.upsert(SERVICES, svc("a", "x", "1"))
    assert cache.upsert(SERVICES, svc("a", "x", "2"))
    assert cache.delete(SERVICES, "a", "x") is not None
    assert cache.delete(SERVICES, "a", "x") is None
    assert cache.keys(SERVICES) == set()


def test_indexes_follow_updates_and_deletes() -> None:
    cache = Cache()
    cache.upsert(SERVICES, svc("a", "x", "1", pool="p1"))
    cache.add_index(SERVICES, "pool", pools)  # existing objects are indexed too
    cache.upsert(SERVICES, svc("a", "y", "1", pool="p1"))
    assert [o["metadata"]["name"] for o in cache.by_index(SERVICES, "pool", "p1")] == ["x", "y"]
    cache.upsert(SERVICES, svc("a", "x", "2", pool="p2"))
    assert [o["metadata"]["name"] for o in cache.by_index(SERVICES, "pool", "p1")] == ["y"]
    assert [o["metadata"]["name"] for o in cache.by_index(SERVICES, "pool", "p2")] == ["x"]
    cache.delete(SERVICES, "a", "y")
    assert cache.by_index(SERVICES, "pool", "p1") == []
    assert cache.by_index(SERVICES, "namespace", "a")[0]["metadata"]["name"] == "x"


def test_index_errors_name_the_index() -> None:
    cache = Cache()
    cache.add_index(SERVICES, "pool", pools)
    with pytest.raises(ValueError, match="'pool' on services: already defined"):
        cache.add_index(SERVICES, "pool", pools)
    with pytest.raises(KeyError, match="'nope' on services"):
        cache.by_index(SERVICES, "nope", "x")
