"""Speakers (`python -m speaker.bgp.standalone`) and the lab topology shared by the interop tests.

Topology: nodes node1..node3 and the ToR on `lan` (198.51.100.0/24, 2001:db8:1::/64), the ToR
and a client on `up` (198.19.0.0/24). Each node holds the Service address on `lo` and runs a
tiny TCP server that answers with the node name, so the client shows which node it reached.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from ironlb.netns import Proc, Topology

ROOT = Path(__file__).resolve().parents[3]
TOR_V4, TOR_V6 = "198.51.100.1", "2001:db8:1::1"
CLIENT = "198.19.0.2"
SERVICE = "203.0.113.10"
NODES = ("node1", "node2", "node3")


def node_v4(i: int) -> str:
    return f"198.51.100.{10 + i}"


def node_v6(i: int) -> str:
    return f"2001:db8:1::{10 + i}"


SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[2].encode()); c.close()
"""

CLIENT_PROBE = """
import socket, sys
s = socket.create_connection((sys.argv[1], 8080), timeout=2); print(s.recv(64).decode())
"""


def build_lab(factory: Any, prefix: str) -> Topology:
    topo: Topology = factory({"lan": ("tor", *NODES), "up": ("tor", "client")}, prefix=prefix)
    topo.add_address("tor", "lan", f"{TOR_V4}/24")
    topo.add_address("tor", "lan", f"{TOR_V6}/64")
    topo.add_address("tor", "up", "198.19.0.1/24")
    topo.add_address("client", "up", f"{CLIENT}/24")
    topo.add_route("client", "default", "198.19.0.1")
    topo.sysctl("tor", "net.ipv4.ip_forward", 1)
    topo.sysctl("tor", "net.ipv6.conf.all.forwarding", 1)
    topo.sysctl("tor", "net.ipv4.fib_multipath_hash_policy", 1)
    for i, node in enumerate(NODES, start=1):
        topo.add_address(node, "lan", f"{node_v4(i)}/24")
        topo.add_address(node, "lan", f"{node_v6(i)}/64")
        topo.add_route(node, "default", TOR_V4)
        topo.add_address(node, "lo", f"{SERVICE}/32")
        topo.start(node, [sys.executable, "-c", SERVER, SERVICE, node])
    return topo


def client_reach(topo: Topology, sport_seed: int = 0) -> str | None:
    done = topo.exec("client", [sys.executable, "-c", CLIENT_PROBE, SERVICE], check=False)
    return done.stdout.strip() or None


class Speaker:
    """One standalone speaker in a node namespace; `update()` rewrites its config + SIGHUP."""

    def __init__(self, topo: Topology, node: str, doc: dict[str, Any]) -> None:
        self.topo = topo
        self.node = node
        self.dir = Path(tempfile.mkdtemp(prefix=f"ironlb-bgp-{node}-"))
        self.conf = self.dir / "speaker.json"
        self.logfile = self.dir / "speaker.log"
        self.doc = {"node": node, "log_level": "debug", **doc}
        self._last_log = ""
        self.conf.write_text(json.dumps(self.doc))
        self._log = open(self.logfile, "wb")  # noqa: SIM115 - closed in stop()
        self.proc: Proc = topo.start(
            node,
            [sys.executable, "-m", "speaker.bgp.standalone", str(self.conf)],
            cwd=str(ROOT),
            stdout=self._log,
        )

    def update(self, **changes: Any) -> None:
        self.doc.update(changes)
        self.conf.write_text(json.dumps(self.doc))
        self.proc.send_signal(signal.SIGHUP)

    def log(self) -> str:
        if not self.logfile.exists():
            return self._last_log
        self._last_log = self.logfile.read_text(errors="replace")
        return self._last_log

    def stop(self) -> int:
        code = self.proc.stop(signal.SIGTERM, timeout=5.0)
        self._cleanup()
        return code

    def kill9(self) -> None:
        self.proc.kill()
        self._cleanup()

    def _cleanup(self) -> None:
        self.log()  # keep the last log text for assertions after stop()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def peer(name: str, my_asn: int, peer_asn: int, address: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "my_asn": my_asn, "peer_asn": peer_asn, "peer_address": address, **kw}
