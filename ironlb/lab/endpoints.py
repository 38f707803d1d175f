"""The EndpointSlice and Endpoints objects a Service's selector implies (pure).

Stands in for kube-controller-manager's endpointslice and endpoints controllers: one slice per
Service (``<service>-lab``), labelled ``kubernetes.io/service-name``, listing the selected Pods
that have an IP, with ``ready``/``serving``/``terminating`` conditions and ``nodeName`` (the
speaker reads those for ``externalTrafficPolicy: Local``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ironlb.lab.workloads import pod_ready

Obj = dict[str, Any]
MANAGED_BY = "endpointslice-controller.k8s.io"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _container_port(pod: Obj, target: int | str) -> int | None:
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for container in pod.get("spec", {}).get("containers", []) or []:
        for port in container.get("ports", []) or []:
            if port.get("name") == target:
                return int(port["containerPort"])
    return None


def slice_name(service: Obj) -> str:
    return f"{service['metadata']['name']}-lab"


def desired_slice(service: Obj, pods: Iterable[Obj]) -> Obj | None:
    """The slice for ``service``, or None when it has no selector (user-managed endpoints)."""
    spec = service.get("spec", {})
    selector = spec.get("selector") or {}
    if not selector or spec.get("type") == "ExternalName":
        return None
    ns = service["metadata"]["namespace"]
    chosen = [
        p
        for p in pods
        if p["metadata"].get("namespace") == ns
        and selects(selector, p["metadata"].get("labels", {}) or {})
        and p.get("status", {}).get("podIP")
    ]
    chosen.sort(key=lambda p: p["metadata"]["name"])
    ports = []
    for sp in spec.get("ports", []) or []:
        target = sp.get("targetPort", sp.get("port"))
        number = None
        for pod in chosen:
            number = _container_port(pod, target)
            if number is not None:
                break
        if number is None and isinstance(target, int):
            number = target
        if number is not None:
            ports.append(
                {"name": sp.get("name", ""), "port": number, "protocol": sp.get("protocol", "TCP")}
            )
    endpoints = []
    for pod in chosen:
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        ready = pod_ready(pod) and not terminating
        endpoints.append(
            {
                "addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": ready, "terminating": terminating},
                "nodeName": pod.get("spec", {}).get("nodeName"),
                "targetRef": {
                    "kind": "Pod",
                    "namespace": ns,
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"].get("uid"),
                },
            }
        )
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": slice_name(service),
            "namespace": ns,
            "labels": {
                SERVICE_NAME_LABEL: service["metadata"]["name"],
                "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
            },
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": service["metadata"]["name"],
                    "uid": service["metadata"].get("uid"),
                    "controller": True,
                }
            ],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }


def desired_endpoints(slice_: Obj) -> Obj:
    """The legacy Endpoints object matching a slice (``kubectl describe svc`` shows it)."""
    meta = slice_["metadata"]
    ready, not_ready = [], []
    for ep in slice_["endpoints"]:
        entry = {
            "ip": ep["addresses"][0],
            "nodeName": ep.get("nodeName"),
            "targetRef": ep.get("targetRef"),
        }
        (ready if ep["conditions"]["ready"] else not_ready).append(entry)
    subset: Obj = {"ports": [dict(p) for p in slice_["ports"]]}
    if ready:
        subset["addresses"] = ready
    if not_ready:
        subset["notReadyAddresses"] = not_ready
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": meta["labels"][SERVICE_NAME_LABEL], "namespace": meta["namespace"]},
        "subsets": [subset] if (ready or not_ready) else [],
    }


def same_content(have: Obj, want: Obj, fields: Iterable[str]) -> bool:
    return all(have.get(f) == want.get(f) for f in fields)
