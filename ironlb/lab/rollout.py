"""Runs ``playbooks/site.yml`` against ``inventory/lab`` and reads what it proved.

The playbook's output streams through a progress line showing the task in hand; the recap
gives ``changed``/``failed`` counts and verify.yml's last message the external IP and the
client's curl answer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from ironlb.lab.layout import Layout

REPO = Path(__file__).resolve().parents[2]
_RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
_TASK = re.compile(r"^(TASK|PLAY) \[(.*)\]")


@dataclass
class RolloutResult:
    mode: str
    returncode: int
    seconds: float
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    external_ip: str | None = None
    curl: list[str] = field(default_factory=list)
    log: Path | None = None
    tail: list[str] = field(default_factory=list)
    changed_tasks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0 and self.unreachable == 0


def playbook_env(layout: Layout) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "IRONLB_LAB_STATE_DIR": str(layout.state_dir),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "PYTHONUNBUFFERED": "1",  # task names stream into the progress line
        "ANSIBLE_HOME": str(layout.state_dir / "ansible-home"),
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
    }


def run_playbook(
    layout: Layout,
    playbook: str,
    mode: str,
    console: Console | None = None,
    extra: list[str] | None = None,
) -> RolloutResult:
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(REPO / "inventory" / "lab"),
        str(REPO / "playbooks" / playbook),
        "-e",
        f"ironlb_lab_mode={mode}",
        *(extra or []),
    ]
    log = layout.state_dir / "logs" / f"{playbook.removesuffix('.yml')}-{mode}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    result = RolloutResult(mode, 0, 0.0, log=log)
    lines: list[str] = []
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=playbook_env(layout),
            stdin=subprocess.DEVNULL,  # ansible refuses a non-blocking stdin (CI, background)
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        status = console.status(f"{playbook} ({mode})") if console else None
        if status:
            status.start()
        try:
            for line in proc.stdout:
                out.write(line)
                lines.append(line.rstrip("\n"))
                match = _TASK.match(line)
                if match and status:
                    status.update(f"{playbook} ({mode}): {match.group(2)}")
        finally:
            if status:
                status.stop()
        result.returncode = proc.wait()
    result.seconds = time.monotonic() - start
    _parse(lines, result)
    result.tail = lines[-40:]
    return result


def _parse(lines: list[str], result: RolloutResult) -> None:
    task = ""
    for line in lines:
        header = _TASK.match(line)
        if header:
            task = header.group(2)
        elif line.startswith("changed: "):
            result.changed_tasks.append(f"{task} {line.split(' ', 2)[1]}")
        match = _RECAP.match(line)
        if match:
            result.changed += int(match.group(3))
            result.unreachable += int(match.group(4))
            result.failed += int(match.group(5))
    for i, line in enumerate(lines):
        found = re.search(r'"external_ip=([^"]+)"', line)
        if found:
            result.external_ip = found.group(1)
            result.curl = [_unquote(x) for x in lines[i + 1 : i + 40] if x.strip().startswith('"')]


def _unquote(text: str) -> str:
    text = text.strip().rstrip(",")
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    return text.replace('\\"', '"')


def run_site(layout: Layout, mode: str, console: Console | None = None) -> RolloutResult:
    return run_playbook(layout, "site.yml", mode, console)


def show(result: RolloutResult, console: Console) -> None:
    if not result.ok:
        console.print(
            f"[red]site.yml ({result.mode}) failed[/] after {result.seconds:.1f} s; "
            f"log: {result.log}"
        )
        for line in result.tail[-25:]:
            console.print(f"  {line}", markup=False, highlight=False)
        return
    console.print(
        f"[green]site.yml ({result.mode})[/]: ok in {result.seconds:.1f} s, "
        f"changed={result.changed}"
    )
    console.print(f"  Service external IP: [bold]{result.external_ip}[/]")
    for line in result.curl:
        console.print(f"  {line}", markup=False, highlight=False)
