"""The lab's controller stand-in: workloads → Pods, status, garbage collection."""

from __future__ import annotations

import itertools

from ironlb.lab.workloads import (
    HASH_LABEL,
    daemonset_status,
    deployment_status,
    plan_workloads,
    template_hash,
)


def _node(name: str, ready: bool = True) -> dict:
    status = "True" if ready else "False"
    return {
        "metadata": {"name": name},
        "status": {"conditions": [{"type": "Ready", "status": status}]},
    }


def _workload(kind: str, name: str, replicas: int | None = None) -> dict:
    spec: dict = {
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "generation": 2},
        "spec": spec,
    }


def _suffixes():
    counter = itertools.count()
    return lambda: f"s{next(counter)}"


NODES = [_node("node1"), _node("node2"), _node("node3", ready=False)]


def test_deployment_spreads_pods_over_ready_nodes_with_owner_and_hash():
    dep = _workload("Deployment", "web", replicas=2)
    plan = plan_workloads([dep], [], [], NODES, _suffixes())
    assert [p["spec"]["nodeName"] for p in plan.create] == ["node1", "node2"]
    pod = plan.create[0]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
    assert pod["metadata"]["labels"] == {
        "app": "web",
        HASH_LABEL: template_hash(dep["spec"]["template"]),
    }
    assert plan.delete == []


def test_steady_state_plans_nothing_and_a_template_change_replaces_pods():
    dep = _workload("Deployment", "web", replicas=2)
    pods = plan_workloads([dep], [], [], NODES, _suffixes()).create
    for i, p in enumerate(pods):
        p["metadata"]["uid"] = f"p{i}"
    assert plan_workloads([dep], [], pods, NODES, _suffixes()).create == []
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    plan = plan_workloads([dep], [], pods, NODES, _suffixes())
    assert sorted(plan.delete) == sorted(("default", p["metadata"]["name"]) for p in pods)
    assert len(plan.create) == 2


def test_daemonset_one_pod_per_ready_node_and_orphans_collected():
    ds = _workload("DaemonSet", "speaker")
    plan = plan_workloads([], [ds], [], NODES, _suffixes())
    assert sorted(p["spec"]["nodeName"] for p in plan.create) == ["node1", "node2"]
    # The DaemonSet is deleted: its pods go.
    pods = plan.create
    gone = plan_workloads([], [], pods, NODES, _suffixes())
    assert sorted(n for _, n in gone.delete) == sorted(p["metadata"]["name"] for p in pods)


def test_status_counts_ready_pods_for_rollout_waiters():
    dep = _workload("Deployment", "web", replicas=2)
    pods = plan_workloads([dep], [], [], NODES, _suffixes()).create
    pods[0]["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    status = deployment_status(dep, pods)
    assert status["observedGeneration"] == 2
    assert (status["readyReplicas"], status["unavailableReplicas"]) == (1, 1)
    ds = _workload("DaemonSet", "speaker")
    ds_status = daemonset_status(ds, [], ready_nodes=2)
    assert ds_status["desiredNumberScheduled"] == 2
    assert ds_status["numberUnavailable"] == 2
