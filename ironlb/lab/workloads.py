"""What the lab's stand-in for kube-controller-manager decides (pure).

Deployments and DaemonSets become Pods directly (no ReplicaSets): each Pod carries an
ownerReference to its workload and a ``pod-template-hash`` label; a Pod whose hash no longer
matches its workload's template is replaced. Workload status is computed from the Pods the
kubelets report, in the shape ``kubectl rollout status`` and ``kubernetes.core.k8s``'s
``wait`` read.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"


@dataclass
class Plan:
    create: list[Obj] = field(default_factory=list)
    delete: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name)


def template_hash(template: Obj) -> str:
    text = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def node_ready(node: Obj) -> bool:
    if node.get("spec", {}).get("unschedulable"):
        return False
    for cond in node.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def owner_uid(pod: Obj) -> str | None:
    for ref in pod.get("metadata", {}).get("ownerReferences", []) or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def pod_ready(pod: Obj) -> bool:
    for cond in pod.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


def new_pod(owner: Obj, kind: str, node: str | None, suffix: str) -> Obj:
    """A Pod from the workload's template, owned by it, bound to ``node`` when given."""
    template = copy.deepcopy(owner["spec"]["template"])
    meta = template.get("metadata", {}) or {}
    labels = dict(meta.get("labels", {}) or {})
    labels[HASH_LABEL] = template_hash(owner["spec"]["template"])
    spec = template.get("spec", {})
    if node is not None:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{owner['metadata']['name']}-{suffix}",
            "namespace": owner["metadata"]["namespace"],
            "labels": labels,
            "annotations": dict(meta.get("annotations", {}) or {}),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": kind,
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }


def plan_workloads(
    deployments: Iterable[Obj],
    daemonsets: Iterable[Obj],
    pods: Iterable[Obj],
    nodes: Iterable[Obj],
    suffix: Callable[[], str],
) -> Plan:
    """Pods to create and delete so every workload has what its spec asks for."""
    pods = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    ready_nodes = sorted(n["metadata"]["name"] for n in nodes if node_ready(n))
    by_owner: dict[str, list[Obj]] = {}
    for pod in pods:
        uid = owner_uid(pod)
        if uid:
            by_owner.setdefault(uid, []).append(pod)
    load = {name: 0 for name in ready_nodes}
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if node in load:
            load[node] += 1
    plan = Plan()
    live_owners: set[str] = set()
    for ds in daemonsets:
        live_owners.add(ds["metadata"]["uid"])
        _plan_daemonset(ds, by_owner.get(ds["metadata"]["uid"], []), ready_nodes, suffix, plan)
    for dep in deployments:
        live_owners.add(dep["metadata"]["uid"])
        _plan_deployment(dep, by_owner.get(dep["metadata"]["uid"], []), load, suffix, plan)
    # Garbage collection: pods whose owning workload is gone.
    for uid, owned in by_owner.items():
        if uid not in live_owners and _owner_kind(owned[0]) in ("Deployment", "DaemonSet"):
            plan.delete += [_key(p) for p in owned]
    return plan


def _owner_kind(pod: Obj) -> str | None:
    for ref in pod["metadata"].get("ownerReferences", []) or []:
        if ref.get("controller"):
            return ref.get("kind")
    return None


def _plan_daemonset(
    ds: Obj, owned: list[Obj], ready_nodes: list[str], suffix: Callable[[], str], plan: Plan
) -> None:
    want_hash = template_hash(ds["spec"]["template"])
    have: dict[str, Obj] = {}
    for pod in owned:
        node = pod.get("spec", {}).get("nodeName")
        current = pod["metadata"].get("labels", {}).get(HASH_LABEL) == want_hash
        if node in ready_nodes and current and node not in have:
            have[node] = pod
        else:
            plan.delete.append(_key(pod))
    # Node labels and taints are not modelled: every ready node runs every DaemonSet.
    for node in ready_nodes:
        if node not in have:
            plan.create.append(new_pod(ds, "DaemonSet", node, suffix()))


def _plan_deployment(
    dep: Obj, owned: list[Obj], load: dict[str, int], suffix: Callable[[], str], plan: Plan
) -> None:
    want_hash = template_hash(dep["spec"]["template"])
    replicas = dep["spec"].get("replicas", 1)
    replicas = 1 if replicas is None else int(replicas)
    keep = []
    for pod in sorted(owned, key=lambda p: p["metadata"]["name"]):
        current = pod["metadata"].get("labels", {}).get(HASH_LABEL) == want_hash
        on_live_node = pod.get("spec", {}).get("nodeName") in load
        if current and on_live_node and len(keep) < replicas:
            keep.append(pod)
        else:
            plan.delete.append(_key(pod))
    for _ in range(replicas - len(keep)):
        if not load:
            break
        node = min(load, key=lambda n: (load[n], n))
        load[node] += 1
        plan.create.append(new_pod(dep, "Deployment", node, suffix()))


def deployment_status(dep: Obj, owned: list[Obj]) -> Obj:
    want_hash = template_hash(dep["spec"]["template"])
    replicas = dep["spec"].get("replicas", 1)
    replicas = 1 if replicas is None else int(replicas)
    current = [p for p in owned if p["metadata"].get("labels", {}).get(HASH_LABEL) == want_hash]
    ready = sum(1 for p in current if pod_ready(p))
    status: Obj = {
        "observedGeneration": dep["metadata"].get("generation", 1),
        "replicas": len(owned),
        "updatedReplicas": len(current),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            {
                "type": "Available",
                "status": "True" if ready >= replicas else "False",
                "reason": "MinimumReplicasAvailable" if ready >= replicas else "Unavailable",
            }
        ],
    }
    if replicas - ready > 0:
        status["unavailableReplicas"] = replicas - ready
    return status


def daemonset_status(ds: Obj, owned: list[Obj], ready_nodes: int) -> Obj:
    want_hash = template_hash(ds["spec"]["template"])
    current = [p for p in owned if p["metadata"].get("labels", {}).get(HASH_LABEL) == want_hash]
    ready = sum(1 for p in current if pod_ready(p))
    status: Obj = {
        "observedGeneration": ds["metadata"].get("generation", 1),
        "desiredNumberScheduled": ready_nodes,
        "currentNumberScheduled": len(owned),
        "updatedNumberScheduled": len(current),
        "numberReady": ready,
        "numberAvailable": ready,
        "numberMisscheduled": 0,
    }
    if ready_nodes - ready > 0:
        status["numberUnavailable"] = ready_nodes - ready
    return status
