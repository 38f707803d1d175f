"""Kubernetes Events about Services, written fire-and-forget (an Event never blocks L2)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Any

from ironlb.kube.errors import ApiError
from ironlb.kube.resources import EVENTS, SERVICES
from ironlb.log import get_logger

log = get_logger("speaker.events")
COMPONENT = "ironlb-speaker"


class EventWriter:
    def __init__(self, akube: Any, node: str) -> None:
        self._akube = akube
        self._node = node
        self._tasks: set[asyncio.Task[Any]] = set()

    def warn_service(self, namespace: str, name: str, reason: str, message: str) -> None:
        task = asyncio.get_running_loop().create_task(
            self._write(namespace, name, "Warning", reason, message)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, ns: str, name: str, type_: str, reason: str, message: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        uid = ""
        try:
            svc = await self._akube.get(SERVICES, name, ns)
            uid = (svc.get("metadata") or {}).get("uid", "")
        except ApiError:
            pass
        event = {
            "metadata": {"name": f"{name}.{secrets.token_hex(8)}", "namespace": ns},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Service",
                "namespace": ns,
                "name": name,
                "uid": uid,
            },
            "type": type_,
            "reason": reason,
            "message": message,
            "source": {"component": COMPONENT, "host": self._node},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._node,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self._akube.create(EVENTS, event, ns)
        except ApiError as err:
            log.warning("event.write_failed", reason=reason, service=f"{ns}/{name}", error=str(err))
