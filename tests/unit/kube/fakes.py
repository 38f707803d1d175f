"""An in-memory stand-in for :class:`ironlb.kube.client.Kube` (unit tests only).

It keeps objects per resource with a global resourceVersion, a bounded event history (older
watches get Gone), conditional writes (Conflict), and blocking watch streams that a test can
break (transport error) or expire (ERROR 410) on demand.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

from ironlb.kube.errors import AlreadyExists, Conflict, Gone, NotFound, TransportError
from ironlb.kube.resources import Resource

Obj = dict[str, Any]


class FakeStream:
    def __init__(
        self,
        kube: FakeKube,
        resource: Resource,
        since: int,
        timeout: float,
        namespace: str | None = None,
    ) -> None:
        self.kube = kube
        self.resource = resource
        self.namespace = namespace
        self.position = since
        self.timeout = timeout
        self.closed = False

    def __iter__(self) -> Iterator[Obj]:
        kube = self.kube
        while True:
            with kube.cond:
                while True:
                    if self.closed:
                        return
                    if kube.break_streams:
                        kube.break_streams -= 1
                        raise TransportError("connection reset (fake)")
                    if kube.expire_streams:
                        kube.expire_streams -= 1
                        raise Gone(410, "Expired", "too old resource version (fake)")
                    pending = [
                        ev
                        for ev in kube.history
                        if ev[0] > self.position
                        and ev[1] == self.resource
                        and self.namespace in (None, ev[3]["metadata"].get("namespace"))
                    ]
                    if pending:
                        break
                    if not kube.cond.wait(self.timeout):
                        return  # server-side timeout: the stream just ends
            for rv, _, kind, obj in pending:
                self.position = rv
                yield {"type": kind, "object": copy.deepcopy(obj)}

    def close(self) -> None:
        with self.kube.cond:
            self.closed = True
            self.kube.cond.notify_all()


class FakeKube:
    def __init__(self, history: int = 100_000) -> None:
        self.cond = threading.Condition()
        self.rv = 0
        self.objects: dict[Resource, dict[tuple[str, str], Obj]] = {}
        self.history: list[tuple[int, Resource, str, Obj]] = []
        self.history_size = history
        self.break_streams = 0
        self.expire_streams = 0
        self.fail_lists = 0
        self.calls: list[tuple[str, Any]] = []
        self.watch_rvs: list[str | None] = []
        self.streams: list[FakeStream] = []
        self.watch_timeout: float | None = None  # override the server-side stream timeout

    # ------------------------------------------------------------ test helpers

    def _key(self, obj: Obj) -> tuple[str, str]:
        meta = obj["metadata"]
        return meta.get("namespace") or "", meta["name"]

    def _record(self, resource: Resource, kind: str, obj: Obj) -> None:
        self.history.append((self.rv, resource, kind, copy.deepcopy(obj)))
        del self.history[: -self.history_size]
        self.cond.notify_all()

    def compact(self) -> None:
        """Forget all history: any watch from an older resourceVersion gets Gone."""
        with self.cond:
            self.history.clear()
            self.compacted_at = self.rv

    # ------------------------------------------------------------------- verbs

    def list(self, resource: Resource, namespace: str | None = None, **_: Any) -> Obj:
        self.calls.append(("list", resource))
        with self.cond:
            if self.fail_lists:
                self.fail_lists -= 1
                raise TransportError("connection refused (fake)")
            items = [
                copy.deepcopy(obj)
                for (ns, _name), obj in sorted(self.objects.get(resource, {}).items())
                if namespace is None or ns == namespace
            ]
            return {"metadata": {"resourceVersion": str(self.rv)}, "items": items}

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> Obj:
        with self.cond:
            obj = self.objects.get(resource, {}).get((namespace or "", name))
            if obj is None:
                raise NotFound(404, "NotFound", f"{resource.plural} {name!r} not found")
            return copy.deepcopy(obj)

    def create(self, resource: Resource, obj: Obj, namespace: str | None = None) -> Obj:
        self.calls.append(("create", copy.deepcopy(obj)))
        with self.cond:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if namespace:
                meta["namespace"] = namespace
            if "name" not in meta:
                meta["name"] = f"{meta.get('generateName', 'x-')}{self.rv + 1:05d}"
            store = self.objects.setdefault(resource, {})
            if self._key(obj) in store:
                raise AlreadyExists(409, "AlreadyExists", f"{meta['name']} already exists")
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            store[self._key(obj)] = obj
            self._record(resource, "ADDED", obj)
            return copy.deepcopy(obj)

    def replace(self, resource: Resource, obj: Obj, **_: Any) -> Obj:
        self.calls.append(("replace", copy.deepcopy(obj)))
        with self.cond:
            store = self.objects.setdefault(resource, {})
            key = self._key(obj)
            current = store.get(key)
            if current is None:
                raise NotFound(404, "NotFound", f"{key} not found")
            wanted = obj["metadata"].get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise Conflict(409, "Conflict", "the object has been modified")
            obj = copy.deepcopy(obj)
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            store[key] = obj
            self._record(resource, "MODIFIED", obj)
            return copy.deepcopy(obj)

    def patch(
        self, resource: Resource, name: str, patch: Obj, namespace: str | None = None, **_: Any
    ) -> Obj:
        self.calls.append(("patch", (name, copy.deepcopy(patch))))
        with self.cond:
            current = self.objects.get(resource, {}).get((namespace or "", name))
            if current is None:
                raise NotFound(404, "NotFound", f"{name} not found")
            merged = {**copy.deepcopy(current), **copy.deepcopy(patch)}
            merged["metadata"] = current["metadata"]
        return self.replace(resource, merged)

    def delete(self, resource: Resource, name: str, namespace: str | None = None) -> Obj:
        with self.cond:
            store = self.objects.get(resource, {})
            obj = store.pop((namespace or "", name), None)
            if obj is None:
                raise NotFound(404, "NotFound", f"{name} not found")
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._record(resource, "DELETED", obj)
            return obj

    def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        timeout_seconds: int | None = 300,
        **_: Any,
    ) -> FakeStream:
        self.watch_rvs.append(resource_version)
        with self.cond:
            since = int(resource_version or self.rv)
            oldest = self.history[0][0] if self.history else self.rv + 1
            if since < getattr(self, "compacted_at", 0) or (self.history and since < oldest - 1):
                raise Gone(410, "Expired", f"too old resource version: {since}")
        timeout = self.watch_timeout if self.watch_timeout is not None else timeout_seconds
        stream = FakeStream(
            self, resource, since, float(300 if timeout is None else timeout), namespace
        )
        self.streams.append(stream)
        return stream
