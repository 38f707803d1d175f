"""Lease election with a fake clock: acquire, hold, expire, take over, release."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ironlb.kube.leader import LeaderElector, format_micro_time
from ironlb.kube.resources import LEASES
from ironlb.netns.wait import async_wait_until
from tests.unit.kube.fakes import FakeKube


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> dt.datetime:
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.now)


def elector(kube: FakeKube, identity: str, clock: Clock, **kw) -> LeaderElector:
    return LeaderElector(
        kube,  # type: ignore[arg-type]
        "ironlb-controller",
        "ironlb-system",
        identity,
        clock=clock,
        wall_clock=clock.wall,
        **kw,
    )


def lease(kube: FakeKube) -> dict:
    return kube.get(LEASES, "ironlb-controller", "ironlb-system")["spec"]


def test_first_candidate_creates_and_holds_the_lease() -> None:
    kube, clock = FakeKube(), Clock()
    a, b = elector(kube, "a", clock), elector(kube, "b", clock)
    assert a.try_acquire_or_renew()
    spec = lease(kube)
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0
    assert spec["renewTime"] == format_micro_time(clock.wall())
    assert not b.try_acquire_or_renew()
    clock.now += 5
    assert a.try_acquire_or_renew()  # renew
    assert lease(kube)["acquireTime"] == spec["acquireTime"]
    assert lease(kube)["renewTime"] != spec["renewTime"]


def test_takeover_only_after_the_lease_expires_on_the_observers_clock() -> None:
    kube, clock = FakeKube(), Clock()
    a, b = elector(kube, "a", clock), elector(kube, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # b starts observing now
    clock.now += 14.9
    assert not b.try_acquire_or_renew()
    clock.now += 0.2
    assert b.try_acquire_or_renew()
    assert lease(kube)["holderIdentity"] == "b"
    assert lease(kube)["leaseTransitions"] == 1
    assert not a.try_acquire_or_renew()  # a sees b's fresh record


def test_a_released_lease_is_taken_at_once() -> None:
    kube, clock = FakeKube(), Clock()
    a, b = elector(kube, "a", clock), elector(kube, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.release()
    assert lease(kube)["holderIdentity"] == ""
    assert b.try_acquire_or_renew()
    assert not a.release()  # not ours any more


def test_conflicting_writes_lose() -> None:
    kube, clock = FakeKube(), Clock()
    a = elector(kube, "a", clock)
    assert a.try_acquire_or_renew()
    real_replace = kube.replace

    def racing_replace(resource, obj, **kw):
        # Another writer gets in between our read and our write.
        current = kube.get(resource, obj["metadata"]["name"], obj["metadata"]["namespace"])
        real_replace(resource, current)
        return real_replace(resource, obj, **kw)

    kube.replace = racing_replace  # type: ignore[method-assign]
    assert not a.try_acquire_or_renew()


def test_bad_timings_are_refused() -> None:
    with pytest.raises(ValueError, match="lease_duration > renew_deadline"):
        elector(FakeKube(), "a", Clock(), lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError, match="identity"):
        elector(FakeKube(), "", Clock())


async def test_run_leads_then_releases_on_stop() -> None:
    kube = FakeKube()
    events: list[str] = []
    a = LeaderElector(
        kube,  # type: ignore[arg-type]
        "ironlb-controller",
        "ironlb-system",
        "a",
        lease_duration=1.0,
        renew_deadline=0.5,
        retry_period=0.02,
        on_started_leading=lambda: events.append("started"),
        on_stopped_leading=lambda: events.append("stopped"),
    )
    task = asyncio.create_task(a.run())
    await asyncio.wait_for(a.leading.wait(), 5)
    first = lease(kube)["renewTime"]
    await async_wait_until(lambda: None if lease(kube)["renewTime"] != first else "no renew", 5)
    a.stop()
    await asyncio.wait_for(task, 5)
    assert events == ["started", "stopped"]
    assert lease(kube)["holderIdentity"] == ""


async def test_run_steps_down_when_it_cannot_renew() -> None:
    kube = FakeKube()
    events: list[str] = []
    a = LeaderElector(
        kube,  # type: ignore[arg-type]
        "ironlb-controller",
        "ironlb-system",
        "a",
        lease_duration=1.0,
        renew_deadline=0.3,
        retry_period=0.02,
        on_started_leading=lambda: events.append("started"),
        on_stopped_leading=lambda: events.append("stopped"),
    )
    task = asyncio.create_task(a.run())
    await asyncio.wait_for(a.leading.wait(), 5)
    # Someone else grabs the lease (e.g. after a partition): a must notice and step down.
    spec = kube.get(LEASES, "ironlb-controller", "ironlb-system")
    spec["spec"]["holderIdentity"] = "b"
    kube.replace(LEASES, spec)
    await async_wait_until(lambda: None if "stopped" in events else events, 5)
    assert not a.is_leader
    a.stop()
    await asyncio.wait_for(task, 5)
    assert lease(kube)["holderIdentity"] == "b"  # never released what it does not hold


async def test_an_async_term_runs_while_leading_and_is_cancelled_on_stop() -> None:
    kube = FakeKube()
    events: list[str] = []

    async def term() -> None:
        events.append("term started")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("term cancelled")
            raise

    async def stopped() -> None:
        events.append("stopped")

    a = LeaderElector(
        kube,  # type: ignore[arg-type]
        "ironlb-controller",
        "ironlb-system",
        "a",
        lease_duration=1.0,
        renew_deadline=0.5,
        retry_period=0.02,
        on_started_leading=term,
        on_stopped_leading=stopped,
    )
    task = asyncio.create_task(a.run())
    await async_wait_until(lambda: None if events else "no term yet", 5)
    a.stop()
    await asyncio.wait_for(task, 5)
    assert events == ["term started", "term cancelled", "stopped"]
