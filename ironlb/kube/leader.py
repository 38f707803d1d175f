"""Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection, in asyncio).

Only one replica leads. The leader renews the Lease every ``retry_period``; the others try as
often and take over once the holder has not renewed for ``lease_duration`` *as observed on
their own clock* (the Lease's timestamps are never compared with our clock: skew-proof). A
leader that cannot renew for ``renew_deadline`` steps down (``on_stopped_leading``) before
another can take over. Writes are conditional on the resourceVersion, so two candidates cannot
both win: the loser gets a Conflict. On stop the leader releases the Lease (empty holder) so a
successor need not wait for it to expire.

Callbacks run on the loop. ``on_started_leading`` may be a plain function (start tasks there)
or async: its coroutine then runs as the leader's term and is cancelled on stepping down,
before ``on_stopped_leading`` (plain or async) is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import random
import time
from collections.abc import Callable
from typing import Any

from ironlb.kube.client import Kube
from ironlb.kube.errors import AlreadyExists, ApiError, Conflict, NotFound
from ironlb.kube.resources import LEASES
from ironlb.log import get_logger

__all__ = ["LeaderElector", "format_micro_time"]

log = get_logger("ironlb.kube.leader")
Obj = dict[str, Any]
JITTER = 1.2  # retry period is stretched by up to this factor, as in client-go


def format_micro_time(when: dt.datetime) -> str:
    """A Kubernetes MicroTime (RFC 3339 with microseconds, UTC)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LeaderElector:
    """Campaign for ``namespace/name`` as ``identity``; see the module docstring."""

    def __init__(
        self,
        kube: Kube,
        name: str,
        namespace: str,
        identity: str,
        *,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        on_started_leading: Callable[[], object] | None = None,
        on_stopped_leading: Callable[[], object] | None = None,
        release_on_stop: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = _utcnow,
        rng: random.Random | None = None,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period * JITTER > 0:
            raise ValueError(
                "leader election: need lease_duration > renew_deadline > "
                f"{JITTER} * retry_period > 0 (got {lease_duration}, {renew_deadline}, "
                f"{retry_period})"
            )
        if not identity:
            raise ValueError("leader election: identity must not be empty")
        self.kube = kube
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.release_on_stop = release_on_stop
        self.clock = clock
        self.wall_clock = wall_clock
        self.rng = rng or random.Random()
        self.leading = asyncio.Event()
        self.observed: Obj | None = None  # last Lease spec seen
        self.observed_at = 0.0  # our clock when it last changed
        self._last_renew = 0.0
        self._stop = asyncio.Event()
        self._term: asyncio.Future[object] | None = None

    @property
    def is_leader(self) -> bool:
        return self.leading.is_set()

    @property
    def holder(self) -> str | None:
        """The holder as last observed (None or "" when free)."""
        return (self.observed or {}).get("holderIdentity")

    # ------------------------------------------------------------- one attempt

    def try_acquire_or_renew(self) -> bool:
        """One blocking attempt; True if we hold the Lease afterwards."""
        now = self.clock()
        wall = format_micro_time(self.wall_clock())
        try:
            lease = self.kube.get(LEASES, self.name, self.namespace)
        except NotFound:
            return self._create(now, wall)
        spec = dict(lease.get("spec") or {})
        if spec != self.observed:
            self.observed = spec
            self.observed_at = now
        holder = spec.get("holderIdentity") or ""
        if holder and holder != self.identity and self.observed_at + self._duration(spec) > now:
            return False  # someone else holds a lease that has not expired on our clock
        new_spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "acquireTime": spec.get("acquireTime") if holder == self.identity else wall,
            "renewTime": wall,
            "leaseTransitions": int(spec.get("leaseTransitions") or 0)
            + (0 if holder == self.identity else 1),
        }
        body = {"metadata": lease["metadata"], "spec": new_spec}
        try:
            updated = self.kube.replace(LEASES, body)
        except Conflict:
            return False  # another candidate wrote first
        self.observed = dict(updated.get("spec") or new_spec)
        self.observed_at = now
        return True

    def _create(self, now: float, wall: str) -> bool:
        spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "acquireTime": wall,
            "renewTime": wall,
            "leaseTransitions": 0,
        }
        body = {"metadata": {"name": self.name, "namespace": self.namespace}, "spec": spec}
        try:
            created = self.kube.create(LEASES, body)
        except (AlreadyExists, Conflict):
            return False
        self.observed = dict(created.get("spec") or spec)
        self.observed_at = now
        return True

    def _duration(self, spec: Obj) -> float:
        return float(spec.get("leaseDurationSeconds") or self.lease_duration)

    def release(self) -> bool:
        """Give the Lease up if we hold it (blocking); True if released."""
        try:
            lease = self.kube.get(LEASES, self.name, self.namespace)
        except ApiError:
            return False
        spec = lease.get("spec") or {}
        if spec.get("holderIdentity") != self.identity:
            return False
        wall = format_micro_time(self.wall_clock())
        released = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": wall}
        try:
            self.kube.replace(LEASES, {"metadata": lease["metadata"], "spec": released})
        except ApiError:
            return False
        return True

    # -------------------------------------------------------------------- loop

    async def run(self) -> None:
        """Campaign, lead, renew; return after :meth:`stop` (or when cancelled)."""
        try:
            while not self._stop.is_set():
                await self._acquire()
                if self._stop.is_set():
                    break
                await self._renew()
        finally:
            await self._step_down(release=self.release_on_stop)

    def stop(self) -> None:
        self._stop.set()

    async def _attempt(self) -> bool:
        try:
            return await asyncio.to_thread(self.try_acquire_or_renew)
        except ApiError as exc:
            log.warning("leader.attempt_failed", lease=self.name, error=str(exc))
            return False

    async def _acquire(self) -> None:
        while not self._stop.is_set():
            if await self._attempt():
                self._last_renew = self.clock()
                self.leading.set()
                log.info("leader.started", lease=self.name, identity=self.identity)
                if self.on_started_leading:
                    started = self.on_started_leading()
                    if inspect.isawaitable(started):  # an async callback runs as our term
                        self._term = asyncio.ensure_future(started)
                return
            await self._sleep(self.retry_period * (1 + (JITTER - 1) * self.rng.random()))

    async def _renew(self) -> None:
        while not self._stop.is_set():
            await self._sleep(self.retry_period)
            if self._stop.is_set():
                return
            if await self._attempt():
                self._last_renew = self.clock()
            elif self.clock() - self._last_renew >= self.renew_deadline or (
                self.holder and self.holder != self.identity
            ):
                log.warning("leader.lost", lease=self.name, identity=self.identity)
                await self._step_down(release=False)
                return

    async def _step_down(self, release: bool) -> None:
        if not self.leading.is_set():
            return
        self.leading.clear()
        if release:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.release)
        log.info("leader.stopped", lease=self.name, identity=self.identity)
        if self._term is not None:
            self._term.cancel()
            with contextlib.suppress(BaseException):
                await self._term
            self._term = None
        if self.on_stopped_leading:
            stopped = self.on_stopped_leading()
            if inspect.isawaitable(stopped):
                await stopped

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
