"""Record core/v1 Events about objects, aggregating repeats into one Event with a count.

Like client-go's recorder: the same (object, type, reason, message) seen again bumps
``count`` and ``lastTimestamp`` of the Event already written instead of writing a new one.
Recording is best effort: a failure is logged, never raised into the caller's reconcile.
Messages must not contain secrets (callers build them from names, never from credentials).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ironlb.kube.client import Kube
from ironlb.kube.errors import ApiError, NotFound
from ironlb.kube.resources import EVENTS
from ironlb.log import get_logger

__all__ = ["NORMAL", "WARNING", "EventRecorder"]

log = get_logger("ironlb.kube.events")
Obj = dict[str, Any]
NORMAL = "Normal"
WARNING = "Warning"
_MAX_MESSAGE = 1024  # the API server refuses longer event messages


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """``EventRecorder(kube, component).record(obj, type_, reason, message)``."""

    def __init__(
        self,
        kube: Kube,
        component: str,
        host: str | None = None,
        *,
        cache_size: int = 4096,
        wall_clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.kube = kube
        self.component = component
        self.host = host or socket.gethostname()
        self.cache_size = cache_size
        self.wall_clock = wall_clock
        # aggregation key -> (event namespace, event name, count)
        self._seen: OrderedDict[tuple[str, ...], tuple[str, str, int]] = OrderedDict()

    def record(self, obj: Obj, type_: str, reason: str, message: str) -> Obj | None:
        """Write (or bump) the Event; returns it, or None if the API refused (logged)."""
        if type_ not in (NORMAL, WARNING):
            raise ValueError(f"event type {type_!r}: must be {NORMAL!r} or {WARNING!r}")
        message = message[:_MAX_MESSAGE]
        involved = _involved(obj)
        key = (
            involved.get("uid", ""),
            involved["kind"],
            involved.get("namespace", ""),
            involved["name"],
            type_,
            reason,
            message,
        )
        now = _time(self.wall_clock())
        try:
            return self._write(key, involved, type_, reason, message, now)
        except ApiError as exc:
            log.warning(
                "event.record_failed",
                object=f"{involved['kind']}/{involved['name']}",
                reason=reason,
                error=f"{exc.status} {exc.reason}: {exc.message}",
            )
            return None

    async def arecord(self, obj: Obj, type_: str, reason: str, message: str) -> Obj | None:
        """:meth:`record` from asyncio code (runs in a worker thread)."""
        return await asyncio.to_thread(self.record, obj, type_, reason, message)

    def _write(
        self,
        key: tuple[str, ...],
        involved: Obj,
        type_: str,
        reason: str,
        message: str,
        now: str,
    ) -> Obj:
        seen = self._seen.get(key)
        if seen is not None:
            namespace, name, count = seen
            patch = {"count": count + 1, "lastTimestamp": now}
            try:
                event = self.kube.patch(EVENTS, name, patch, namespace)
            except NotFound:
                pass  # expired (events have a TTL): start a new one
            else:
                self._remember(key, namespace, name, count + 1)
                return event
        namespace = involved.get("namespace") or "default"
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "generateName": f"{involved['name']}.",
                "namespace": namespace,
            },
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": self.component, "host": self.host},
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        event = self.kube.create(EVENTS, body, namespace)
        self._remember(key, namespace, event["metadata"]["name"], 1)
        return event

    def _remember(self, key: tuple[str, ...], namespace: str, name: str, count: int) -> None:
        self._seen[key] = (namespace, name, count)
        self._seen.move_to_end(key)
        while len(self._seen) > self.cache_size:
            self._seen.popitem(last=False)


def _involved(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    involved: Obj = {
        "apiVersion": obj.get("apiVersion", "v1"),
        "kind": obj.get("kind", ""),
        "name": meta.get("name", ""),
    }
    if not involved["kind"] or not involved["name"]:
        raise ValueError("event: the object needs kind and metadata.name")
    for field, source in (
        ("namespace", "namespace"),
        ("uid", "uid"),
        ("resourceVersion", "resourceVersion"),
    ):
        if meta.get(source):
            involved[field] = meta[source]
    return involved
