"""Informer against the in-memory FakeKube: sync, resume, relist on 410, backoff."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable

from ironlb.kube.backoff import Backoff
from ironlb.kube.cache import Cache
from ironlb.kube.informer import Informer
from ironlb.kube.resources import CONFIGMAPS, SERVICES
from ironlb.netns.wait import async_wait_until
from tests.unit.kube.fakes import FakeKube


def cm(name: str, ns: str = "a", value: str = "1") -> dict:
    return {"metadata": {"name": name, "namespace": ns}, "data": {"v": value}}


def names(cache: Cache) -> list[str]:
    return [o["metadata"]["name"] for o in cache.list(CONFIGMAPS)]


def server_view(kube: FakeKube) -> dict:
    return {k: o["metadata"]["resourceVersion"] for k, o in kube.objects[CONFIGMAPS].items()}


def cache_view(cache: Cache) -> dict:
    return {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o["metadata"]["resourceVersion"]
        for o in cache.list(CONFIGMAPS)
    }


def converged(kube: FakeKube, cache: Cache) -> Callable[[], object | None]:
    def check() -> object | None:
        server, mine = server_view(kube), cache_view(cache)
        return None if server == mine else {"server": len(server), "cache": len(mine)}

    return check


def start(kube: FakeKube, changes: list) -> tuple[Informer, Cache, asyncio.Task]:
    cache = Cache()
    informer = Informer(
        kube,  # type: ignore[arg-type]
        CONFIGMAPS,
        cache,
        lambda r, ns, name: changes.append((r.kind, ns, name)),
        backoff=Backoff(initial=0.001, maximum=0.01, rng=random.Random(1)),
        watch_timeout=5,
    )
    return informer, cache, asyncio.create_task(informer.run())


async def stop(informer: Informer, task: asyncio.Task) -> None:
    informer.stop()
    await asyncio.wait_for(task, 5)


async def test_lists_then_follows_the_watch() -> None:
    kube = FakeKube()
    kube.create(CONFIGMAPS, cm("x"))
    kube.create(SERVICES, {"metadata": {"name": "not-mine", "namespace": "a"}})
    changes: list = []
    informer, cache, task = start(kube, changes)
    await informer.wait_synced(5)
    assert names(cache) == ["x"] and changes == [("ConfigMap", "a", "x")]
    kube.create(CONFIGMAPS, cm("y"))
    kube.patch(CONFIGMAPS, "x", {"data": {"v": "2"}}, "a")
    kube.delete(CONFIGMAPS, "y", "a")
    await async_wait_until(converged(kube, cache), 5)
    await async_wait_until(lambda: None if len(changes) == 4 else changes, 5)
    assert changes[1:] == [("ConfigMap", "a", n) for n in ("y", "x", "y")]
    assert cache.get(CONFIGMAPS, "a", "x")["data"] == {"v": "2"}
    assert cache.get(CONFIGMAPS, "a", "x")["kind"] == "ConfigMap"
    assert kube.watch_rvs[0] == "2"  # the watch starts at the list's resourceVersion
    await stop(informer, task)


async def test_broken_stream_resumes_from_the_last_resource_version() -> None:
    kube = FakeKube()
    informer, cache, task = start(kube, [])
    await informer.wait_synced(5)
    kube.create(CONFIGMAPS, cm("x"))
    await async_wait_until(converged(kube, cache), 5)
    lists = informer.stats.lists
    with kube.cond:
        kube.break_streams = 2
        kube.cond.notify_all()
    kube.create(CONFIGMAPS, cm("y"))
    await async_wait_until(converged(kube, cache), 5)
    assert informer.stats.lists == lists  # resumed, not relisted
    assert informer.stats.errors >= 1
    assert kube.watch_rvs[-1] is not None and int(kube.watch_rvs[-1]) >= 1
    await stop(informer, task)


async def test_gone_relists_and_emits_deletes_for_vanished_objects() -> None:
    kube = FakeKube()
    for name in ("keep", "drop", "change"):
        kube.create(CONFIGMAPS, cm(name))
    changes: list = []
    informer, cache, task = start(kube, changes)
    await informer.wait_synced(5)
    changes.clear()
    # While the informer is cut off, the server changes and forgets its history.
    with kube.cond:
        kube.expire_streams = 1
        kube.cond.notify_all()
    kube.delete(CONFIGMAPS, "drop", "a")
    kube.patch(CONFIGMAPS, "change", {"data": {"v": "2"}}, "a")
    kube.create(CONFIGMAPS, cm("new"))
    kube.compact()
    await async_wait_until(converged(kube, cache), 5)
    assert informer.stats.expired >= 1 and informer.stats.lists >= 2
    assert sorted(set(changes)) == [("ConfigMap", "a", n) for n in ("change", "drop", "new")]
    assert cache.get(CONFIGMAPS, "a", "drop") is None
    await stop(informer, task)


async def test_failed_lists_back_off_then_sync() -> None:
    kube = FakeKube()
    kube.create(CONFIGMAPS, cm("x"))
    kube.fail_lists = 3
    informer, cache, task = start(kube, [])
    await informer.wait_synced(5)
    assert informer.stats.errors == 3 and names(cache) == ["x"]
    await stop(informer, task)


async def test_a_failing_consumer_does_not_stop_the_informer() -> None:
    kube = FakeKube()
    cache = Cache()

    def boom(*_: object) -> None:
        raise RuntimeError("consumer bug")

    informer = Informer(kube, CONFIGMAPS, cache, boom, watch_timeout=5)  # type: ignore[arg-type]
    task = asyncio.create_task(informer.run())
    await informer.wait_synced(5)
    kube.create(CONFIGMAPS, cm("x"))
    await async_wait_until(converged(kube, cache), 5)
    await stop(informer, task)


async def test_cancel_closes_the_stream() -> None:
    kube = FakeKube()
    informer, _, task = start(kube, [])
    await informer.wait_synced(5)
    await async_wait_until(lambda: None if kube.watch_rvs else "no watch yet", 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    # The worker thread's stream is closed, so the thread ends instead of leaking.
    assert kube.streams and all(stream.closed for stream in kube.streams)


class CountingBackoff(Backoff):
    def __init__(self) -> None:
        super().__init__(initial=0.001, maximum=0.005, jitter=0)
        self.calls = 0

    def next(self) -> float:
        self.calls += 1
        return super().next()


async def test_watches_that_end_at_once_without_events_back_off() -> None:
    kube = FakeKube()
    kube.watch_timeout = 0.0  # every stream ends immediately, empty
    backoff = CountingBackoff()
    informer = Informer(kube, CONFIGMAPS, Cache(), backoff=backoff)  # type: ignore[arg-type]
    task = asyncio.create_task(informer.run())
    await async_wait_until(lambda: None if backoff.calls >= 3 else backoff.calls, 5)
    assert informer.stats.errors == 0  # not an error, but not a reason to spin either
    assert informer.stats.lists == 1  # and no relist: the place is kept
    await stop(informer, task)


async def test_informers_for_two_namespaces_share_a_cache_without_clobbering() -> None:
    kube = FakeKube()
    kube.create(CONFIGMAPS, cm("x", ns="a"))
    kube.create(CONFIGMAPS, cm("y", ns="b"))
    cache = Cache()
    fast = Backoff(initial=0.001, maximum=0.01)
    in_a = Informer(kube, CONFIGMAPS, cache, namespace="a", backoff=fast)  # type: ignore[arg-type]
    in_b = Informer(kube, CONFIGMAPS, cache, namespace="b", backoff=fast)  # type: ignore[arg-type]
    tasks = [asyncio.create_task(i.run()) for i in (in_a, in_b)]
    await in_a.wait_synced(5)
    await in_b.wait_synced(5)
    with kube.cond:
        kube.expire_streams = 2  # both relist; neither may delete the other's objects
        kube.cond.notify_all()
    kube.create(CONFIGMAPS, cm("z", ns="a"))
    await async_wait_until(converged(kube, cache), 5)
    assert sorted(cache_view(cache)) == [("a", "x"), ("a", "z"), ("b", "y")]
    for informer, task in zip((in_a, in_b), tasks, strict=True):
        await stop(informer, task)


async def test_many_watching_informers_leave_the_default_executor_free() -> None:
    kube = FakeKube()
    informers = [
        Informer(kube, CONFIGMAPS, Cache(), namespace=f"ns{i}")  # type: ignore[arg-type]
        for i in range(40)
    ]
    tasks = [asyncio.create_task(i.run()) for i in informers]
    for informer in informers:
        await informer.wait_synced(10)
    await async_wait_until(lambda: None if len(kube.streams) >= 40 else len(kube.streams), 10)
    # 40 blocked watches, yet a plain to_thread call still gets a thread.
    assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 10) == "free"
    for informer, task in zip(informers, tasks, strict=True):
        await stop(informer, task)


async def test_resync_repeats_every_key_without_listing_again() -> None:
    kube = FakeKube()
    kube.create(CONFIGMAPS, cm("x"))
    kube.create(CONFIGMAPS, cm("y"))
    changes: list = []
    informer = Informer(
        kube,  # type: ignore[arg-type]
        CONFIGMAPS,
        Cache(),
        lambda r, ns, name: changes.append(name),
        resync_period=0.01,
    )
    task = asyncio.create_task(informer.run())
    await async_wait_until(lambda: None if len(changes) >= 6 else changes, 5)
    assert changes[:4] == ["x", "y", "x", "y"]
    assert informer.stats.lists == 1
    await stop(informer, task)
