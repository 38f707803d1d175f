"""A tiny raw HTTP helper for requests the typed client cannot make."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def raw(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    as_text: bool = False,
) -> tuple[int, Any, dict[str, str]]:
    data = None
    hdrs = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(base_url + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, payload, got = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        status, payload, got = exc.code, exc.read(), dict(exc.headers)
    text = payload.decode()
    if as_text:
        return status, text, got
    try:
        return status, json.loads(text), got
    except json.JSONDecodeError:
        return status, text, got
