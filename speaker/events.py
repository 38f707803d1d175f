"""Kubernetes Events about Services, fire-and-forget: an Event never blocks L2.

A thin asyncio adapter over the shared `ironlb.kube.events.EventRecorder` (which aggregates
repeats into one Event with a count); the blocking write runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ironlb.kube.client import Kube
from ironlb.kube.events import WARNING, EventRecorder
from ironlb.log import get_logger

log = get_logger("speaker.events")
COMPONENT = "ironlb-speaker"

ServiceLookup = Callable[[str, str], dict[str, Any] | None]


class EventWriter:
    def __init__(self, kube: Kube, node: str, lookup: ServiceLookup) -> None:
        self._recorder = EventRecorder(kube, COMPONENT, host=node)
        self._lookup = lookup
        self._tasks: set[asyncio.Task[Any]] = set()

    def warn_service(self, namespace: str, name: str, reason: str, message: str) -> None:
        svc = self._lookup(namespace, name) or {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"namespace": namespace, "name": name},
        }
        self.warn({"apiVersion": "v1", "kind": "Service", **svc}, reason, message)

    def warn(self, obj: dict[str, Any], reason: str, message: str) -> None:
        """A Warning Event about any object (a Service, a BGPPeer), written in the background."""
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._recorder.record, obj, WARNING, reason, message)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
