"""The speaker process: informers → desired state → membership/election → L2 (and BGP).

Level-triggered: any API change or membership event marks the state dirty and one
reconcile recomputes everything from the cache and applies the difference. The hot path
of a failover is: heartbeat timer fires → MemberDown → reconcile → fence probe → announce,
all on this loop, with no API round trip in between.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import importlib.util
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address
from typing import Any

from ironlb.aio import TimerDriver, install_signal_handlers
from ironlb.config.validate import Config, build_config
from ironlb.kube.cache import Cache
from ironlb.kube.client import AsyncKube, Kube, load_api_client
from ironlb.kube.errors import ApiError, NotFound
from ironlb.kube.informer import Informer
from ironlb.kube.resources import (
    BFDPROFILES,
    BGPADVERTISEMENTS,
    BGPPEERS,
    BGPSESSIONSTATES,
    COMMUNITIES,
    ENDPOINTSLICES,
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    NODES,
    PODS,
    SECRETS,
    SERVICEBGPSTATUSES,
    SERVICEL2STATUSES,
    SERVICES,
    Resource,
)
from ironlb.log import Secret, get_logger
from speaker import drain, health, metrics
from speaker.desired import Snapshot, desired_l2
from speaker.events import EventWriter
from speaker.l2.rawsock import RawSockets, list_interfaces
from speaker.l2.responder import Announced, ClaimState, Conflict, Responder
from speaker.membership.protocol import (
    DownReason,
    MemberDown,
    Membership,
    MembershipEvent,
    MemberUp,
    Settings,
)
from speaker.membership.transport import DEFAULT_PORT, MembershipTransport, peers_from_nodes
from speaker.reconciler import L2Reconciler, OwnershipChange
from speaker.status import NODE_LABEL, StatusPlan, plan_status, pod_owner

log = get_logger("speaker")

CONFIG_KINDS = (IPADDRESSPOOLS, L2ADVERTISEMENTS, BGPADVERTISEMENTS, BGPPEERS, BFDPROFILES)
CONFIG_KINDS += (COMMUNITIES,)


def _obj_name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _normal_scheduling() -> None:
    """Worker threads inherit the loop thread's policy; keep blocking API calls at normal."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


class StartupError(Exception):
    """A problem the user must fix (missing Secret, bad flag): one line, no traceback."""


@dataclass(frozen=True)
class SpeakerOptions:
    node_name: str
    namespace: str = "metallb-system"
    kubeconfig: str | None = None
    memberlist_secret: str = "memberlist"
    secret_field: str = "secretkey"
    bind_address: str = "0.0.0.0"
    member_port: int = DEFAULT_PORT
    metrics_address: str = "0.0.0.0"
    metrics_port: int = 7472
    interval: float = 0.05
    suspect_timeout: float = 0.25
    interfaces: tuple[str, ...] = ()  # restrict raw sockets to these (default: all Ethernet)
    handover: float = 0.2
    load_balancer_class: str | None = None
    bgp: bool = True
    pod_name: str | None = None  # for ownerReferences on status objects
    pod_uid: str | None = None
    realtime_priority: int = 10  # SCHED_FIFO priority for the loop thread (0: off)


