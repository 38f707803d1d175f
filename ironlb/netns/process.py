"""Processes inside a network namespace, known and stopped by their own pid.

``ip netns exec NS argv`` execs ``argv`` in place, so the Popen pid *is* the daemon (FIELD-NOTES:
no shell or setsid in between). Daemons must stay in the foreground; one that forks away is
caught by the topology's teardown sweep of its namespaces instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

__all__ = [
    "Proc",
    "kill_pids",
    "netns_argv",
    "netns_inode",
    "pid_alive",
    "pids_in_netns",
    "start_in_netns",
]

IP = "ip"


def netns_argv(netns: str, argv: Sequence[str]) -> list[str]:
    """The command line that runs ``argv`` inside the named namespace."""
    return [IP, "netns", "exec", netns, *argv]


class Proc:
    """A process started inside a namespace. Stop it with :meth:`stop` or :meth:`kill`."""

    def __init__(self, popen: subprocess.Popen[Any], host: str, argv: Sequence[str]) -> None:
        self.popen = popen
        self.host = host
        self.argv = list(argv)

    def __repr__(self) -> str:
        state = "alive" if self.alive else f"exited {self.popen.returncode}"
        return f"<Proc {self.host} pid={self.pid} {self.argv[0]!r} {state}>"

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for exit; raises ``subprocess.TimeoutExpired`` after ``timeout``."""
        return self.popen.wait(timeout)

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to this pid only (never to a group or by name)."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Send ``sig``, wait up to ``timeout`` s, then SIGKILL; return the exit code."""
        self.send_signal(sig)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int:
        """SIGKILL this pid and reap it; return the exit code."""
        self.send_signal(signal.SIGKILL)
        return self.popen.wait(10.0)


def start_in_netns(
    netns: str,
    argv: Sequence[str],
    *,
    host: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: int | IO[Any] | None = subprocess.DEVNULL,
    stdout: int | IO[Any] | None = subprocess.DEVNULL,
    stderr: int | IO[Any] | None = subprocess.STDOUT,
    text: bool = False,
) -> Proc:
    """Start ``argv`` in ``netns``; ``env`` is added to (not replacing) our environment.

    The child gets its own session so a Ctrl-C on the terminal reaches us, not it directly:
    teardown then stops it in order.
    """
    full_env = None if env is None else {**os.environ, **env}
    popen = subprocess.Popen(
        netns_argv(netns, argv),
        env=full_env,
        cwd=cwd,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        text=text,
        start_new_session=True,
    )
    return Proc(popen, host or netns, argv)


def netns_inode(netns: str) -> int | None:
    """The inode identifying a named namespace, or None if it is gone."""
    try:
        return os.stat(f"/run/netns/{netns}").st_ino
    except OSError:
        return None


def pids_in_netns(inodes: set[int]) -> list[int]:
    """Pids of every process whose network namespace is one of ``inodes``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ino = os.stat(f"/proc/{entry}/ns/net").st_ino
        except OSError:
            continue  # exited meanwhile, or a kernel thread we may not inspect
        if ino in inodes:
            found.append(int(entry))
    return found


def kill_pids(pids: Sequence[int], timeout: float = 2.0) -> None:
    """SIGTERM, wait a bounded time, then SIGKILL the given pids (each by its pid)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    left = list(pids)
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if pid_alive(pid)]
        if left:
            time.sleep(0.02)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie (a zombie is dead; its parent reaps it, we never steal that)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may hold spaces.
    return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] != b"Z"
