"""resourceVersion, generation, status subresource separation, dry-run, finalizers, namespaces."""

from __future__ import annotations

import pytest
from kubernetes import client


def _deploy(name: str, image: str = "nginx") -> dict:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


def test_resource_version_increases_on_every_write(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    seen = []
    for i in range(5):
        cm = v1.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
        seen.append(int(cm.metadata.resource_version))
    cm = v1.patch_namespaced_config_map("c0", "default", {"data": {"x": "y"}})
    seen.append(int(cm.metadata.resource_version))
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    listed = v1.list_namespaced_config_map("default")
    assert int(listed.metadata.resource_version) == seen[-1]


def test_noop_update_keeps_resource_version(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    cm = v1.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "b"}})
    again = v1.patch_namespaced_config_map("c", "default", {"data": {"a": "b"}})
    assert again.metadata.resource_version == cm.metadata.resource_version


def test_generation_bumps_on_spec_changes_only(apiserver) -> None:
    apps = client.AppsV1Api(apiserver.api_client())
    d = apps.create_namespaced_deployment("default", _deploy("web"))
    assert d.metadata.generation == 1
    d = apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"x": "1"}}})
    assert d.metadata.generation == 1
    d = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    assert d.metadata.generation == 2
    d = apps.patch_namespaced_deployment_status(
        "web", "default", {"status": {"replicas": 3, "observedGeneration": 2}}
    )
    assert d.metadata.generation == 2
    assert d.status.observed_generation == 2


def test_status_only_through_status_subresource(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    svc = {
        "metadata": {"name": "lb"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}},
    }
    made = v1.create_namespaced_service("default", svc)
    assert made.status.load_balancer.ingress is None  # dropped on create
    # main endpoint ignores status
    got = v1.patch_namespaced_service(
        "lb", "default", {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}}
    )
    assert got.status.load_balancer.ingress is None
    # /status writes status and ignores spec
    got = v1.patch_namespaced_service_status(
        "lb",
        "default",
        {
            "spec": {"externalTrafficPolicy": "Local"},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}},
        },
    )
    assert got.status.load_balancer.ingress[0].ip == "203.0.113.9"
    assert got.spec.external_traffic_policy == "Cluster"
    # replace through the main endpoint keeps the stored status
    current = v1.read_namespaced_service("lb", "default")
    current.status = None
    current.metadata.labels = {"changed": "yes"}
    replaced = v1.replace_namespaced_service("lb", "default", current)
    assert replaced.status.load_balancer.ingress[0].ip == "203.0.113.9"
    assert replaced.metadata.labels == {"changed": "yes"}


