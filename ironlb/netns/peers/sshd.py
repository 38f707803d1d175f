"""An OpenSSH server inside a namespace whose test user logs into a CLI (e.g. FRR's vtysh).

API::

    from ironlb.netns.peers.frr import FrrRouter
    from ironlb.netns.peers.sshd import SshServer

    with FrrRouter("ilb-sw-tor") as tor, SshServer(
        "ilb-sw-tor", address="198.51.100.254", port=22,
        user="ilbswadm", password="s3cret", login_argv=tor.vtysh_argv(), groups=("frrvty",),
    ) as ssh:
        ...  # netmiko: device_type "cisco_ios", host 198.51.100.254, username ssh.user

- `SshServer(netns, *, address, port=22, user, password, login_argv=None, groups=(),
  workdir=None)`. `start()` writes its own `sshd_config`, an ed25519 host key and a PidFile into a
  private directory, creates `/run/sshd` (privilege separation) if missing, creates the local user
  `user` (home = the private directory) with password `password` and, when `login_argv` is given, a
  login shell that is a wrapper `exec <login_argv> "$@"` (so `ssh host 'show version'` also works
  through `-c`), adds the user to `groups` (vtysh needs `frrvty`), and runs
  `ip netns exec NS /usr/sbin/sshd -D -e -f CONF` — that pid is sshd's own. sshd listens only on
  `address:port` with password authentication and `UsePAM no`.
- `stop()` kills sshd by its pid (SIGTERM, then SIGKILL after a bounded wait), deletes the user it
  created and the private directory. A user that already existed is refused (never touched).
- `host_key_fingerprint` gives the SHA256 fingerprint of the host key (for known_hosts checks).
"""

from __future__ import annotations

import pwd
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

SSHD = "/usr/sbin/sshd"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class SshdError(RuntimeError):
    """sshd did not start, or the test user could not be set up."""


class SshServer:
    """sshd in `netns` listening on `address:port` for one password-authenticated user."""

    def __init__(
        self,
        netns: str,
        *,
        address: str,
        user: str,
        password: str,
        port: int = 22,
        login_argv: Sequence[str] | None = None,
        groups: Sequence[str] = (),
        workdir: str | Path | None = None,
    ) -> None:
        self.netns = netns
        self.address = address
        self.port = port
        self.user = user
        self.password = password
        self.login_argv = list(login_argv) if login_argv else None
        self.groups = tuple(groups)
        self._own_workdir = workdir is None
        self.dir = Path(workdir) if workdir is not None else Path()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        self._user_created = False

    def __enter__(self) -> SshServer:
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
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        if self._own_workdir:
            self.dir = Path(tempfile.mkdtemp(prefix="ironlb-sshd-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)  # the user's home and login shell live here
        try:
            self._create_user()
            self._write_config()
            self._run()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._user_created:
            subprocess.run(["userdel", self.user], capture_output=True, check=False, timeout=30)
            self._user_created = False
        if self._own_workdir and self.dir != Path():
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def host_key_fingerprint(self) -> str:
        out = subprocess.run(
            ["ssh-keygen", "-lf", str(self.dir / "ssh_host_ed25519_key.pub")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.split()[1]

    def log_text(self) -> str:
        try:
            return (self.dir / "sshd.log").read_text(errors="replace")
        except OSError:
            return ""

    # ----- internals -----------------------------------------------------------------------

    def _create_user(self) -> None:
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            pass
        else:
            raise SshdError(f"user {self.user!r} already exists; refusing to reuse it")
        shell = "/bin/sh"
        if self.login_argv:
            wrapper = self.dir / "login-shell"
            wrapper.write_text(f'#!/bin/sh\nexec {shlex.join(self.login_argv)} "$@"\n')
            wrapper.chmod(0o755)
            shell = str(wrapper)
        argv = ["useradd", "--no-create-home", "--home-dir", str(self.dir), "--shell", shell]
        if self.groups:
            argv += ["--groups", ",".join(self.groups)]
        self._run_checked([*argv, self.user])
        self._user_created = True
        self._run_checked(["chpasswd"], stdin=f"{self.user}:{self.password}\n")

    def _write_config(self) -> None:
        key = self.dir / "ssh_host_ed25519_key"
        self._run_checked(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        listen = f"[{self.address}]:{self.port}" if ":" in self.address else self.address
        port_line = "" if ":" in self.address else f"Port {self.port}\n"
        conf = (
            f"{port_line}ListenAddress {listen}\n"
            f"HostKey {key}\n"
            f"PidFile {self.dir / 'sshd.pid'}\n"
            "UsePAM no\n"
            "PasswordAuthentication yes\n"
            "KbdInteractiveAuthentication no\n"
            "PubkeyAuthentication no\n"
            "AuthorizedKeysFile none\n"
            "PermitRootLogin no\n"
            f"AllowUsers {self.user}\n"
            "StrictModes no\n"
            "UseDNS no\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "MaxStartups 50\n"
            "LoginGraceTime 20\n"
        )
        (self.dir / "sshd_config").write_text(conf)
        self._run_checked([SSHD, "-t", "-f", str(self.dir / "sshd_config")])

    def _run(self) -> None:
        self._log = (self.dir / "sshd.log").open("ab")
        argv = ["ip", "netns", "exec", self.netns, SSHD, "-D", "-e"]
        argv += ["-f", str(self.dir / "sshd_config")]
        # `ip netns exec` execs sshd, so this pid is sshd's own; -D keeps it in the foreground.
        self._proc = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._listening():
            if self._proc.poll() is not None:
                raise SshdError(f"sshd exited with {self._proc.returncode}: {self.log_text()}")
            if time.monotonic() > deadline:
                raise SshdError(f"sshd not listening on {self.address}:{self.port}")
            time.sleep(0.02)

    def _listening(self) -> bool:
        # The listening socket shows in the namespace's socket table; `ss` avoids a connect
        # that would leave a "did not receive identification" line in sshd's log.
        res = subprocess.run(
            ["ip", "netns", "exec", self.netns, "ss", "-Hltn", f"sport = :{self.port}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        return bool(res.stdout.strip())

    @staticmethod
    def _run_checked(argv: list[str], stdin: str | None = None) -> None:
        res = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, check=False, timeout=30
        )
        if res.returncode != 0:
            raise SshdError(f"{argv[0]} failed ({res.returncode}): {res.stderr.strip()}")
