"""Kube (the client wrapper) against the real kube-apiserver with the official client."""

from __future__ import annotations

import socket

import pytest

from ironlb.kube.client import (
    CONFIGMAPS,
    IPADDRESSPOOLS,
    NAMESPACES,
    NODES,
    SERVICES,
    AlreadyExists,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    Kube,
    NotFound,
    TransportError,
    Unauthorized,
    load_api_client,
)
from ironlb.kube.resources import Resource

_RBAC = "rbac.authorization.k8s.io"
ROLES = Resource(_RBAC, "v1", "roles", "Role", True)
ROLEBINDINGS = Resource(_RBAC, "v1", "rolebindings", "RoleBinding", True)


def kube_for(server, **kw) -> Kube:
    return Kube(load_api_client(server.kubeconfig), **kw)


def svc(name: str, ns: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "type": "LoadBalancer",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        },
    }


def test_crud_and_typed_errors(apiserver, kube_namespace) -> None:
    ns = kube_namespace
    kube = kube_for(apiserver)
    created = kube.create(SERVICES, svc("web", ns))
    assert created["kind"] == "Service" and created["spec"]["clusterIP"]
    with pytest.raises(AlreadyExists):
        kube.create(SERVICES, svc("web", ns))
    with pytest.raises(NotFound, match='services "nope" not found'):
        kube.get(SERVICES, "nope", ns)

    stale = dict(created)
    kube.patch(SERVICES, "web", {"metadata": {"labels": {"a": "b"}}}, ns)
    with pytest.raises(Conflict):
        kube.replace(SERVICES, stale)

    status = {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}}
    patched = kube.patch(SERVICES, "web", status, ns, subresource="status")
    # the apiserver defaults ipMode (GA in 1.32)
    assert patched["status"]["loadBalancer"]["ingress"] == [{"ip": "203.0.113.10", "ipMode": "VIP"}]
    ops = [{"op": "add", "path": "/metadata/annotations", "value": {"x": "1"}}]
    assert kube.patch(SERVICES, "web", ops, ns, patch_type="json")["metadata"]["annotations"] == {
        "x": "1"
    }
    strategic = {"spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}}
    ports = kube.patch(SERVICES, "web", strategic, ns, patch_type="strategic")["spec"]
    assert sorted(p["port"] for p in ports["ports"]) == [80, 443]

    kube.delete(SERVICES, "web", ns)
    with pytest.raises(NotFound):
        kube.get(SERVICES, "web", ns)


def test_list_follows_pages_and_types_items(apiserver, kube_namespace) -> None:
    ns = kube_namespace
    kube = kube_for(apiserver, page_size=3)
    for i in range(10):
        kube.create(CONFIGMAPS, {"metadata": {"name": f"cm{i}", "namespace": ns}})
    listed = kube.list(CONFIGMAPS, ns)
    names = [o["metadata"]["name"] for o in listed["items"]]
    assert sorted(names) == [f"cm{i}" for i in range(10)]
    assert all(o["kind"] == "ConfigMap" and o["apiVersion"] == "v1" for o in listed["items"])
    assert int(listed["metadata"]["resourceVersion"]) > 0
    assert kube.list(NODES)["kind"] == "NodeList"
    assert any(o["metadata"]["name"] == "default" for o in kube.list(NAMESPACES)["items"])


def test_watch_streams_events_and_compacted_versions_raise_gone(apiserver, kube_namespace) -> None:
    ns = kube_namespace
    kube = kube_for(apiserver)
    start = kube.list(CONFIGMAPS, ns)["metadata"]["resourceVersion"]
    kube.create(CONFIGMAPS, {"metadata": {"name": "a", "namespace": ns}})
    kube.delete(CONFIGMAPS, "a", ns)
    seen = []
    for event in kube.watch(CONFIGMAPS, ns, resource_version=start, timeout_seconds=1):
        seen.append((event["type"], event["object"]["metadata"].get("name")))
    assert seen[:2] == [("ADDED", "a"), ("DELETED", "a")]
    for i in range(10):
        kube.create(CONFIGMAPS, {"metadata": {"name": f"b{i}", "namespace": ns}})
    apiserver.compact()  # etcd forgets the history before now: `start` has expired
    with pytest.raises(Gone):
        list(kube.watch(CONFIGMAPS, ns, resource_version=start, timeout_seconds=1))


def test_schema_violations_are_invalid(apiserver, kube_namespace) -> None:
    kube = kube_for(apiserver)
    bad = {
        "metadata": {"name": "p", "namespace": kube_namespace},
        "spec": {"addresses": "not-a-list"},
    }
    with pytest.raises(Invalid) as info:
        kube.create(IPADDRESSPOOLS, bad)
    assert info.value.status == 422


def test_unreachable_server_is_a_transport_error(apiserver, tmp_path) -> None:
    with socket.socket() as s:  # a port nothing listens on (bound, never listening)
        s.bind(("127.0.0.1", 0))
        url = f"https://127.0.0.1:{s.getsockname()[1]}"
        kubeconfig = apiserver.kubeconfig_for_url(url, tmp_path / "nowhere")
        kube = Kube(load_api_client(str(kubeconfig)), timeout=2)
        with pytest.raises(TransportError):
            kube.list(CONFIGMAPS)


def test_service_account_token_auth_is_sent(apiserver, kube_namespace, tmp_path) -> None:
    """A bound ServiceAccount token (TokenRequest) authenticates; RBAC then decides."""
    ns = kube_namespace
    kubeconfig = apiserver.service_account_kubeconfig(ns, "reader", tmp_path / "sa")
    admin = kube_for(apiserver)
    admin.create(
        ROLES,
        {
            "metadata": {"name": "cm-reader", "namespace": ns},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}],
        },
    )
    admin.create(
        ROLEBINDINGS,
        {
            "metadata": {"name": "cm-reader", "namespace": ns},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "cm-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}],
        },
    )
    reader = Kube(load_api_client(str(kubeconfig)))
    assert reader.list(CONFIGMAPS, ns)["kind"] == "ConfigMapList"
    with pytest.raises(Forbidden):
        reader.list(CONFIGMAPS)  # cluster-wide: not granted
    client = load_api_client(str(kubeconfig))
    client.configuration.refresh_api_key_hook = None  # it would restore the right token
    client.configuration.api_key = {"BearerToken": "Bearer wrong"}
    with pytest.raises(Unauthorized):
        Kube(client).list(CONFIGMAPS, ns)


def test_tls_with_the_kubeconfig_ca(apiserver, kube_namespace) -> None:
    ns = kube_namespace
    assert apiserver.url.startswith("https://")
    kube = kube_for(apiserver)
    kube.create(CONFIGMAPS, {"metadata": {"name": "over-tls", "namespace": ns}})
    names = [o["metadata"]["name"] for o in kube.list(CONFIGMAPS, ns)["items"]]
    assert "over-tls" in names
    events = list(kube.watch(CONFIGMAPS, ns, resource_version="0", timeout_seconds=1))
    assert any(e["object"]["metadata"].get("name") == "over-tls" for e in events)
