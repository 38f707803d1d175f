"""The safety net: tear down every live topology at interpreter exit and on SIGINT/SIGTERM.

pyroute2 forks helper processes that inherit these hooks; they act only in the process that
installed them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
from types import FrameType
from typing import Any, Protocol

__all__ = ["live_prefixes", "register", "unregister"]


class Teardownable(Protocol):
    prefix: str

    def teardown(self) -> None: ...


_live: set[Teardownable] = set()
_live_lock = threading.Lock()
_hooks_installed = False
_previous: dict[int, Any] = {}
_hook_owner = 0


def register(topo: Teardownable, signal_hooks: bool) -> None:
    global _hooks_installed, _hook_owner
    with _live_lock:
        _live.add(topo)
        if _hooks_installed or not signal_hooks:
            return
        _hooks_installed = True
        _hook_owner = os.getpid()
    atexit.register(_teardown_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            _previous[sig] = signal.getsignal(sig)
            signal.signal(sig, _on_signal)


def live_prefixes() -> set[str]:
    """Prefixes of the topologies alive in this process."""
    with _live_lock:
        return {topo.prefix for topo in _live}


def unregister(topo: Teardownable) -> None:
    with _live_lock:
        _live.discard(topo)


def _teardown_all() -> None:
    if os.getpid() != _hook_owner:
        return
    with _live_lock:
        live = list(_live)
    for topo in live:
        with contextlib.suppress(Exception):
            topo.teardown()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _hook_owner:  # a forked helper (pyroute2) that inherited the hook
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _teardown_all()
    previous = _previous.get(signum)
    if callable(previous):
        previous(signum, frame)
    elif signum == signal.SIGINT and previous != signal.SIG_IGN:
        raise KeyboardInterrupt
    elif previous != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
