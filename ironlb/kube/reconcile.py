"""Reconcile requests and the worker loop (controller-runtime's contract).

A :class:`Request` names an object, never carries it: the reconciler reads the cache, so a
deletion shows as absence. Outcome handling:

- success with ``requeue_after == 0`` → forget the key's failures;
- ``Result(requeue_after=s)`` → forget the failures and look again after ``s`` seconds;
- :class:`TerminalError` → log, forget, no retry (retrying cannot help: user error);
- any other exception → retry with the key's exponential backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple

from ironlb.kube.workqueue import ShutDown, WorkQueue
from ironlb.log import get_logger

__all__ = ["Reconciler", "Request", "Result", "TerminalError", "reconcile_one", "run_workers"]

log = get_logger("ironlb.kube.reconcile")


class Request(NamedTuple):
    """The key of one object: ``namespace`` is ``""`` for cluster-scoped ones."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """``requeue_after`` > 0: reconcile this key again after that many seconds."""

    requeue_after: float = 0.0


class TerminalError(Exception):
    """A failure that retrying cannot fix (a bad object): logged, never retried."""


Reconciler = Callable[[Request], Awaitable[Result | None]]


async def reconcile_one(queue: WorkQueue[Request], reconcile: Reconciler, req: Request) -> None:
    """Run ``reconcile`` for ``req`` and apply the outcome rules to ``queue``."""
    try:
        result = await reconcile(req)
    except asyncio.CancelledError:
        raise
    except TerminalError as exc:
        queue.forget(req)
        log.error("reconcile.terminal", request=str(req), error=str(exc))
    except Exception as exc:
        queue.add_rate_limited(req)
        log.warning(
            "reconcile.failed",
            request=str(req),
            error=f"{type(exc).__name__}: {exc}",
            retries=queue.num_requeues(req),
        )
    else:
        queue.forget(req)
        if result is not None and result.requeue_after > 0:
            queue.add_after(req, result.requeue_after)
    finally:
        queue.done(req)


async def _worker(queue: WorkQueue[Request], reconcile: Reconciler) -> None:
    while True:
        try:
            req = await queue.get()
        except ShutDown:
            return
        await reconcile_one(queue, reconcile, req)


async def run_workers(queue: WorkQueue[Request], reconcile: Reconciler, n: int = 1) -> None:
    """Run ``n`` workers until the queue is shut down and drained (or this is cancelled).

    A key is never reconciled by two workers at once (the queue's processing set).
    """
    if n < 1:
        raise ValueError("run_workers: n must be at least 1")
    workers = [asyncio.create_task(_worker(queue, reconcile)) for _ in range(n)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
