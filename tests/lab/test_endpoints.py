"""EndpointSlices and Endpoints from a Service's selector."""

from __future__ import annotations

from ironlb.lab.endpoints import desired_endpoints, desired_slice


def _pod(name: str, ip: str | None, node: str, ready: bool, app: str = "web") -> dict:
    status: dict = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {
        "metadata": {"name": name, "namespace": "default", "labels": {"app": app}, "uid": name},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}],
        },
        "status": status,
    }


SVC = {
    "metadata": {"name": "web", "namespace": "default", "uid": "svc"},
    "spec": {
        "selector": {"app": "web"},
        "ports": [{"name": "h", "port": 80, "targetPort": "http"}],
    },
}


def test_slice_lists_selected_pods_with_ip_resolving_named_ports():
    pods = [
        _pod("a", "198.19.11.2", "node1", True),
        _pod("b", "198.19.12.2", "node2", False),
        _pod("c", None, "node3", True),
        _pod("d", "198.19.13.9", "node3", True, app="other"),
    ]
    sl = desired_slice(SVC, pods)
    assert sl is not None
    assert sl["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert sl["ports"] == [{"name": "h", "port": 8080, "protocol": "TCP"}]
    assert [(e["addresses"], e["nodeName"], e["conditions"]["ready"]) for e in sl["endpoints"]] == [
        (["198.19.11.2"], "node1", True),
        (["198.19.12.2"], "node2", False),
    ]
    ep = desired_endpoints(sl)
    assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == ["198.19.11.2"]
    assert [a["ip"] for a in ep["subsets"][0]["notReadyAddresses"]] == ["198.19.12.2"]


def test_service_without_selector_gets_no_slice():
    svc = {"metadata": {"name": "x", "namespace": "default"}, "spec": {"ports": [{"port": 1}]}}
    assert desired_slice(svc, []) is None
