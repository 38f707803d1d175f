"""The emulator starts, serves discovery and core CRUD to the official client."""

from __future__ import annotations

import pytest
from kubernetes import client


def test_core_crud_round_trip(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    names = {ns.metadata.name for ns in v1.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    cm = v1.create_namespaced_config_map(
        "default", {"metadata": {"name": "c1"}, "data": {"a": "1"}}
    )
    assert cm.metadata.uid and cm.metadata.creation_timestamp
    got = v1.read_namespaced_config_map("c1", "default")
    assert got.data == {"a": "1"}
    v1.delete_namespaced_config_map("c1", "default")
    with pytest.raises(client.ApiException) as info:
        v1.read_namespaced_config_map("c1", "default")
    assert info.value.status == 404


def test_version_and_health(apiserver) -> None:
    api = apiserver.api_client()
    info = client.VersionApi(api).get_code()
    assert info.major == "1"
    assert info.minor == "32"
