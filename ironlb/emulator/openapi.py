"""Minimal OpenAPI v3 documents: enough for kubectl 1.32, no schemas.

kubectl apply/create ask `/openapi/v3` whether a kind's PATCH operation takes the
`fieldValidation` query parameter (cli-runtime query_param_verifier_v3); if so they validate
server-side (`fieldValidation=Strict`) instead of downloading schemas. The PATCH operations
here declare no strategic-merge request body, so `kubectl apply` computes patches from its
compiled-in types (built-in kinds) or uses JSON merge patch (custom resources), as it does
against a real server whose v3 lookup fails. `/openapi/v2` stays 404 like a server with v2
disabled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from ironlb.emulator.builtin import ResourceType

_PARAMS = [
    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")
]


def group_versions(types: Iterable[ResourceType]) -> dict[str, list[ResourceType]]:
    out: dict[str, list[ResourceType]] = {}
    for rt in types:
        for v in rt.versions:
            prefix = f"apis/{rt.group}/{v}" if rt.group else f"api/{v}"
            out.setdefault(prefix, []).append(rt)
    return out


def _hash(prefix: str, types: list[ResourceType]) -> str:
    names = ",".join(sorted(f"{t.plural}:{t.kind}:{t.namespaced}" for t in types))
    return hashlib.sha256(f"{prefix}|{names}".encode()).hexdigest()[:32].upper()


def root(types: Iterable[ResourceType]) -> dict[str, Any]:
    paths = {
        prefix: {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={_hash(prefix, rts)}"}
        for prefix, rts in sorted(group_versions(types).items())
    }
    return {"paths": paths}


def gv_document(prefix: str, types: Iterable[ResourceType]) -> dict[str, Any] | None:
    rts = group_versions(types).get(prefix)
    if not rts:
        return None
    version = prefix.rsplit("/", 1)[1]
    paths: dict[str, Any] = {}
    for rt in rts:
        gvk = {"group": rt.group, "version": version, "kind": rt.kind}
        base = (
            f"/{prefix}/namespaces/{{namespace}}/{rt.plural}"
            if rt.namespaced
            else (f"/{prefix}/{rt.plural}")
        )
        op = {
            "operationId": f"patch{rt.kind}",
            "parameters": _PARAMS,
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
        }
        paths[f"{base}/{{name}}"] = {"patch": op}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }
