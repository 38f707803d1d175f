"""RBAC authorization as kube-apiserver does it (pure: no I/O, no clock).

`request_attributes()` turns a request line into the authorizer's attributes the way
k8s.io/apiserver's RequestInfoFactory does; `authorize()` walks the stored
ClusterRoleBindings and RoleBindings like the RBAC authorizer (plugin/pkg/auth/authorizer/
rbac); `forbidden()` words the 403 Status like responsewriters.Forbidden. The default
`system:discovery`, `system:basic-user` and `system:public-info-viewer` bindings and the
`system:masters` group are built in rather than stored, so an emulator in allow-all mode
keeps exactly the objects it always had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ironlb.emulator import errors
from ironlb.emulator.errors import ApiError

Obj = dict[str, Any]
# (group, plural) -> stored objects; the evaluator reads the four RBAC kinds through it.
Lister = Callable[[tuple[str, str]], Iterable[Obj]]
RBAC = "rbac.authorization.k8s.io"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"

# The bootstrap ClusterRoles every cluster binds to system:authenticated.
_PUBLIC_INFO = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
_DISCOVERY = ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", *_PUBLIC_INFO]
DEFAULT_RULES: tuple[tuple[str, Obj], ...] = (
    ("system:discovery", {"verbs": ["get"], "nonResourceURLs": _DISCOVERY}),
    ("system:public-info-viewer", {"verbs": ["get"], "nonResourceURLs": _PUBLIC_INFO}),
    (
        "system:basic-user",
        {
            "verbs": ["create"],
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        },
    ),
)


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


@dataclass(frozen=True)
class Attributes:
    """What the authorizer sees of one request (authorizer.AttributesRecord)."""

    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The authorizer attributes of a request, as RequestInfoFactory.NewRequestInfo."""
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    parts = [p for p in path.split("/") if p]
    non_resource = Attributes(verb=verb, resource_request=False, path=path)
    if not parts or parts[0] not in ("api", "apis"):
        return non_resource
    # /api/v1/<resource...> or /apis/<group>/<version>/<resource...>
    group, rest = (
        ("", parts[1:]) if parts[0] == "api" else (parts[1] if len(parts) > 1 else "", parts[2:])
    )
    if len(rest) < 2:
        return non_resource  # discovery documents
    version, rest = rest[0], rest[1:]
    if rest[0] == "watch":
        if method.upper() in ("GET", "HEAD"):
            verb = "watch"
        rest = rest[1:]
        if not rest:
            return non_resource
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("finalize", "status"):
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if not name and verb in ("get", "delete"):
        verb = "list" if verb == "get" else "deletecollection"
    if verb == "list" and query.get("watch") not in (None, "false", "0"):
        verb = "watch"
    if not name and verb in ("list", "watch"):
        name = _name_from_field_selector(query.get("fieldSelector", ""))
    return Attributes(
        verb=verb,
        resource_request=True,
        path=path,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=sub,
        name=name,
        namespace=namespace,
    )


def _name_from_field_selector(selector: str) -> str:
    """A single `metadata.name=X` requirement names the object (as the real factory does)."""
    terms = [t for t in selector.split(",") if t]
    if len(terms) != 1:
        return ""
    for op in ("==", "="):
        key, sep, value = terms[0].partition(op)
        if sep and key.strip() == "metadata.name" and "!" not in key:
            return value.strip()
    return ""


# ---- evaluation ----------------------------------------------------------------------
def authorize(user: User, attrs: Attributes, objects: Lister) -> Decision:
    if MASTERS in user.groups:
        return Decision(True, f'allowed by group "{MASTERS}"')
    if AUTHENTICATED in user.groups:
        for role, rule in DEFAULT_RULES:
            if rule_allows(attrs, rule):
                return Decision(True, f'RBAC: allowed by ClusterRoleBinding "{role}"')
    for binding, role, rules in _applicable(user, attrs.namespace, objects):
        if any(rule_allows(attrs, r) for r in rules):
            return Decision(True, f"RBAC: allowed by {binding} of {role} to {_who(user)}")
    return Decision(False, "")


def rules_for(user: User, namespace: str, objects: Lister) -> list[Obj]:
    """Every rule that applies to `user` in `namespace` (SelfSubjectRulesReview)."""
    if MASTERS in user.groups:
        return [
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
            {"verbs": ["*"], "nonResourceURLs": ["*"]},
        ]
    # system:public-info-viewer's URLs are a subset of system:discovery's: listed once
    defaults = [dict(r) for n, r in DEFAULT_RULES if n != "system:public-info-viewer"]
    out = defaults if AUTHENTICATED in user.groups else []
    for _, _, rules in _applicable(user, namespace, objects):
        out.extend(rules)
    return out


