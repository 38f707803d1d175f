"""List + watch one resource into a :class:`Cache` and say which keys changed.

The client is blocking, so the list and each watch stream run in the informer's own thread
(never the loop's default executor, which a long watch would starve); events are
handed to the asyncio loop in order and applied there, so the cache is only ever touched from
the loop. Notifications are level-triggered: ``on_change(resource, namespace, name)`` says
"look at this key"; the consumer reads the cache (absence = deleted).

Recovery, as client-go's reflector does it:
- the stream ended (server timeout) → watch again from the last resourceVersion seen
  (events and bookmarks);
- the connection failed → back off, then watch again from that resourceVersion;
- 410 Gone (the resourceVersion was compacted) or any other API error → list again, replace
  the cache and notify every key that changed or vanished;
- a resourceVersion lower than the last one seen (a server whose history restarted: an
  etcd restore) → drop the stream and list again;
- every failure backs off exponentially with jitter; a successful list or clean stream resets;
  a stream that ends at once without a single event counts as a failure (no hot loop against
  a server that sheds watches).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from ironlb.kube.backoff import Backoff
from ironlb.kube.cache import Cache, Key, key_of
from ironlb.kube.client import Kube, WatchStream
from ironlb.kube.errors import ApiError, Gone, TransportError
from ironlb.kube.resources import Resource
from ironlb.log import get_logger

__all__ = ["Informer", "InformerStats", "OnChange"]

log = get_logger("ironlb.kube.informer")
Obj = dict[str, Any]
T = TypeVar("T")
OnChange = Callable[[Resource, str, str], None]
MIN_WATCH_SECONDS = 1.0  # a stream that ends sooner with no event counts as a failure


@dataclass
class InformerStats:
    lists: int = 0
    watches: int = 0
    expired: int = 0  # 410 Gone → relist
    errors: int = 0
    events: int = 0
    bookmarks: int = 0
    resets: int = 0  # resourceVersion went backwards → relist


class Informer:
    """Keeps ``cache`` equal to the server's view of ``resource`` (in scope); see module doc."""

    def __init__(
        self,
        kube: Kube,
        resource: Resource,
        cache: Cache,
        on_change: OnChange | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        *,
        backoff: Backoff | None = None,
        watch_timeout: int = 300,
        read_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        resync_period: float | None = None,
    ) -> None:
        self.kube = kube
        self.resource = resource
        self.cache = cache
        self.on_change = on_change
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.backoff = backoff or Backoff()
        self.watch_timeout = watch_timeout
        self.read_timeout = read_timeout
        self.clock = clock
        self.resync_period = resync_period
        self.synced = asyncio.Event()
        self.resource_version: str | None = None
        self.stats = InformerStats()
        self._keys: set[Key] = set()  # what this informer put in the cache (its scope)
        self._stop = asyncio.Event()
        self._stream: WatchStream | None = None
        self._stream_lock = threading.Lock()
        self._reset_requested = False
        self._executor: ThreadPoolExecutor | None = None  # one per run()

    # ------------------------------------------------------------------ control

    async def run(self) -> None:
        """Run until :meth:`stop` or cancellation."""
        need_list = True
        # Our own thread: a watch blocks it for minutes, and many informers on the loop's
        # default executor would starve every other asyncio.to_thread call.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"informer-{self.resource}")
        resync = asyncio.create_task(self._resync()) if self.resync_period else None
        try:
            while not self._stop.is_set():
                try:
                    if need_list:
                        await self._list()
                        need_list = False
                    started = self.clock()
                    delivered = await self._watch()
                    if self._reset_requested:
                        self._reset_requested = False
                        need_list = True
                        continue
                    if delivered or self.clock() - started >= MIN_WATCH_SECONDS:
                        self.backoff.reset()
                    else:
                        # Ended at once with nothing: a server shedding watches. Do not spin.
                        await self._pause(self.backoff.next())
                except Gone:
                    self.stats.expired += 1
                    log.info("informer.expired", resource=str(self.resource))
                    need_list = True
                except Exception as exc:  # any failure: back off, recover
                    if self._stop.is_set():
                        break
                    self.stats.errors += 1
                    # A broken connection keeps our place; anything else starts over.
                    if not isinstance(exc, TransportError):
                        need_list = True
                    delay = self.backoff.next()
                    log.warning(
                        "informer.error",
                        resource=str(self.resource),
                        error=_describe(exc),
                        retry_in=round(delay, 3),
                        relist=need_list,
                    )
                    await self._pause(delay)
        finally:
            if resync is not None:
                resync.cancel()
            self._close_stream()
            self._executor.shutdown(wait=False)
            self._executor = None

    async def _in_thread(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        call = functools.partial(func, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    async def _resync(self) -> None:
        """Every ``resync_period``, say every key again (guards our bugs, not lost events)."""
        assert self.resync_period is not None
        while not self._stop.is_set():
            await self._pause(self.resync_period)
            if self.synced.is_set() and not self._stop.is_set():
                for key in sorted(self._keys):
                    self._notify(key)

    async def _pause(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    def stop(self) -> None:
        """Ask :meth:`run` to return; safe to call from the loop at any time."""
        self._stop.set()
        self._close_stream()

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Wait for the first complete list to be in the cache."""
        await asyncio.wait_for(self.synced.wait(), timeout)

    # --------------------------------------------------------------------- list

    async def _list(self) -> None:
        result = await self._in_thread(
            self.kube.list,
            self.resource,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        self.stats.lists += 1
        self._replace(result.get("items") or [])
        self.resource_version = str((result.get("metadata") or {}).get("resourceVersion") or "")
        self.backoff.reset()
        self.synced.set()
        log.debug(
            "informer.listed",
            resource=str(self.resource),
            count=len(self._keys),
            resource_version=self.resource_version,
        )

    def _replace(self, items: list[Obj]) -> None:
        fresh = {key_of(obj): obj for obj in items}
        for key in sorted(self._keys - fresh.keys()):
            self.cache.delete(self.resource, *key)
            self._notify(key)
        for key, obj in fresh.items():
            if self.cache.upsert(self.resource, obj):
                self._notify(key)
        self._keys = set(fresh)

    # -------------------------------------------------------------------- watch

    async def _watch(self) -> int:
        loop = asyncio.get_running_loop()
        self.stats.watches += 1
        return await self._in_thread(self._stream_events, loop, self.resource_version)

    def _stream_events(self, loop: asyncio.AbstractEventLoop, since: str | None) -> int:
        """Worker thread: open the watch, post each event to the loop in order; count them."""
        stream = self.kube.watch(
            self.resource,
            self.namespace,
            resource_version=since,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            allow_bookmarks=True,
            # Spread over [t, 2t) as client-go does, so informers do not reconnect in step.
            timeout_seconds=int(self.watch_timeout * (1 + self.backoff.rng.random())),
            read_timeout=self.read_timeout,
        )
        delivered = 0
        with self._stream_lock:
            if self._stop.is_set():
                stream.close()
                return delivered
            self._stream = stream
        try:
            for event in stream:
                loop.call_soon_threadsafe(self._apply, event)
                delivered += 1
            return delivered
        finally:
            with self._stream_lock:
                self._stream = None
            stream.close()

    def _apply(self, event: Obj) -> None:
        if self._reset_requested:
            return  # the rest of a stream we are dropping; the relist covers it
        kind = event.get("type")
        obj = event.get("object") or {}
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv and _older(str(rv), self.resource_version):
            # A server whose history restarted (an etcd restore from a backup):
            # our resourceVersion means nothing there, so start over from a list.
            self.stats.resets += 1
            self._reset_requested = True
            log.warning(
                "informer.resource_version_went_back",
                resource=str(self.resource),
                seen=str(rv),
                ours=self.resource_version,
            )
            self._close_stream()
            return
        if kind == "BOOKMARK":
            self.stats.bookmarks += 1
        elif kind in ("ADDED", "MODIFIED"):
            self.stats.events += 1
            obj.setdefault("apiVersion", self.resource.api_version)
            obj.setdefault("kind", self.resource.kind)
            key = key_of(obj)
            self._keys.add(key)
            if self.cache.upsert(self.resource, obj):
                self._notify(key)
        elif kind == "DELETED":
            self.stats.events += 1
            key = key_of(obj)
            self._keys.discard(key)
            if self.cache.delete(self.resource, *key) is not None:
                self._notify(key)
        if rv:
            self.resource_version = str(rv)

    def _close_stream(self) -> None:
        with self._stream_lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def _notify(self, key: Key) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(self.resource, key[0], key[1])
        except Exception as exc:  # a consumer bug must not stop the informer
            log.error(
                "informer.on_change_failed",
                resource=str(self.resource),
                namespace=key[0],
                name=key[1],
                error=_describe(exc),
            )


def _older(seen: str, ours: str | None) -> bool:
    """True if ``seen`` is numerically below ``ours`` (resourceVersions are etcd revisions on
    every server we know; non-numeric ones are left alone, as the API asks)."""
    if not ours or not seen.isdigit() or not ours.isdigit():
        return False
    return int(seen) < int(ours)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status} {exc.reason}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"
