"""The work queue's pure core: dedup, processing set, delayed keys, per-key backoff.

No asyncio and no clock: every timed call takes ``now`` (``get_timer``/``handle_timer``).
:mod:`ironlb.kube.workqueue` is the asyncio shell around it.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["QueueCore", "RateLimiter", "ShutDown"]

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """``get()`` on a queue that was shut down and drained."""


class RateLimiter(Generic[K]):
    """Per-key exponential backoff: ``base * 2**failures``, capped at ``maximum``."""

    def __init__(self, base: float = 0.005, maximum: float = 1000.0) -> None:
        self.base = base
        self.maximum = maximum
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        """The delay for this failure of ``key`` (and count it)."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        if failures >= 64:  # 2**64 * 5 ms is far past any cap; avoid float overflow
            return self.maximum
        return min(self.maximum, self.base * 2**failures)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)


class QueueCore(Generic[K]):
    """The queue's state; every timed call takes ``now`` (seconds, any monotonic origin)."""

    def __init__(self, rate_limiter: RateLimiter[K] | None = None) -> None:
        self.rate_limiter: RateLimiter[K] = rate_limiter or RateLimiter()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: list[tuple[float, int, K]] = []  # heap of (ready_at, seq, key)
        self._ready_at: dict[K, float] = {}  # earliest pending time per key
        self._seq = itertools.count()
        self.shutting_down = False

    def add(self, key: K) -> None:
        if self.shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)

    def add_after(self, key: K, delay: float, now: float) -> None:
        if self.shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        ready_at = now + delay
        # Keep only the earliest pending time per key (client-go's waitingForQueue).
        if key in self._ready_at and self._ready_at[key] <= ready_at:
            return
        self._ready_at[key] = ready_at
        heapq.heappush(self._waiting, (ready_at, next(self._seq), key))

    def add_rate_limited(self, key: K, now: float) -> None:
        self.add_after(key, self.rate_limiter.when(key), now)

    def forget(self, key: K) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.rate_limiter.num_requeues(key)

    def handle_timer(self, now: float) -> None:
        """Move every delayed key whose time has come into the queue."""
        while self._waiting and self._waiting[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._waiting)
            if self._ready_at.get(key) == ready_at:
                del self._ready_at[key]
                self.add(key)

    def get_timer(self) -> float | None:
        """When the next delayed key becomes ready, or None."""
        while self._waiting and self._ready_at.get(self._waiting[0][2]) != self._waiting[0][0]:
            heapq.heappop(self._waiting)  # superseded by an earlier add_after
        return self._waiting[0][0] if self._waiting else None

    def pop(self) -> K | None:
        """The next key to work on (now in processing), or None if none is ready."""
        if not self._queue:
            return None
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        """Work on ``key`` finished; re-queue it if it was added meanwhile."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)

    def shut_down(self) -> None:
        """Refuse new keys; queued ones can still be drained."""
        self.shutting_down = True
        self._waiting.clear()
        self._ready_at.clear()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def processing(self) -> frozenset[K]:
        return frozenset(self._processing)

    @property
    def waiting(self) -> int:
        return len(self._ready_at)
