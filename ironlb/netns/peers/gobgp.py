"""GoBGP 3.10 (`gobgpd` + the `gobgp` CLI) inside one network namespace.

API::

    from ironlb.netns.peers.gobgp import GobgpRouter, gobgp_conf

    with GobgpRouter("ilb-bgp-x-tor", gobgp_conf(64512, "198.51.100.1", neighbors)) as tor:
        tor.rib("ipv4")          # -> {prefix: [path dict, ...]} from `gobgp global rib -j`
        tor.neighbors()          # -> {address: state string}
        tor.cli("neighbor")      # -> str

gobgpd runs in the foreground with its gRPC API on 127.0.0.1:`api_port` inside the namespace
(so several instances in different namespaces do not collide). FIELD-NOTES: its first outgoing
connect waits 5-10 s, so tests let our speaker connect (neighbors are `passive-mode`).
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

# gobgp's API enum for session_state.
_STATES = ("unknown", "idle", "connect", "active", "opensent", "openconfirm", "established")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class GobgpError(RuntimeError):
    pass


def gobgp_conf(asn: int, router_id: str, neighbors: Sequence[dict[str, Any]]) -> str:
    """TOML for gobgpd. Neighbor dict: address, asn, password?, ipv6?, passive? (True)."""
    out = [
        "[global.config]",
        f"  as = {asn}",
        f'  router-id = "{router_id}"',
        "  port = 179",
    ]
    for n in neighbors:
        out += [
            "[[neighbors]]",
            "  [neighbors.config]",
            f'    neighbor-address = "{n["address"]}"',
            f"    peer-as = {n['asn']}",
        ]
        if n.get("password"):
            out.append(f'    auth-password = "{n["password"]}"')
        out += [
            "  [neighbors.transport.config]",
            f"    passive-mode = {str(n.get('passive', True)).lower()}",
            "  [neighbors.timers.config]",
            f"    hold-time = {n.get('hold', 90)}",
            f"    keepalive-interval = {max(1, n.get('hold', 90) // 3)}",
            "    connect-retry = 1",
        ]
        fams = n.get("families") or (["ipv6-unicast"] if n.get("ipv6") else ["ipv4-unicast"])
        for fam in fams:
            out += [
                "  [[neighbors.afi-safis]]",
                "    [neighbors.afi-safis.config]",
                f'      afi-safi-name = "{fam}"',
            ]
    return "\n".join(out) + "\n"


class GobgpRouter:
    def __init__(self, netns: str, conf: str, api_port: int = 50051) -> None:
        self.netns = netns
        self.conf = conf
        self.api_port = api_port
        self.dir = Path()
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> GobgpRouter:
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
        self.dir = Path(tempfile.mkdtemp(prefix="ironlb-gobgp-"))
        (self.dir / "gobgpd.toml").write_text(self.conf)
        log = open(self.dir / "gobgpd.log", "wb")  # noqa: SIM115 - lives as long as gobgpd
        argv = ["ip", "netns", "exec", self.netns, "gobgpd", "-f", str(self.dir / "gobgpd.toml")]
        argv += ["-t", "toml", "-p", "--pprof-disable", f"--api-hosts=127.0.0.1:{self.api_port}"]
        self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise GobgpError(f"gobgpd exited: {self.log_tail()}")
            done = self._run(["global"], check=False)
            if done.returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise GobgpError("gobgpd API did not answer in time")

    def log_tail(self) -> str:
        path = self.dir / "gobgpd.log"
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

    def _run(self, args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = ["ip", "netns", "exec", self.netns, "gobgp", "-u", "127.0.0.1"]
        argv += ["-p", str(self.api_port), *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if check and done.returncode != 0:
            raise GobgpError(f"gobgp {' '.join(args)}: {done.stderr.strip()}")
        return done

    def cli(self, *args: str) -> str:
        return self._run(list(args)).stdout

    def rib(self, family: str = "ipv4") -> dict[str, list[dict[str, Any]]]:
        out = self._run(["global", "rib", "-a", family, "-j"]).stdout.strip()
        raw = json.loads(out) if out else {}
        return {prefix: [_path(p) for p in paths] for prefix, paths in raw.items()}

    def neighbors(self) -> dict[str, str]:
        out = self._run(["neighbor", "-j"]).stdout.strip()
        result: dict[str, str] = {}
        for n in json.loads(out) if out else []:
            addr = n.get("conf", {}).get("neighbor_address", "")
            state = n.get("state", {}).get("session_state", 0)
            result[addr] = _STATES[state] if isinstance(state, int) and state < 7 else str(state)
        return result


def _path(p: dict[str, Any]) -> dict[str, Any]:
    """Flatten one `gobgp -j` path into next hop, AS path, local-pref and communities."""
    out: dict[str, Any] = {"source": p.get("source-id", "")}
    for attr in p.get("attrs", []):
        t = attr.get("type")
        if t == 3 or t == 14:
            out["next_hop"] = attr.get("nexthop")
        elif t == 2:
            out["as_path"] = [a for seg in attr.get("as_paths", []) for a in seg.get("asns", [])]
        elif t == 5:
            out["local_pref"] = attr.get("value")
        elif t == 8:
            out["communities"] = [f"{c >> 16}:{c & 0xFFFF}" for c in attr.get("communities", [])]
        elif t == 32:
            out["large_communities"] = [
                f"{c['ASN']}:{c['LocalData1']}:{c['LocalData2']}" for c in attr.get("value", [])
            ]
    return out


def write_mrt_rib(
    path: str | Path, prefixes: Sequence[str], next_hop: str, asn: int, router_id: str
) -> None:
    """An MRT TABLE_DUMP_V2 file (RFC 6396) holding IPv4 /N routes for `gobgp mrt inject`.

    Each route has ORIGIN IGP, an empty AS_PATH (locally originated, like `global rib add`)
    and NEXT_HOP; one peer entry.
    """

    def record(subtype: int, body: bytes) -> bytes:
        return struct.pack("!IHHI", 0, 13, subtype, len(body)) + body

    rid = ipaddress.IPv4Address(router_id).packed
    nh = ipaddress.IPv4Address(next_hop).packed
    # PEER_INDEX_TABLE: collector id, empty view name, one peer (IPv4 address, 4-octet AS).
    peers = struct.pack("!4sHH", rid, 0, 1) + struct.pack("!B4s4sI", 0x02, rid, nh, asn)
    attrs = b"\x40\x01\x01\x00" + b"\x40\x02\x00" + b"\x40\x03\x04" + nh
    out = bytearray(record(1, peers))
    for seq, text in enumerate(prefixes):
        net = ipaddress.IPv4Network(text)
        plen = net.prefixlen
        head = struct.pack("!IB", seq, plen) + net.network_address.packed[: (plen + 7) // 8]
        entry = struct.pack("!HIH", 0, 0, len(attrs)) + attrs
        out += record(2, head + struct.pack("!H", 1) + entry)
    Path(path).write_bytes(bytes(out))


def load_routes(router: GobgpRouter, prefixes: Sequence[str], next_hop: str, asn: int) -> None:
    """Put IPv4 routes into gobgpd's global RIB: `mrt inject`, then add what it dropped."""
    mrt = router.dir / "rib.mrt"
    write_mrt_rib(mrt, prefixes, next_hop, asn, next_hop)
    router.cli("mrt", "inject", "global", str(mrt))
    held = set(router.rib("ipv4"))
    for prefix in prefixes:  # FIELD-NOTES: inject can drop the tail of a large stream
        if prefix not in held:
            router.cli("global", "rib", "add", "-a", "ipv4", prefix, "nexthop", next_hop)
