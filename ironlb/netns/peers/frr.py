"""FRR 8.4 (zebra, bgpd, bfdd) inside one network namespace, for tests and the lab.

API::

    from ironlb.netns.peers.frr import FrrRouter

    with FrrRouter("ilb-sw-tor", bgpd_conf="router bgp 64512\\n ...") as tor:
        tor.vtysh("show bgp summary")                  # -> str (all output)
        tor.show_json("show bgp ipv4 unicast summary")  # -> dict (adds " json")
        tor.running_config()                            # -> str
        tor.configure(["router bgp 64512", " neighbor 198.51.100.1 remote-as 64513"])
        tor.pids                                        # {"zebra": 123, "bgpd": 124, "bfdd": 125}

- `FrrRouter(netns, *, hostname="tor", bgpd_conf="", zebra_conf="", bfdd_conf="",
  daemons=("zebra", "bgpd", "bfdd"), bgp_port=179, workdir=None)`. `start()` writes the
  configs into a private directory (`workdir`, default a fresh temp dir) owned by `frr:frrvty`
  mode 0770, then starts each daemon in the foreground as `ip netns exec NS <daemon> -f ... -i
  ... --vty_socket DIR -z DIR/zserv.api -P 0` (bfdd also `--bfdctl DIR/bfdd.sock`), so the pid we
  hold is the daemon's own. `stop()` sends SIGTERM to those pids (SIGKILL after a bounded wait),
  removes the crash-log folders `/var/tmp/frr/<daemon>.<pid>` they created and the temp dir.
- `vtysh.conf` carries `no service integrated-vtysh-config`, so `write memory` writes one file per
  daemon into the same directory without warnings (FIELD-NOTES).
- bgpd gets `no bgp ebgp-requires-policy` only if you write it: `bgpd_conf` is used verbatim,
  except that `router_bgp_conf(...)` below builds a typical one with it included.
- `vtysh_argv()` is the command line a login-shell wrapper must exec (see `peers/sshd.py`).
- The namespace must already exist (from `ironlb.netns` or `ip netns add`).
- A given `workdir` is created if missing; every parent must be traversable (x) by user `frr`
  and by a vtysh login user, or zebra fails with "Can't create pid lock file".
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

FRR_BIN = Path("/usr/lib/frr")
VTYSH = "/usr/bin/vtysh"
CRASH_DIR = Path("/var/tmp/frr")
DEFAULT_DAEMONS = ("zebra", "bgpd", "bfdd")
# Bounds for the readiness and stop loops (seconds); every wait here is bounded.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class FrrError(RuntimeError):
    """A daemon did not start, died, or vtysh failed."""


def router_bgp_conf(
    asn: int,
    router_id: str,
    neighbors: Sequence[tuple[str, int]] = (),
    *,
    extra: Sequence[str] = (),
) -> str:
    """A small bgpd.conf: `router bgp ASN` with eBGP policy relaxed and plain neighbors."""
    lines = [f"router bgp {asn}", f" bgp router-id {router_id}", " no bgp ebgp-requires-policy"]
    lines += [f" neighbor {addr} remote-as {remote}" for addr, remote in neighbors]
    lines += [f" {line}" for line in extra]
    return "\n".join(lines) + "\n"


class FrrRouter:
    """zebra + bgpd + bfdd of FRR 8.4 in namespace `netns`, with private paths."""

    def __init__(
        self,
        netns: str,
        *,
        hostname: str = "tor",
        bgpd_conf: str = "",
        zebra_conf: str = "",
        bfdd_conf: str = "",
        daemons: Sequence[str] = DEFAULT_DAEMONS,
        bgp_port: int = 179,
        workdir: str | Path | None = None,
    ) -> None:
        self.netns = netns
        self.hostname = hostname
        self.daemons = tuple(daemons)
        self.bgp_port = bgp_port
        self._confs = {"zebra": zebra_conf, "bgpd": bgpd_conf, "bfdd": bfdd_conf}
        self._own_workdir = workdir is None
        self.dir = Path(workdir) if workdir is not None else Path()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, BinaryIO] = {}

    # ----- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FrrRouter:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self._procs.items()}

    def start(self) -> None:
        if self._own_workdir:
            base = Path(tempfile.mkdtemp(prefix="ironlb-frr-"))
            base.chmod(0o755)  # the vtysh login user must traverse it
            self.dir = base / "frr"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_configs()
        try:
            for name in self.daemons:
                self._start_daemon(name)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for name in reversed(list(self._procs)):
            proc = self._procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(STOP_TIMEOUT)
            shutil.rmtree(CRASH_DIR / f"{name}.{proc.pid}", ignore_errors=True)
        for log in self._logs.values():
            log.close()
        self._procs.clear()
        self._logs.clear()
        if self._own_workdir and self.dir != Path():
            shutil.rmtree(self.dir.parent, ignore_errors=True)

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self._procs.items()}

    # ----- vtysh ---------------------------------------------------------------------------

    def vtysh_argv(self) -> list[str]:
        """The vtysh command line for this router (without `-c`)."""
        return [VTYSH, "--vty_socket", str(self.dir), "--config_dir", str(self.dir)]

    def vtysh(self, cmd: str | Sequence[str], *, check: bool = True) -> str:
        """Run one or more vtysh commands (each its own `-c`) and return stdout."""
        cmds = [cmd] if isinstance(cmd, str) else list(cmd)
        argv = ["ip", "netns", "exec", self.netns, *self.vtysh_argv()]
        for c in cmds:
            argv += ["-c", c]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if check and res.returncode != 0:
            raise FrrError(f"vtysh {cmds!r} failed ({res.returncode}): {res.stdout}{res.stderr}")
        return res.stdout

    def show_json(self, cmd: str) -> dict:
        """Run a `show ... json` command and decode it ("json" is appended if missing)."""
        if not cmd.rstrip().endswith(" json"):
            cmd = cmd.rstrip() + " json"
        out = self.vtysh(cmd)
        try:
            return json.loads(out) if out.strip() else {}
        except json.JSONDecodeError as exc:
            raise FrrError(f"{cmd!r} did not return JSON: {out[:200]!r}") from exc

    def running_config(self) -> str:
        return self.vtysh("show running-config")

    def configure(self, lines: Sequence[str]) -> str:
        """Enter `configure terminal` and send `lines` in one vtysh call."""
        return self.vtysh(["configure terminal", *lines])

    # ----- internals -----------------------------------------------------------------------

    def _write_configs(self) -> None:
        frr = pwd.getpwnam("frr")
        frrvty = grp.getgrnam("frrvty")
        files = {
            "vtysh.conf": f"hostname {self.hostname}\nno service integrated-vtysh-config\n",
            "zebra.conf": f"hostname {self.hostname}\n{self._confs['zebra']}",
            "bgpd.conf": f"hostname {self.hostname}\n{self._confs['bgpd']}",
            "bfdd.conf": f"hostname {self.hostname}\n{self._confs['bfdd']}",
        }
        for name, text in files.items():
            path = self.dir / name
            path.write_text(text)
            os.chown(path, frr.pw_uid, frrvty.gr_gid)
            path.chmod(0o664)
        os.chown(self.dir, frr.pw_uid, frrvty.gr_gid)
        self.dir.chmod(0o2770)

    def _argv(self, name: str) -> list[str]:
        d = self.dir
        argv = [str(FRR_BIN / name), "-f", str(d / f"{name}.conf"), "-i", str(d / f"{name}.pid")]
        argv += ["--vty_socket", str(d), "-z", str(d / "zserv.api"), "-P", "0"]
        if name == "bgpd":
            argv += ["-p", str(self.bgp_port)]
        if name == "bfdd":
            argv += ["--bfdctl", str(d / "bfdd.sock")]
        return argv

    def _start_daemon(self, name: str) -> None:
        log = self._logs[name] = (self.dir / f"{name}.log").open("ab")
        argv = ["ip", "netns", "exec", self.netns, *self._argv(name)]
        # `ip netns exec` execs the daemon, so this pid is the daemon's own (no -d fork).
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self._procs[name] = proc
        sock = self.dir / f"{name}.vty"
        deadline = time.monotonic() + START_TIMEOUT
        while not sock.exists():
            if proc.poll() is not None:
                raise FrrError(f"{name} exited with {proc.returncode}: {self._log_tail(name)}")
            if time.monotonic() > deadline:
                raise FrrError(f"{name} did not open {sock} within {START_TIMEOUT}s")
            time.sleep(0.02)

    def _log_tail(self, name: str) -> str:
        try:
            return (self.dir / f"{name}.log").read_text(errors="replace")[-500:]
        except OSError:
            return ""
