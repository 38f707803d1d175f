"""The real kubectl 1.32 against the emulator: apply, create, expose, get, patch, delete."""

from __future__ import annotations

import json
from pathlib import Path

from tests.plugins.emulator import CRD_DIR, kubectl_for

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: metallb-system
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: kind-pool
  namespace: metallb-system
spec:
  addresses:
  - 203.0.113.200-203.0.113.250
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: kind-l2
  namespace: metallb-system
spec:
  ipAddressPools:
  - kind-pool
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: metallb-system
data:
  mode: l2
"""


def _table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_apply_crds_then_multidoc_manifest(apiserver, tmp_path: Path) -> None:
    kubectl = kubectl_for(apiserver)
    out = kubectl("apply", "-f", str(CRD_DIR)).stdout
    assert "customresourcedefinition.apiextensions.k8s.io/ipaddresspools.metallb.io created" in out
    manifest = tmp_path / "pool.yaml"
    manifest.write_text(MANIFEST)
    out = kubectl("apply", "-f", str(manifest)).stdout.splitlines()
    assert out == [
        "namespace/metallb-system created",
        "ipaddresspool.metallb.io/kind-pool created",
        "l2advertisement.metallb.io/kind-l2 created",
        "configmap/settings created",
    ]
    out = kubectl("apply", "-f", str(manifest)).stdout.splitlines()
    assert all(line.endswith(" unchanged") for line in out), out
    manifest.write_text(MANIFEST.replace("mode: l2", "mode: bgp").replace(".250", ".240"))
    out = kubectl("apply", "-f", str(manifest)).stdout.splitlines()
    assert "ipaddresspool.metallb.io/kind-pool configured" in out
    assert "configmap/settings configured" in out
    assert "namespace/metallb-system unchanged" in out
    rows = _table(kubectl("get", "ipaddresspools", "-n", "metallb-system").stdout)
    assert rows[0][:2] == ["NAME", "AUTO"]
    assert rows[1][0] == "kind-pool" and rows[1][1] == "true"
    pool = json.loads(
        kubectl("get", "ipaddresspool", "kind-pool", "-n", "metallb-system", "-o", "json").stdout
    )
    assert pool["spec"]["addresses"] == ["203.0.113.200-203.0.113.240"]


def test_create_deployment_expose_and_get_svc(kubectl) -> None:
    assert kubectl("create", "deployment", "web", "--image=nginx", "--port=80").stdout == (
        "deployment.apps/web created\n"
    )
    assert kubectl("expose", "deployment", "web", "--type=LoadBalancer", "--port=80").stdout == (
        "service/web exposed\n"
    )
    rows = _table(kubectl("get", "svc", "web").stdout)
    assert rows[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    name, type_, cluster_ip, external, ports, _age = rows[1]
    assert (name, type_, external) == ("web", "LoadBalancer", "<pending>")
    assert cluster_ip.startswith("198.19.")
    assert ports.startswith("80:") and ports.endswith("/TCP")
    svc = json.loads(kubectl("get", "svc", "web", "-o", "json").stdout)
    assert svc["spec"]["selector"] == {"app": "web"}
    rows = _table(kubectl("get", "deployments").stdout)
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1][:2] == ["web", "0/1"]


def test_status_shows_external_ip_after_status_patch(kubectl) -> None:
    kubectl("create", "service", "loadbalancer", "lb", "--tcp=80:8080")
    kubectl(
        "patch",
        "svc",
        "lb",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.10"}]}}}',
    )
    rows = _table(kubectl("get", "svc", "lb").stdout)
    assert rows[1][3] == "203.0.113.10"


def test_patch_types_and_delete(kubectl) -> None:
    kubectl("create", "configmap", "cfg", "--from-literal=a=1")
    kubectl("patch", "configmap", "cfg", "-p", '{"data":{"b":"2"}}')
    kubectl("patch", "configmap", "cfg", "--type=merge", "-p", '{"data":{"a":null}}')
    kubectl(
        "patch",
        "configmap",
        "cfg",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/data/c","value":"3"}]',
    )
    data = json.loads(kubectl("get", "cm", "cfg", "-o", "json").stdout)["data"]
    assert data == {"b": "2", "c": "3"}
    assert kubectl("delete", "configmap", "cfg").stdout == 'configmap "cfg" deleted\n'
    missing = kubectl("get", "configmap", "cfg", check=False)
    assert missing.returncode != 0
    assert 'Error from server (NotFound): configmaps "cfg" not found' in missing.stderr


def test_get_all_namespaces_and_label_selector(kubectl) -> None:
    kubectl("create", "namespace", "team")
    kubectl("create", "configmap", "one", "-n", "team")
    kubectl("label", "configmap", "one", "-n", "team", "tier=gold")
    rows = _table(kubectl("get", "cm", "-A", "-l", "tier=gold").stdout)
    assert rows[0][:2] == ["NAMESPACE", "NAME"]
    assert rows[1][:2] == ["team", "one"]


def test_server_side_apply_and_dry_run(kubectl, tmp_path: Path) -> None:
    doc = tmp_path / "cm.yaml"
    doc.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: v\n")
    assert "serverside-applied" in kubectl("apply", "--server-side", "-f", str(doc)).stdout
    kubectl("apply", "--dry-run=server", "-f", str(doc))
    out = kubectl("create", "configmap", "dry", "--dry-run=server").stdout
    assert "dry" in out
    assert kubectl("get", "cm", "dry", check=False).returncode != 0


def test_scale_and_auth_can_i(kubectl) -> None:
    kubectl("create", "deployment", "web", "--image=nginx:1.27")
    assert kubectl("scale", "deployment", "web", "--replicas=3").stdout == (
        "deployment.apps/web scaled\n"
    )
    d = json.loads(kubectl("get", "deployment", "web", "-o", "json").stdout)
    assert (d["spec"]["replicas"], d["metadata"]["generation"]) == (3, 2)
    assert kubectl("auth", "can-i", "create", "services").stdout.strip() == "yes"


def test_delete_from_manifest_and_namespace(kubectl, tmp_path: Path) -> None:
    ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: scratch\n"
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: scratch\n"
    manifest = tmp_path / "m.yaml"
    manifest.write_text(ns + "---\n" + cm)
    kubectl("apply", "-f", str(manifest))
    # contents first: the emulator empties a namespace synchronously (docs/emulator.md)
    manifest.write_text(cm + "---\n" + ns)
    out = kubectl("delete", "-f", str(manifest)).stdout.splitlines()
    assert out == ['configmap "c" deleted', 'namespace "scratch" deleted']
    missing = kubectl("get", "ns", "scratch", check=False)
    assert 'namespaces "scratch" not found' in missing.stderr


def test_get_watch_prints_table_rows(apiserver, kubectl) -> None:
    import threading

    from kubernetes import client

    v1 = client.CoreV1Api(apiserver.api_client())
    timer = threading.Timer(
        1.0, lambda: v1.create_namespaced_config_map("default", {"metadata": {"name": "late"}})
    )
    timer.start()
    try:
        proc = kubectl(
            "get", "configmaps", "--watch", "--request-timeout=3s", check=False, timeout=20
        )
    finally:
        timer.cancel()
    rows = _table(proc.stdout)
    assert rows[0] == ["NAME", "DATA", "AGE"]
    assert rows[-1][:2] == ["late", "0"]


def test_tables_for_lab_kinds(apiserver, kubectl) -> None:
    from kubernetes import client

    api = apiserver.api_client()
    client.CoreV1Api(api).create_namespaced_event(
        "default",
        {
            "metadata": {"name": "e1"},
            "type": "Normal",
            "reason": "IPAllocated",
            "message": "Assigned IP 203.0.113.10",
            "involvedObject": {"kind": "Service", "name": "web", "namespace": "default"},
            "lastTimestamp": "2026-01-01T00:00:00Z",
        },
    )
    client.CoordinationV1Api(api).create_namespaced_lease(
        "default", {"metadata": {"name": "ironlb-controller"}, "spec": {"holderIdentity": "c-1"}}
    )
    client.DiscoveryV1Api(api).create_namespaced_endpoint_slice(
        "default",
        {
            "metadata": {"name": "web-1"},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["198.51.100.5"]}],
            "ports": [{"port": 80}],
        },
    )
    events = _table(kubectl("get", "events").stdout)
    assert events[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1][1:4] == ["Normal", "IPAllocated", "service/web"]
    leases = _table(kubectl("get", "leases").stdout)
    assert leases[1][:2] == ["ironlb-controller", "c-1"]
    slices = _table(kubectl("get", "endpointslices").stdout)
    assert slices[1][:4] == ["web-1", "IPv4", "80", "198.51.100.5"]
    kubectl("apply", "-f", str(CRD_DIR / "metallb.io_ipaddresspools.yaml"))
    crds = _table(kubectl("get", "crds").stdout)
    assert crds[0] == ["NAME", "CREATED", "AT"]


def test_typed_create_commands_protobuf(kubectl) -> None:
    """kubectl's typed commands send protobuf; each kind must decode to the right object."""
    kubectl("run", "client", "--image=busybox:1.36", "--labels=app=client", "--port=8080")
    pod = json.loads(kubectl("get", "pod", "client", "-o", "json").stdout)
    assert pod["metadata"]["labels"] == {"app": "client"}
    container = pod["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("client", "busybox:1.36")
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    kubectl("create", "clusterrole", "reader", "--verb=get,list", "--resource=services")
    role = json.loads(kubectl("get", "clusterrole", "reader", "-o", "json").stdout)
    assert role["rules"] == [
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["services"]}
    ]
    kubectl("create", "rolebinding", "rb", "--clusterrole=reader", "--user=alice")
    rb = json.loads(kubectl("get", "rolebinding", "rb", "-o", "json").stdout)
    assert rb["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "reader",
    }
    assert rb["subjects"] == [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}
    ]
    kubectl("create", "secret", "generic", "pw", "--from-literal=password=s3cret")
    secret = json.loads(kubectl("get", "secret", "pw", "-o", "json").stdout)
    assert secret["data"] == {"password": "czNjcmV0"}
    kubectl("create", "serviceaccount", "speaker")
    kubectl("get", "serviceaccount", "speaker")