class Speaker:
    def __init__(self, opts: SpeakerOptions) -> None:
        self.opts = opts
        self.cache = Cache()
        self._dirty = asyncio.Event()
        self._status_dirty = asyncio.Event()
        self._sessions_dirty = asyncio.Event()
        self._config_dirty = True
        self._config = Config()
        self._down: dict[str, DownReason] = {}
        self._ready = False
        self._stopping = False
        self._done = asyncio.Event()
        self._conflicted: set[str] = set()
        self._tasks: list[asyncio.Task[Any]] = []
        self._informers: list[Informer] = []
        self.responder = Responder()
        self._answered = metrics.DeltaSync(metrics.FRAMES_ANSWERED)
        self._ignored = metrics.DeltaSync(metrics.FRAMES_IGNORED)
        self._dropped = metrics.DeltaSync(metrics.DATAGRAMS_DROPPED)
        self._announced = metrics.ScalarSync(metrics.ANNOUNCEMENTS)
        self._sent = metrics.ScalarSync(metrics.DATAGRAMS, "sent")
        self._recv = metrics.ScalarSync(metrics.DATAGRAMS, "received")
        self._bgp: Any = None
        self._bgp_plan: Callable[..., Any] | None = None
        self._bgp_lock = asyncio.Lock()
        self._bgp_desired: Any = None

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        loop = self._loop = asyncio.get_running_loop()
        # Each informer parks a worker thread in a blocking watch; the default pool (cpus + 4)
        # would leave none for status writes and Events.
        loop.set_default_executor(
            ThreadPoolExecutor(
                max_workers=32, thread_name_prefix="kube", initializer=_normal_scheduling
            )
        )
        api = load_api_client(self.opts.kubeconfig)
        kube = Kube(api)
        self.akube = AsyncKube(kube)
        self.events = EventWriter(
            kube, self.opts.node_name, lambda ns, name: self.cache.get(SERVICES, ns, name)
        )
        key = await self._read_key()
        await self._find_pod_uid()
        self._start_informers(kube)
        await self._wait_synced()
        settings = Settings(interval=self.opts.interval, suspect_timeout=self.opts.suspect_timeout)
        incarnation = time.time_ns() // 10**6  # grows across restarts: old datagrams are replays
        raw_key = key.reveal().encode("latin-1")  # the Secret's bytes, exactly
        core = Membership(self.opts.node_name, raw_key, incarnation, settings)
        self.membership = MembershipTransport(
            core, self._on_member_event, (self.opts.bind_address, self.opts.member_port)
        )
        try:
            await self.membership.start()
        except OSError as err:
            where = f"{self.opts.bind_address}:{self.opts.member_port}"
            raise StartupError(f"--bind-address/--member-port {where}: {err.strerror}") from None
        self._update_peers()
        self.raw = RawSockets(self._on_frame)
        self._refresh_interfaces()
        self.reconciler = L2Reconciler(self.opts.node_name, self.responder, self.raw.interfaces)
        self._responder_timer = TimerDriver(self.responder, lambda _now: self._flush_l2(), loop)
        self._setup_bgp()
        try:
            health.serve(
                self.opts.metrics_address,
                self.opts.metrics_port,
                metrics.REGISTRY,
                loop,
                ready=lambda: self._ready and not self._stopping,
            )
        except OSError as err:
            where = f"{self.opts.metrics_address}:{self.opts.metrics_port}"
            raise StartupError(f"--metrics-port {where}: {err.strerror}") from None
        self._realtime()
        install_signal_handlers(loop, self._terminate)
        # Hear the peers before claiming anything, or every speaker would start as sole owner.
        await asyncio.sleep(settings.suspect_timeout + settings.interval)
        self._ready = True
        log.info("speaker.ready", node=self.opts.node_name, members=len(core.up_members()))
        self._tasks += [
            loop.create_task(self._reconcile_loop(), name="reconcile"),
            loop.create_task(self._status_loop(), name="status"),
            loop.create_task(self._session_state_loop(), name="bgp-session-state"),
            loop.create_task(self._interfaces_loop(), name="interfaces"),
        ]
        self._dirty.set()
        await self._done.wait()
        return 0

    def _realtime(self) -> None:
        """Run the loop thread (ARP/NDP answers, heartbeats) at SCHED_FIFO if asked.

        A user-space responder pays a wake-up per request; on a busy node that wait, not
        the parsing, dominates the reply latency. Worker threads stay at normal priority.
        """
        prio = self.opts.realtime_priority
        if prio <= 0:
            return
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
            log.info("speaker.realtime", policy="SCHED_FIFO", priority=prio)
        except (OSError, AttributeError) as err:
            log.warning("speaker.realtime_refused", priority=prio, error=str(err))

    async def _find_pod_uid(self) -> None:
        """With only $POD_NAME (the DaemonSet's downward API), look the uid up once."""
        if not self.opts.pod_name or self.opts.pod_uid:
            return
        try:
            pod = await self.akube.get(PODS, self.opts.pod_name, self.opts.namespace)
        except ApiError as err:
            log.info("pod.uid_unknown", pod=self.opts.pod_name, error=str(err), effect="no owner")
            return
        uid = (pod.get("metadata") or {}).get("uid")
        if uid:
            self.opts = dataclasses.replace(self.opts, pod_uid=str(uid))

    def normal_priority(self) -> None:
        if self.opts.realtime_priority > 0:
            _normal_scheduling()

    async def _read_key(self) -> Secret:
        name, ns, field = self.opts.memberlist_secret, self.opts.namespace, self.opts.secret_field
        try:
            secret = await self.akube.get(SECRETS, name, ns)
        except NotFound:
            raise StartupError(
                f"Secret {ns}/{name}: not found (the memberlist key speakers sign heartbeats with)"
            ) from None
        except ApiError as err:
            raise StartupError(f"Secret {ns}/{name}: cannot read: {err}") from None
        raw = (secret.get("data") or {}).get(field)
        if not raw:
            raise StartupError(f"Secret {ns}/{name}: data.{field}: missing or empty")
        try:
            value = base64.b64decode(raw, validate=True)
        except ValueError:
            raise StartupError(f"Secret {ns}/{name}: data.{field}: not base64") from None
        return Secret(value.decode("latin-1"))

    def _start_informers(self, kube: Kube) -> None:
        ns = self.opts.namespace
        specs: list[tuple[Resource, str | None, str | None]] = [
            (NODES, None, None),
            (SERVICES, None, None),
            (ENDPOINTSLICES, None, None),
            (SERVICEL2STATUSES, ns, f"{NODE_LABEL}={self.opts.node_name}"),
        ]
        specs += [(kind, ns, None) for kind in CONFIG_KINDS]
        if self._bgp_available():
            # BGPPeer passwords live in Secrets of the speaker's namespace, as in MetalLB.
            specs.append((SECRETS, ns, None))
            specs.append((SERVICEBGPSTATUSES, ns, f"{NODE_LABEL}={self.opts.node_name}"))
            specs.append((BGPSESSIONSTATES, ns, f"{NODE_LABEL}={self.opts.node_name}"))
        loop = asyncio.get_running_loop()
        for resource, namespace, selector in specs:
            inf = Informer(kube, resource, self.cache, self._on_change, namespace, selector)
            self._informers.append(inf)
            self._tasks.append(loop.create_task(inf.run(), name=f"informer-{resource.plural}"))

    async def _wait_synced(self) -> None:
        for inf in self._informers:
            try:
                await inf.wait_synced(timeout=60)
            except TimeoutError:
                raise StartupError(f"cannot list {inf.resource} from the API (60 s)") from None

    def _on_change(self, resource: Resource, namespace: str, name: str) -> None:
        if resource in CONFIG_KINDS:
            self._config_dirty = True
        if resource is SERVICEL2STATUSES or resource is SERVICEBGPSTATUSES:
            self._status_dirty.set()
            return
        if resource is BGPSESSIONSTATES:
            self._sessions_dirty.set()  # someone edited or deleted ours: put them back
            return
        if resource is NODES:
            self._update_peers()
        self._dirty.set()

    async def _terminate(self) -> None:
        await drain.drain(self)

    def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for inf in self._informers:
            inf.stop()
        with contextlib.suppress(Exception):
            self.membership.close()
        with contextlib.suppress(Exception):
            self._responder_timer.close()
            self.raw.close()
        self._done.set()

    # ------------------------------------------------------------------ membership

    def _update_peers(self) -> None:
        if hasattr(self, "membership"):
            self.membership.set_peers(
                peers_from_nodes(self.cache.list(NODES), self.opts.member_port)
            )

    def _on_member_event(self, event: MembershipEvent) -> None:
        if isinstance(event, MemberDown):
            self._down[event.node] = event.reason
            metrics.MEMBER_EVENTS.labels("down", event.reason.value).inc()
            log.info("member.down", node=event.node, reason=event.reason.value)
        elif isinstance(event, MemberUp):
            self._down.pop(event.node, None)
            metrics.MEMBER_EVENTS.labels("up", "heard").inc()
            log.info("member.up", node=event.node)
        if self._ready and not self._stopping:
            try:
                self.reconcile()  # at once: this is the failover hot path
            except Exception:
                log.exception("reconcile.failed", trigger="membership")
                self._dirty.set()

    # ------------------------------------------------------------------ reconcile

    async def _reconcile_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                self.reconcile()
            except Exception:
                log.exception("reconcile.failed")
                await asyncio.sleep(1.0)
                self._dirty.set()

    def _current_config(self) -> Config:
        if self._config_dirty:
            self._config_dirty = False
            objs = [o for kind in CONFIG_KINDS for o in self.cache.list(kind, self.opts.namespace)]
            result = build_config(objs)
            if result.errors:
                for err in result.errors:
                    log.error("config.invalid", error=str(err), action="keeping last good config")
            else:
                self._config = result.config
        return self._config

    def snapshot(self) -> Snapshot:
        return Snapshot(
            config=self._current_config(),
            services=self.cache.list(SERVICES),
            endpoint_slices=self.cache.list(ENDPOINTSLICES),
            nodes=self.cache.list(NODES),
            load_balancer_class=self.opts.load_balancer_class,
        )

    def reconcile(self) -> list[OwnershipChange]:
        if not self._ready:
            return []
        snap = self.snapshot()
        desired = desired_l2(snap, self.membership.core.up_members())
        now = asyncio.get_running_loop().time()
        changes = self.reconciler.apply(desired, now, self._down)
        for change in changes:
            self._log_change(change)
        self._join_groups()
        self._flush_l2()
        self._sync_metrics()
        if changes:
            self._status_dirty.set()
        if self._bgp is not None and not self._stopping:
            asyncio.get_running_loop().create_task(self._apply_bgp(snap))
        return changes

    def _log_change(self, c: OwnershipChange) -> None:
        direction = "acquire" if c.acquired else "release"
        metrics.OWNERSHIP_CHANGES.labels(direction, c.reason.value).inc()
        log.info(
            "l2.ownership",
            ip=c.ip,
            action=direction,
            reason=c.reason.value,
            **({"previous": c.previous} if c.acquired else {"next": c.previous}),
            services=",".join(c.services),
        )

    def _join_groups(self) -> None:
        owned = (ip_address(ip) for ip in self.reconciler.owned())
        v6 = {a for a in owned if isinstance(a, IPv6Address)}
        self.raw.set_ipv6_groups(v6, self.raw.interfaces())

    # ------------------------------------------------------------------ L2 I/O

    def _on_frame(self, ifname: str, frame: bytes) -> None:
        # The ARP/NDP hot path: answer, and only touch timers/events when something happened.
        self.responder.receive_frame(ifname, frame, self._loop.time())
        for out_if, reply in self.responder.frames_to_send():
            self.raw.send(out_if, reply)
        if self.responder.has_events():
            self._flush_l2()

    def _flush_l2(self) -> None:
        for ifname, frame in self.responder.frames_to_send():
            self.raw.send(ifname, frame)
        while (event := self.responder.next_event()) is not None:
            self._on_l2_event(event)
        self._responder_timer.rearm()

    def _on_l2_event(self, event: Announced | Conflict) -> None:
        if isinstance(event, Announced):
            self._conflicted.discard(event.ip)
            log.info("l2.announced", ip=event.ip)
            self._status_dirty.set()
            return
        if self.reconciler.fenced(event.ip):
            # The speaker we took over from still answers on the wire (it lost our heartbeats,
            # not its link): stand down and retry; this is the fence working, not a duplicate.
            metrics.FENCE_BLOCKED.inc()
            log.warning("l2.fenced", ip=event.ip, mac=event.mac, action="standing down; retrying")
            return
        metrics.PROBE_CONFLICTS.inc()
        first = event.ip not in self._conflicted
        self._conflicted.add(event.ip)
        log.warning(
            "l2.conflict",
            ip=event.ip,
            interface=event.interface,
            mac=event.mac,
            action="not announcing; re-probing",
        )
        if first:
            ann = self.reconciler.owned().get(event.ip)
            for svc in ann.services if ann else ():
                ns, _, name = svc.partition("/")
                message = (
                    f"address {event.ip} is already in use on the LAN by {event.mac} "
                    f"(seen on {self.opts.node_name}/{event.interface}); not announcing it"
                )
                self.events.warn_service(ns, name, "AddressConflict", message)

    def _refresh_interfaces(self) -> None:
        found = list_interfaces()
        if self.opts.interfaces:
            found = {n: i for n, i in found.items() if n in self.opts.interfaces}
        self.responder.set_interfaces(found)
        self.raw.set_interfaces(set(found))

    async def _interfaces_loop(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            before = self.raw.interfaces()
            self._refresh_interfaces()
            if self.raw.interfaces() != before:
                self._dirty.set()
            self._sync_metrics()

    def _sync_metrics(self) -> None:
        self._answered.sync(self.responder.answered)
        self._ignored.sync(self.responder.ignored)
        self._announced.sync(self.responder.announcements)
        core = self.membership.core
        self._dropped.sync(core.dropped)
        self._sent.sync(core.sent)
        self._recv.sync(core.received)
        metrics.MEMBERS.set(len(core.up_members()))
        states = self.responder.claims().values()
        for state in ClaimState:
            metrics.OWNED.labels(state.value).set(sum(1 for s in states if s is state))

    # ------------------------------------------------------------------ status

    async def _status_loop(self) -> None:
        while True:
            await self._status_dirty.wait()
            await asyncio.sleep(0.05)  # gather a burst of changes into one pass
            self._status_dirty.clear()
            try:
                await self.write_status()
            except Exception as err:  # the API may fail in many ways: retry, never die
                log.warning("status.write_failed", error=f"{type(err).__name__}: {err}")
                await asyncio.sleep(1.0)
                self._status_dirty.set()

    async def write_status(self, want: dict[tuple[str, str], set[str]] | None = None) -> None:
        if want is None:
            want = self.reconciler.announced_services()
        existing = self.cache.list(SERVICEL2STATUSES, self.opts.namespace)
        owner = pod_owner(self.opts.pod_name, self.opts.pod_uid)
        plan = plan_status(self.opts.node_name, self.opts.namespace, want, existing, owner)
        await self._apply_status_plan(SERVICEL2STATUSES, plan)
        if self._bgp is not None and self._bgp_desired is not None:
            from speaker.bgp.status import plan_bgp_status

            existing = self.cache.list(SERVICEBGPSTATUSES, self.opts.namespace)
            desired = self._bgp_desired if not self._stopping else type(self._bgp_desired)()
            bgp_plan = plan_bgp_status(self.opts.node_name, self.opts.namespace, desired, existing)
            await self._apply_status_plan(SERVICEBGPSTATUSES, bgp_plan)

    async def _apply_status_plan(self, resource: Resource, plan: StatusPlan) -> None:
        if plan:
            log.info(
                "status.sync",
                kind=resource.kind,
                create=len(plan.create),
                update=len(plan.update),
                delete=len(plan.delete),
            )
        ns = self.opts.namespace
        for obj in plan.create:
            name = obj["metadata"]["name"]
            with contextlib.suppress(ApiError):
                await self.akube.create(resource, dict(obj))
            await self.akube.patch(
                resource, name, {"status": obj["status"]}, ns, subresource="status"
            )
        for name, status in plan.update:
            await self.akube.patch(resource, name, {"status": status}, ns, subresource="status")
        for name in plan.delete:
            with contextlib.suppress(NotFound):
                await self.akube.delete(resource, name, ns)

    # ------------------------------------------------------------------ BGP

    def _bgp_available(self) -> bool:
        if not self.opts.bgp:
            return False
        modules = ("speaker.bgp.manager", "speaker.bgp.plan", "speaker.bgp.status")
        return all(importlib.util.find_spec(m) is not None for m in modules)

    def _setup_bgp(self) -> None:
        """Wire in the BGP speaker if its modules are there; L2 works regardless."""
        if not self._bgp_available():
            return
        try:
            from speaker.bgp.manager import BgpManager
            from speaker.bgp.plan import plan_bgp

            self._bgp = BgpManager(
                self.opts.node_name,
                get_logger("speaker.bgp"),
                metrics.bgp_metrics(),
                on_change=self._sessions_dirty.set,
                on_event=self._on_bgp_event,
            )
            self._bgp_plan = plan_bgp
        except Exception as err:  # BGP is optional for an L2 speaker
            log.warning("bgp.unavailable", error=f"{type(err).__name__}: {err}")
            self._bgp = None

    async def _apply_bgp(self, snap: Snapshot) -> None:
        if self._bgp is None or self._bgp_plan is None:
            return
        async with self._bgp_lock:
            try:
                ns = self.opts.namespace
                secrets = {(ns, _obj_name(o)): o for o in self.cache.list(SECRETS, ns)}
                desired = self._bgp_plan(
                    snap.config,
                    snap.services,
                    snap.endpoint_slices,
                    snap.nodes,
                    self.opts.node_name,
                    secrets=secrets,
                    load_balancer_class=self.opts.load_balancer_class,
                )
                await self._bgp.apply(desired)
                if desired != self._bgp_desired:
                    self._bgp_desired = desired
                    self._status_dirty.set()
            except Exception as err:
                log.warning("bgp.apply_failed", error=f"{type(err).__name__}: {err}")

    def _on_bgp_event(self, peer: str, reason: str, message: str) -> None:
        obj = self.cache.get(BGPPEERS, self.opts.namespace, peer) or {
            "metadata": {"name": peer, "namespace": self.opts.namespace}
        }
        peer_obj = {"apiVersion": BGPPEERS.api_version, "kind": "BGPPeer", **obj}
        self.events.warn(peer_obj, reason, message)

    async def _session_state_loop(self) -> None:
        """Level-triggered like the other statuses, but at most one pass a second: a peer that
        refuses us cycles Connect → OpenSent → Idle on every retry."""
        while True:
            await self._sessions_dirty.wait()
            self._sessions_dirty.clear()
            try:
                await self.write_session_states()
            except Exception as err:
                log.warning("status.write_failed", kind="BGPSessionState", error=str(err))
                self._sessions_dirty.set()
            await asyncio.sleep(1.0)

    async def write_session_states(self) -> None:
        if self._bgp is None:
            return
        from speaker.bgp.session_state import plan_session_states

        states = {} if self._stopping else self._bgp.session_states()
        existing = self.cache.list(BGPSESSIONSTATES, self.opts.namespace)
        owner = pod_owner(self.opts.pod_name, self.opts.pod_uid)
        node, ns = self.opts.node_name, self.opts.namespace
        plan = plan_session_states(node, ns, states, existing, owner)
        await self._apply_status_plan(BGPSESSIONSTATES, plan)

    async def shutdown_bgp(self) -> None:
        if self._bgp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._bgp.shutdown(), 5.0)
