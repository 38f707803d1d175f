"""Poll a convergence check with an explicit bound (the topotests `run_and_expect` idea).

A check returns ``None`` once the system has converged, or anything else (a diff, a message)
describing what is still wrong; that last description is what the timeout error shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["WaitTimeout", "async_wait_until", "wait_until"]


class WaitTimeout(AssertionError):
    """The check did not converge in time; ``.diff`` is its last answer."""

    def __init__(self, diff: object, timeout: float, attempts: int) -> None:
        self.diff = diff
        self.timeout = timeout
        self.attempts = attempts
        super().__init__(f"not converged after {timeout:g} s ({attempts} checks); last: {diff!r}")


def wait_until(
    check: Callable[[], object | None],
    timeout: float,
    interval: float = 0.05,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Call ``check`` until it returns None; return the number of calls it took.

    The check runs at least once, and once more at the deadline, so a slow check is never
    refused a last look. Exceptions from the check propagate (a crash is not "not yet").
    """
    deadline = clock() + timeout
    attempts = 0
    while True:
        attempts += 1
        diff = check()
        if diff is None:
            return attempts
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(diff, timeout, attempts)
        sleep(min(interval, remaining))


async def async_wait_until(
    check: Callable[[], object | None] | Callable[[], Awaitable[object | None]],
    timeout: float,
    interval: float = 0.05,
) -> int:
    """The asyncio twin of :func:`wait_until`; ``check`` may be sync or async."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    attempts = 0
    while True:
        attempts += 1
        diff = check()
        if isinstance(diff, Awaitable):
            diff = await diff
        if diff is None:
            return attempts
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise WaitTimeout(diff, timeout, attempts)
        await asyncio.sleep(min(interval, remaining))
