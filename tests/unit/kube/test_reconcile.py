"""run_workers: outcomes map to forget / requeue_after / backoff; one worker per key."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from ironlb.kube.reconcile import Request, Result, TerminalError, run_workers
from ironlb.kube.workqueue import WorkQueue

A = Request("ns", "a")
B = Request("", "b")


async def drain(queue: WorkQueue[Request], reconcile, until, n: int = 2) -> None:
    runner = asyncio.create_task(run_workers(queue, reconcile, n))
    try:
        for _ in range(2000):
            if until():
                break
            await asyncio.sleep(0.002)
        assert until()
    finally:
        queue.shut_down()
        await asyncio.wait_for(runner, 5)


def test_request_str() -> None:
    assert str(A) == "ns/a" and str(B) == "b"


async def test_success_forgets_and_requeue_after_comes_back() -> None:
    queue: WorkQueue[Request] = WorkQueue()
    calls: Counter[Request] = Counter()

    async def reconcile(req: Request) -> Result:
        calls[req] += 1
        return Result(requeue_after=0.01) if req == A and calls[A] < 3 else Result()

    queue.add(A)
    queue.add(B)
    await drain(queue, reconcile, lambda: calls[A] == 3 and calls[B] == 1)
    assert queue.num_requeues(A) == 0


async def test_errors_retry_with_backoff_and_terminal_errors_do_not() -> None:
    queue: WorkQueue[Request] = WorkQueue()
    calls: Counter[Request] = Counter()

    async def reconcile(req: Request) -> Result:
        calls[req] += 1
        if req == B:
            raise TerminalError("bad object: spec.x is wrong")
        if calls[A] < 4:
            raise RuntimeError("apiserver hiccup")
        return Result()

    queue.add(A)
    queue.add(B)
    await drain(queue, reconcile, lambda: calls[A] == 4)
    assert calls[B] == 1
    assert queue.num_requeues(A) == 0  # forgotten after the success


async def test_a_key_is_never_reconciled_twice_at_once() -> None:
    queue: WorkQueue[Request] = WorkQueue()
    running: set[Request] = set()
    overlaps = 0
    calls = 0

    async def reconcile(req: Request) -> None:
        nonlocal overlaps, calls
        if req in running:
            overlaps += 1
        running.add(req)
        calls += 1
        if calls < 5:
            queue.add(req)  # a change arrives while we work: redo once afterwards
        await asyncio.sleep(0.002)
        running.discard(req)

    queue.add(A)
    await drain(queue, reconcile, lambda: calls >= 5, n=4)
    assert overlaps == 0


async def test_run_workers_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        await run_workers(WorkQueue(), lambda req: None, 0)  # type: ignore[arg-type]
