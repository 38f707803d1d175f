"""Discovery documents: /api, /apis, /apis/<group>, and the per-version resource lists."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ironlb.emulator import errors
from ironlb.emulator.builtin import ResourceType
from ironlb.emulator.crd import version_priority
from ironlb.emulator.scale import SCALABLE

Obj = dict[str, Any]


def _groups(types: Iterable[ResourceType]) -> dict[str, list[str]]:
    groups: dict[str, set[str]] = {}
    for rt in types:
        groups.setdefault(rt.group, set()).update(rt.versions)
    return {g: sorted(v, key=version_priority) for g, v in groups.items()}


def api_versions(address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group_doc(group: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def group_list(types: Iterable[ResourceType]) -> Obj:
    groups = [_group_doc(g, v) for g, v in sorted(_groups(types).items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(types: Iterable[ResourceType], group: str) -> Obj:
    versions = _groups(types).get(group)
    if not group or not versions:
        raise errors.path_not_found(group)
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def resource_list(types: Iterable[ResourceType], group: str, version: str) -> Obj:
    resources = []
    for rt in sorted(types, key=lambda t: t.plural):
        if rt.group != group or version not in rt.versions:
            continue
        resources.append(
            {
                "name": rt.plural,
                "singularName": rt.singular,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(rt.verbs),
                **({"shortNames": rt.short_names} if rt.short_names else {}),
                **({"categories": rt.categories} if rt.categories else {}),
            }
        )
        if rt.key in SCALABLE:
            resources.append(
                {
                    "name": f"{rt.plural}/scale",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }
            )
        if rt.key == ("", "serviceaccounts"):
            resources.append(
                {
                    "name": "serviceaccounts/token",
                    "singularName": "",
                    "namespaced": True,
                    "group": "authentication.k8s.io",
                    "version": "v1",
                    "kind": "TokenRequest",
                    "verbs": ["create"],
                }
            )
        if rt.status_subresource:
            resources.append(
                {
                    "name": f"{rt.plural}/status",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    if not resources:
        raise errors.path_not_found(f"{group}/{version}")
    gv = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }
