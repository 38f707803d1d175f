"""The RBAC evaluator on its own: request attributes as RequestInfoFactory derives them, rule
matching as the RBAC authorizer does it, and the apiserver's 403 wording."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from ironlb.emulator import rbac
from ironlb.emulator.authn import service_account_user
from ironlb.emulator.rbac import Attributes, User, authorize, forbidden, request_attributes

SPEAKER = service_account_user("metallb-system", "ironlb-speaker")
G = "rbac.authorization.k8s.io"


def policy(*objs: dict[str, Any]) -> rbac.Lister:
    by_plural: dict[str, list[dict[str, Any]]] = {}
    for o in objs:
        by_plural.setdefault(o["kind"].lower() + "s", []).append(o)

    def items(key: tuple[str, str]) -> Iterable[dict[str, Any]]:
        assert key[0] == G
        return by_plural.get(key[1], [])

    return items


def role(kind: str, name: str, rules: list[dict[str, Any]], ns: str = "") -> dict[str, Any]:
    md = {"name": name, **({"namespace": ns} if ns else {})}
    return {"kind": kind, "metadata": md, "rules": rules}


def binding(
    kind: str, name: str, ref_kind: str, ref: str, subjects: list[dict[str, str]], ns: str = ""
) -> dict[str, Any]:
    md = {"name": name, **({"namespace": ns} if ns else {})}
    return {
        "kind": kind,
        "metadata": md,
        "roleRef": {"apiGroup": G, "kind": ref_kind, "name": ref},
        "subjects": subjects,
    }


SA_SUBJECT = {"kind": "ServiceAccount", "name": "ironlb-speaker", "namespace": "metallb-system"}


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/default/services/web", {}, ("get", "services", "", "web")),
        ("GET", "/api/v1/namespaces/default/services", {}, ("list", "services", "", "")),
        ("GET", "/api/v1/services", {"watch": "1"}, ("watch", "services", "", "")),
        ("GET", "/api/v1/services", {"watch": "false"}, ("list", "services", "", "")),
        ("GET", "/api/v1/watch/namespaces/default/services", {}, ("watch", "services", "", "")),
        ("POST", "/api/v1/namespaces/default/services", {}, ("create", "services", "", "")),
        (
            "PUT",
            "/api/v1/namespaces/d/services/web/status",
            {},
            ("update", "services", "status", "web"),
        ),
        ("PATCH", "/api/v1/namespaces/d/services/web", {}, ("patch", "services", "", "web")),
        ("DELETE", "/api/v1/namespaces/d/services/web", {}, ("delete", "services", "", "web")),
        ("DELETE", "/api/v1/namespaces/d/services", {}, ("deletecollection", "services", "", "")),
        (
            "GET",
            "/apis/coordination.k8s.io/v1/namespaces/d/leases",
            {"fieldSelector": "metadata.name=ironlb", "watch": "true"},
            ("watch", "leases", "", "ironlb"),
        ),
        (
            "POST",
            "/api/v1/namespaces/d/serviceaccounts/sa/token",
            {},
            ("create", "serviceaccounts", "token", "sa"),
        ),
    ],
)
def test_request_attributes_verbs(
    method: str, path: str, query: dict[str, str], expected: tuple[str, str, str, str]
) -> None:
    a = request_attributes(method, path, query)
    assert a.resource_request
    assert (a.verb, a.resource, a.subresource, a.name) == expected


def test_request_attributes_scope_group_and_non_resource() -> None:
    lease = request_attributes("GET", "/apis/coordination.k8s.io/v1/namespaces/x/leases/l", {})
    assert (lease.api_group, lease.api_version, lease.namespace) == (
        "coordination.k8s.io",
        "v1",
        "x",
    )
    # a namespace is its own namespace (so a RoleBinding there may grant `get` on it)
    ns = request_attributes("GET", "/api/v1/namespaces/x", {})
    assert (ns.resource, ns.name, ns.namespace) == ("namespaces", "x", "x")
    status = request_attributes("PUT", "/api/v1/namespaces/x/status", {})
    assert (status.resource, status.subresource, status.namespace) == ("namespaces", "status", "x")
    cluster = request_attributes("GET", "/api/v1/nodes/n1", {})
    assert (cluster.resource, cluster.namespace) == ("nodes", "")
    for path in ("/api", "/api/v1", "/apis", "/apis/metallb.io", "/apis/metallb.io/v1beta1"):
        assert not request_attributes("GET", path, {}).resource_request
    assert request_attributes("GET", "/openapi/v3", {}).path == "/openapi/v3"


def test_cluster_role_bound_by_role_binding_grants_only_in_that_namespace() -> None:
    objects = policy(
        role(
            "ClusterRole",
            "reader",
            [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
        ),
        binding("RoleBinding", "r", "ClusterRole", "reader", [SA_SUBJECT], ns="metallb-system"),
    )
    here = Attributes("get", True, resource="secrets", name="m", namespace="metallb-system")
    there = Attributes("get", True, resource="secrets", name="m", namespace="default")
    cluster = Attributes("list", True, resource="secrets")
    assert authorize(SPEAKER, here, objects).allowed
    assert not authorize(SPEAKER, there, objects).allowed
    assert not authorize(SPEAKER, cluster, objects).allowed


def test_cluster_role_binding_grants_everywhere_and_reason_names_it() -> None:
    objects = policy(
        role(
            "ClusterRole",
            "svc",
            [{"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}],
        ),
        binding("ClusterRoleBinding", "svc-b", "ClusterRole", "svc", [SA_SUBJECT]),
    )
    d = authorize(SPEAKER, Attributes("list", True, resource="services", namespace="x"), objects)
    assert d.allowed
    assert d.reason == (
        'RBAC: allowed by ClusterRoleBinding "svc-b" of ClusterRole "svc" to ServiceAccount'
        ' "metallb-system/ironlb-speaker"'
    )
    assert authorize(SPEAKER, Attributes("list", True, resource="services"), objects).allowed
    assert not authorize(SPEAKER, Attributes("watch", True, resource="services"), objects).allowed
    # wrong group
    assert not authorize(
        SPEAKER, Attributes("list", True, api_group="apps", resource="services"), objects
    ).allowed


def test_role_binding_to_role_in_another_namespace_grants_nothing() -> None:
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
    objects = policy(
        role("Role", "r", [rule], ns="other"),
        binding("RoleBinding", "b", "Role", "r", [SA_SUBJECT], ns="metallb-system"),
    )
    attrs = Attributes("get", True, resource="pods", name="p", namespace="metallb-system")
    assert not authorize(SPEAKER, attrs, objects).allowed


def test_subresources_and_wildcards() -> None:
    objects = policy(
        role(
            "ClusterRole",
            "c",
            [
                {"apiGroups": [""], "resources": ["services"], "verbs": ["patch"]},
                {"apiGroups": ["metallb.io"], "resources": ["*/status"], "verbs": ["update"]},
                {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]},
            ],
        ),
        binding("ClusterRoleBinding", "c", "ClusterRole", "c", [SA_SUBJECT]),
    )

    def ok(verb: str, group: str, res: str, sub: str = "") -> bool:
        a = Attributes(verb, True, api_group=group, resource=res, subresource=sub, name="x")
        return authorize(SPEAKER, a, objects).allowed

    assert ok("patch", "", "services")
    assert not ok("patch", "", "services", "status")  # `services` does not cover its status
    assert ok("update", "metallb.io", "ipaddresspools", "status")
    assert not ok("update", "metallb.io", "ipaddresspools")
    assert ok("delete", "apps", "deployments", "scale")  # `*` covers subresources too


def test_resource_names_restrict_to_named_objects() -> None:
    rule = {
        "apiGroups": [""],
        "resources": ["secrets"],
        "resourceNames": ["memberlist"],
        "verbs": ["get", "list", "watch"],
    }
    objects = policy(
        role("Role", "r", [rule], ns="metallb-system"),
        binding("RoleBinding", "b", "Role", "r", [SA_SUBJECT], ns="metallb-system"),
    )
    ns = "metallb-system"
    assert authorize(
        SPEAKER,
        Attributes("get", True, resource="secrets", name="memberlist", namespace=ns),
        objects,
    ).allowed
    assert not authorize(
        SPEAKER, Attributes("get", True, resource="secrets", name="other", namespace=ns), objects
    ).allowed
    # an unrestricted list is not allowed; one narrowed to the name by fieldSelector is
    assert not authorize(
        SPEAKER, Attributes("list", True, resource="secrets", namespace=ns), objects
    ).allowed
    narrowed = request_attributes(
        "GET", f"/api/v1/namespaces/{ns}/secrets", {"fieldSelector": "metadata.name=memberlist"}
    )
    assert authorize(SPEAKER, narrowed, objects).allowed


def test_groups_users_masters_and_defaults() -> None:
    objects = policy(
        role("ClusterRole", "c", [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]),
        binding(
            "ClusterRoleBinding",
            "c",
            "ClusterRole",
            "c",
            [{"kind": "Group", "name": "system:serviceaccounts:metallb-system"}],
        ),
    )
    get_node = Attributes("get", True, resource="nodes", name="n1")
    assert authorize(SPEAKER, get_node, objects).allowed
    other = service_account_user("default", "x")
    assert not authorize(other, get_node, objects).allowed
    assert authorize(User("admin", ("system:masters",)), get_node, objects).allowed
    # discovery and self reviews for every authenticated user, nothing for anonymous
    disc = Attributes("get", False, path="/apis/metallb.io/v1beta1")
    assert authorize(other, disc, objects).allowed
    ssar = Attributes(
        "create", True, api_group="authorization.k8s.io", resource="selfsubjectaccessreviews"
    )
    assert authorize(other, ssar, objects).allowed
    assert not authorize(User("anon", ("system:unauthenticated",)), disc, objects).allowed
    assert not authorize(other, Attributes("get", False, path="/metrics"), objects).allowed


def test_non_resource_urls_only_through_cluster_role_bindings() -> None:
    rule = {"nonResourceURLs": ["/metrics", "/logs/*"], "verbs": ["get"]}
    objects = policy(
        role("ClusterRole", "m", [rule]),
        binding("RoleBinding", "m", "ClusterRole", "m", [SA_SUBJECT], ns="metallb-system"),
    )
    metrics = Attributes("get", False, path="/metrics")
    assert not authorize(SPEAKER, metrics, objects).allowed
    objects = policy(
        role("ClusterRole", "m", [rule]),
        binding("ClusterRoleBinding", "m", "ClusterRole", "m", [SA_SUBJECT]),
    )
    assert authorize(SPEAKER, metrics, objects).allowed
    assert authorize(SPEAKER, Attributes("get", False, path="/logs/a/b"), objects).allowed
    assert not authorize(SPEAKER, Attributes("get", False, path="/logsx"), objects).allowed


def test_forbidden_messages_match_kube_apiserver() -> None:
    patch = request_attributes("PATCH", "/api/v1/namespaces/default/services/web", {})
    err = forbidden(SPEAKER, patch)
    assert err.code == 403
    assert err.message == (
        'services "web" is forbidden: User "system:serviceaccount:metallb-system:ironlb-speaker"'
        ' cannot patch resource "services" in API group "" in the namespace "default"'
    )
    assert err.status()["details"] == {"name": "web", "kind": "services"}
    lst = forbidden(SPEAKER, request_attributes("GET", "/api/v1/secrets", {}))
    assert lst.message == (
        'secrets is forbidden: User "system:serviceaccount:metallb-system:ironlb-speaker"'
        ' cannot list resource "secrets" in API group "" at the cluster scope'
    )
    status = forbidden(
        SPEAKER,
        request_attributes(
            "PUT", "/apis/metallb.io/v1beta1/namespaces/m/ipaddresspools/p/status", {}
        ),
    )
    assert status.message.startswith('ipaddresspools.metallb.io "p" is forbidden: ')
    assert status.message.endswith(
        'cannot update resource "ipaddresspools/status" in API group "metallb.io" in the'
        ' namespace "m"'
    )
    path = forbidden(SPEAKER, request_attributes("GET", "/metrics", {}))
    assert path.message == (
        'forbidden: User "system:serviceaccount:metallb-system:ironlb-speaker" cannot get path'
        ' "/metrics"'
    )
