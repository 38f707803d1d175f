"""JSON merge, JSON patch, strategic merge and server-side apply, over HTTP."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from ironlb.emulator.patch import merge_patch, strategic_merge
from tests.integration.emulator.http import raw

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "nginx:1",
                        "ports": [{"containerPort": 80}, {"containerPort": 443}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    },
                    {"name": "sidecar", "image": "busybox"},
                ]
            },
        },
    },
}


def _patch(server, path: str, ctype: str, body) -> tuple[int, dict]:
    code, out, _ = raw(server.url, "PATCH", path, body, {"Content-Type": ctype})
    return code, out


def test_strategic_merge_uses_merge_keys(apiserver) -> None:
    apps = client.AppsV1Api(apiserver.api_client())
    apps.create_namespaced_deployment("default", DEPLOY)
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "nginx:2",
                            "env": [{"name": "B", "value": "changed"}, {"name": "C", "value": "3"}],
                            "ports": [{"containerPort": 8080}],
                        },
                        {"name": "sidecar", "$patch": "delete"},
                    ]
                }
            }
        }
    }
    d = apps.patch_namespaced_deployment("web", "default", patch)
    containers = d.spec.template.spec.containers
    assert [c.name for c in containers] == ["main"]
    assert containers[0].image == "nginx:2"
    assert [(e.name, e.value) for e in containers[0].env] == [
        ("A", "1"),
        ("B", "changed"),
        ("C", "3"),
    ]
    assert [p.container_port for p in containers[0].ports] == [80, 443, 8080]


def test_strategic_merge_directives_kubectl_sends() -> None:
    current = {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "x": {"y": 1, "z": 2}}}
    out = strategic_merge(
        current,
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                "containers": [{"name": "b", "image": "i"}],
                "x": {"$patch": "replace", "only": True},
            },
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"], "finalizers": ["f2"]},
        },
    )
    assert out["spec"]["containers"] == [{"name": "b", "image": "i"}, {"name": "a"}]
    assert out["spec"]["x"] == {"only": True}
    assert out["metadata"]["finalizers"] == ["f2"]


def test_strategic_conditions_merge_by_type(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_node(
        {
            "metadata": {"name": "n1"},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "False"},
                    {"type": "MemoryPressure", "status": "False"},
                ]
            },
        }
    )
    n = v1.patch_node_status(
        "n1", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    assert [(c.type, c.status) for c in n.status.conditions] == [
        ("Ready", "True"),
        ("MemoryPressure", "False"),
    ]


def test_service_ports_merge_by_port(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_namespaced_service(
        "default", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "name": "http"}]}}
    )
    s = v1.patch_namespaced_service(
        "s", "default", {"spec": {"ports": [{"port": 443, "name": "https"}]}}
    )
    assert [p.port for p in s.spec.ports] == [80, 443]


def test_json_merge_patch_replaces_lists(apiserver) -> None:
    apps = client.AppsV1Api(apiserver.api_client())
    apps.create_namespaced_deployment("default", DEPLOY)
    code, out = _patch(
        apiserver,
        "/apis/apps/v1/namespaces/default/deployments/web",
        "application/merge-patch+json",
        {
            "spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}},
            "metadata": {"labels": {"app": None, "new": "1"}},
        },
    )
    assert code == 200
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["only"]
    assert out["metadata"]["labels"] == {"new": "1"}
    assert merge_patch({"a": {"b": 1}}, {"a": {"b": None, "c": 2}}) == {"a": {"c": 2}}


def test_json_patch_ops_and_failed_test_op(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_namespaced_config_map("default", {"metadata": {"name": "j"}, "data": {"a": "1"}})
    cm = v1.patch_namespaced_config_map(
        "j",
        "default",
        [
            {"op": "test", "path": "/data/a", "value": "1"},
            {"op": "add", "path": "/data/b", "value": "2"},
            {"op": "replace", "path": "/data/a", "value": "9"},
        ],
    )
    assert cm.data == {"a": "9", "b": "2"}
    with pytest.raises(client.ApiException) as info:
        v1.patch_namespaced_config_map(
            "j", "default", [{"op": "test", "path": "/data/a", "value": "1"}]
        )
    assert info.value.status == 422


def test_patch_with_stale_resource_version_conflicts(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    cm = v1.create_namespaced_config_map("default", {"metadata": {"name": "r"}})
    v1.patch_namespaced_config_map("r", "default", {"data": {"x": "1"}})
    code, out = _patch(
        apiserver,
        "/api/v1/namespaces/default/configmaps/r",
        "application/merge-patch+json",
        {"metadata": {"resourceVersion": cm.metadata.resource_version}, "data": {"x": "2"}},
    )
    assert code == 409 and out["reason"] == "Conflict"


def test_patch_missing_object_is_404(apiserver) -> None:
    code, out = _patch(
        apiserver, "/api/v1/namespaces/default/configmaps/none", "application/merge-patch+json", {}
    )
    assert code == 404 and out["message"] == 'configmaps "none" not found'


def test_strategic_merge_on_custom_resource_is_415(apiserver_with_crds) -> None:
    co = client.CustomObjectsApi(apiserver_with_crds.api_client())
    co.create_namespaced_custom_object(
        "metallb.io",
        "v1beta1",
        "default",
        "ipaddresspools",
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": "p"},
            "spec": {"addresses": ["203.0.113.0/24"]},
        },
    )
    code, out = _patch(
        apiserver_with_crds,
        "/apis/metallb.io/v1beta1/namespaces/default/ipaddresspools/p",
        "application/strategic-merge-patch+json",
        {"spec": {"autoAssign": False}},
    )
    assert code == 415
    assert out["reason"] == "UnsupportedMediaType"
    # the official client's CustomObjectsApi patches with merge-patch, which works
    got = co.patch_namespaced_custom_object(
        "metallb.io", "v1beta1", "default", "ipaddresspools", "p", {"spec": {"autoAssign": False}}
    )
    assert got["spec"]["autoAssign"] is False


def test_server_side_apply_creates_then_merges(apiserver) -> None:
    path = "/api/v1/namespaces/default/configmaps/applied?fieldManager=test"
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: '1'\n"
    code, out, _ = raw(
        apiserver.url, "PATCH", path, doc.encode(), {"Content-Type": "application/apply-patch+yaml"}
    )
    assert code == 201 and out["data"] == {"a": "1"}
    rv = out["metadata"]["resourceVersion"]
    code, out, _ = raw(
        apiserver.url, "PATCH", path, doc.encode(), {"Content-Type": "application/apply-patch+yaml"}
    )
    assert code == 200 and out["metadata"]["resourceVersion"] == rv
    doc2 = doc + "  b: '2'\n"
    code, out, _ = raw(
        apiserver.url,
        "PATCH",
        path,
        doc2.encode(),
        {"Content-Type": "application/apply-patch+yaml"},
    )
    assert out["data"] == {"a": "1", "b": "2"}
    code, out, _ = raw(
        apiserver.url,
        "PATCH",
        path.split("?")[0],
        doc.encode(),
        {"Content-Type": "application/apply-patch+yaml"},
    )
    assert code == 422 and "fieldManager" in json.dumps(out)