def test_nodes_keep_status_on_create(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    node = v1.create_node(
        {
            "metadata": {"name": "node1"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    assert node.status.conditions[0].type == "Ready"


def test_dry_run_does_not_write(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    before = v1.list_namespaced_config_map("default").metadata.resource_version
    made = v1.create_namespaced_config_map("default", {"metadata": {"name": "dry"}}, dry_run="All")
    assert made.metadata.name == "dry"
    with pytest.raises(client.ApiException) as info:
        v1.read_namespaced_config_map("dry", "default")
    assert info.value.status == 404
    assert v1.list_namespaced_config_map("default").metadata.resource_version == before


def test_finalizers_hold_deletion(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_namespaced_config_map(
        "default", {"metadata": {"name": "held", "finalizers": ["example.com/a", "example.com/b"]}}
    )
    v1.delete_namespaced_config_map("held", "default")
    held = v1.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(client.ApiException) as info:
        v1.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": ["new"]}})
    assert info.value.status == 422
    assert "no new finalizers can be added if the object is being deleted" in info.value.body
    v1.patch_namespaced_config_map(
        "held", "default", [{"op": "remove", "path": "/metadata/finalizers/0"}]
    )
    assert v1.read_namespaced_config_map("held", "default").metadata.finalizers == ["example.com/b"]
    v1.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as info:
        v1.read_namespaced_config_map("held", "default")
    assert info.value.status == 404


def test_deleting_namespace_deletes_contents(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_namespace({"metadata": {"name": "doomed"}})
    v1.create_namespaced_config_map("doomed", {"metadata": {"name": "a"}})
    v1.create_namespaced_config_map(
        "doomed", {"metadata": {"name": "b", "finalizers": ["example.com/x"]}}
    )
    v1.delete_namespace("doomed")
    ns = v1.read_namespace("doomed")
    assert ns.status.phase == "Terminating"
    assert [c.metadata.name for c in v1.list_namespaced_config_map("doomed").items] == ["b"]
    with pytest.raises(client.ApiException) as info:
        v1.create_namespaced_config_map("doomed", {"metadata": {"name": "late"}})
    assert info.value.status == 403
    v1.patch_namespaced_config_map("b", "doomed", {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as info:
        v1.read_namespace("doomed")
    assert info.value.status == 404


def test_owner_references_cascade(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    owner = v1.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    v1.create_namespaced_config_map(
        "default", {"metadata": {"name": "child", "ownerReferences": [ref]}}
    )
    v1.delete_namespaced_config_map("owner", "default")
    names = [c.metadata.name for c in v1.list_namespaced_config_map("default").items]
    assert "child" not in names


def test_delete_precondition_conflict(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    v1.create_namespaced_config_map("default", {"metadata": {"name": "p"}})
    with pytest.raises(client.ApiException) as info:
        v1.delete_namespaced_config_map(
            "p", "default", body=client.V1DeleteOptions(preconditions={"uid": "wrong"})
        )
    assert info.value.status == 409
    v1.delete_namespaced_config_map("p", "default")


def test_custom_resource_update_requires_resource_version(apiserver_with_crds) -> None:
    co = client.CustomObjectsApi(apiserver_with_crds.api_client())
    pool = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "p"},
        "spec": {"addresses": ["203.0.113.0/24"]},
    }
    co.create_namespaced_custom_object("metallb.io", "v1beta1", "default", "ipaddresspools", pool)
    with pytest.raises(client.ApiException) as info:
        co.replace_namespaced_custom_object(
            "metallb.io", "v1beta1", "default", "ipaddresspools", "p", pool
        )
    assert info.value.status == 422
    assert "metadata.resourceVersion" in info.value.body


def test_builtin_defaults_filled_in(apiserver) -> None:
    apps = client.AppsV1Api(apiserver.api_client())
    d = apps.create_namespaced_deployment("default", _deploy("defaults", image="nginx:1.27"))
    assert d.spec.strategy.type == "RollingUpdate"
    assert d.spec.strategy.rolling_update.max_surge == "25%"
    assert d.spec.revision_history_limit == 10
    assert d.spec.progress_deadline_seconds == 600
    pod = d.spec.template.spec
    assert (pod.restart_policy, pod.dns_policy, pod.scheduler_name) == (
        "Always",
        "ClusterFirst",
        "default-scheduler",
    )
    c = pod.containers[0]
    assert (c.image_pull_policy, c.termination_message_policy) == ("IfNotPresent", "File")
    latest = apps.create_namespaced_deployment("default", _deploy("latest"))
    assert latest.spec.template.spec.containers[0].image_pull_policy == "Always"


def test_namespaces_carry_their_name_label(apiserver) -> None:
    v1 = client.CoreV1Api(apiserver.api_client())
    ns = v1.create_namespace({"metadata": {"name": "team-a", "labels": {"x": "1"}}})
    assert ns.metadata.labels == {"x": "1", "kubernetes.io/metadata.name": "team-a"}
    assert ns.spec.finalizers == ["kubernetes"]
    # the label cannot be removed or changed
    ns = v1.patch_namespace(
        "team-a", {"metadata": {"labels": {"kubernetes.io/metadata.name": None}}}
    )
    assert ns.metadata.labels["kubernetes.io/metadata.name"] == "team-a"
    selected = v1.list_namespace(label_selector="kubernetes.io/metadata.name=team-a")
    assert [n.metadata.name for n in selected.items] == ["team-a"]
