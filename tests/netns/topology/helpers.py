"""Traffic and leftover checks shared by the topology tests."""

from __future__ import annotations

import sys

from pyroute2 import IPRoute, netns

from ironlb.netns import Topology
from ironlb.netns.process import pid_alive

# Debian's minimal image has no ping: one ICMP echo over a raw socket, exit 0 on a reply.
PING = r"""
import os, socket, struct, sys, time
dst, attempts = sys.argv[1], int(sys.argv[2])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF); s += s >> 16
    return ~s & 0xFFFF
ident = os.getpid() & 0xFFFF
body = b"ironlb-ping!"
hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, 1) + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.5)
for _ in range(attempts):
    s.sendto(pkt, (dst, 0))
    try:
        while True:
            data, addr = s.recvfrom(2048)
            ihl = (data[0] & 0x0F) * 4
            typ, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if addr[0] == dst and typ == 0 and rid == ident:
                print("reply from", dst); sys.exit(0)
    except socket.timeout:
        continue
sys.exit(1)
"""

TCP_SERVER = r"""
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
srv = socket.create_server((sys.argv[1], int(sys.argv[2])), family=family)
print("listening", flush=True)
conn, _ = srv.accept()
data = conn.recv(1024)
conn.sendall(b"echo:" + data)
conn.close()
"""

TCP_CLIENT = r"""
import socket, sys, time
for _ in range(50):
    try:
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
        break
    except ConnectionRefusedError:
        time.sleep(0.05)
c.sendall(b"hello"); print(c.recv(1024).decode())
"""


def ping(topo: Topology, host: str, dst: str, attempts: int = 6) -> bool:
    """One echo reply within ``attempts`` half-second tries (use 2 to show there is none)."""
    argv = [sys.executable, "-c", PING, dst, str(attempts)]
    return topo.exec(host, argv, check=False).returncode == 0


def leftovers(prefix: str, pids: list[int]) -> list[str]:
    """Everything named ``<prefix>-*`` or started by pid that still exists."""
    found = [f"netns {n}" for n in netns.listnetns() if n.startswith(f"{prefix}-")]
    with IPRoute() as ipr:
        for link in ipr.get_links():
            name = link.get("ifname") or ""
            if name.startswith(prefix):
                found.append(f"root link {name}")
    found += [f"pid {pid}" for pid in pids if pid_alive(pid)]
    return found
