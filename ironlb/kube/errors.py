"""Typed API errors, built from the ``Status`` body a Kubernetes API server returns."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "AlreadyExists",
    "ApiError",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "TransportError",
    "Unauthorized",
    "error_from_status",
]


class ApiError(Exception):
    """A request the API server refused: HTTP ``status``, Status ``reason`` and ``message``."""

    def __init__(
        self, status: int, reason: str, message: str, body: dict[str, Any] | None = None
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body or {}
        super().__init__(f"{status} {reason}: {message}")

    @property
    def details(self) -> dict[str, Any]:
        """The Status ``details`` (name, kind, causes with field paths), if any."""
        details = self.body.get("details")
        return details if isinstance(details, dict) else {}


class TransportError(ApiError):
    """No HTTP answer at all: refused connection, reset, read timeout (status 0)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "TransportError", message)


class Unauthorized(ApiError):
    """401."""


class Forbidden(ApiError):
    """403."""


class NotFound(ApiError):
    """404: the object (or its namespace, or the resource type) does not exist."""


class Conflict(ApiError):
    """409 with a stale resourceVersion: re-read and retry."""


class AlreadyExists(ApiError):
    """409 on create: an object with that name exists (not a Conflict: retrying cannot help)."""


class Gone(ApiError):
    """410: the requested resourceVersion is too old (compacted); relist."""


class Invalid(ApiError):
    """422: the object failed validation; ``details['causes']`` name the fields."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


def error_from_status(status: int, body: bytes | str | dict[str, Any] | None) -> ApiError:
    """The typed error for an HTTP status and its (usually ``Status``) body."""
    parsed: dict[str, Any] = {}
    if isinstance(body, dict):
        parsed = body
    elif body:
        try:
            loaded = json.loads(body)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            parsed = loaded
        else:
            text = body.decode(errors="replace") if isinstance(body, bytes) else body
            parsed = {"message": text.strip()[:500]}
    code = int(parsed.get("code") or status)
    reason = str(parsed.get("reason") or "")
    message = str(parsed.get("message") or reason or f"HTTP {code}")
    cls = _BY_STATUS.get(code, ApiError)
    if code == 409 and reason == "AlreadyExists":
        cls = AlreadyExists
    # A real server reports an expired watch resourceVersion as 410 reason "Expired" or "Gone".
    if reason in ("Expired", "Gone"):
        cls = Gone
    return cls(code, reason or cls.__name__, message, parsed)
