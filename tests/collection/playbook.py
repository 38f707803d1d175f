"""Run the repository's playbooks with the venv's ansible-playbook inside a namespace."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


def ansible_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_HOME=str(home),
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{BIN}:{env.get('PATH', '')}",
    )
    return env


def write_inventory(path: Path, data: dict[str, Any]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "hosts.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_playbook(
    netns: str, inventory: Path, home: Path, *args: str, playbook: str = "playbooks/switches.yml"
) -> subprocess.CompletedProcess[str]:
    argv = ["ip", "netns", "exec", netns, str(BIN / "ansible-playbook"), "-i", str(inventory)]
    return subprocess.run(
        [*argv, playbook, *args],
        cwd=REPO,
        env=ansible_env(home),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def recap(output: str, host: str) -> dict[str, int]:
    """The PLAY RECAP counters of `host`."""
    m = re.search(rf"^{re.escape(host)}\s+:\s+(.*)$", output, re.M)
    assert m, f"no recap for {host} in:\n{output[-2000:]}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
