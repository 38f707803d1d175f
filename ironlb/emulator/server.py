"""aiohttp routes: REST verbs, chunked watch streams, discovery and health documents.

One catch-all handler parses the Kubernetes URL layout and calls the synchronous `Store`;
everything it answers on failure is a `Status` from `errors.py`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from ironlb.emulator import errors, events, openapi, patch, protobuf, scale, tables
from ironlb.emulator.builtin import ResourceType
from ironlb.emulator.crd import CrdHook, version_priority
from ironlb.emulator.errors import ApiError
from ironlb.emulator.selectors import field_matcher, label_matcher
from ironlb.emulator.store import Obj, Store, WatchEvent, obj_key
from ironlb.log import get_logger

log = get_logger("emulator")
JSON = "application/json"
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


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def respond(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(obj), status=status, content_type=JSON, headers=headers or None)


def error_response(exc: ApiError) -> web.Response:
    return respond(exc.status(), exc.code)


class ApiServer:
    def __init__(
        self,
        store: Store,
        crd_hook: CrdHook,
        token: str | None = None,
        bookmark_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.crd_hook = crd_hook
        self.token = token
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
            return await self._dispatch(request)
        except ApiError as exc:
            return error_response(exc)
        except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            return error_response(errors.bad_request(f"error decoding request body: {exc}"))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
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
                return respond(self._api_versions())
            if len(parts) == 2:
                return respond(self._resource_list("", parts[1]))
            return await self._resource(request, "", parts[1], parts[2:])
        if parts[0] == "apis":
            if len(parts) == 1:
                return respond(self._group_list())
            if len(parts) == 2:
                return respond(self._group(parts[1]))
            if len(parts) == 3:
                return respond(self._resource_list(parts[1], parts[2]))
            return await self._resource(request, parts[1], parts[2], parts[3:])
        raise errors.path_not_found(path)

    def _authorize(self, request: web.Request) -> None:
        if self.token is None:
            return
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            raise errors.unauthorized()

    def _openapi(self, rest: list[str]) -> web.Response:
        types = list(self.store.types.values())
        if not rest:
            return respond(openapi.root(types))
        doc = openapi.gv_document("/".join(rest), types)
        if doc is None:
            raise errors.path_not_found("/".join(rest))
        return respond(doc)

    # ---- discovery ---------------------------------------------------------------
    def _groups(self) -> dict[str, list[str]]:
        groups: dict[str, set[str]] = {}
        for rt in self.store.types.values():
            groups.setdefault(rt.group, set()).update(rt.versions)
        return {g: sorted(v, key=version_priority) for g, v in groups.items()}

    def _api_versions(self) -> Obj:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}
            ],
        }

    def _group_doc(self, group: str, versions: list[str]) -> Obj:
        listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": listed, "preferredVersion": listed[0]}

    def _group_list(self) -> Obj:
        groups = [self._group_doc(g, v) for g, v in sorted(self._groups().items()) if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _group(self, group: str) -> Obj:
        versions = self._groups().get(group)
        if not group or not versions:
            raise errors.path_not_found(group)
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group_doc(group, versions)}

    def _resource_list(self, group: str, version: str) -> Obj:
        resources = []
        for rt in sorted(self.store.types.values(), key=lambda t: t.plural):
            if rt.group != group or version not in rt.versions:
                continue
            resources.append(
                {
                    "name": rt.plural,
                    "singularName": rt.singular,
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": list(rt.verbs),
                    **({"shortNames": rt.short_names} if rt.short_names else {}),
                    **({"categories": rt.categories} if rt.categories else {}),
                }
            )
            if rt.key in scale.SCALABLE:
                resources.append(
                    {
                        "name": f"{rt.plural}/scale",
                        "singularName": "",
                        "namespaced": rt.namespaced,
                        "group": "autoscaling",
                        "version": "v1",
                        "kind": "Scale",
                        "verbs": ["get", "patch", "update"],
                    }
                )
            if rt.status_subresource:
                resources.append(
                    {
                        "name": f"{rt.plural}/status",
                        "singularName": "",
                        "namespaced": rt.namespaced,
                        "kind": rt.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        if not resources:
            raise errors.path_not_found(f"{group}/{version}")
        gv = f"{group}/{version}" if group else version
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": gv,
            "resources": resources,
        }

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
        if sub and not (status_ok or finalize_ok or scale_ok):
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
        if method == "GET":
            obj = self._out(t, self.store.get(t.srt, t.namespace, t.name))
            if _wants_table(request):
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
        dry_run, _ = self._prepare(request)
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
    def _matcher(self, request: web.Request, t: Target) -> Callable[[Obj], bool]:
        labels = label_matcher(request.query.get("labelSelector"))
        fields = field_matcher(
            request.query.get("fieldSelector"), t.rt.field_selectors, t.rt.kind, t.version
        )
        return lambda o: labels(o) and fields(self._view(t, o))

    def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        match = self._matcher(request, t)
        limit = _int_param(q, "limit", 0)
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
            at_rv = _int_value(q["resourceVersion"], "resourceVersion")
            if not self.store.check_not_expired(at_rv) or at_rv > self.store.rv:
                raise errors.gone("The resourceVersion for the provided list is too old.")
            list_rv = at_rv
        elif limit and q.get("resourceVersion") not in (None, "", "0"):
            at_rv = _int_value(q["resourceVersion"], "resourceVersion")
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
        if _wants_table(request):
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

    def _prepare(self, request: web.Request) -> tuple[bool, dict[str, str]]:
        """dryRun flag; arms the CRD hook's per-request field validation."""
        q = request.query
        dry_run = "All" in q.getall("dryRun", [])
        validation = q.get("fieldValidation", "Warn")
        if validation not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request(
                f"fieldValidation {validation} is invalid, valid values are: Ignore, Warn, Strict"
            )
        self.crd_hook.field_validation = validation
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
        dry_run, _ = self._prepare(request)
        obj = self.store.create(t.srt, t.namespace, self._stored(t, body), self.clock(), dry_run)
        return respond(self._out(t, obj), 201, self._warnings())

    async def _review(self, request: web.Request, t: Target) -> web.Response:
        """Access reviews: everything is allowed (the emulator enforces no RBAC)."""
        ctype = request.headers.get("Content-Type", "")
        body = {} if "protobuf" in ctype else (await self._body(request) or {})
        if t.rt.kind == "SelfSubjectRulesReview":
            status = {
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False,
            }
        else:
            status = {"allowed": True, "reason": "the emulator enforces no RBAC"}
        out = {
            **body,
            "apiVersion": t.rt.api_version(t.version),
            "kind": t.rt.kind,
            "metadata": {"creationTimestamp": None},
            "status": status,
        }
        return respond(out, 201)

    async def _update(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        dry_run, _ = self._prepare(request)
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
        dry_run, _ = self._prepare(request)
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
        match = self._matcher(request, t)
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
        q = request.query
        match = self._matcher(request, t)
        if t.name:
            base = match
            match = lambda o: base(o) and o["metadata"]["name"] == t.name  # noqa: E731
        timeout = _int_param(q, "timeoutSeconds", 0) or 1800
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
        initial_events = q.get("sendInitialEvents") in ("1", "true", "True")
        rv_param = q.get("resourceVersion", "")
        table = _wants_table(request)
        queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()

        def translate(ev: WatchEvent) -> tuple[str, Obj] | None:
            if ev.key != t.srt.key:
                return None
            if t.namespace and ev.obj["metadata"].get("namespace") != t.namespace:
                return None
            now_in = ev.type != "DELETED" and match(ev.obj)
            before = ev.prev is not None and ev.type != "ADDED" and match(ev.prev)
            if ev.type == "DELETED":
                return ("DELETED", ev.obj) if before else None
            if now_in and (before or ev.type == "ADDED"):
                return (ev.type, ev.obj)
            if now_in:
                return ("ADDED", ev.obj)
            if before:
                return ("DELETED", ev.obj)
            return None

        # Everything up to subscribing runs without awaiting, so no event slips between.
        replay: list[tuple[str, Obj]] = []
        expired: ApiError | None = None
        if rv_param in ("", "0") or initial_events:
            replay = [("ADDED", o) for o in self.store.list(t.srt, t.namespace, match)]
        else:
            since = _int_value(rv_param, "resourceVersion")
            if not self.store.check_not_expired(since):
                expired = errors.gone(
                    f"too old resource version: {since} ({self.store.compacted + 1})"
                )
            else:
                replay = [
                    x for ev in self.store.events_since(since, t.srt.key) if (x := translate(ev))
                ]
        start_rv = self.store.rv

        def listener(ev: WatchEvent) -> None:
            queue.put_nowait(ev)

        resp = web.StreamResponse(status=200, headers={"Content-Type": JSON})
        resp.enable_chunked_encoding()
        if expired is None:
            self.store.listeners.append(listener)
            self._watches.add(queue)
        try:
            await resp.prepare(request)
            if expired is not None:
                await _send(resp, "ERROR", expired.status())
                return resp
            for type_, obj in replay:
                await _send(resp, type_, self._watch_obj(t, obj, table))
            if initial_events and bookmarks:
                await _send(resp, "BOOKMARK", self._bookmark(t, start_rv, initial_end=True))
            await self._stream(resp, t, queue, translate, timeout, bookmarks, table, request)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(ValueError):
                self.store.listeners.remove(listener)
            self._watches.discard(queue)
        return resp

    async def _stream(
        self,
        resp: web.StreamResponse,
        t: Target,
        queue: asyncio.Queue[WatchEvent | None],
        translate: Callable[[WatchEvent], tuple[str, Obj] | None],
        timeout: float,
        bookmarks: bool,
        table: bool,
        request: web.Request,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_bookmark = loop.time() + self.bookmark_interval
        while not self.stopping:
            now = loop.time()
            if now >= deadline:
                return
            # a quiet watch still notices a vanished client within a second
            wait = min(deadline - now, 1.0)
            if bookmarks:
                wait = min(wait, max(0.0, next_bookmark - now))
            try:
                ev = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return
                if bookmarks and loop.time() >= next_bookmark:
                    await _send(resp, "BOOKMARK", self._bookmark(t, self.store.rv))
                    next_bookmark = loop.time() + self.bookmark_interval
                continue
            if ev is None:
                return
            out = translate(ev)
            if out is not None:
                await _send(resp, out[0], self._watch_obj(t, dict(out[1]), table))

    def _watch_obj(self, t: Target, obj: Obj, table: bool) -> Obj:
        obj = self._out(t, dict(obj))
        if table:
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return tables.render_table(t.rt, t.version, [obj], meta, self.clock())
        return obj

    def _bookmark(self, t: Target, rv: int, initial_end: bool = False) -> Obj:
        md: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": t.rt.kind, "apiVersion": t.rt.api_version(t.version), "metadata": md}


async def _send(resp: web.StreamResponse, type_: str, obj: Obj) -> None:
    await resp.write((dumps({"type": type_, "object": obj}) + "\n").encode())


def _wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    first = accept.split(",")[0]
    return "as=Table" in first


def _int_param(q: Any, name: str, default: int) -> int:
    value = q.get(name)
    if value in (None, ""):
        return default
    return _int_value(value, name)


def _int_value(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise errors.bad_request(f"{name}: Invalid value: {value!r}: must be an integer") from exc


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
