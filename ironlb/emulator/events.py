"""events.k8s.io/v1 Event <-> core/v1 Event: one storage, two views (as in kube-apiserver)."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]
# events.k8s.io/v1 field -> core/v1 field
RENAMES = {
    "regarding": "involvedObject",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}


def to_core(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    for new, old in RENAMES.items():
        if new in out:
            out[old] = out.pop(new)
    out["apiVersion"], out["kind"] = "v1", "Event"
    return out


def from_core(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    for new, old in RENAMES.items():
        if old in out:
            out[new] = out.pop(old)
    out["apiVersion"], out["kind"] = "events.k8s.io/v1", "Event"
    return out
