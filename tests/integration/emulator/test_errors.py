"""Failure paths answer with Status bodies shaped like kube-apiserver's."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.integration.emulator.http import raw


def _error(fn, *args, **kwargs) -> tuple[int, dict]:
    with pytest.raises(client.ApiException) as info:
        fn(*args, **kwargs)
    return info.value.status, json.loads(info.value.body)


def test_not_found_status_body(apiserver) -> None:
    apps = client.AppsV1Api(apiserver.api_client())
    code, body = _error(apps.read_namespaced_deployment, "ghost", "default")
    assert code == 404
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "ghost" not found',
        "reason": "NotFound",
        "details": {"name": "ghost", "group": "apps", "kind": "deployments"},
        "code": 404,
    }


def test_already_exists(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_namespaced_secret("default", {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    code, body = _error(v1.create_namespaced_secret, "default", {"metadata": {"name": "s"}})
    assert code == 409
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'secrets "s" already exists'
    assert body["details"] == {"name": "s", "kind": "secrets"}


def test_conflict_on_stale_resource_version(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    first = v1.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {}})
    first.data = {"k": "1"}
    v1.replace_namespaced_config_map("c", "default", first)  # rv advances
    first.data = {"k": "2"}  # still carries the old resourceVersion
    code, body = _error(v1.replace_namespaced_config_map, "c", "default", first)
    assert code == 409
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert v1.read_namespaced_config_map("c", "default").data == {"k": "1"}


def test_invalid_name_is_422_with_causes(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    code, body = _error(
        v1.create_namespaced_service,
        "default",
        {"metadata": {"name": "Bad_Name"}, "spec": {"ports": [{"port": 80}]}},
    )
    assert code == 422
    assert body["reason"] == "Invalid"
    assert body["message"].startswith(
        'Service "Bad_Name" is invalid: metadata.name: Invalid value:'
    )
    cause = body["details"]["causes"][0]
    assert cause["field"] == "metadata.name"
    assert cause["reason"] == "FieldValueInvalid"
    assert body["details"]["kind"] == "Service"


def test_missing_namespace_and_namespace_mismatch(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    code, body = _error(v1.create_namespaced_config_map, "nope", {"metadata": {"name": "c"}})
    assert (code, body["message"]) == (404, 'namespaces "nope" not found')
    code, body = _error(
        v1.create_namespaced_config_map,
        "default",
        {"metadata": {"name": "c", "namespace": "kube-system"}},
    )
    assert code == 400
    assert body["reason"] == "BadRequest"


def test_unknown_path_is_404(apiserver) -> None:
    code, body, _ = raw(apiserver.url, "GET", "/apis/nope.example.com/v1/things")
    assert code == 404
    assert body["reason"] == "NotFound"
    code, body, _ = raw(apiserver.url, "GET", "/api/v1/namespaces/default/nothings")
    assert code == 404


def test_required_name(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    code, body = _error(v1.create_namespaced_config_map, "default", {"metadata": {}})
    assert code == 422
    assert body["details"]["causes"][0] == {
        "reason": "FieldValueRequired",
        "message": "Required value: name or generateName is required",
        "field": "metadata.name",
    }
    made = v1.create_namespaced_config_map("default", {"metadata": {"generateName": "gen-"}})
    assert made.metadata.name.startswith("gen-") and len(made.metadata.name) == 9


def test_malformed_bodies_are_400(apiserver) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    code, body, _ = raw(apiserver.url, "POST", path, b"{not json")
    assert code == 400 and body["reason"] == "BadRequest"
    code, body, _ = raw(apiserver.url, "POST", path, [1, 2])
    assert code == 400
    code, body, _ = raw(
        apiserver.url,
        "POST",
        path,
        b"k8s\x00\x0a\x02\x0a\x00",
        {"Content-Type": "application/vnd.kubernetes.protobuf"},
    )
    assert code in (400, 415) and body["kind"] == "Status"


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({"bad key": "x"}, "name part must consist of alphanumeric characters"),
        ({"app": "bad value!"}, "a valid label must be an empty string"),
        ({"app": "x" * 64}, "must be no more than 63 characters"),
        ({"Bad_Prefix/app": "x"}, "prefix part a lowercase RFC 1123 subdomain"),
    ],
)
def test_invalid_labels_are_422(apiserver, labels: dict, fragment: str) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    code, body = _error(
        v1.create_namespaced_config_map, "default", {"metadata": {"name": "l", "labels": labels}}
    )
    assert code == 422
    assert body["details"]["causes"][0]["field"] == "metadata.labels"
    assert fragment in body["message"]


def test_valid_prefixed_labels_and_annotations(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    md = {
        "name": "ok",
        "labels": {"app.kubernetes.io/name": "ironlb", "empty": ""},
        "annotations": {"metallb.io/address-pool": "pool one, with spaces"},
    }
    made = v1.create_namespaced_config_map("default", {"metadata": md})
    assert made.metadata.annotations == md["annotations"]
