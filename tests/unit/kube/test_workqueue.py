"""Work queue: dedup, processing set, delays, per-key backoff (core with explicit now)."""

from __future__ import annotations

import asyncio

import pytest

from ironlb.kube.workqueue import QueueCore, RateLimiter, ShutDown, WorkQueue


def test_dedup_while_queued() -> None:
    q: QueueCore[str] = QueueCore()
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2
    assert [q.pop(), q.pop(), q.pop()] == ["a", "b", None]


def test_key_in_work_is_not_handed_out_again_but_redone_once_after_done() -> None:
    q: QueueCore[str] = QueueCore()
    q.add("a")
    assert q.pop() == "a"
    q.add("a")
    q.add("a")
    assert q.pop() is None  # not while "a" is processing
    assert q.processing == {"a"}
    q.done("a")
    assert q.pop() == "a"
    q.done("a")
    assert q.pop() is None


def test_add_after_keeps_the_earliest_time_per_key() -> None:
    q: QueueCore[str] = QueueCore()
    q.add_after("a", 5.0, now=100.0)
    q.add_after("a", 2.0, now=100.0)
    q.add_after("a", 9.0, now=100.0)
    q.add_after("b", 3.0, now=100.0)
    assert q.get_timer() == 102.0
    q.handle_timer(101.9)
    assert q.pop() is None
    q.handle_timer(102.0)
    assert q.pop() == "a"
    assert q.get_timer() == 103.0
    q.handle_timer(110.0)
    assert [q.pop(), q.pop()] == ["b", None]
    assert q.get_timer() is None


def test_rate_limited_backoff_5ms_doubling_to_1000s_until_forget() -> None:
    q: QueueCore[str] = QueueCore()
    delays = []
    for _ in range(20):
        q.add_rate_limited("a", now=0.0)
        delays.append(q.get_timer())
        q.handle_timer(10_000.0)
        assert q.pop() == "a"
        q.done("a")
    assert delays[:4] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert delays[-1] == 1000.0
    assert q.num_requeues("a") == 20
    q.forget("a")
    assert q.num_requeues("a") == 0
    q.add_rate_limited("a", now=0.0)
    assert q.get_timer() == pytest.approx(0.005)


def test_rate_limiter_never_overflows() -> None:
    limiter: RateLimiter[str] = RateLimiter()
    assert max(limiter.when("k") for _ in range(2000)) == 1000.0


def test_shut_down_refuses_new_keys_and_drains() -> None:
    q: QueueCore[str] = QueueCore()
    q.add("a")
    q.add_after("b", 1.0, now=0.0)
    q.shut_down()
    q.add("c")
    assert q.pop() == "a"
    assert q.get_timer() is None
    assert q.pop() is None


async def test_async_get_waits_for_delayed_keys_and_ends_on_shutdown() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("later", 0.02)
    q.add("now")
    assert await q.get() == "now"
    assert await asyncio.wait_for(q.get(), 5) == "later"
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.shut_down()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(waiter, 5)


async def test_async_get_hands_each_key_to_one_waiter() -> None:
    q: WorkQueue[int] = WorkQueue()
    got: list[int] = []

    async def worker() -> None:
        while True:
            try:
                key = await q.get()
            except ShutDown:
                return
            got.append(key)
            await asyncio.sleep(0)
            q.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for i in range(100):
        q.add(i)
    while len(got) < 100:
        await asyncio.sleep(0.001)
    q.shut_down()
    await asyncio.wait_for(asyncio.gather(*workers), 5)
    assert sorted(got) == list(range(100))
