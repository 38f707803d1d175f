"""Bring a namespace ToR (FRR + sshd with a vtysh login shell) up or down for molecule.

    python tor.py up STATE_DIR    # prints the instance as JSON, keeps pids in STATE_DIR/tor.json
    python tor.py down STATE_DIR  # stops by pid, deletes the user, dirs and the namespace

The daemons outlive this script (molecule runs create, converge, verify and destroy as
separate playbooks), so `down` works from the pids recorded by `up`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ironlb.netns.peers.frr import CRASH_DIR, FrrRouter
from ironlb.netns.peers.sshd import SshServer

ADDRESS = "198.51.100.254"
STOP_TIMEOUT = 5.0


def up(state_dir: Path) -> dict[str, object]:
    netns = f"ilb-sw-m{secrets.token_hex(3)}"
    user = f"ilbswm{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    state = state_dir / "tor.json"
    info: dict[str, object] = {"netns": netns, "user": user, "pids": {}}
    state.write_text(json.dumps(info))
    subprocess.run(["ip", "netns", "add", netns], check=True)
    ip = ["ip", "-n", netns]
    subprocess.run([*ip, "link", "set", "lo", "up"], check=True)
    subprocess.run([*ip, "addr", "add", f"{ADDRESS}/32", "dev", "lo"], check=True)
    # Not under STATE_DIR: molecule's ephemeral directory is private (0700), and both the frr
    # user and the vtysh login user must traverse every parent of the daemons' directory.
    base = Path(tempfile.mkdtemp(prefix="ironlb-mol-tor-"))
    info["workdirs"] = [str(base)]
    base.chmod(0o755)
    frr = FrrRouter(netns, hostname="tor1", workdir=base / "frr")
    frr.start()
    ssh = SshServer(
        netns,
        address=ADDRESS,
        user=user,
        password=password,
        login_argv=frr.vtysh_argv(),
        groups=("frrvty",),
        workdir=base / "sshd",
    )
    ssh.start()
    pids = {**frr.pids, "sshd": ssh.pid}
    ssh_config = state_dir / "ssh_config"
    ssh_config.write_text(
        f"Host {ADDRESS}\n  ProxyCommand ip netns exec {netns} socat - TCP:{ADDRESS}:22\n"
    )
    info.update(pids=pids, frr_dir=str(frr.dir), workdirs=[str(base)])
    state.write_text(json.dumps(info))
    return {
        "instance": "tor1",
        "address": ADDRESS,
        "user": user,
        "password": password,
        "port": 22,
        "connection": "local",
        "netns": netns,
        "frr_dir": str(frr.dir),
        "ssh_config": str(ssh_config),
    }


def down(state_dir: Path) -> None:
    state = state_dir / "tor.json"
    if not state.exists():
        return
    info = json.loads(state.read_text())
    for name, pid in info.get("pids", {}).items():
        _stop(int(pid))
        shutil.rmtree(CRASH_DIR / f"{name}.{pid}", ignore_errors=True)
    subprocess.run(["userdel", info["user"]], capture_output=True, check=False)
    for d in info.get("workdirs", []):
        shutil.rmtree(d, ignore_errors=True)
    subprocess.run(["ip", "netns", "del", info["netns"]], capture_output=True, check=False)
    state.unlink()


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        _reap(pid)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> None:
    # Our own children (when up and down run in one process) must be reaped to disappear.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


if __name__ == "__main__":
    action, where = sys.argv[1], Path(sys.argv[2])
    where.mkdir(parents=True, exist_ok=True)
    if action == "up":
        try:
            print(json.dumps(up(where)))
        except BaseException:
            down(where)
            raise
    else:
        down(where)
