"""ExaBGP 4.2 inside one network namespace (an announcer for benchmarks and tests).

API::

    from ironlb.netns.peers.exabgp import ExabgpSpeaker, exabgp_conf

    conf = exabgp_conf("198.51.100.2", 64513, "198.51.100.1", 64512, prefixes, passive=True)
    with ExabgpSpeaker("ilb-bgp-x-ann", conf, bind="198.51.100.2") as ann:
        ...

Runs `exabgp CONF` in the foreground as root (FIELD-NOTES: `exabgp.daemon.user=root
exabgp.daemon.drop=false exabgp.api.cli=false`); with `bind` it listens on port 179 of that
address, so a receiver can open the session. `group-updates true` packs many prefixes per
UPDATE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

STOP_TIMEOUT = 5.0


def exabgp_conf(
    local: str,
    local_asn: int,
    peer: str,
    peer_asn: int,
    prefixes: Iterable[str],
    *,
    passive: bool = False,
    hold: int = 90,
) -> str:
    routes = "".join(f"    route {p} next-hop {local};\n" for p in prefixes)
    return (
        f"neighbor {peer} {{\n"
        f"  router-id {local};\n  local-address {local};\n"
        f"  local-as {local_asn};\n  peer-as {peer_asn};\n  hold-time {hold};\n"
        f"  passive {'true' if passive else 'false'};\n  group-updates true;\n"
        "  family { ipv4 unicast; }\n"
        f"  static {{\n{routes}  }}\n}}\n"
    )


class ExabgpSpeaker:
    def __init__(self, netns: str, conf: str, *, bind: str | None = None) -> None:
        self.netns = netns
        self.conf = conf
        self.bind = bind
        self.dir = Path()
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ExabgpSpeaker:
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
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ironlb-exabgp-"))
        conf = self.dir / "exabgp.conf"
        conf.write_text(self.conf)
        env = {
            **os.environ,
            "exabgp.daemon.user": "root",
            "exabgp.daemon.drop": "false",
            "exabgp.api.cli": "false",
            "exabgp.log.level": "WARNING",
            "exabgp.tcp.bind": self.bind or "",
            "exabgp.tcp.port": "179",
        }
        log = open(self.dir / "exabgp.log", "wb")  # noqa: SIM115 - lives as long as ExaBGP
        argv = ["ip", "netns", "exec", self.netns, "exabgp", str(conf)]
        self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self) -> str:
        path = self.dir / "exabgp.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        if self.dir != Path() and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)
