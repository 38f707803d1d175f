"""keepalived 2.2 (VRRP only) inside one network namespace: the L2 failover peer.

API::

    from ironlb.netns.peers.keepalived import Keepalived

    ka = Keepalived("ilb-l2-node1", interface="lan", vips=["203.0.113.50/32"], priority=200,
                    advert_int=0.1, router_id="node1")
    ka.start()            # foreground daemon: pid is keepalived's own
    ka.vrrp_pid           # the VRRP child (read from its pid file)
    ka.kill9()            # SIGKILL parent and VRRP child: an unplanned death
    ka.stop()             # SIGTERM: keepalived sends priority 0, a planned hand-over

Runs `keepalived -f CONF -p PID -r VRRP_PID -c CHECKER_PID -n -l -G -P` under `ip netns exec`
with every path in a private temp dir (FIELD-NOTES). `advert_int` below 1 s needs VRRPv3,
so `vrrp_version 3` is written whatever the interval. Use distinct priorities: equal ones
make backups time out together and fight.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

KEEPALIVED = "/usr/sbin/keepalived"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class KeepalivedError(RuntimeError):
    pass


def render_config(
    *,
    router_id: str,
    interface: str,
    vips: Sequence[str],
    priority: int,
    advert_int: float,
    virtual_router_id: int = 51,
) -> str:
    if not 1 <= priority <= 254:
        raise KeepalivedError(f"priority {priority}: must be 1..254 (255 is the address owner)")
    addresses = "\n".join(f"    {vip} dev {interface}" for vip in vips)
    return f"""global_defs {{
  router_id {router_id}
  vrrp_version 3
  script_user root
  enable_script_security
}}
vrrp_instance VI_{virtual_router_id} {{
  state BACKUP
  interface {interface}
  virtual_router_id {virtual_router_id}
  priority {priority}
  advert_int {advert_int:g}
  virtual_ipaddress {{
{addresses}
  }}
}}
"""


class Keepalived:
    def __init__(
        self,
        netns: str,
        *,
        interface: str,
        vips: Sequence[str],
        priority: int,
        advert_int: float = 1.0,
        router_id: str = "ironlb-peer",
        virtual_router_id: int = 51,
        workdir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.netns = netns
        self.config = render_config(
            router_id=router_id,
            interface=interface,
            vips=vips,
            priority=priority,
            advert_int=advert_int,
            virtual_router_id=virtual_router_id,
        )
        self._own_dir = workdir is None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="ilb-keepalived-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def vrrp_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.dir / "vrrp.pid").read_text().strip())
        return None

    def start(self) -> Keepalived:
        conf = self.dir / "keepalived.conf"
        conf.write_text(self.config)
        argv = ["ip", "netns", "exec", self.netns, KEEPALIVED, "-f", str(conf)]
        argv += ["-p", str(self.dir / "keepalived.pid"), "-r", str(self.dir / "vrrp.pid")]
        argv += ["-c", str(self.dir / "checkers.pid"), "-n", "-l", "-G", "-P"]
        log = open(self.dir / "keepalived.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while self.vrrp_pid is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise KeepalivedError(f"keepalived in {self.netns} did not start: {self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        path = self.dir / "keepalived.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def kill9(self) -> None:
        """SIGKILL the VRRP child and the parent: no priority-0 advert goes out."""
        for pid in (self.vrrp_pid, self.pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM (priority 0 advert: a planned hand-over), SIGKILL after a bounded wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill9()
        vrrp = self.vrrp_pid
        if vrrp is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(vrrp, signal.SIGKILL)

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Keepalived:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
