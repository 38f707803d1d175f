"""BIRD 2.0 inside one network namespace, for tests, the lab and benchmarks.

API::

    from ironlb.netns.peers.bird import BirdRouter, bird_bgp_conf

    with BirdRouter("ilb-bgp-x-tor", conf) as tor:
        tor.birdc("show protocols")                 # -> str
        tor.routes("master4")                       # -> {prefix: [path dict, ...]}
        tor.established()                           # -> {protocol name: bool}

`start()` writes `bird.conf` into a private temp dir and runs `ip netns exec NS bird -f -c
CONF -s SOCK -P PID` in the foreground, so the pid we hold is BIRD's own; `stop()` sends it
SIGTERM (SIGKILL after a bounded wait) and removes the dir. The namespace must exist.

FIELD-NOTES: eBGP imports nothing without `import all`; ECMP in the kernel needs `merge paths
on` in the kernel protocol; 10,000 routes need a larger `netlink rx buffer`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class BirdError(RuntimeError):
    """BIRD did not start, died, or birdc failed."""


def bird_bgp_conf(
    router_id: str,
    local_asn: int,
    neighbors: Sequence[dict[str, Any]],
    *,
    kernel_ecmp: bool = True,
    bfd: bool = False,
    extra: str = "",
) -> str:
    """A BIRD 2 config: device + kernel (ECMP merged) + one `protocol bgp` per neighbor.

    Each neighbor dict: name, address, asn, and optionally password, ipv6 (bool), bfd (bool),
    hold (seconds), passive (bool), multihop (bool).
    """
    lines = [
        f"router id {router_id};",
        "protocol device { scan time 10; }",
        "ipv4 table master4;",
        "ipv6 table master6;",
    ]
    for fam in ("ipv4", "ipv6"):
        merge = "merge paths on;" if kernel_ecmp else ""
        lines.append(
            f"protocol kernel kernel_{fam} {{ {fam} {{ import none; export all; }}; "
            f"{merge} learn off; netlink rx buffer 8388608; }}"
        )
    if bfd:
        lines.append(
            'protocol bfd { interface "*" { min rx interval 100 ms; '
            "min tx interval 100 ms; multiplier 3; }; }"
        )
    for n in neighbors:
        fam = "ipv6" if n.get("ipv6") else "ipv4"
        gateway = "" if n.get("multihop") else "gateway direct;"
        body = [
            f"local as {local_asn};",
            f"neighbor {n['address']} as {n['asn']};",
            f"hold time {n.get('hold', 90)};",
            "connect retry time 1;",
            "error wait time 1, 2;",
            f"{fam} {{ import all; export none; {gateway} }};",
        ]
        if n.get("password"):
            body.append(f'password "{n["password"]}";')
        if n.get("bfd"):
            body.append("bfd on;")
        if n.get("passive", True):
            body.append("passive on;")
        if n.get("multihop"):
            body.append("multihop;")
        elif n["asn"] == local_asn:
            body.append("direct;")  # iBGP defaults to multihop in BIRD
        lines.append(f"protocol bgp {n['name']} {{ " + " ".join(body) + " }")
    return "\n".join(lines) + "\n" + extra


class BirdRouter:
    def __init__(self, netns: str, conf: str) -> None:
        self.netns = netns
        self.conf = conf
        self.dir = Path()
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BirdRouter:
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
    def sock(self) -> Path:
        return self.dir / "bird.ctl"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ironlb-bird-"))
        (self.dir / "bird.conf").write_text(self.conf)
        log = open(self.dir / "bird.log", "wb")  # noqa: SIM115 - lives as long as BIRD
        argv = ["ip", "netns", "exec", self.netns, "bird", "-f"]
        argv += ["-c", str(self.dir / "bird.conf"), "-s", str(self.sock)]
        argv += ["-P", str(self.dir / "bird.pid")]
        self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BirdError(f"bird exited: {self.log_tail()}")
            if self.sock.exists():
                return
            time.sleep(0.05)
        self.stop()
        raise BirdError("bird did not create its control socket in time")

    def log_tail(self) -> str:
        path = self.dir / "bird.log"
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

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def birdc(self, cmd: str) -> str:
        done = subprocess.run(
            ["birdc", "-s", str(self.sock), *cmd.split()],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise BirdError(f"birdc {cmd!r}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def established(self) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for line in self.birdc("show protocols").splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "BGP":
                out[parts[0]] = parts[-1] == "Established"
        return out

    def routes(self, table: str = "master4") -> dict[str, list[dict[str, Any]]]:
        return parse_show_route_all(self.birdc(f"show route all table {table}"))

    def count(self, table: str = "master4") -> int:
        text = self.birdc(f"show route count table {table}")
        m = re.search(r"(\d+) of \d+ routes", text)
        return int(m.group(1)) if m else 0


_ROUTE = re.compile(r"^(\S+/\d+)\s+\S+\s+\[")
_PATH = re.compile(r"^\s+\S+\s+\[(\S+)")


def parse_show_route_all(text: str) -> dict[str, list[dict[str, Any]]]:
    """`show route all` text → {prefix: [{protocol, next_hops, as_path, local_pref, ...}]}."""
    routes: dict[str, list[dict[str, Any]]] = {}
    current: dict[str, Any] | None = None
    prefix = ""
    for line in text.splitlines():
        m = _ROUTE.match(line)
        if m:
            prefix = m.group(1)
            current = {"protocol": line.split("[", 1)[1].split()[0], "next_hops": []}
            routes.setdefault(prefix, []).append(current)
            continue
        m = _PATH.match(line)
        if m and "unicast" in line and prefix:
            current = {"protocol": m.group(1), "next_hops": []}
            routes[prefix].append(current)
            continue
        if current is None:
            continue
        s = line.strip()
        if s.startswith("via "):
            current["next_hops"].append(s.split()[1])
        elif s.startswith("BGP.as_path:"):
            current["as_path"] = [int(a) for a in s.split(":", 1)[1].split()]
        elif s.startswith("BGP.local_pref:"):
            current["local_pref"] = int(s.split(":", 1)[1])
        elif s.startswith("BGP.next_hop:"):
            current["bgp_next_hop"] = s.split(":", 1)[1].split()
        elif s.startswith("BGP.community:"):
            current["communities"] = [f"{a}:{b}" for a, b in re.findall(r"\((\d+),\s*(\d+)\)", s)]
        elif s.startswith("BGP.large_community:"):
            current["large_communities"] = [
                f"{a}:{b}:{c}" for a, b, c in re.findall(r"\((\d+),\s*(\d+),\s*(\d+)\)", s)
            ]
    return routes
