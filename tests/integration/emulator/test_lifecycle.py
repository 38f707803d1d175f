"""Restart with --state, TLS, bearer tokens, and `python -m ironlb.emulator`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, watch

from ironlb.emulator import EmulatorThread
from tests.integration.emulator.http import raw
from tests.plugins.emulator import kubectl_for, start_apiserver


def test_restart_with_state_keeps_objects_resource_version_and_watch_history(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    first = start_apiserver(tmp_path, [], state_file=state)
    v1 = client.CoreV1Api(first.api_client())
    v1.create_namespaced_service(
        "default",
        {"metadata": {"name": "keep"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}},
    )
    mark = v1.list_namespaced_service("default").metadata.resource_version
    v1.patch_namespaced_service("keep", "default", {"metadata": {"labels": {"a": "b"}}})
    before = v1.read_namespaced_service("keep", "default")
    port = first.emulator.port
    first.close()
    assert state.exists()

    second = start_apiserver(tmp_path, [], state_file=state, port=port)
    try:
        v1 = client.CoreV1Api(second.api_client())
        after = v1.read_namespaced_service("keep", "default")
        assert after.metadata.resource_version == before.metadata.resource_version
        assert after.metadata.uid == before.metadata.uid
        assert after.spec.cluster_ip == before.spec.cluster_ip
        # an informer resuming from an old resourceVersion gets the missed event, not 410
        events = [
            (e["type"], e["object"].metadata.labels)
            for e in watch.Watch().stream(
                v1.list_namespaced_service,
                namespace="default",
                resource_version=mark,
                timeout_seconds=1,
            )
        ]
        assert events == [("MODIFIED", {"a": "b"})]
        # allocations were rebuilt: the same node port cannot be handed out twice
        np = before.spec.ports[0].node_port
        with pytest.raises(client.ApiException) as info:
            v1.create_namespaced_service(
                "default",
                {
                    "metadata": {"name": "dup"},
                    "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": np}]},
                },
            )
        assert info.value.status == 422
        made = v1.create_namespaced_config_map("default", {"metadata": {"name": "new"}})
        assert int(made.metadata.resource_version) > int(after.metadata.resource_version)
    finally:
        second.close()


def test_crds_survive_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = start_apiserver(tmp_path, [Path("ironlb/config/crds")], state_file=state)
    co = client.CustomObjectsApi(first.api_client())
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
    first.close()
    second = start_apiserver(tmp_path, [], state_file=state)
    try:
        co = client.CustomObjectsApi(second.api_client())
        got = co.get_namespaced_custom_object(
            "metallb.io", "v1beta1", "default", "ipaddresspools", "p"
        )
        assert got["spec"]["addresses"] == ["203.0.113.0/24"]
    finally:
        second.close()


def test_tls_and_bearer_token(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, [], tls=True, token="s3cret-token")
    try:
        assert server.url.startswith("https://")
        v1 = client.CoreV1Api(server.api_client())
        assert v1.read_namespace("default").metadata.name == "default"
        from kubernetes import config

        cfg = client.Configuration()
        config.load_kube_config(config_file=server.kubeconfig, client_configuration=cfg)
        cfg.api_key = {}  # trusted CA, no token
        with pytest.raises(client.ApiException) as info:
            client.CoreV1Api(client.ApiClient(cfg)).read_namespace("default")
        assert info.value.status == 401
        assert json.loads(info.value.body)["reason"] == "Unauthorized"
        kubectl = kubectl_for(server)  # verifies the generated CA and sends the token
        assert "default" in kubectl("get", "namespaces", "-o", "name").stdout
    finally:
        server.close()


def test_health_and_discovery_documents(apiserver) -> None:
    for path in ("/healthz", "/readyz", "/livez"):
        assert raw(apiserver.url, "GET", path)[:2] == (200, "ok")
    _, api, _ = raw(apiserver.url, "GET", "/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    _, groups, _ = raw(apiserver.url, "GET", "/apis")
    names = {g["name"] for g in groups["groups"]}
    assert {
        "apps",
        "discovery.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
    } <= names
    _, group, _ = raw(apiserver.url, "GET", "/apis/apps")
    assert group["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    _, core, _ = raw(apiserver.url, "GET", "/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["services"]["shortNames"] == ["svc"]
    assert by_name["services/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["nodes"]["namespaced"] is False
    assert raw(apiserver.url, "GET", "/openapi/v2")[0] == 404
    _, root, _ = raw(apiserver.url, "GET", "/openapi/v3")
    assert "api/v1" in root["paths"]


def test_other_clients_work(apiserver) -> None:
    api = apiserver.api_client()
    ns = "default"
    lease = client.CoordinationV1Api(api).create_namespaced_lease(
        ns,
        {
            "metadata": {"name": "leader"},
            "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
        },
    )
    assert lease.spec.holder_identity == "a"
    es = client.DiscoveryV1Api(api).create_namespaced_endpoint_slice(
        ns,
        {
            "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["198.51.100.5"], "nodeName": "node1"}],
            "ports": [],
        },
    )
    assert es.endpoints[0].node_name == "node1"
    ev = client.EventsV1Api(api).create_namespaced_event(
        ns,
        {
            "metadata": {"name": "e1"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reason": "IPAllocated",
            "action": "Allocate",
            "type": "Normal",
            "reportingController": "ironlb",
            "reportingInstance": "c-1",
            "regarding": {"kind": "Service", "name": "web", "namespace": ns},
        },
    )
    assert ev.reason == "IPAllocated"
    ds = client.AppsV1Api(api).create_namespaced_daemon_set(
        ns,
        {
            "metadata": {"name": "speaker"},
            "spec": {
                "selector": {"matchLabels": {"app": "s"}},
                "template": {
                    "metadata": {"labels": {"app": "s"}},
                    "spec": {"containers": [{"name": "s", "image": "i"}]},
                },
            },
        },
    )
    assert ds.metadata.generation == 1
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_cluster_role({"metadata": {"name": "ironlb:controller"}, "rules": []})
    assert rbac.read_cluster_role("ironlb:controller").metadata.name == "ironlb:controller"


def test_module_entry_point_serves_until_sigterm_and_saves_state(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ironlb.emulator",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--state",
            str(state),
            "--crds",
            "ironlb/config/crds",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not kubeconfig.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert kubeconfig.exists(), proc.stdout.read() if proc.poll() is not None else "timeout"
        from kubernetes import config

        api = config.new_client_from_config(str(kubeconfig))
        client.CoreV1Api(api).create_namespaced_config_map(
            "default", {"metadata": {"name": "persisted"}}
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    names = [o["object"]["metadata"]["name"] for o in json.loads(state.read_text())["objects"]]
    assert "persisted" in names


def test_emulator_thread_context_manager() -> None:
    with EmulatorThread() as emu:
        code, body, _ = raw(emu.url, "GET", "/version")
        assert code == 200 and body["major"] == "1"


def test_autosave_writes_state_while_running(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    server = start_apiserver(tmp_path, [], state_file=state, autosave_interval=0.05)
    try:
        client.CoreV1Api(server.api_client()).create_namespaced_config_map(
            "default", {"metadata": {"name": "autosaved"}}
        )
        names: list[str] = []
        deadline = time.monotonic() + 10
        while "autosaved" not in names and time.monotonic() < deadline:
            time.sleep(0.05)
            if state.exists():
                data = json.loads(state.read_text())
                names = [o["object"]["metadata"]["name"] for o in data["objects"]]
        assert "autosaved" in names
    finally:
        server.close()


def test_core_and_events_k8s_io_events_share_storage(apiserver) -> None:
    api = apiserver.api_client()
    core, new = client.CoreV1Api(api), client.EventsV1Api(api)
    rv = core.list_namespaced_event("default").metadata.resource_version
    new.create_namespaced_event(
        "default",
        {
            "metadata": {"name": "n1"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reason": "IPAllocated",
            "note": "Assigned IP",
            "action": "Allocate",
            "type": "Normal",
            "reportingController": "ironlb",
            "reportingInstance": "c-1",
            "regarding": {"kind": "Service", "name": "web", "namespace": "default"},
        },
    )
    core.create_namespaced_event(
        "default",
        {
            "metadata": {"name": "c1"},
            "reason": "Old",
            "message": "core style",
            # EventsV1Event requires eventTime (a real server's null fails that client too)
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "involvedObject": {"kind": "Node", "name": "node1"},
        },
    )
    seen_by_core = core.read_namespaced_event("n1", "default")
    assert (seen_by_core.message, seen_by_core.involved_object.kind) == ("Assigned IP", "Service")
    seen_by_new = new.read_namespaced_event("c1", "default")
    assert (seen_by_new.note, seen_by_new.regarding.kind) == ("core style", "Node")
    only_services = new.list_namespaced_event("default", field_selector="regarding.kind=Service")
    assert [e.metadata.name for e in only_services.items] == ["n1"]
    patched = new.patch_namespaced_event("c1", "default", {"note": "patched"})
    assert patched.note == "patched"
    assert core.read_namespaced_event("c1", "default").message == "patched"
    events = [
        (e["type"], e["raw_object"]["apiVersion"], e["raw_object"]["metadata"]["name"])
        for e in watch.Watch().stream(
            new.list_namespaced_event,
            namespace="default",
            resource_version=rv,
            timeout_seconds=1,
        )
    ]
    assert events == [
        ("ADDED", "events.k8s.io/v1", "n1"),
        ("ADDED", "events.k8s.io/v1", "c1"),
        ("MODIFIED", "events.k8s.io/v1", "c1"),
    ]


def test_fixture_restart_keeps_state_on_the_same_url(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    made = v1.create_namespaced_config_map("default", {"metadata": {"name": "kept"}})
    url = apiserver.url
    apiserver.restart()
    assert apiserver.url == url
    v1 = client.CoreV1Api(apiserver.api_client())
    got = v1.read_namespaced_config_map("kept", "default")
    assert got.metadata.resource_version == made.metadata.resource_version
    apiserver.restart(keep_state=False)
    names = {
        c.metadata.name
        for c in client.CoreV1Api(apiserver.api_client())
        .list_namespaced_config_map("default")
        .items
    }
    assert "kept" not in names
