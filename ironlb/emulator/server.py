"""aiohttp routes: REST verbs, chunked watch streams, discovery and health documents.

One catch-all handler parses the Kubernetes URL layout and calls the synchronous `Store`;
everything it answers on failure is a `Status` from `errors.py`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from ironlb.emulator import (
    discovery,
    errors,
    events,
    openapi,
    patch,
    protobuf,
    scale,
    tables,
    watch,
)
from ironlb.emulator.access import AccessControl
from ironlb.emulator.builtin import ResourceType
from ironlb.emulator.crd import CrdHook
from ironlb.emulator.errors import ApiError
from ironlb.emulator.rbac import User
from ironlb.emulator.selectors import field_matcher, label_matcher
from ironlb.emulator.store import Obj, Store, WatchEvent, obj_key
from ironlb.emulator.wire import (
    JSON,
    dumps,
    error_response,
    int_param,
    int_value,
    respond,
    wants_table,
)
from ironlb.log import get_logger

log = get_logger("emulator")
USER = web.RequestKey("user", User)
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-ironlb-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_CONTINUE_GONE = (
    "The provided continue parameter is too old to display a consistent list result. You can"
    " start a new list without the continue parameter, or use the continue token in this"
    " response to retrieve the remainder of the results. Continuing with the provided token"
    " results in an inconsistent list - objects that were created, modified, or deleted between"
    " the time the first chunk was returned and now may show up in the list."
)


@dataclass
class Target:
    """A parsed resource URL."""

    rt: ResourceType
    srt: ResourceType  # the type whose storage serves rt (rt itself unless rt.shares)
    version: str
    namespace: str
    name: str
    subresource: str
    watch_path: bool


class ApiServer:
    def __init__(
        self,
        store: Store,
        crd_hook: CrdHook,
        token: str | None = None,
        bookmark_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        access: AccessControl | None = None,
    ) -> None:
        self.store = store
        self.crd_hook = crd_hook
        self.token = token
        self.access = access or AccessControl(store, "allow-all", token)
        self.bookmark_interval = bookmark_interval
        self.clock = clock
        self.address = "127.0.0.1:0"
        self._watches: set[asyncio.Queue[WatchEvent | None]] = set()
        self.stopping = False

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def close_watches(self) -> None:
        self.stopping = True
        for q in list(self._watches):
            q.put_nowait(None)

    # ---- dispatch --------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle(request)
        finally:
            # per-request CRD settings must not leak into direct store use between requests
            self.crd_hook.field_validation, self.crd_hook.version = "Warn", None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as exc:
            return error_response(exc)
        except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            return error_response(errors.bad_request(f"error decoding request body: {exc}"))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            # a field of the wrong JSON type: the real server fails to decode it (400)
            log.warning(
                "request.malformed",
                method=request.method,
                path=request.path,
                error=f"{type(exc).__name__}: {exc}",
            )
            return error_response(
                errors.bad_request(
                    f"the request body does not decode into a valid object: {type(exc).__name__}:"
                    f" {exc}"
                )
            )
        except Exception as exc:  # an emulator bug: answer like the apiserver, log the cause
            log.error(
                "request.failed",
                method=request.method,
                path=request.path,
                error=f"{type(exc).__name__}: {exc}",
            )
            return error_response(ApiError(500, "InternalError", f"Internal error occurred: {exc}"))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/readyz", "/livez") or path.startswith(
            ("/healthz/", "/readyz/", "/livez/")
        ):
            return web.Response(text="ok", content_type="text/plain")
        if path == "/version":
            return respond(VERSION_INFO)
        self._authorize(request)
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["openapi", "v3"]:
            return self._openapi(parts[2:])
        if not parts:
            return respond({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/version"]})
        if parts[0] == "api":
            if len(parts) == 1:
                return respond(discovery.api_versions(self.address))
            if len(parts) == 2:
                return respond(discovery.resource_list(self.store.types.values(), "", parts[1]))
            return await self._resource(request, "", parts[1], parts[2:])
        if parts[0] == "apis":
            if len(parts) == 1:
                return respond(discovery.group_list(self.store.types.values()))
            if len(parts) == 2:
                return respond(discovery.group(self.store.types.values(), parts[1]))
            if len(parts) == 3:
                return respond(
                    discovery.resource_list(self.store.types.values(), parts[1], parts[2])
                )
            return await self._resource(request, parts[1], parts[2], parts[3:])
        raise errors.path_not_found(path)

    def _authorize(self, request: web.Request) -> None:
        """Authenticate and (in rbac mode) authorize before routing, as the real filters do."""
        request[USER] = self.access.check(
            request.method, request.path, request.query, request.headers, self.clock()
        )

    def _openapi(self, rest: list[str]) -> web.Response:
        types = list(self.store.types.values())
        if not rest:
            return respond(openapi.root(types))
        doc = openapi.gv_document("/".join(rest), types)
        if doc is None:
            raise errors.path_not_found("/".join(rest))
        return respond(doc)

    # ---- resources -----------------------------------------------------------------
    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        watch_path = bool(rest) and rest[0] == "watch"
        if watch_path:
            rest = rest[1:]
        namespace = ""
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise errors.path_not_found("/".join(rest))
        rt = self.store.find_type(group, version, rest[0])
        if rt is None:
            raise errors.path_not_found(rest[0])
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if namespace and not rt.namespaced:
            raise errors.path_not_found(rest[0])
        if rt.namespaced and name and not namespace:
            raise errors.path_not_found(rest[0])
        status_ok = sub == "status" and rt.status_subresource
        finalize_ok = sub == "finalize" and rt.key == ("", "namespaces")
        scale_ok = sub == "scale" and rt.key in scale.SCALABLE
        token_ok = sub == "token" and rt.key == ("", "serviceaccounts")
        if sub and not (status_ok or finalize_ok or scale_ok or token_ok):
            raise errors.path_not_found(sub)
        srt = self.store.types[rt.shares] if rt.shares else rt
        return Target(rt, srt, version, namespace, name, sub, watch_path)

    async def _resource(
        self, request: web.Request, group: str, version: str, rest: list[str]
    ) -> web.StreamResponse:
        t = self._target(group, version, rest)
        q = request.query
        method = request.method
        watching = t.watch_path or q.get("watch") in ("1", "true", "True")
        if method == "GET" and watching:
            return await self._watch(request, t)
        if not t.name:
            if method == "GET":
                return self._list(request, t)
            if method == "POST" and t.rt.review:
                return await self._review(request, t)
            if method == "POST":
                return await self._create(request, t)
            if method == "DELETE":
                return await self._delete_collection(request, t)
            raise errors.method_not_allowed()
        if t.subresource == "scale":
            return await self._scale(request, t)
        if t.subresource == "token":
            return await self._token(request, t)
        if method == "GET":
            obj = self._out(t, self.store.get(t.srt, t.namespace, t.name))
            if wants_table(request):
                meta = {"resourceVersion": obj["metadata"]["resourceVersion"]}
                include = q.get("includeObject", "Metadata")
                return respond(
                    tables.render_table(t.rt, t.version, [obj], meta, self.clock(), include)
                )
            return respond(obj)
        if method == "PUT":
            return await self._update(request, t)
        if method == "PATCH":
            return await self._patch(request, t)
        if method == "DELETE" and not t.subresource:
            return await self._delete(request, t)
        raise errors.method_not_allowed()

    async def _scale(self, request: web.Request, t: Target) -> web.Response:
        current = self.store.get(t.srt, t.namespace, t.name)
        if request.method == "GET":
            return respond(scale.to_scale(current))
        if request.method not in ("PUT", "PATCH"):
            raise errors.method_not_allowed()
        body = await self._body(request)
        dry_run, _ = self._prepare(request, t)
        if request.method == "PATCH":
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
            body = self._apply_patch(ctype, scale.to_scale(current), body, t.rt)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a Scale object")
        updated = scale.apply_scale(current, body, t.rt.kind)
        obj = self.store.update(t.srt, t.namespace, t.name, updated, self.clock(), None, dry_run)
        return respond(scale.to_scale(obj))

    def _out(self, t: Target, obj: Obj) -> Obj:
        """Serve the object at the version asked for (no conversion, as strategy None)."""
        obj = self._view(t, obj)
        obj["apiVersion"] = t.rt.api_version(t.version)
        return obj

    @staticmethod
    def _view(t: Target, stored: Obj) -> Obj:
        """A stored object as the requested type sees it."""
        return events.from_core(stored) if t.rt.shares else stored

    @staticmethod
    def _stored(t: Target, body: Obj) -> Obj:
        """A request body converted to the storage type's shape."""
        return events.to_core(body) if t.rt.shares else body

    # ---- reads -------------------------------------------------------------------------
    def matcher(self, request: web.Request, t: Target) -> Callable[[Obj], bool]:
        labels = label_matcher(request.query.get("labelSelector"))
        fields = field_matcher(
            request.query.get("fieldSelector"), t.rt.field_selectors, t.rt.kind, t.version
        )
        return lambda o: labels(o) and fields(self._view(t, o))

    def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        match = self.matcher(request, t)
        limit = int_param(q, "limit", 0)
        start = ""
        at_rv: int | None = None
        list_rv = self.store.rv
        if q.get("continue"):
            at_rv, start = _decode_continue(q["continue"])
            if not self.store.check_not_expired(at_rv):
                token = _encode_continue(self.store.rv, start)
                raise errors.gone(_CONTINUE_GONE, {"continue": token})
            list_rv = at_rv
        elif q.get("resourceVersion") and q.get("resourceVersionMatch") == "Exact":
            at_rv = int_value(q["resourceVersion"], "resourceVersion")
            if not self.store.check_not_expired(at_rv) or at_rv > self.store.rv:
                raise errors.gone("The resourceVersion for the provided list is too old.")
            list_rv = at_rv
        elif limit and q.get("resourceVersion") not in (None, "", "0"):
            at_rv = int_value(q["resourceVersion"], "resourceVersion")
            if not self.store.check_not_expired(at_rv):
                raise errors.gone("The resourceVersion for the provided list is too old.")
            list_rv = max(at_rv, 0)
            at_rv = None if at_rv >= self.store.rv else at_rv
        items = self.store.list(t.srt, t.namespace, match, at_rv)
        if start:
            items = [o for o in items if _sort_key(o) > start]
        list_meta: Obj = {"resourceVersion": str(list_rv)}
        if limit and len(items) > limit:
            last = items[limit - 1]
            list_meta["continue"] = _encode_continue(list_rv, _sort_key(last))
            list_meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        items = [self._out(t, o) for o in items]
        if wants_table(request):
            include = q.get("includeObject", "Metadata")
            return respond(
                tables.render_table(t.rt, t.version, items, list_meta, self.clock(), include)
            )
        return respond(
            {
                "kind": t.rt.list_kind,
                "apiVersion": t.rt.api_version(t.version),
                "metadata": list_meta,
                "items": items,
            }
        )

    # ---- writes ----------------------------------------------------------------------
    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        ctype = request.headers.get("Content-Type", JSON)
        if "protobuf" in ctype:
            return protobuf.decode_object(raw)
        if "yaml" in ctype:
            return yaml.safe_load(raw)
        return json.loads(raw)

    def _prepare(self, request: web.Request, t: Target) -> tuple[bool, dict[str, str]]:
        """dryRun flag; arms the CRD hook for this request (call after the last await)."""
        q = request.query
        dry_run = "All" in q.getall("dryRun", [])
        validation = q.get("fieldValidation", "Warn")
        if validation not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request(
                f"fieldValidation {validation} is invalid, valid values are: Ignore, Warn, Strict"
            )
        self.crd_hook.field_validation = validation
        self.crd_hook.version = t.version
        self.crd_hook.warnings = []
        return dry_run, {}

    def _warnings(self) -> dict[str, str]:
        if not self.crd_hook.warnings:
            return {}
        return {"Warning": ", ".join(f'299 - "{w}"' for w in self.crd_hook.warnings)}

    async def _create(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        dry_run, _ = self._prepare(request, t)
        obj = self.store.create(t.srt, t.namespace, self._stored(t, body), self.clock(), dry_run)
        return respond(self._out(t, obj), 201, self._warnings())

    async def _review(self, request: web.Request, t: Target) -> web.Response:
        """Access reviews, answered by the access control (the RBAC evaluator or allow-all)."""
        body = await self._body(request) or {}
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        status = self.access.review_status(t.rt.kind, body, request[USER])
        out = {
            **body,
            "apiVersion": t.rt.api_version(t.version),
            "kind": t.rt.kind,
            "metadata": {"creationTimestamp": None},
            "status": status,
        }
        return respond(out, 201)

    async def _token(self, request: web.Request, t: Target) -> web.Response:
        """TokenRequest (authentication.k8s.io/v1) on a ServiceAccount."""
        if request.method != "POST":
            raise errors.method_not_allowed()
        body = await self._body(request)
        out = self.access.token_request(t.namespace, t.name, body, self.clock())
        return respond(out, 201)

    async def _update(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        dry_run, _ = self._prepare(request, t)
        body = self._stored(t, body)
        obj = self.store.update(
            t.srt, t.namespace, t.name, body, self.clock(), t.subresource or None, dry_run
        )
        return respond(self._out(t, obj), 200, self._warnings())

    async def _patch(self, request: web.Request, t: Target) -> web.Response:
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype not in PATCH_TYPES or (
            ctype == "application/strategic-merge-patch+json" and not t.rt.strategic_merge
        ):
            accepted = [p for p in PATCH_TYPES if t.rt.strategic_merge or "strategic" not in p]
            raise errors.unsupported_media_type(ctype, accepted)
        body = await self._body(request)
        dry_run, _ = self._prepare(request, t)
        now = self.clock()
        current = self.store.peek(t.srt.key, t.namespace, t.name)
        if ctype == "application/apply-patch+yaml":
            return self._apply(request, t, body, current, dry_run)
        if current is None:
            raise errors.not_found(t.rt.plural, t.rt.group, t.name)
        patched = self._stored(t, self._apply_patch(ctype, self._view(t, current), body, t.rt))
        obj = self.store.update(
            t.srt, t.namespace, t.name, patched, now, t.subresource or None, dry_run
        )
        return respond(self._out(t, obj), 200, self._warnings())

    @staticmethod
    def _apply_patch(ctype: str, current: Obj, body: Any, rt: ResourceType) -> Obj:
        if ctype == "application/json-patch+json":
            return patch.json_patch(current, body)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the patch must be a JSON object")
        if ctype == "application/merge-patch+json":
            return patch.merge_patch(current, body)
        return patch.strategic_merge(current, body, rt.kind)

    def _apply(
        self, request: web.Request, t: Target, body: Any, current: Obj | None, dry_run: bool
    ) -> web.Response:
        """Server-side apply as create-or-merge (no managedFields ownership tracking)."""
        if not request.query.get("fieldManager"):
            raise errors.invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [errors.field_required("fieldManager", "is required for apply patch")],
            )
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the apply patch must be an object")
        now = self.clock()
        if current is None:
            if t.subresource:
                raise errors.not_found(t.rt.plural, t.rt.group, t.name)
            body.setdefault("metadata", {})["name"] = t.name
            obj = self.store.create(t.srt, t.namespace, self._stored(t, body), now, dry_run)
            return respond(self._out(t, obj), 201, self._warnings())
        body = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
        body.get("metadata", {}).pop("resourceVersion", None)
        view = self._view(t, current)
        merged = self._stored(
            t,
            patch.strategic_merge(view, body, t.rt.kind)
            if t.rt.strategic_merge
            else patch.merge_patch(view, body),
        )
        obj = self.store.update(
            t.srt, t.namespace, t.name, merged, now, t.subresource or None, dry_run
        )
        return respond(self._out(t, obj), 200, self._warnings())

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request) or {}
        dry_run = "All" in request.query.getall("dryRun", []) or "All" in (body.get("dryRun") or [])
        pre = body.get("preconditions") or {}
        obj, gone_now = self.store.delete(t.srt, t.namespace, t.name, self.clock(), pre, dry_run)
        if not gone_now or t.rt.return_deleted_object:
            return respond(self._out(t, obj))
        return respond(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": t.name,
                    **({"group": t.rt.group} if t.rt.group else {}),
                    "kind": t.rt.plural,
                    "uid": obj["metadata"].get("uid", ""),
                },
            }
        )

    async def _delete_collection(self, request: web.Request, t: Target) -> web.Response:
        match = self.matcher(request, t)
        dry_run = "All" in request.query.getall("dryRun", [])
        deleted = []
        for obj in self.store.list(t.srt, t.namespace, match):
            ns, name = obj_key(obj)
            if self.store.peek(t.srt.key, ns, name) is None:
                continue
            gone, _ = self.store.delete(t.srt, ns, name, self.clock(), None, dry_run)
            deleted.append(self._out(t, gone))
        return respond(
            {
                "kind": t.rt.list_kind,
                "apiVersion": t.rt.api_version(t.version),
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": deleted,
            }
        )

    # ---- watch -------------------------------------------------------------------------
    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        return await watch.serve(self, request, t)

    def watch_obj(self, t: Target, obj: Obj, table: bool) -> Obj:
        obj = self._out(t, dict(obj))
        if table:
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return tables.render_table(t.rt, t.version, [obj], meta, self.clock())
        return obj

    def register_watch(self, queue: asyncio.Queue[WatchEvent | None], on: bool) -> None:
        if on:
            self._watches.add(queue)
        else:
            self._watches.discard(queue)


def _sort_key(obj: Obj) -> str:
    ns, name = obj_key(obj)
    return f"{ns}/{name}"


def _encode_continue(rv: int, start: str) -> str:
    raw = dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc
