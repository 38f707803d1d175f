"""Service spec validation (k8s.io/kubernetes pkg/apis/core/validation, the parts users hit)."""

from __future__ import annotations

import re
from typing import Any

from ironlb.emulator import errors

Obj = dict[str, Any]
TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def service_causes(spec: Obj, old: Obj | None) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    type_ = spec.get("type", "ClusterIP")
    if type_ not in TYPES:
        causes.append(errors.field_not_supported("spec.type", type_, TYPES))
        return causes
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and type_ != "ExternalName" and not headless:
        causes.append(errors.field_required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        causes += _port_causes(i, port, names, named=len(ports) > 1)
    policy = spec.get("externalTrafficPolicy")
    if policy is not None and policy not in ("Cluster", "Local"):
        causes.append(
            errors.field_not_supported("spec.externalTrafficPolicy", policy, ["Cluster", "Local"])
        )
    if type_ == "ExternalName" and not spec.get("externalName"):
        causes.append(errors.field_required("spec.externalName"))
    causes += _lb_class_causes(spec, old)
    return causes


def _port_causes(i: int, port: Obj, names: set[str], named: bool) -> list[errors.Cause]:
    causes = []
    path = f"spec.ports[{i}]"
    name = port.get("name", "")
    if named and not name:  # as kube-apiserver: two or more ports must all be named
        causes.append(errors.field_required(f"{path}.name"))
    if name:
        if name in names:
            causes.append(errors.field_duplicate(f"{path}.name", name))
        elif not _PORT_NAME.fullmatch(name) or len(name) > 63:
            causes.append(
                errors.field_invalid(
                    f"{path}.name",
                    name,
                    "a DNS-1123 label must consist of lower case alphanumeric characters or '-'",
                )
            )
        names.add(name)
    number = port.get("port")
    if not isinstance(number, int) or not 1 <= number <= 65535:
        causes.append(
            errors.field_invalid(f"{path}.port", number, "must be between 1 and 65535, inclusive")
        )
    protocol = port.get("protocol", "TCP")
    if protocol not in PROTOCOLS:
        causes.append(errors.field_not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    return causes


def _lb_class_causes(spec: Obj, old: Obj | None) -> list[errors.Cause]:
    cls = spec.get("loadBalancerClass")
    if cls is not None and spec.get("type") != "LoadBalancer":
        return [
            errors.field_forbidden(
                "spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"
            )
        ]
    old_spec = (old or {}).get("spec") or {}
    if (
        old_spec.get("type") == "LoadBalancer"
        and spec.get("type") == "LoadBalancer"
        and (old_spec.get("loadBalancerClass") != cls)
    ):
        return [errors.field_invalid("spec.loadBalancerClass", cls, "may not change once set")]
    return []
