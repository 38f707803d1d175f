"""CRDs registered at run time: serving, discovery, schema validation, defaults, status."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, dynamic

GROUP = "example.ironlb.io"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wg"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"}
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                    "color": {
                                        "type": "string",
                                        "enum": ["red", "blue"],
                                        "default": "red",
                                    },
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "free": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {"ready": {"type": "boolean"}},
                            },
                        },
                    }
                },
            },
            {
                "name": "v1beta1",
                "served": True,
                "storage": False,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            },
        ],
    },
}


def _widget(name: str, **spec) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def widgets(apiserver):
    api = apiserver.api_client()
    client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
    return client.CustomObjectsApi(api)


def _create(co, body, **kw):
    return co.create_namespaced_custom_object(GROUP, "v1", "default", "widgets", body, **kw)


def test_crd_is_established_and_served(apiserver, widgets) -> None:
    ext = client.ApiextensionsV1Api(apiserver.api_client())
    crd = ext.read_custom_resource_definition(f"widgets.{GROUP}")
    conds = {c.type: c.status for c in crd.status.conditions}
    assert conds == {"NamesAccepted": "True", "Established": "True"}
    assert crd.status.accepted_names.kind == "Widget"
    made = _create(widgets, _widget("w1", size=3))
    assert made["metadata"]["generation"] == 1
    assert made["spec"] == {"size": 3, "color": "red"}  # default applied
    listed = widgets.list_namespaced_custom_object(GROUP, "v1", "default", "widgets")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["w1"]
    assert listed["kind"] == "WidgetList"
    # the other served version sees the same object, and validates with its own schema
    other = widgets.get_namespaced_custom_object(GROUP, "v1beta1", "default", "widgets", "w1")
    assert other["apiVersion"] == f"{GROUP}/v1beta1"
    loose = widgets.create_namespaced_custom_object(
        GROUP,
        "v1beta1",
        "default",
        "widgets",
        {
            "apiVersion": f"{GROUP}/v1beta1",
            "kind": "Widget",
            "metadata": {"name": "loose"},
            "spec": {"anything": "goes"},
        },
    )
    assert loose["spec"] == {"anything": "goes"}


def test_schema_violation_is_422_with_causes(widgets) -> None:
    with pytest.raises(client.ApiException) as info:
        _create(widgets, _widget("bad", size="big", color="green"))
    assert info.value.status == 422
    body = json.loads(info.value.body)
    assert body["reason"] == "Invalid"
    assert body["details"]["group"] == GROUP and body["details"]["kind"] == "Widget"
    causes = {c["field"]: c for c in body["details"]["causes"]}
    assert causes["spec.size"]["reason"] == "FieldValueInvalid"
    assert "spec.size in body must be of type integer" in causes["spec.size"]["message"]
    assert causes["spec.color"]["reason"] == "FieldValueNotSupported"
    assert body["message"].startswith(f'Widget.{GROUP} "bad" is invalid: [')
    with pytest.raises(client.ApiException) as info:
        _create(widgets, _widget("missing"))
    cause = json.loads(info.value.body)["details"]["causes"][0]
    assert cause == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.size",
    }
    with pytest.raises(client.ApiException) as info:
        _create(widgets, _widget("big", size=11))
    assert "should be less than or equal to 10" in info.value.body


def test_unknown_fields_pruned_or_rejected_when_strict(widgets) -> None:
    made = _create(
        widgets, _widget("p", size=1, bogus=True, port="http", free={"anything": [1, 2]})
    )
    assert made["spec"] == {"size": 1, "color": "red", "port": "http", "free": {"anything": [1, 2]}}
    with pytest.raises(client.ApiException) as info:
        _create(widgets, _widget("q", size=1, bogus=True), field_validation="Strict")
    assert info.value.status == 400
    assert json.loads(info.value.body)["message"] == (
        'strict decoding error: unknown field "spec.bogus"'
    )


def test_status_subresource_and_generation(widgets) -> None:
    _create(widgets, {**_widget("s", size=2), "status": {"ready": True}})
    got = widgets.get_namespaced_custom_object(GROUP, "v1", "default", "widgets", "s")
    assert "status" not in got
    got = widgets.patch_namespaced_custom_object_status(
        GROUP, "v1", "default", "widgets", "s", {"status": {"ready": True}, "spec": {"size": 9}}
    )
    assert got["status"] == {"ready": True} and got["spec"]["size"] == 2
    assert got["metadata"]["generation"] == 1
    got = widgets.patch_namespaced_custom_object(
        GROUP, "v1", "default", "widgets", "s", {"spec": {"size": 4}, "status": {"ready": False}}
    )
    assert got["metadata"]["generation"] == 2 and got["status"] == {"ready": True}


def test_dynamic_client_discovers_runtime_crd(apiserver, widgets) -> None:
    dyn = dynamic.DynamicClient(apiserver.api_client())
    res = dyn.resources.get(api_version=f"{GROUP}/v1", kind="Widget")
    assert res.namespaced and res.name == "widgets"
    res.create(body=_widget("d", size=5), namespace="default")
    got = res.get(name="d", namespace="default")
    assert got.spec.size == 5
    svc = dyn.resources.get(api_version="v1", kind="Service")
    assert svc.name == "services"
    deploy = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deploy.namespaced


def test_deleting_crd_removes_resources_and_endpoint(apiserver, widgets) -> None:
    _create(widgets, _widget("gone", size=1))
    client.ApiextensionsV1Api(apiserver.api_client()).delete_custom_resource_definition(
        f"widgets.{GROUP}"
    )
    with pytest.raises(client.ApiException) as info:
        widgets.list_namespaced_custom_object(GROUP, "v1", "default", "widgets")
    assert info.value.status == 404


def test_invalid_crd_is_rejected(apiserver) -> None:
    ext = client.ApiextensionsV1Api(apiserver.api_client())
    bad = json.loads(json.dumps(CRD))
    bad["metadata"]["name"] = "wrong.example.com"
    with pytest.raises(client.ApiException) as info:
        ext.create_custom_resource_definition(bad)
    assert info.value.status == 422
    assert 'must be spec.names.plural+"."+spec.group' in json.loads(info.value.body)["message"]


def test_metallb_crds_registered(apiserver_with_crds) -> None:
    co = client.CustomObjectsApi(apiserver_with_crds.api_client())
    pool = co.create_namespaced_custom_object(
        "metallb.io",
        "v1beta1",
        "default",
        "ipaddresspools",
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": "pool"},
            "spec": {"addresses": ["203.0.113.0/24"]},
        },
    )
    assert pool["spec"]["autoAssign"] is True
    with pytest.raises(client.ApiException) as info:
        co.create_namespaced_custom_object(
            "metallb.io",
            "v1beta1",
            "default",
            "ipaddresspools",
            {
                "apiVersion": "metallb.io/v1beta1",
                "kind": "IPAddressPool",
                "metadata": {"name": "bad"},
                "spec": {"addresses": "203.0.113.0/24"},
            },
        )
    assert info.value.status == 422
