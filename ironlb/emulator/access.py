"""Who may do what: the glue between the HTTP layer, `authn` and the `rbac` evaluator.

Two modes. `"allow-all"` (the default) keeps the emulator's historic behaviour: an optional
single bearer token, everything allowed, access reviews answer "allowed". `"rbac"`
authenticates every request (the admin token or a TokenRequest-minted ServiceAccount token;
anything else is 401), authorizes it against the stored RBAC objects before routing (403
otherwise; watches are checked when they open), and answers access reviews with the evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironlb.emulator import errors, rbac
from ironlb.emulator.authn import (
    ADMIN,
    DEFAULT_EXPIRATION,
    Authenticator,
    service_account_user,
    timestamp,
)
from ironlb.emulator.rbac import AUTHENTICATED, User
from ironlb.emulator.store import Store

Obj = dict[str, Any]
MODES = ("allow-all", "rbac")
_ALLOW_ALL_RULES = {
    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
    "incomplete": False,
}


class AccessControl:
    def __init__(self, store: Store, mode: str, token: str | None) -> None:
        if mode not in MODES:
            raise ValueError(f"authorization must be one of {', '.join(MODES)}, not {mode!r}")
        self.store = store
        self.mode = mode
        self.token = token
        self.authn = (
            Authenticator(token, self._service_account) if mode == "rbac" and token else None
        )

    @property
    def enforcing(self) -> bool:
        return self.authn is not None

    def _service_account(self, namespace: str, name: str) -> Obj | None:
        sa = self.store.peek(("", "serviceaccounts"), namespace, name)
        return None if sa is None or sa["metadata"].get("deletionTimestamp") else sa

    def check(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        now: float,
    ) -> User:
        """The request's user; raises the 401 or 403 the apiserver would send."""
        authorization = headers.get("Authorization", "")
        if self.authn is None:
            if self.token is not None and authorization != f"Bearer {self.token}":
                raise errors.unauthorized()
            return ADMIN
        user = self.authn.authenticate(authorization, now)
        if headers.get("Impersonate-User"):
            user = self._impersonate(user, headers)
        attrs = rbac.request_attributes(method, path, query)
        if not rbac.authorize(user, attrs, self.store.items).allowed:
            raise rbac.forbidden(user, attrs)
        return user

    def _impersonate(self, user: User, headers: Mapping[str, str]) -> User:
        """`kubectl --as/--as-group`: allowed when the caller may `impersonate` them."""
        name = headers["Impersonate-User"]
        groups = (
            tuple(headers.getall("Impersonate-Group", [])) if hasattr(headers, "getall") else ()
        )
        sa = name.split(":")
        if len(sa) == 4 and sa[:2] == ["system", "serviceaccount"]:
            target = service_account_user(sa[2], sa[3])
            checks = [
                rbac.Attributes(
                    "impersonate", True, resource="serviceaccounts", name=sa[3], namespace=sa[2]
                )
            ]
        else:
            target = User(name, (AUTHENTICATED,))
            checks = [rbac.Attributes("impersonate", True, resource="users", name=name)]
        checks += [rbac.Attributes("impersonate", True, resource="groups", name=g) for g in groups]
        for attrs in checks:
            if not rbac.authorize(user, attrs, self.store.items).allowed:
                raise rbac.forbidden(user, attrs)
        if groups:
            target = User(target.name, (*groups, AUTHENTICATED))
        return target

    def token_request(self, namespace: str, name: str, body: Obj | None, now: float) -> Obj:
        if self.authn is None:
            # allow-all mode: hand out the admin token (or none) so callers work unchanged
            sa = self._service_account(namespace, name)
            if sa is None:
                raise errors.not_found("serviceaccounts", "", name)
            return _allow_all_token(namespace, name, self.token or "", body, now)
        return self.authn.token_request(namespace, name, body, now)

    def review_status(self, kind: str, body: Obj, user: User) -> Obj:
        spec = body.get("spec") or {}
        if self.authn is None:
            if kind == "SelfSubjectRulesReview":
                return dict(_ALLOW_ALL_RULES)
            return {"allowed": True, "reason": "the emulator enforces no RBAC"}
        if kind == "SubjectAccessReview":
            user = User(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""))
        if kind == "SelfSubjectRulesReview":
            return _rules_status(rbac.rules_for(user, spec.get("namespace", ""), self.store.items))
        decision = rbac.authorize(user, rbac.review_attributes(spec), self.store.items)
        status: Obj = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return status


def _rules_status(rules: list[Obj]) -> Obj:
    resource = [
        {k: r[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if r.get(k)}
        for r in rules
        if r.get("resources")
    ]
    non_resource = [
        {"verbs": r.get("verbs", []), "nonResourceURLs": r["nonResourceURLs"]}
        for r in rules
        if r.get("nonResourceURLs")
    ]
    return {"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": False}


def _allow_all_token(namespace: str, name: str, token: str, body: Obj | None, now: float) -> Obj:
    spec = (body or {}).get("spec") or {}
    seconds = int(spec.get("expirationSeconds") or DEFAULT_EXPIRATION)
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": {
            "audiences": list(spec.get("audiences") or []),
            "expirationSeconds": seconds,
            "boundObjectRef": None,
        },
        "status": {"token": token, "expirationTimestamp": timestamp(now + seconds)},
    }
