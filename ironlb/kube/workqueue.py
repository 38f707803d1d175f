"""A work queue of keys in client-go's shape: dedup, one worker per key, delays, backoff.

- a key added while queued is queued once (dirty set);
- a key being worked on is never handed out again until ``done``; if it was added meanwhile
  it is queued once more at ``done`` (processing set);
- ``add_after(key, delay)`` queues it later; ``add_rate_limited(key)`` later still, by a
  per-key exponential backoff (5 ms doubling to 1000 s) until ``forget(key)``.

:class:`~ironlb.kube.queuecore.QueueCore` holds all of that and takes ``now`` as a parameter
(pure, testable without a loop); :class:`WorkQueue` here is the asyncio shell with
``async get()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from ironlb.kube.queuecore import QueueCore, RateLimiter, ShutDown

__all__ = ["QueueCore", "RateLimiter", "ShutDown", "WorkQueue"]

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    """The asyncio shell over :class:`QueueCore`; one loop timer serves every delayed key.

    ``clock`` defaults to the loop's clock (the one its timers use); pass another only in tests
    that also drive :meth:`poll`.
    """

    def __init__(
        self,
        rate_limiter: RateLimiter[K] | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.core: QueueCore[K] = QueueCore(rate_limiter)
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def add(self, key: K) -> None:
        self.core.add(key)
        self._kick()

    def add_after(self, key: K, delay: float) -> None:
        self.core.add_after(key, delay, self.now())
        self._kick()

    def add_rate_limited(self, key: K) -> None:
        self.core.add_rate_limited(key, self.now())
        self._kick()

    def forget(self, key: K) -> None:
        self.core.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.core.num_requeues(key)

    def done(self, key: K) -> None:
        self.core.done(key)
        self._kick()

    def shut_down(self) -> None:
        self.core.shut_down()
        self._kick()

    @property
    def shutting_down(self) -> bool:
        return self.core.shutting_down

    def __len__(self) -> int:
        return len(self.core)

    def poll(self) -> None:
        """Promote due delayed keys and re-arm the timer (called by the timer itself)."""
        self._timer = None
        self._timer_at = None
        self.core.handle_timer(self.now())
        self._kick()

    async def get(self) -> K:
        """The next key (it is then in processing until ``done``); ShutDown once drained."""
        while True:
            self.core.handle_timer(self.now())
            key = self.core.pop()
            if key is not None:
                if len(self.core):
                    self._wakeup.set()  # more work: let another waiter through
                return key
            if self.core.shutting_down:
                self._wakeup.set()  # wake every other waiter so they end too
                raise ShutDown
            self._wakeup.clear()
            self._arm()
            await self._wakeup.wait()

    def _kick(self) -> None:
        if len(self.core) or self.core.shutting_down:
            self._wakeup.set()
        self._arm()

    def _arm(self) -> None:
        at = self.core.get_timer()
        if at is None or at == self._timer_at:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: get() will look at the timer when it runs
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        delay = max(0.0, at - self.now())
        self._timer = loop.call_at(loop.time() + delay, self.poll)
