"""Time to announce 10,000 /32 prefixes until the receiver holds them all: ironlb vs GoBGP vs
ExaBGP, same topology, same receiver (BIRD 2), same run.

Each announcer has the 10,000 routes loaded and listens on 198.51.100.2:179 before the clock
starts; the clock starts when the receiver's protocol is enabled (it opens the session) and
stops when `show route count` reports all prefixes. Connection setup is thus in every figure
alike. Run as root: `.venv/bin/python bench/bgp_announce_10k.py [--rounds 3] [--count 10000]`.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ironlb.netns import Topology  # noqa: E402
from ironlb.netns.peers.bird import BirdRouter  # noqa: E402
from ironlb.netns.peers.exabgp import ExabgpSpeaker, exabgp_conf  # noqa: E402
from ironlb.netns.peers.gobgp import GobgpRouter, gobgp_conf, load_routes  # noqa: E402

RECV, ANN = "198.51.100.1", "198.51.100.2"
RECV_AS, ANN_AS = 64512, 64513
BASE = "198.18.0.0"
TIMEOUT = 120.0

BIRD_CONF = f"""
router id {RECV};
protocol device {{ }}
ipv4 table master4;
protocol bgp ann {{
  disabled;
  local as {RECV_AS};
  neighbor {ANN} as {ANN_AS};
  connect delay time 0;
  hold time 90;
  ipv4 {{ import all; export none; }};
}}
"""


def prefixes(count: int) -> list[str]:
    base = int(ipaddress.IPv4Address(BASE))
    return [f"{ipaddress.IPv4Address(base + i)}/32" for i in range(count)]


def listening(topo: Topology) -> bool:
    out = topo.exec("ann", ["ss", "-ltnH", "sport = :179"], check=False).stdout
    return bool(out.strip())


def wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise TimeoutError(what)


def measure(recv: BirdRouter, count: int) -> tuple[float, float]:
    """Enable the receiver's session; seconds until it holds `count` routes, counted from
    the enable and from the first poll that saw the session Established."""
    t0 = time.monotonic()
    recv.birdc("enable ann")
    established: float | None = None
    deadline = t0 + TIMEOUT
    while time.monotonic() < deadline:
        out = recv.birdc("show protocols all ann")
        now = time.monotonic()
        if established is None and "BGP state:          Established" in out:
            established = now
        m = re.search(r"Routes:\s+(\d+) imported", out)
        if m and int(m.group(1)) >= count:
            return now - t0, now - (established or now)
        time.sleep(0.002)
    raise TimeoutError(f"receiver holds {recv.count()} of {count}")


def reset(recv: BirdRouter) -> None:
    recv.birdc("disable ann")
    wait(lambda: recv.count() == 0, 30, "receiver flushed")


@contextmanager
def ironlb(topo: Topology, count: int) -> Iterator[None]:
    doc = {
        "node": "ann",
        "log_level": "warning",
        "router_id": ANN,
        "listen_address": ANN,
        "peers": [
            {
                "name": "recv",
                "my_asn": ANN_AS,
                "peer_asn": RECV_AS,
                "peer_address": RECV,
                "passive": True,
                "hold_time": 90,
            }
        ],
        "routes": [{"prefix": f"{BASE}/32", "expand": count}],
    }
    path = Path(tempfile.mkdtemp(prefix="ironlb-bench-")) / "speaker.json"
    path.write_text(json.dumps(doc))
    proc = topo.start("ann", [sys.executable, "-m", "speaker.bgp.standalone", str(path)], cwd=ROOT)
    try:
        wait(lambda: listening(topo), 20, "ironlb listening")
        time.sleep(0.5)  # routes are built before the listener opens; settle anyway
        yield
    finally:
        proc.stop()
        shutil.rmtree(path.parent, ignore_errors=True)


@contextmanager
def gobgp(topo: Topology, count: int) -> Iterator[None]:
    conf = gobgp_conf(
        ANN_AS,
        ANN,
        [{"address": RECV, "asn": RECV_AS, "passive": True, "hold": 90}],
    )
    with GobgpRouter(topo.netns("ann"), conf, api_port=50061) as g:
        load_routes(g, prefixes(count), ANN, ANN_AS)
        held = len(g.rib("ipv4"))
        if held != count:
            raise RuntimeError(f"gobgpd holds {held} of {count} routes")
        yield


@contextmanager
def exabgp(topo: Topology, count: int) -> Iterator[None]:
    conf = exabgp_conf(ANN, ANN_AS, RECV, RECV_AS, prefixes(count), passive=True)
    with ExabgpSpeaker(topo.netns("ann"), conf, bind=ANN) as e:
        wait(lambda: listening(topo), 60, "exabgp listening")
        time.sleep(0.5)
        if not e.alive():
            raise RuntimeError(e.log_tail())
        yield


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    topo = Topology.from_dict({"lan": ("recv", "ann")}, prefix="ilb-bgp-bench")
    results: dict[str, list[float]] = {"ironlb": [], "gobgp": [], "exabgp": []}
    after_up: dict[str, list[float]] = {"ironlb": [], "gobgp": [], "exabgp": []}
    try:
        topo.add_address("recv", "lan", f"{RECV}/24")
        topo.add_address("ann", "lan", f"{ANN}/24")
        with BirdRouter(topo.netns("recv"), BIRD_CONF) as recv:
            for _ in range(args.rounds):
                for name, announcer in (("ironlb", ironlb), ("gobgp", gobgp), ("exabgp", exabgp)):
                    with announcer(topo, args.count):
                        seconds, since_up = measure(recv, args.count)
                        reset(recv)
                    results[name].append(seconds)
                    after_up[name].append(since_up)
                    print(
                        f"{name:7s} {args.count} prefixes in {seconds:.3f} s "
                        f"({since_up:.3f} s after Established)",
                        flush=True,
                    )
    finally:
        topo.teardown()
    med = {k: statistics.median(v) for k, v in results.items() if v}
    up = {k: statistics.median(v) for k, v in after_up.items() if v}
    print(f"\nmedian of {args.rounds} rounds, {args.count} /32 to BIRD 2:")
    print("  (total = from enabling the receiver's session, incl. its connect delay and setup;")
    print("   after Established = from the first `show protocols` poll (~10 ms apart) that saw")
    print("   the session up; 0.000 means everything had arrived by that first poll)")
    for name, value in med.items():
        print(
            f"  {name:7s} total {value:.3f} s, after Established {up[name]:.3f} s "
            f"({args.count / value:,.0f} prefixes/s overall)"
        )
    if "ironlb" in med:
        for other in ("gobgp", "exabgp"):
            if other in med:
                print(f"  ironlb / {other}: {med['ironlb'] / med[other]:.2f}x the total time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