def _applicable(
    user: User, namespace: str, objects: Lister
) -> Iterable[tuple[str, str, list[Obj]]]:
    """(binding description, role description, rules) for every binding naming the user:
    ClusterRoleBindings everywhere; RoleBindings only in their own namespace, and never for
    non-resource URLs (only ClusterRoleBindings grant those, as in the real authorizer)."""
    for crb in objects((RBAC, "clusterrolebindings")):
        if _binds(crb, user):
            ref = crb.get("roleRef") or {}
            rules = _role_rules(ref, "", objects)
            if rules is not None:
                yield (
                    f'ClusterRoleBinding "{crb["metadata"]["name"]}"',
                    f'ClusterRole "{ref.get("name", "")}"',
                    rules,
                )
    if not namespace:
        return
    for rb in objects((RBAC, "rolebindings")):
        if rb["metadata"].get("namespace") != namespace or not _binds(rb, user):
            continue
        ref = rb.get("roleRef") or {}
        rules = _role_rules(ref, namespace, objects)
        if rules is not None:
            # a RoleBinding grants resource rules only (nonResourceURLs are cluster-wide)
            rules = [r for r in rules if r.get("resources")]
            yield (
                f'RoleBinding "{rb["metadata"]["name"]}/{namespace}"',
                f'{ref.get("kind", "")} "{ref.get("name", "")}"',
                rules,
            )


def _role_rules(ref: Obj, namespace: str, objects: Lister) -> list[Obj] | None:
    kind, name = ref.get("kind"), ref.get("name")
    if kind == "ClusterRole":
        plural, ns = "clusterroles", ""
    elif kind == "Role" and namespace:
        plural, ns = "roles", namespace
    else:
        return None
    for role in objects((RBAC, plural)):
        md = role["metadata"]
        if md.get("name") == name and (md.get("namespace") or "") == ns:
            return list(role.get("rules") or [])
    return None


def _binds(binding: Obj, user: User) -> bool:
    for s in binding.get("subjects") or []:
        kind, name = s.get("kind"), s.get("name")
        if kind == "User" and name == user.name:
            return True
        if kind == "Group" and name in user.groups:
            return True
        if kind == "ServiceAccount":
            ns = s.get("namespace") or binding["metadata"].get("namespace", "")
            if user.name == f"system:serviceaccount:{ns}:{name}":
                return True
    return False


def _who(user: User) -> str:
    prefix = "system:serviceaccount:"
    if user.name.startswith(prefix):
        return f'ServiceAccount "{user.name[len(prefix) :].replace(":", "/", 1)}"'
    return f'User "{user.name}"'


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        return any(_url_matches(u, attrs.path) for u in rule.get("nonResourceURLs") or [])
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.api_group not in groups:
        return False
    if not _resource_matches(rule.get("resources") or [], attrs.resource, attrs.subresource):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _resource_matches(resources: list[str], resource: str, sub: str) -> bool:
    combined = f"{resource}/{sub}" if sub else resource
    return any(r in ("*", combined) or (sub and r == f"*/{sub}") for r in resources)


def _url_matches(rule_url: str, path: str) -> bool:
    if rule_url == "*" or rule_url == path:
        return True
    return rule_url.endswith("*") and path.startswith(rule_url[:-1])


# ---- the 403 -------------------------------------------------------------------------
def forbidden_message(user: User, attrs: Attributes) -> str:
    """responsewriters.forbiddenMessage."""
    who = f'User "{user.name}"'
    if not attrs.resource_request:
        return f'{who} cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return (
        f'{who} cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" {where}'
    )


def forbidden(user: User, attrs: Attributes) -> ApiError:
    """apierrors.NewForbidden(groupResource, name, forbiddenMessage)."""
    why = forbidden_message(user, attrs)
    if not attrs.resource_request:
        return ApiError(403, "Forbidden", f"forbidden: {why}", {})
    err = errors.forbidden(attrs.resource, attrs.api_group, attrs.name, why)
    if err.details is not None and not attrs.name:
        err.details.pop("name", None)  # omitempty in Go's StatusDetails
    return err


def review_attributes(spec: Obj) -> Attributes:
    """The attributes an access review asks about (resourceAttributes / nonResourceAttributes)."""
    if spec.get("nonResourceAttributes"):
        nra = spec["nonResourceAttributes"]
        return Attributes(
            verb=nra.get("verb", ""), resource_request=False, path=nra.get("path", "")
        )
    ra = spec.get("resourceAttributes") or {}
    return Attributes(
        verb=ra.get("verb", ""),
        resource_request=True,
        api_group=ra.get("group", ""),
        api_version=ra.get("version", ""),
        resource=ra.get("resource", ""),
        subresource=ra.get("subresource", ""),
        name=ra.get("name", ""),
        namespace=ra.get("namespace", ""),
    )
