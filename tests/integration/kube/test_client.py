"""Kube (the client wrapper) against the emulator over HTTP with the real official client."""

from __future__ import annotations

import pytest

from ironlb.kube.client import (
    CONFIGMAPS,
    IPADDRESSPOOLS,
    NAMESPACES,
    NODES,
    SERVICES,
    AlreadyExists,
    Conflict,
    Gone,
    Invalid,
    Kube,
    NotFound,
    TransportError,
    Unauthorized,
    load_api_client,
)


def kube_for(server, **kw) -> Kube:
    return Kube(load_api_client(server.kubeconfig), **kw)


def svc(name: str, ns: str = "default") -> dict:
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "type": "LoadBalancer",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        },
    }


def test_crud_and_typed_errors(apiserver) -> None:
    kube = kube_for(apiserver)
    created = kube.create(SERVICES, svc("web"))
    assert created["kind"] == "Service" and created["spec"]["clusterIP"]
    with pytest.raises(AlreadyExists):
        kube.create(SERVICES, svc("web"))
    with pytest.raises(NotFound, match='services "nope" not found'):
        kube.get(SERVICES, "nope", "default")

    stale = dict(created)
    kube.patch(SERVICES, "web", {"metadata": {"labels": {"a": "b"}}}, "default")
    with pytest.raises(Conflict):
        kube.replace(SERVICES, stale)

    status = {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}}
    patched = kube.patch(SERVICES, "web", status, "default", subresource="status")
    assert patched["status"]["loadBalancer"]["ingress"] == [{"ip": "203.0.113.10"}]
    ops = [{"op": "add", "path": "/metadata/annotations", "value": {"x": "1"}}]
    assert kube.patch(SERVICES, "web", ops, "default", patch_type="json")["metadata"][
        "annotations"
    ] == {"x": "1"}
    strategic = {"spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}}
    ports = kube.patch(SERVICES, "web", strategic, "default", patch_type="strategic")["spec"]
    assert sorted(p["port"] for p in ports["ports"]) == [80, 443]

    kube.delete(SERVICES, "web", "default")
    with pytest.raises(NotFound):
        kube.get(SERVICES, "web", "default")


def test_list_follows_pages_and_types_items(apiserver) -> None:
    kube = kube_for(apiserver, page_size=3)
    for i in range(10):
        kube.create(CONFIGMAPS, {"metadata": {"name": f"cm{i}", "namespace": "default"}})
    listed = kube.list(CONFIGMAPS, "default")
    names = [o["metadata"]["name"] for o in listed["items"]]
    assert sorted(n for n in names if n.startswith("cm")) == [f"cm{i}" for i in range(10)]
    assert all(o["kind"] == "ConfigMap" and o["apiVersion"] == "v1" for o in listed["items"])
    assert int(listed["metadata"]["resourceVersion"]) > 0
    assert kube.list(NODES)["items"] == [] or kube.list(NODES)["kind"] == "NodeList"
    assert any(o["metadata"]["name"] == "default" for o in kube.list(NAMESPACES)["items"])


def test_watch_streams_events_and_expired_versions_raise_gone(tmp_path) -> None:
    from tests.plugins.emulator import start_apiserver

    server = start_apiserver(tmp_path, [], history=5)
    try:
        kube = kube_for(server)
        start = kube.list(CONFIGMAPS)["metadata"]["resourceVersion"]
        kube.create(CONFIGMAPS, {"metadata": {"name": "a", "namespace": "default"}})
        kube.delete(CONFIGMAPS, "a", "default")
        seen = []
        for event in kube.watch(CONFIGMAPS, resource_version=start, timeout_seconds=1):
            seen.append((event["type"], event["object"]["metadata"].get("name")))
        assert seen[:2] == [("ADDED", "a"), ("DELETED", "a")]
        for i in range(10):
            kube.create(CONFIGMAPS, {"metadata": {"name": f"b{i}", "namespace": "default"}})
        with pytest.raises(Gone):
            list(kube.watch(CONFIGMAPS, resource_version=start, timeout_seconds=1))
    finally:
        server.close()


def test_schema_violations_are_invalid(apiserver_with_crds) -> None:
    kube = kube_for(apiserver_with_crds)
    bad = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"addresses": "not-a-list"},
    }
    with pytest.raises(Invalid) as info:
        kube.create(IPADDRESSPOOLS, bad)
    assert info.value.status == 422


def test_unreachable_server_is_a_transport_error(apiserver) -> None:
    kube = kube_for(apiserver, timeout=2)
    apiserver.close()
    with pytest.raises(TransportError):
        kube.list(CONFIGMAPS)


def test_bearer_token_auth_is_sent(tmp_path) -> None:
    from tests.plugins.emulator import start_apiserver

    server = start_apiserver(tmp_path, [], token="t0ken-for-tests")
    try:
        assert kube_for(server).list(CONFIGMAPS)["kind"] == "ConfigMapList"
        client = load_api_client(server.kubeconfig)
        client.configuration.refresh_api_key_hook = None  # it would restore the right token
        client.configuration.api_key = {"BearerToken": "Bearer wrong"}
        with pytest.raises(Unauthorized):
            Kube(client).list(CONFIGMAPS)
    finally:
        server.close()


def test_tls_with_the_kubeconfig_ca(tmp_path) -> None:
    from tests.plugins.emulator import start_apiserver

    server = start_apiserver(tmp_path, [], tls=True, token="tls-t0ken")
    try:
        assert server.url.startswith("https://")
        kube = kube_for(server)
        kube.create(CONFIGMAPS, {"metadata": {"name": "over-tls", "namespace": "default"}})
        names = [o["metadata"]["name"] for o in kube.list(CONFIGMAPS, "default")["items"]]
        assert "over-tls" in names
        events = list(kube.watch(CONFIGMAPS, "default", resource_version="0", timeout_seconds=1))
        assert any(e["object"]["metadata"].get("name") == "over-tls" for e in events)
    finally:
        server.close()
