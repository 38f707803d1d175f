"""Watch streams: `{"type","object"}` JSON lines over chunked HTTP.

`select` is the pure part (what a watcher with a selector sees of a store event); `serve`
is the shell: replay from a resourceVersion or the current state, then follow the store,
with bookmarks, a timeout, 410 for expired versions and release of vanished clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from ironlb.emulator import errors
from ironlb.emulator.errors import ApiError
from ironlb.emulator.store import Obj, WatchEvent
from ironlb.emulator.wire import JSON, dumps, int_param, int_value, wants_table

if TYPE_CHECKING:
    from ironlb.emulator.server import ApiServer, Target

Change = tuple[str, Obj]


def select(
    ev: WatchEvent, key: tuple[str, str], namespace: str, match: Callable[[Obj], bool]
) -> Change | None:
    """The event a selective watcher gets: leaving the selection is DELETED, entering ADDED."""
    if ev.key != key:
        return None
    if namespace and ev.obj["metadata"].get("namespace") != namespace:
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


def _flag(value: str | None) -> bool:
    return value in ("1", "true", "True")


async def serve(server: ApiServer, request: web.Request, t: Target) -> web.StreamResponse:
    q = request.query
    store = server.store
    base = server.matcher(request, t)
    match = (lambda o: base(o) and o["metadata"]["name"] == t.name) if t.name else base
    timeout = int_param(q, "timeoutSeconds", 0) or 1800
    bookmarks = _flag(q.get("allowWatchBookmarks"))
    initial_events = _flag(q.get("sendInitialEvents"))
    rv_param = q.get("resourceVersion", "")
    table = wants_table(request)
    queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()

    def translate(ev: WatchEvent) -> Change | None:
        return select(ev, t.srt.key, t.namespace, match)

    # Everything up to subscribing runs without awaiting, so no event slips between.
    replay: list[Change] = []
    expired: ApiError | None = None
    if rv_param in ("", "0") or initial_events:
        replay = [("ADDED", o) for o in store.list(t.srt, t.namespace, match)]
    else:
        since = int_value(rv_param, "resourceVersion")
        if not store.check_not_expired(since):
            expired = errors.gone(f"too old resource version: {since} ({store.compacted + 1})")
        else:
            replay = [x for ev in store.events_since(since, t.srt.key) if (x := translate(ev))]
    start_rv = store.rv

    def listener(ev: WatchEvent) -> None:
        queue.put_nowait(ev)

    resp = web.StreamResponse(status=200, headers={"Content-Type": JSON})
    resp.enable_chunked_encoding()
    if expired is None:
        store.listeners.append(listener)
        server.register_watch(queue, True)
    try:
        await resp.prepare(request)
        if expired is not None:
            await send(resp, "ERROR", expired.status())
            return resp
        for type_, obj in replay:
            await send(resp, type_, server.watch_obj(t, obj, table))
        if initial_events and bookmarks:
            await send(resp, "BOOKMARK", bookmark(t, start_rv, initial_end=True))
        await _follow(server, request, resp, t, queue, translate, timeout, bookmarks, table)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(ValueError):
            store.listeners.remove(listener)
        server.register_watch(queue, False)
    return resp


async def _follow(
    server: ApiServer,
    request: web.Request,
    resp: web.StreamResponse,
    t: Target,
    queue: asyncio.Queue[WatchEvent | None],
    translate: Callable[[WatchEvent], Change | None],
    timeout: float,
    bookmarks: bool,
    table: bool,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    next_bookmark = loop.time() + server.bookmark_interval
    while not server.stopping:
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
                await send(resp, "BOOKMARK", bookmark(t, server.store.rv))
                next_bookmark = loop.time() + server.bookmark_interval
            continue
        if ev is None:
            return
        out = translate(ev)
        if out is not None:
            await send(resp, out[0], server.watch_obj(t, dict(out[1]), table))


def bookmark(t: Target, rv: int, initial_end: bool = False) -> Obj:
    md: Obj = {"resourceVersion": str(rv)}
    if initial_end:
        md["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": t.rt.kind, "apiVersion": t.rt.api_version(t.version), "metadata": md}


async def send(resp: web.StreamResponse, type_: str, obj: Obj) -> None:
    await resp.write((dumps({"type": type_, "object": obj}) + "\n").encode())
