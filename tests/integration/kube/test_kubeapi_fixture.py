"""The test kube-apiserver itself (tests/plugins/kubeapi.py): a scope's end puts the shared
server back as it started, whatever a test left in it, and a fresh server is its own."""

from __future__ import annotations

from typing import Any

from ironlb.kube.client import CONFIGMAPS, IPADDRESSPOOLS, NAMESPACES, NODES, SERVICES, Kube
from ironlb.kube.errors import NotFound
from ironlb.kube.resources import Resource
from tests.plugins.kubeapi import CRDS, KubeApiServer, unique_name

CLUSTERROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False)
CRD_RESOURCE = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)
WIDGETS = Resource("example.com", "v1", "widgets", "Widget", True)
WIDGET_CRD = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def _gone(kube: Kube, resource: Resource, name: str, namespace: str | None = None) -> bool:
    try:
        kube.get(resource, name, namespace)
    except NotFound:
        return True
    return False


def test_scope_end_resets_the_cluster_to_its_baseline(kube_apiserver: KubeApiServer) -> None:
    ns = unique_name("reset")
    with kube_apiserver.scope() as api:
        kube = Kube(api.api_client())
        api.ensure_namespace("metallb-system")
        api.ensure_namespace(ns)
        pool = {"metadata": {"name": "p", "namespace": "metallb-system"},
                "spec": {"addresses": ["203.0.113.0/24"]}}  # fmt: skip
        kube.create(IPADDRESSPOOLS, pool)
        svc = {"metadata": {"name": "web", "namespace": ns},
               "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}  # fmt: skip
        kube.create(SERVICES, svc)
        held = {"metadata": {"name": "held", "namespace": ns, "finalizers": ["example.com/x"]}}
        kube.create(CONFIGMAPS, held)
        kube.create(CONFIGMAPS, {"metadata": {"name": "stray", "namespace": "default"}})
        kube.create(NODES, {"metadata": {"name": "reset-node"}})
        kube.create(CLUSTERROLES, {"metadata": {"name": "reset-role"}, "rules": []})
        kube.create(CRD_RESOURCE, WIDGET_CRD)
        kube_apiserver.wait_crds_established(["widgets.example.com"])
        kube.create(WIDGETS, {"metadata": {"name": "w", "namespace": ns}})
    with kube_apiserver.scope() as api:
        kube = Kube(api.api_client())
        assert _gone(kube, NAMESPACES, ns) and _gone(kube, NAMESPACES, "metallb-system")
        assert _gone(kube, CONFIGMAPS, "stray", "default")
        assert _gone(kube, NODES, "reset-node") and _gone(kube, CLUSTERROLES, "reset-role")
        assert kube_apiserver.request("GET", CRDS.path(name="widgets.example.com"), ok=(404,))
        assert kube.list(SERVICES)["items"] == [kube.get(SERVICES, "kubernetes", "default")]
        assert kube.list(IPADDRESSPOOLS)["items"] == []
        # what the apiserver made for itself is still there
        assert not _gone(kube, NAMESPACES, "kube-system")
        assert not _gone(kube, CLUSTERROLES, "cluster-admin")


def test_a_fresh_server_is_its_own(fresh_kube_apiserver: Any, apiserver: Any) -> None:
    fresh = fresh_kube_apiserver(crds=False)
    assert fresh.url != apiserver.url
    mine = Kube(fresh.api_client())
    mine.create(CONFIGMAPS, {"metadata": {"name": "only-here", "namespace": "default"}})
    shared = Kube(apiserver.api_client())
    assert _gone(shared, CONFIGMAPS, "only-here", "default")
    assert _gone(mine, CRD_RESOURCE, "ipaddresspools.metallb.io")  # crds=False
