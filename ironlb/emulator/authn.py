"""Authentication for `authorization="rbac"`: the admin token and ServiceAccount tokens.

The admin token belongs to `kubernetes-admin` in `system:masters`. ServiceAccount tokens are
minted by the TokenRequest API (`POST .../serviceaccounts/<name>/token`) and authenticate as
`system:serviceaccount:<ns>:<name>` while the ServiceAccount (same uid) exists and the token
has not expired. Tokens are opaque random strings kept in memory: they do not survive a
restart, as if the signing key had been rotated. Tokens never appear in logs or errors.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ironlb.emulator import errors
from ironlb.emulator.rbac import AUTHENTICATED, MASTERS, User

Obj = dict[str, Any]
ADMIN = User("kubernetes-admin", (MASTERS, AUTHENTICATED))
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
DEFAULT_AUDIENCES = ("https://kubernetes.default.svc.cluster.local",)


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED)
    return User(f"system:serviceaccount:{namespace}:{name}", groups, uid)


@dataclass(frozen=True)
class IssuedToken:
    namespace: str
    name: str
    uid: str
    expires: float


class Authenticator:
    """Bearer tokens -> users. `lookup_sa(ns, name)` returns the stored ServiceAccount."""

    def __init__(self, admin_token: str, lookup_sa: Callable[[str, str], Obj | None]) -> None:
        self.admin_token = admin_token
        self.lookup_sa = lookup_sa
        self._tokens: dict[str, IssuedToken] = {}

    def authenticate(self, authorization: str, now: float) -> User:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise errors.unauthorized()
        if hmac.compare_digest(token, self.admin_token):
            return ADMIN
        issued = self._tokens.get(token)
        if issued is None or issued.expires <= now:
            raise errors.unauthorized()
        sa = self.lookup_sa(issued.namespace, issued.name)
        if sa is None or sa["metadata"].get("uid") != issued.uid:
            raise errors.unauthorized()  # the ServiceAccount was deleted (or recreated)
        return service_account_user(issued.namespace, issued.name, issued.uid)

    def export(self) -> list[Obj]:
        """The issued tokens, for the state file (so a restarted emulator keeps them)."""
        return [
            {
                "token": t,
                "namespace": i.namespace,
                "name": i.name,
                "uid": i.uid,
                "expires": i.expires,
            }
            for t, i in self._tokens.items()
        ]

    def restore(self, tokens: list[Obj]) -> None:
        for t in tokens:
            issued = IssuedToken(t["namespace"], t["name"], t["uid"], float(t["expires"]))
            self._tokens[str(t["token"])] = issued

    def token_request(self, namespace: str, name: str, body: Obj | None, now: float) -> Obj:
        """Answer a TokenRequest for an existing ServiceAccount (201 body)."""
        sa = self.lookup_sa(namespace, name)
        if sa is None:
            raise errors.not_found("serviceaccounts", "", name)
        spec = dict((body or {}).get("spec") or {})
        seconds = int(spec.get("expirationSeconds") or DEFAULT_EXPIRATION)
        if seconds < MIN_EXPIRATION:
            raise errors.invalid(
                "TokenRequest",
                "authentication.k8s.io",
                name,
                [
                    errors.field_invalid(
                        "spec.expirationSeconds",
                        seconds,
                        "may not specify a duration less than 10 minutes",
                    )
                ],
            )
        token = secrets.token_urlsafe(32)
        self._tokens[token] = IssuedToken(namespace, name, sa["metadata"]["uid"], now + seconds)
        created = timestamp(now)
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created},
            "spec": {
                "audiences": list(spec.get("audiences") or DEFAULT_AUDIENCES),
                "expirationSeconds": seconds,
                "boundObjectRef": spec.get("boundObjectRef"),
            },
            "status": {"token": token, "expirationTimestamp": timestamp(now + seconds)},
        }


def timestamp(t: float) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
