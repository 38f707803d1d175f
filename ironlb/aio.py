"""Thin asyncio helpers shared by the shells: timers for sans-IO cores, signals, tasks.

Sans-IO cores expose `get_timer() -> float | None` (a deadline on the loop clock) and
`handle_timer(now)`. `TimerDriver` keeps exactly one `loop.call_at` armed at that
deadline; the shell calls `rearm()` after it feeds the core any input, because input
can move the deadline.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from ironlb.log import get_logger

log = get_logger(__name__)


class TimedCore(Protocol):
    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


def now(loop: asyncio.AbstractEventLoop | None = None) -> float:
    """The loop clock (monotonic seconds): the `now` every core is fed."""
    return (loop or asyncio.get_running_loop()).time()


class TimerDriver:
    """Fires `core.handle_timer(now)` at `core.get_timer()`, then `on_fire(now)`."""

    def __init__(
        self,
        core: TimedCore,
        on_fire: Callable[[float], None],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._core = core
        self._on_fire = on_fire
        self._loop = loop or asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._closed = False

    def rearm(self) -> None:
        if self._closed:
            return
        deadline = self._core.get_timer()
        if deadline == self._deadline and self._handle is not None:
            return
        self._cancel()
        self._deadline = deadline
        if deadline is not None:
            self._handle = self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._deadline = None
        current = self._loop.time()
        self._core.handle_timer(current)
        self._on_fire(current)
        self.rearm()

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        self._closed = True
        self._cancel()


def install_signal_handlers(
    loop: asyncio.AbstractEventLoop, on_term: Callable[[], Awaitable[None]]
) -> None:
    """SIGTERM/SIGINT run `on_term()` once (graceful drain); a second signal exits hard."""
    fired = False

    def handler(signame: str) -> None:
        nonlocal fired
        if fired:
            log.warning("signal.repeat", signal=signame, action="exit")
            raise SystemExit(1)
        fired = True
        log.info("signal.received", signal=signame, action="drain")
        spawn(on_term(), name=f"on-{signame.lower()}")

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, handler, sig.name)


_background: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    """Start a task that is kept alive and whose failure is logged, not lost."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _background.add(task)
    task.add_done_callback(_reap)
    return task


def _reap(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        log.error("task.failed", task=task.get_name(), error=f"{type(exc).__name__}: {exc}")
