"""doctor, status and migrate-configmap against a live API (a real kube-apiserver, through
the real kubernetes client): each mistake built in the cluster is reported; a healthy
cluster reports nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from ironlb.cli.main import main
from ironlb.kube.client import (
    BGPSESSIONSTATES,
    CONFIGMAPS,
    DAEMONSETS,
    EVENTS,
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    NODES,
    SERVICES,
    Kube,
)
from speaker.bgp.session_state import PeerState, build_object
from tests.unit.doctor import objects as o


@dataclass
class Cluster:
    kube: Kube
    kubeconfig: str
    ns: str  # where the test's Services live


@pytest.fixture
def cluster(apiserver: Any, kube_namespace: str) -> Cluster:
    kube = Kube(apiserver.api_client())
    apiserver.ensure_namespace("metallb-system")  # default and kube-system are always there
    kube.create(IPADDRESSPOOLS, o.pool("web", "203.0.113.10-203.0.113.11"))
    kube.create(L2ADVERTISEMENTS, o.l2adv("web-l2", "web"))
    return Cluster(kube, apiserver.kubeconfig, kube_namespace)


def add_service(c: Cluster, name: str, *ips: str) -> None:
    kube = c.kube
    svc = o.service(name, *ips, ns=c.ns, pool_name="web" if ips else None)
    status = svc.pop("status")
    created = kube.create(SERVICES, svc)
    if ips:
        created["status"] = status
        kube.replace(SERVICES, created, subresource="status")


def klipper_daemonset(name: str, image: str) -> dict[str, Any]:
    """o.daemonset made whole: a real apiserver wants a selector matching the template."""
    ds = o.daemonset(name, "kube-system", image)
    labels = {"app": name}
    ds["spec"]["selector"] = {"matchLabels": labels}
    ds["spec"]["template"]["metadata"] = {"labels": labels}
    return ds


def doctor(kubeconfig: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["doctor", "--kubeconfig", kubeconfig, "-o", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_healthy_cluster(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    add_service(cluster, "shop", "203.0.113.10")
    code, report = doctor(cluster.kubeconfig, capsys)
    assert (code, report["findings"]) == (0, [])
    assert report["source"] == "cluster"


def test_mistakes_in_cluster(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    kube, kubeconfig = cluster.kube, cluster.kubeconfig
    add_service(cluster, "shop", "203.0.113.10")
    add_service(cluster, "cart", "203.0.113.11")
    add_service(cluster, "waiting")
    event = o.event("Service", "waiting", "AllocationFailed", "no available IPs", ns=cluster.ns)
    kube.create(EVENTS, event)
    kube.create(IPADDRESSPOOLS, o.pool("dark", "203.0.113.64/28"))
    kube.create(DAEMONSETS, klipper_daemonset("svclb-web-1", "rancher/klipper-lb:v0.4"))
    cm = o.configmap("config", "metallb-system", {"config": "address-pools: []\n"})
    kube.create(CONFIGMAPS, cm)
    k3s = o.node("cp1")
    k3s["metadata"]["annotations"] = {"k3s.io/node-args": '["server","--disable","traefik"]'}
    kube.create(NODES, k3s)
    proxy = {"config.conf": "mode: ipvs\nipvs:\n  strictARP: false\n"}
    kube.create(CONFIGMAPS, o.configmap("kube-proxy", "kube-system", proxy))
    session = build_object("cp1", "metallb-system", PeerState("tor", "198.51.100.1", "Active"))
    created = kube.create(BGPSESSIONSTATES, session)
    kube.replace(BGPSESSIONSTATES, {**created, "status": session["status"]}, subresource="status")
    code, report = doctor(kubeconfig, capsys)
    found = {f["code"]: f for f in report["findings"]}
    assert code == 2
    assert set(found) == {
        "pool-not-advertised",
        "pool-exhausted",
        "service-pending",
        "klipper-active",
        "legacy-configmap",
        "ipvs-without-strictarp",
        "bgp-session-down",
    }
    assert found["service-pending"]["why"] == "AllocationFailed: no available IPs"
    assert found["pool-exhausted"]["objects"] == ["IPAddressPool metallb-system/web"]
    assert found["klipper-active"]["objects"] == ["DaemonSet kube-system/svclb-web-1", "Node cp1"]
    assert found["bgp-session-down"]["title"] == "BGP session cp1 -> tor (198.51.100.1) is Active"


def test_status_and_migrate_from_cluster(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    kube, kubeconfig = cluster.kube, cluster.kubeconfig
    add_service(cluster, "shop", "203.0.113.10")
    assert main(["status", "--kubeconfig", kubeconfig]) == 0
    out = capsys.readouterr().out
    assert "shop" in out and "203.0.113.10" in out and "50.0%" in out
    text = "address-pools:\n- name: old\n  protocol: layer2\n  addresses: [203.0.113.96/28]\n"
    kube.create(CONFIGMAPS, o.configmap("config", "metallb-system", {"config": text}))
    assert main(["migrate-configmap", "--from-cluster", "--kubeconfig", kubeconfig]) == 0
    assert "name: old-l2" in capsys.readouterr().out
    assert (
        main(["migrate-configmap", "--from-cluster", "--kubeconfig", kubeconfig, "--name", "nope"])
        == 2
    )
    assert "metallb-system/nope not found" in capsys.readouterr().err


def test_unreachable_cluster_is_a_clean_error(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "
        "'http://127.0.0.1:9'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\n"
        "current-context: c\nusers:\n- name: u\n  user: {}\n"
    )
    assert main(["doctor", "--kubeconfig", str(kubeconfig)]) == 2
    assert "error:" in capsys.readouterr().err
