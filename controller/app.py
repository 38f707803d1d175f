"""The controller process: informers -> queues -> reconcilers, under leader election.

Start-up order is what makes a restart safe:
1. informers list+watch pools, advertisements (and the other metallb.io kinds, for a
   valid config), Services, Namespaces and kube-system DaemonSets into one cache;
2. nothing is decided until every required informer has synced;
3. on becoming leader (at once without `--leader-elect`), the allocator is rebuilt
   from the Services' statuses (the informers' list if the term starts right after
   it, else a fresh LIST), oldest Service first, before any new address is handed out;
4. only then do the workers start. Losing leadership stops them and forgets the
   state; the next term rebuilds it from the API again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.allocator import Refusal
from controller.metrics import ControllerMetrics
from controller.reconcilers.pool import PoolReconciler
from controller.reconcilers.service import ServiceReconciler
from controller.state import ControllerState, creation_order
from controller.status import EventSpec
from ironlb.aio import spawn
from ironlb.kube import AsyncKube, Cache, Informer, Kube, Request, WorkQueue, run_workers
from ironlb.kube.events import EventRecorder
from ironlb.kube.leader import LeaderElector
from ironlb.kube.resources import (
    BFDPROFILES,
    BGPADVERTISEMENTS,
    BGPPEERS,
    COMMUNITIES,
    DAEMONSETS,
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    NAMESPACES,
    SERVICES,
    Resource,
)
from ironlb.log import get_logger

log = get_logger("controller")
Obj = dict[str, Any]

CONFIG_KINDS = (
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    BGPADVERTISEMENTS,
    BGPPEERS,
    BFDPROFILES,
    COMMUNITIES,
)
POOL_STATUS_DELAY = 0.3  # batch a burst of assignments into one pool status write
FRESH_CACHE_SECONDS = 5.0  # a term starting this soon after the initial list uses the cache


@dataclass(slots=True)
class ControllerOptions:
    namespace: str = "metallb-system"
    lb_class: str | None = None
    metrics_port: int | None = 7472  # None: no HTTP server; 0: any free port
    metrics_host: str = "0.0.0.0"
    leader_elect: bool = False
    identity: str = ""
    lease_name: str = "ironlb-controller"
    # A standby takes over within about lease_duration + retry_period of the leader's death.
    lease_duration: float = 6.0
    renew_deadline: float = 4.0
    retry_period: float = 1.0
    workers: int = 4
    watch_timeout: int = 300


class ControllerApp:
    def __init__(self, api_client: Any, options: ControllerOptions | None = None) -> None:
        self.options = options or ControllerOptions()
        self.options.identity = self.options.identity or socket.gethostname()
        _widen_connection_pool(api_client, self._threads_needed())
        self.kube = Kube(api_client)
        self.akube = AsyncKube(self.kube)
        self.cache = Cache()
        self.state = ControllerState(self.options.lb_class)
        self.metrics = ControllerMetrics()
        self.recorder = EventRecorder(self.kube, "ironlb-controller")
        self.services_q: WorkQueue[Request] = WorkQueue()
        self.pools_q: WorkQueue[Request] = WorkQueue()
        self.synced = asyncio.Event()
        self.leading = asyncio.Event()
        self.rebuilt = asyncio.Event()
        self.metrics_port: int | None = None
        self.elector: LeaderElector | None = None
        self._term: asyncio.Task[None] | None = None
        self._informers: list[Informer] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._reload_pending = False
        self._restored = False
        self._synced_at = 0.0
        self._stop = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.service_reconciler = self._service_reconciler()
        self.pool_reconciler = PoolReconciler(self.akube, self.cache, self.state, self.metrics)

    def _service_reconciler(self) -> ServiceReconciler:
        rec = ServiceReconciler(
            self.akube, self.cache, self.state, self.metrics, self.emit, self._pools_touched
        )
        rec.on_release = self._retry_pending
        return rec

    # -- lifecycle ------------------------------------------------------------

    async def run(self) -> None:
        """Run until `stop()`; informers first, then (leader) the workers."""
        self._ensure_threads()
        await self._start_http()
        ns = self.options.namespace
        specs: list[tuple[Resource, str | None, bool]] = [
            *((kind, ns, True) for kind in CONFIG_KINDS),
            (SERVICES, None, True),
            (NAMESPACES, None, True),
            (DAEMONSETS, "kube-system", False),  # diagnostics only: never blocks start-up
        ]
        for resource, namespace, _ in specs:
            informer = Informer(
                self.kube,
                resource,
                self.cache,
                self._on_change,
                namespace=namespace,
                watch_timeout=self.options.watch_timeout,
            )
            self._informers.append(informer)
            self._tasks.append(spawn(informer.run(), name=f"informer-{resource.plural}"))
        required = [i for i, (_, _, req) in zip(self._informers, specs, strict=True) if req]
        try:
            await asyncio.gather(*(i.synced.wait() for i in required))
            self.synced.set()
            self._synced_at = asyncio.get_running_loop().time()
            log.info("controller.synced", objects=len(self.cache), identity=self.options.identity)
            if self.options.leader_elect:
                self.elector = LeaderElector(
                    self.kube,
                    self.options.lease_name,
                    ns,
                    self.options.identity,
                    lease_duration=self.options.lease_duration,
                    renew_deadline=self.options.renew_deadline,
                    retry_period=self.options.retry_period,
                    on_started_leading=self._start_leading,
                    on_stopped_leading=self._stop_leading,
                )
                self._tasks.append(spawn(self.elector.run(), name="leader-election"))
            else:
                self._start_leading()
            await self._stop.wait()
        finally:
            await self._shutdown()

    def stop(self) -> None:
        self._stop.set()

    def _threads_needed(self) -> int:
        return len(CONFIG_KINDS) + 3 + 4 * self.options.workers + 16

    def _ensure_threads(self) -> None:
        # Every informer blocks one thread in its watch and every API call takes one:
        # the default executor (cores + 4 threads) would starve. Size it for the load.
        needed = self._threads_needed()
        loop = asyncio.get_running_loop()
        current = getattr(loop, "_default_executor", None)
        if current is None or getattr(current, "_max_workers", 0) < needed:
            loop.set_default_executor(
                ThreadPoolExecutor(max_workers=needed, thread_name_prefix="ironlb")
            )

    async def _shutdown(self) -> None:
        if self.elector is not None:
            self.elector.stop()
        for informer in self._informers:
            informer.stop()
        self._stop_leading()
        tasks = [t for t in self._tasks if not t.done()]
        if self.elector is not None:
            # Let the elector release the Lease so a standby takes over at once.
            elector_task = next((t for t in tasks if t.get_name() == "leader-election"), None)
            if elector_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(elector_task), 5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _start_leading(self) -> None:
        self.leading.set()
        self.metrics.is_leader.set(1)
        self._term = spawn(self._lead(), name="controller-term")

    def _stop_leading(self) -> None:
        if self._term is None:
            return
        log.info("controller.term_end", identity=self.options.identity)
        self._term.cancel()
        self._term = None
        self.leading.clear()
        self.rebuilt.clear()
        self.metrics.is_leader.set(0)
        self.services_q.shut_down()
        self.pools_q.shut_down()
        self.services_q, self.pools_q = WorkQueue(), WorkQueue()
        self.state.reset()
        self._restored = False

    async def _lead(self) -> None:
        await self._rebuild()
        self.rebuilt.set()
        self._enqueue_all_services()
        self._enqueue_all_pools()
        await asyncio.gather(
            run_workers(self.services_q, self.service_reconciler, self.options.workers),
            run_workers(self.pools_q, self.pool_reconciler, 1),
        )

    async def _rebuild(self) -> None:
        """Restore every address Services already show before deciding anything new."""
        self.state.reset()
        self._restored = False
        since_sync = asyncio.get_running_loop().time() - self._synced_at
        if since_sync <= FRESH_CACHE_SECONDS:
            # The informers listed moments ago: that list is the fresh, consistent read.
            services = self.cache.list(SERVICES)
        else:
            # Taking over after a long standby: the watch may lag writes the previous
            # leader made just before dying, so read the Services afresh.
            services = (await self.akube.list(SERVICES)).get("items") or []
        self._reload_config()
        self._restore(services)

    def _restore(self, services: list[Obj]) -> None:
        if self.state.config is None or self._restored:
            return  # without a valid config nothing is decided; restore when it arrives
        restored = refused = 0
        for svc in sorted(services, key=creation_order):
            result = self.state.assigner.restore(svc)
            if result is None:
                continue
            if isinstance(result, Refusal):
                refused += 1
                meta = svc["metadata"]
                log.warning(
                    "controller.restore_refused",
                    service=f"{meta.get('namespace')}/{meta['name']}",
                    reason=result.reason.value,
                    detail=result.message,
                )
            else:
                restored += 1
        self._restored = True
        log.info("controller.restored", services=restored, refused=refused)

    # -- change notifications ---------------------------------------------------

    def _on_change(self, resource: Resource, namespace: str, name: str) -> None:
        if resource == DAEMONSETS:
            changed = self.state.set_daemonsets(self.cache.list(DAEMONSETS, "kube-system"))
            if self.rebuilt.is_set():
                for key in changed:
                    ns, _, svc = key.partition("/")
                    self.services_q.add(Request(ns, svc))
            return
        if not self.rebuilt.is_set():
            return  # the rebuild enqueues everything once it is done
        if resource == SERVICES:
            self.services_q.add(Request(namespace, name))
        elif resource == NAMESPACES:
            for svc in self.cache.list(SERVICES, name):
                self.services_q.add(Request(name, svc["metadata"]["name"]))
        elif resource in CONFIG_KINDS:
            if resource == IPADDRESSPOOLS:
                self.pools_q.add(Request(namespace, name))
            self._schedule_reload()

    def _schedule_reload(self) -> None:
        # Several objects usually change together (kubectl apply -f): reload once.
        if self._reload_pending:
            return
        self._reload_pending = True
        asyncio.get_running_loop().call_soon(self._reload_and_enqueue)

    def _reload_and_enqueue(self) -> None:
        self._reload_pending = False
        if not self.rebuilt.is_set():
            return
        self._reload_config()
        if not self._restored:
            self._restore(self.cache.list(SERVICES))
        # Level-triggered: any Service may be affected by a pool or advertisement change.
        self._enqueue_all_services()
        self._enqueue_all_pools()

    def _reload_config(self) -> None:
        ns = self.options.namespace
        objects = [obj for kind in CONFIG_KINDS for obj in self.cache.list(kind, ns)]
        outcome = self.state.load_config(objects)
        for error in outcome.new_errors:
            log.error(
                "config.invalid",
                kind=error.kind,
                name=error.name,
                field=error.field,
                reason=error.reason,
                in_force="last valid config" if self.state.config else "none",
            )
            obj = self._config_object(error.kind, error.name)
            if obj is not None:
                self.emit(obj, EventSpec("Warning", "InvalidConfiguration", str(error)))
        if outcome.applied and outcome.pools_changed and self.state.config is not None:
            log.info("config.pools", pools=",".join(sorted(self.state.config.pools)))
        for key in outcome.evicted:
            log.info("config.evicted", service=key)

    def _config_object(self, kind: str, name: str) -> Obj | None:
        for resource in CONFIG_KINDS:
            if resource.kind == kind:
                return self.cache.get(resource, self.options.namespace, name)
        return None

    def _enqueue_all_services(self) -> None:
        for svc in self.cache.list(SERVICES):
            meta = svc["metadata"]
            self.services_q.add(Request(meta.get("namespace") or "", meta["name"]))

    def _enqueue_all_pools(self) -> None:
        for pool in self.cache.list(IPADDRESSPOOLS, self.options.namespace):
            self.pools_q.add_after(Request(self.options.namespace, pool["metadata"]["name"]), 0)

    def _pools_touched(self, pools: set[str]) -> None:
        for name in pools:
            self.pools_q.add_after(Request(self.options.namespace, name), POOL_STATUS_DELAY)

    def _retry_pending(self) -> None:
        # An address came free: Services waiting for one get another chance.
        for key in list(self.state.pending):
            ns, _, name = key.partition("/")
            self.services_q.add(Request(ns, name))

    # -- events -------------------------------------------------------------------

    def emit(self, obj: Obj, event: EventSpec) -> None:
        """Record an Event without holding up the reconcile (best effort)."""
        spawn(
            self.recorder.arecord(obj, event.type, event.reason, event.message),
            name=f"event-{event.reason}",
        )

    # -- health and metrics ---------------------------------------------------------

    async def _start_http(self) -> None:
        if self.options.metrics_port is None:
            return
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.metrics_host, self.options.metrics_port)
        await site.start()
        server = site._server  # aiohttp keeps the bound socket here
        sockets = getattr(server, "sockets", None) or []
        self.metrics_port = sockets[0].getsockname()[1] if sockets else self.options.metrics_port
        log.info("controller.http", port=self.metrics_port)

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, request: web.Request) -> web.Response:
        # Ready once the caches are synced: a standby is ready to take over.
        if self.synced.is_set():
            return web.Response(text="ok")
        return web.Response(status=503, text="caches not synced")


def _widen_connection_pool(api_client: Any, size: int) -> None:
    """Keep-alive connections for every thread: each watch pins one for its lifetime.

    The client's default pool (10) is less than the informers alone, so every other
    call would open and discard a TCP connection.
    """
    pool_manager = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
    kw = getattr(pool_manager, "connection_pool_kw", None)
    if isinstance(kw, dict) and int(kw.get("maxsize") or 0) < size:
        kw["maxsize"] = size


async def run_controller(api_client: Any, options: ControllerOptions) -> int:
    from ironlb.aio import install_signal_handlers

    app = ControllerApp(api_client, options)
    loop = asyncio.get_running_loop()

    async def on_term() -> None:
        app.stop()

    install_signal_handlers(loop, on_term)
    await app.run()
    return 0
