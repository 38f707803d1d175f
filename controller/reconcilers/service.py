"""ServiceReconciler: cache -> assign -> status patch (only if different) + Events.

Level-triggered: a request names a Service; its current state is read from the
cache (absence = deleted). The decision is pure (`controller.assign`); this shell
writes `status.loadBalancer.ingress` through the status subresource and the
`metallb.io/ip-allocated-from-pool` annotation, as MetalLB does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from controller.allocator import Refusal
from controller.assign import Decision
from controller.metrics import ControllerMetrics
from controller.state import ControllerState
from controller.status import (
    EventSpec,
    annotation_patch,
    decision_events,
    flapping_event,
    klipper_event,
    not_announced_event,
    status_patch,
)
from ironlb.kube import AsyncKube, Cache, NotFound, Request, Result
from ironlb.kube.resources import NAMESPACES, SERVICES
from ironlb.log import get_logger

log = get_logger("controller.service")
Obj = dict[str, Any]
Emit = Callable[[Obj, EventSpec], None]


class NamespaceLabels(Mapping[str, Mapping[str, str]]):
    """Namespace name -> labels, read from the cache on demand."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def __getitem__(self, name: str) -> Mapping[str, str]:
        ns = self._cache.get(NAMESPACES, None, name)
        if ns is None:
            raise KeyError(name)
        return (ns.get("metadata") or {}).get("labels") or {}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (n["metadata"]["name"] for n in self._cache.list(NAMESPACES))

    def __len__(self) -> int:
        return len(self._cache.list(NAMESPACES))


class ServiceReconciler:
    def __init__(
        self,
        kube: AsyncKube,
        cache: Cache,
        state: ControllerState,
        metrics: ControllerMetrics,
        emit: Emit,
        pools_touched: Callable[[set[str]], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.cache = cache
        self.state = state
        self.metrics = metrics
        self.emit = emit
        self.pools_touched = pools_touched
        self.clock = clock
        self.namespaces = NamespaceLabels(cache)
        self.on_release: Callable[[], None] = lambda: None

    async def __call__(self, req: Request) -> Result:
        started = time.perf_counter()
        try:
            return await self.reconcile(req)
        finally:
            self.metrics.reconcile.observe(time.perf_counter() - started)

    async def reconcile(self, req: Request) -> Result:
        state = self.state
        if state.config is None:
            return Result()  # no valid config yet: touch nothing, a config change re-queues
        key = f"{req.namespace}/{req.name}"
        svc = self.cache.get(SERVICES, req.namespace, req.name)
        if svc is None:
            released = state.allocator.release(key)
            state.forget_service(key)
            if released is not None:
                log.info("service.deleted", service=key, released=_ips(released.ips))
                self.pools_touched({released.pool})
                self.on_release()
            self._pending_gauge()
            return Result()
        decision = state.assigner.decide(svc, self.namespaces)
        if decision.ignored:
            state.forget_service(key)
            return Result()
        self._detect_foreign_write(key, svc, decision)
        await self._write(svc, decision)
        self._report(key, svc, decision)
        return Result()

    # -- writes ---------------------------------------------------------------

    async def _write(self, svc: Obj, decision: Decision) -> None:
        meta = svc["metadata"]
        name, namespace = meta["name"], meta.get("namespace")
        key = decision.service
        patch = status_patch(svc, decision)
        try:
            if patch is not None:
                updated = await self.kube.patch(
                    SERVICES, name, patch, namespace, subresource="status"
                )
                rv = str((updated.get("metadata") or {}).get("resourceVersion") or "")
                self.state.written[key] = (tuple(map(str, decision.ips)), rv)
            annotations = annotation_patch(svc, decision)
            if annotations is not None:
                await self.kube.patch(SERVICES, name, annotations, namespace)
        except NotFound:
            return  # deleted meanwhile: its deletion event releases the address

    # -- diagnostics and events --------------------------------------------------

    def _detect_foreign_write(self, key: str, svc: Obj, decision: Decision) -> None:
        """Our status replaced by another writer (Klipper, another controller)?"""
        written = self.state.written.get(key)
        if written is None:
            return
        ips, our_rv = written
        shown = tuple(i.get("ip") for i in _ingress(svc))
        rv = str((svc.get("metadata") or {}).get("resourceVersion") or "")
        if shown == ips or tuple(map(str, decision.ips)) != ips or not _newer(rv, our_rv):
            return
        log.warning("service.status_overwritten", service=key, ours=",".join(ips), theirs=shown)
        if self.state.flaps.observe(key, self.clock()):
            self.emit(svc, flapping_event())

    def _report(self, key: str, svc: Obj, decision: Decision) -> None:
        state = self.state
        events = decision_events(decision)
        refusal = decision.refusal
        previous_refusal = state.last_refusal.get(key)
        for event in events:
            if refusal is not None and event.reason == refusal.reason.value:
                if _same(previous_refusal, refusal):
                    continue  # already told the user; do not repeat it on every resync
                self.metrics.errors.labels(refusal.reason.value).inc()
            self.emit(svc, event)
        state.last_refusal[key] = refusal
        if decision.changed or decision.released or refusal:
            log.info(
                "service.decided",
                service=key,
                ips=_ips(decision.ips),
                previous=_ips(decision.previous),
                pool=decision.allocation.pool if decision.allocation else "",
                refusal=refusal.reason.value if refusal else "",
                detail=refusal.message if refusal else "",
            )
        if decision.ips:
            state.pending.discard(key)
        else:
            state.pending.add(key)
        if decision.allocation is not None:
            self._announce_check(key, svc, decision)
        if key in state.klipper and state.warn_once(key, "klipper"):
            log.warning("service.klipper", service=key, daemonset=state.klipper[key])
            self.emit(svc, klipper_event(state.klipper[key]))
        pools = {decision.allocation.pool} if decision.allocation else set()
        old_pool = ((svc.get("metadata") or {}).get("annotations") or {}).get(
            "metallb.io/ip-allocated-from-pool"
        )
        if old_pool:
            pools.add(old_pool)
        if decision.changed or decision.released:
            self.pools_touched(pools)
            if decision.previous:
                self.on_release()
        self._pending_gauge()

    def _announce_check(self, key: str, svc: Obj, decision: Decision) -> None:
        assert decision.allocation is not None
        pool = decision.allocation.pool
        warned = f"unannounced:{pool}"
        if pool not in self.state.unannounced:
            self.state.warned.get(key, set()).discard(warned)
            return
        if decision.changed or self.state.warn_once(key, warned):
            self.state.warned.setdefault(key, set()).add(warned)
            log.warning("service.not_announced", service=key, pool=pool)
            self.emit(svc, not_announced_event(pool, decision.ips))

    def _pending_gauge(self) -> None:
        self.metrics.pending.set(len(self.state.pending))


def _ingress(svc: Obj) -> list[Obj]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [i for i in ingress if isinstance(i, dict)]


def _ips(ips: Any) -> str:
    return ",".join(map(str, ips))


def _same(a: Refusal | None, b: Refusal | None) -> bool:
    return a is not None and b is not None and a.reason == b.reason and a.message == b.message


def _newer(rv: str, than: str) -> bool:
    try:
        return int(rv) > int(than)
    except ValueError:
        return False  # opaque resourceVersions cannot be ordered: do not guess
