"""Running commands on the host and inside lab namespaces (the one place that shells out)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class LabError(RuntimeError):
    """A lab step failed; the message names the step and what the command said."""


def run(
    argv: Sequence[str], *, stdin: str | None = None, check: bool = True, timeout: float = 60
) -> str:
    """Run ``argv``; return stdout, or raise LabError naming the command and its stderr."""
    res = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and res.returncode != 0:
        msg = (res.stderr or res.stdout).strip()
        raise LabError(f"`{' '.join(argv)}` failed ({res.returncode}): {msg}")
    return res.stdout


def in_netns(netns: str, argv: Sequence[str], **kwargs: object) -> str:
    return run(["ip", "netns", "exec", netns, *argv], **kwargs)  # type: ignore[arg-type]


def ip_batch(netns: str | None, lines: Sequence[str]) -> None:
    """Apply many `ip` commands in one process (`ip -batch -`), optionally inside a namespace."""
    argv = ["ip", "-batch", "-"] if netns is None else ["ip", "-n", netns, "-batch", "-"]
    run(argv, stdin="\n".join(lines) + "\n")


def sysctl(netns: str, settings: dict[str, str]) -> None:
    args = [f"{key}={value}" for key, value in settings.items()]
    in_netns(netns, ["sysctl", "-q", "-w", *args])
