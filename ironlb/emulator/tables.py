"""meta.k8s.io/v1 Table rendering for `kubectl get` (Accept: ...;as=Table;g=meta.k8s.io;v=v1).

Columns follow kube-apiserver's printers (pkg/printers/internalversion) for the kinds kubectl
users look at; CRDs use their additionalPrinterColumns; anything else gets NAME and AGE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ironlb.emulator.builtin import ResourceType

Obj = dict[str, Any]
Row = list[Any]


def _col(name: str, type_: str = "string", fmt: str = "", priority: int = 0, desc: str = "") -> Obj:
    return {"name": name, "type": type_, "format": fmt, "description": desc, "priority": priority}


NAME = _col("Name", fmt="name", desc="Name must be unique within a namespace.")
AGE = _col(
    "Age",
    desc="CreationTimestamp is a timestamp representing the server time when this"
    " object was created.",
)


def age(obj: Obj, now: float) -> str:
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return human_duration(max(0.0, now - created.timestamp()))


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration (abridged)."""
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 365 * 2:
        return f"{d}d"
    return f"{d // 365}y"


def _svc_row(o: Obj, now: float) -> Row:
    spec = o.get("spec", {})
    type_ = spec.get("type", "ClusterIP")
    ingress = (o.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
    ext = [i.get("ip") or i.get("hostname", "") for i in ingress] + list(
        spec.get("externalIPs") or []
    )
    if type_ == "ExternalName":
        external = spec.get("externalName", "<none>")
    elif ext:
        external = ",".join(ext)
    elif type_ == "LoadBalancer":
        external = "<pending>"
    else:
        external = "<none>"
    ports = []
    for p in spec.get("ports") or []:
        text = str(p.get("port"))
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        ports.append(f"{text}/{p.get('protocol', 'TCP')}")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [
        o["metadata"]["name"],
        type_,
        spec.get("clusterIP") or "<none>",
        external,
        ",".join(ports) or "<none>",
        age(o, now),
        selector or "<none>",
    ]


def _deploy_row(o: Obj, now: float) -> Row:
    spec, status = o.get("spec", {}), o.get("status", {})
    containers = spec.get("template", {}).get("spec", {}).get("containers") or []
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    return [
        o["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(o, now),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        ",".join(f"{k}={v}" for k, v in sorted(sel.items())),
    ]


def _pod_row(o: Obj, now: float) -> Row:
    spec, status = o.get("spec", {}), o.get("status", {})
    cs = status.get("containerStatuses") or []
    ready = sum(1 for c in cs if c.get("ready"))
    return [
        o["metadata"]["name"],
        f"{ready}/{len(spec.get('containers') or [])}",
        status.get("phase", "Pending"),
        sum(int(c.get("restartCount", 0)) for c in cs),
        age(o, now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        "<none>",
        "<none>",
    ]


def _node_row(o: Obj, now: float) -> Row:
    conds = o.get("status", {}).get("conditions") or []
    ready = next((c for c in conds if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if ready is None:
        state = "Unknown"
    labels = o["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = o.get("status", {}).get("nodeInfo") or {}
    return [
        o["metadata"]["name"],
        state,
        ",".join(roles) or "<none>",
        age(o, now),
        info.get("kubeletVersion", ""),
    ]


def _ns_row(o: Obj, now: float) -> Row:
    return [o["metadata"]["name"], o.get("status", {}).get("phase", "Active"), age(o, now)]


def _cm_row(o: Obj, now: float) -> Row:
    n = len(o.get("data") or {}) + len(o.get("binaryData") or {})
    return [o["metadata"]["name"], n, age(o, now)]


def _secret_row(o: Obj, now: float) -> Row:
    n = len(o.get("data") or {}) + len(o.get("stringData") or {})
    return [o["metadata"]["name"], o.get("type", "Opaque"), n, age(o, now)]


def _ds_row(o: Obj, now: float) -> Row:
    st = o.get("status", {})
    sel = o.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector") or {}
    return [
        o["metadata"]["name"],
        st.get("desiredNumberScheduled", 0),
        st.get("currentNumberScheduled", 0),
        st.get("numberReady", 0),
        st.get("updatedNumberScheduled", 0),
        st.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "<none>",
        age(o, now),
    ]


def _event_row(o: Obj, now: float) -> Row:
    inv = o.get("involvedObject") or {}
    last = o.get("lastTimestamp") or o.get("eventTime") or ""
    seen = age({"metadata": {"creationTimestamp": last[:19] + "Z"}}, now) if last else "<unknown>"
    return [
        seen,
        o.get("type", ""),
        o.get("reason", ""),
        f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}",
        o.get("message", ""),
    ]


def _slice_row(o: Obj, now: float) -> Row:
    ports = ",".join(str(p.get("port", "")) for p in o.get("ports") or []) or "<unset>"
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    shown = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [o["metadata"]["name"], o.get("addressType", ""), ports, shown or "<unset>", age(o, now)]


def _lease_row(o: Obj, now: float) -> Row:
    return [o["metadata"]["name"], o.get("spec", {}).get("holderIdentity") or "", age(o, now)]


def _created_row(o: Obj, now: float) -> Row:
    return [o["metadata"]["name"], o["metadata"].get("creationTimestamp", "")]


PRINTERS: dict[tuple[str, str], tuple[list[Obj], Callable[[Obj, float], Row]]] = {
    ("", "services"): (
        [
            NAME,
            _col("Type"),
            _col("Cluster-IP"),
            _col("External-IP"),
            _col("Port(s)"),
            AGE,
            _col("Selector", priority=1),
        ],
        _svc_row,
    ),
    ("apps", "deployments"): (
        [
            NAME,
            _col("Ready"),
            _col("Up-to-date", "integer"),
            _col("Available", "integer"),
            AGE,
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        _deploy_row,
    ),
    ("", "pods"): (
        [
            NAME,
            _col("Ready"),
            _col("Status"),
            _col("Restarts", "string"),
            AGE,
            _col("IP", priority=1),
            _col("Node", priority=1),
            _col("Nominated Node", priority=1),
            _col("Readiness Gates", priority=1),
        ],
        _pod_row,
    ),
    ("", "nodes"): (
        [NAME, _col("Status"), _col("Roles"), AGE, _col("Version")],
        _node_row,
    ),
    ("", "namespaces"): ([NAME, _col("Status"), AGE], _ns_row),
    ("", "configmaps"): ([NAME, _col("Data", "integer"), AGE], _cm_row),
    ("", "secrets"): ([NAME, _col("Type"), _col("Data", "integer"), AGE], _secret_row),
    ("apps", "daemonsets"): (
        [
            NAME,
            _col("Desired", "integer"),
            _col("Current", "integer"),
            _col("Ready", "integer"),
            _col("Up-to-date", "integer"),
            _col("Available", "integer"),
            _col("Node Selector"),
            AGE,
        ],
        _ds_row,
    ),
    ("", "events"): (
        [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
        _event_row,
    ),
    ("discovery.k8s.io", "endpointslices"): (
        [NAME, _col("AddressType"), _col("Ports"), _col("Endpoints"), AGE],
        _slice_row,
    ),
    ("coordination.k8s.io", "leases"): ([NAME, _col("Holder"), AGE], _lease_row),
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        [NAME, _col("Created At", "date")],
        _created_row,
    ),
}


def jsonpath_value(obj: Obj, path: str) -> Any:
    """The simple `.a.b[0].c` subset of JSONPath printer columns use."""
    cur: Any = obj
    for part in path.strip().lstrip(".").replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]"):
            idx = part[1:-1]
            if not isinstance(cur, list) or not idx.lstrip("-").isdigit():
                return None
            i = int(idx)
            cur = cur[i] if -len(cur) <= i < len(cur) else None
        elif isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
        if cur is None:
            return None
    return cur


def _crd_columns(rt: ResourceType, version: str) -> tuple[list[Obj], Callable[[Obj, float], Row]]:
    cols = rt.printer_columns.get(version) or []
    if not cols:
        return [NAME, AGE], lambda o, now: [o["metadata"]["name"], age(o, now)]
    defs = [NAME] + [
        _col(
            c["name"],
            c.get("type", "string"),
            c.get("format", ""),
            c.get("priority", 0),
            c.get("description", ""),
        )
        for c in cols
    ]

    def row(o: Obj, now: float) -> Row:
        cells: Row = [o["metadata"]["name"]]
        for c in cols:
            value = jsonpath_value(o, c["jsonPath"])
            if c.get("type") == "date" and isinstance(value, str):
                cells.append(age({"metadata": {"creationTimestamp": value}}, now))
            elif isinstance(value, (dict, list)):
                import json

                cells.append(json.dumps(value, separators=(",", ":")))
            else:
                cells.append(value)
        return cells

    return defs, row


def render_table(
    rt: ResourceType,
    version: str,
    items: list[Obj],
    list_meta: Obj,
    now: float,
    include_object: str = "Metadata",
) -> Obj:
    if rt.crd is not None:
        defs, row = _crd_columns(rt, version)
    else:
        defs, row = PRINTERS.get(rt.key, ([NAME, AGE], _default_row))
    rows = []
    for o in items:
        entry: Obj = {"cells": row(o, now)}
        if include_object == "Object":
            entry["object"] = o
        elif include_object != "None":
            entry["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata", {}),
            }
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": defs,
        "rows": rows,
    }


def _default_row(o: Obj, now: float) -> Row:
    return [o["metadata"]["name"], age(o, now)]
