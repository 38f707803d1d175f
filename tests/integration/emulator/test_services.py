"""Service ClusterIP and NodePort allocation like kube-apiserver's allocators."""

from __future__ import annotations

import ipaddress
import json

import pytest
from kubernetes import client

CIDR = ipaddress.ip_network("198.19.128.0/17")


def _svc(name: str, type_: str = "ClusterIP", **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {"type": type_, "ports": [{"port": 80}], **spec}}


def _fail(fn, *args) -> dict:
    with pytest.raises(client.ApiException) as info:
        fn(*args)
    assert info.value.status == 422
    return json.loads(info.value.body)


def test_cluster_ip_allocated_from_cidr_and_unique(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    ips = set()
    for i in range(5):
        s = v1.create_namespaced_service("default", _svc(f"s{i}"))
        assert ipaddress.ip_address(s.spec.cluster_ip) in CIDR
        assert s.spec.cluster_ips == [s.spec.cluster_ip]
        assert s.spec.ip_families == ["IPv4"]
        assert s.spec.ports[0].node_port is None
        assert s.spec.ports[0].target_port == 80
        ips.add(s.spec.cluster_ip)
    assert len(ips) == 5


def test_requested_cluster_ip_honoured_duplicate_and_out_of_range_rejected(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    s = v1.create_namespaced_service("default", _svc("a", clusterIP="198.19.200.7"))
    assert s.spec.cluster_ip == "198.19.200.7"
    body = _fail(v1.create_namespaced_service, "default", _svc("b", clusterIP="198.19.200.7"))
    assert "provided IP is already allocated" in body["message"]
    assert body["details"]["causes"][0]["field"] == "spec.clusterIPs"
    body = _fail(v1.create_namespaced_service, "default", _svc("c", clusterIP="10.0.0.1"))
    assert "is not in the valid range" in body["message"]
    v1.delete_namespaced_service("a", "default")
    again = v1.create_namespaced_service("default", _svc("d", clusterIP="198.19.200.7"))
    assert again.spec.cluster_ip == "198.19.200.7"


def test_cluster_ip_is_immutable(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_namespaced_service("default", _svc("a"))
    body = _fail(
        v1.patch_namespaced_service,
        "a",
        "default",
        {"spec": {"clusterIP": "198.19.200.8", "clusterIPs": ["198.19.200.8"]}},
    )
    assert body["reason"] == "Invalid"


def test_headless_and_external_name(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    s = v1.create_namespaced_service("default", _svc("h", clusterIP="None"))
    assert s.spec.cluster_ip == "None"
    e = v1.create_namespaced_service(
        "default",
        {"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "x.test"}},
    )
    assert e.spec.cluster_ip is None


def test_node_ports_allocated_for_loadbalancer_and_nodeport(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    lb = v1.create_namespaced_service("default", _svc("lb", "LoadBalancer"))
    np = v1.create_namespaced_service("default", _svc("np", "NodePort"))
    ports = [lb.spec.ports[0].node_port, np.spec.ports[0].node_port]
    assert all(30000 <= p <= 32767 for p in ports) and ports[0] != ports[1]
    assert lb.spec.external_traffic_policy == "Cluster"
    assert lb.spec.allocate_load_balancer_node_ports is True
    no_alloc = v1.create_namespaced_service(
        "default", _svc("lb2", "LoadBalancer", allocateLoadBalancerNodePorts=False)
    )
    assert no_alloc.spec.ports[0].node_port is None


def test_requested_node_port_rules(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    spec = {"type": "NodePort", "ports": [{"port": 80, "nodePort": 31000}]}
    s = v1.create_namespaced_service("default", {"metadata": {"name": "a"}, "spec": spec})
    assert s.spec.ports[0].node_port == 31000
    body = _fail(v1.create_namespaced_service, "default", {"metadata": {"name": "b"}, "spec": spec})
    assert body["details"]["causes"][0] == {
        "reason": "FieldValueInvalid",
        "message": "Invalid value: 31000: provided port is already allocated",
        "field": "spec.ports[0].nodePort",
    }
    bad = {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}
    body = _fail(v1.create_namespaced_service, "default", {"metadata": {"name": "c"}, "spec": bad})
    assert "The range of valid ports is 30000-32767" in body["message"]


def test_type_change_releases_node_ports(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    spec = {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 31001}]}
    v1.create_namespaced_service("default", {"metadata": {"name": "a"}, "spec": spec})
    s = v1.patch_namespaced_service(
        "a",
        "default",
        [
            {"op": "replace", "path": "/spec/type", "value": "ClusterIP"},
            {"op": "remove", "path": "/spec/externalTrafficPolicy"},
            {"op": "remove", "path": "/spec/allocateLoadBalancerNodePorts"},
        ],
    )
    assert s.spec.ports[0].node_port is None
    taken = v1.create_namespaced_service("default", {"metadata": {"name": "b"}, "spec": spec})
    assert taken.spec.ports[0].node_port == 31001


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        ({"type": "Balancer", "ports": [{"port": 80}]}, "spec.type", "FieldValueNotSupported"),
        ({"type": "ClusterIP"}, "spec.ports", "FieldValueRequired"),
        ({"ports": [{"port": 0}]}, "spec.ports[0].port", "FieldValueInvalid"),
        (
            {"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]},
            "spec.ports[1].name",
            "FieldValueDuplicate",
        ),
        (
            {"ports": [{"port": 80, "name": "http"}, {"port": 443}]},
            "spec.ports[1].name",
            "FieldValueRequired",
        ),
        (
            {"ports": [{"port": 80, "protocol": "ICMP"}]},
            "spec.ports[0].protocol",
            "FieldValueNotSupported",
        ),
        (
            {"ports": [{"port": 80}], "loadBalancerClass": "x"},
            "spec.loadBalancerClass",
            "FieldValueForbidden",
        ),
    ],
)
def test_service_validation(apiserver, spec: dict, field: str, reason: str) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    body = _fail(v1.create_namespaced_service, "default", {"metadata": {"name": "v"}, "spec": spec})
    assert {(c["field"], c["reason"]) for c in body["details"]["causes"]} >= {(field, reason)}


def test_load_balancer_class_is_immutable(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_namespaced_service(
        "default", _svc("lbc", "LoadBalancer", loadBalancerClass="ironlb.io/lb")
    )
    body = _fail(
        v1.patch_namespaced_service,
        "lbc",
        "default",
        {"spec": {"loadBalancerClass": "other.io/lb"}},
    )
    assert body["details"]["causes"][0]["field"] == "spec.loadBalancerClass"
