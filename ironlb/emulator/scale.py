"""The `/scale` subresource of Deployments, ReplicaSets and StatefulSets (autoscaling/v1 Scale)."""

from __future__ import annotations

from typing import Any

from ironlb.emulator import errors

Obj = dict[str, Any]
SCALABLE = {("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets")}


def to_scale(obj: Obj) -> Obj:
    md = obj["metadata"]
    spec, status = obj.get("spec", {}), obj.get("status", {})
    labels = (spec.get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in md
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


def apply_scale(obj: Obj, scale: Obj, kind: str) -> Obj:
    """The workload with spec.replicas taken from a Scale (resourceVersion precondition kept)."""
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            obj["metadata"]["name"],
            [errors.field_invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
        )
    out = dict(obj)
    out["spec"] = {**obj.get("spec", {}), "replicas": replicas}
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    out["metadata"] = {**obj["metadata"], **({"resourceVersion": rv} if rv else {})}
    return out
