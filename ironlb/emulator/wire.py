"""HTTP wire helpers shared by the routes and the watch streams."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ironlb.emulator import errors
from ironlb.emulator.errors import ApiError

JSON = "application/json"


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def respond(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(obj), status=status, content_type=JSON, headers=headers or None)


def error_response(exc: ApiError) -> web.Response:
    return respond(exc.status(), exc.code)


def wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    first = accept.split(",")[0]
    return "as=Table" in first


def int_param(q: Any, name: str, default: int) -> int:
    value = q.get(name)
    if value in (None, ""):
        return default
    return int_value(value, name)


def int_value(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise errors.bad_request(f"{name}: Invalid value: {value!r}: must be an integer") from exc
