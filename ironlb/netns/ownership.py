"""Who owns a namespace: an flock held for the life of the topology that made it.

A crashed run's namespaces have no holder (the kernel drops the lock with the process), so
``cleanup_stale`` may remove them; a live run in another process — someone running the same
tests at the same time — keeps its lock, and its namespaces are left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

__all__ = ["LOCK_DIR", "claim", "release"]

LOCK_DIR = "/run/ironlb-netns"


def _path(netns: str) -> str:
    return os.path.join(LOCK_DIR, f"{netns}.lock")


def claim(netns: str) -> int | None:
    """Lock ``netns`` for this process: the fd to keep, or None if a live process holds it."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    # Not inherited by children (O_CLOEXEC): a daemon outliving us must not keep the claim.
    fd = os.open(_path(netns), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def holder(netns: str) -> str:
    """The pid recorded by the owner (for messages), or ``?``."""
    try:
        with open(_path(netns)) as f:
            return f.read().strip() or "?"
    except OSError:
        return "?"


def release(netns: str, fd: int) -> None:
    """Drop the claim (and its file) once the namespace is gone."""
    with contextlib.suppress(OSError):
        os.unlink(_path(netns))
    with contextlib.suppress(OSError):
        os.close(fd)
