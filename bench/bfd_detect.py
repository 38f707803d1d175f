"""BFD detection time vs the configured interval x multiplier, ironlb <-> FRR bfdd.

For each (interval, multiplier) a speaker (`python -m speaker.bgp.standalone`) peers with FRR
(bgpd + bfdd) with the same BFD profile on both sides. Each round freezes one side (SIGSTOP:
it stops sending, no AdminDown, no TCP FIN) and measures until the other side declares the
session Down:
- ironlb detects FRR: from SIGSTOP of bfdd to the speaker's `bfd.down` log line (ms stamps);
- FRR detects ironlb: from SIGSTOP of the speaker to `show bfd peers` saying down (polled).
The peer's last packet left up to one interval before the freeze, so a correct detector lands
between (mult - 1) x interval and mult x interval; the target is <= 1.2 x interval x mult.
Run as root: `.venv/bin/python bench/bfd_detect.py [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ironlb.netns import Proc, Topology  # noqa: E402
from ironlb.netns.peers.frr import FrrRouter  # noqa: E402

TOR, NODE = "198.51.100.1", "198.51.100.11"
CASES = ((50, 3), (100, 3), (300, 3))


def bgpd(interval: int, mult: int) -> str:
    return f"""router bgp 64512
 bgp router-id {TOR}
 no bgp ebgp-requires-policy
 neighbor {NODE} remote-as 64513
 neighbor {NODE} bfd profile p
"""


def bfdd(interval: int, mult: int) -> str:
    return f"""bfd
 profile p
  receive-interval {interval}
  transmit-interval {interval}
  detect-multiplier {mult}
 exit
exit
"""


def peer_status(tor: FrrRouter) -> str:
    for p in tor.show_json("show bfd peers"):
        if p.get("peer") == NODE:
            return str(p.get("status"))
    return "absent"


def wait(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def log_time(logfile: Path, event: str, after: float) -> float | None:
    for line in logfile.read_text().splitlines():
        if f"event={event}" not in line:
            continue
        stamp = line.split()[0].removeprefix("ts=").rstrip("Z")
        t = dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC).timestamp()
        if t >= after - 0.002:
            return t
    return None


def run_case(topo: Topology, interval: int, mult: int, rounds: int) -> tuple[list, list]:
    work = Path(tempfile.mkdtemp(prefix="ironlb-bfd-bench-"))
    conf, logfile = work / "speaker.json", work / "speaker.log"
    profile = {
        "name": "p",
        "receive_interval": interval,
        "transmit_interval": interval,
        "detect_multiplier": mult,
    }
    doc = {
        "node": "node",
        "log_level": "info",
        "peers": [
            {
                "name": "tor",
                "my_asn": 64513,
                "peer_asn": 64512,
                "peer_address": TOR,
                "hold_time": 90,
                "bfd": profile,
            }
        ],
    }
    conf.write_text(json.dumps(doc))
    ours, theirs = [], []
    frr = FrrRouter(
        topo.netns("tor"), bgpd_conf=bgpd(interval, mult), bfdd_conf=bfdd(interval, mult)
    )
    with frr as tor, open(logfile, "wb") as log:
        proc: Proc = topo.start(
            "node",
            [sys.executable, "-m", "speaker.bgp.standalone", str(conf)],
            cwd=ROOT,
            stdout=log,
        )
        try:
            bfdd_pid = tor.pids["bfdd"]
            for _ in range(rounds):
                if not wait(lambda: peer_status(tor) == "up", 20):
                    raise TimeoutError("BFD did not come up")
                time.sleep(0.5)  # let the poll sequence settle on the fast timers
                # ironlb detects a frozen FRR bfdd.
                t0 = time.time()
                os.kill(bfdd_pid, signal.SIGSTOP)
                wait(lambda t0=t0: log_time(logfile, "bfd.down", t0) is not None, 10)
                os.kill(bfdd_pid, signal.SIGCONT)
                t1 = log_time(logfile, "bfd.down", t0)
                if t1 is not None:
                    ours.append(t1 - t0)
                if not wait(lambda: peer_status(tor) == "up", 20):
                    raise TimeoutError("BFD did not come back up")
                time.sleep(0.5)
                # FRR detects a frozen ironlb speaker.
                t0 = time.monotonic()
                proc.send_signal(signal.SIGSTOP)
                wait(lambda: peer_status(tor) == "down", 10)
                theirs.append(time.monotonic() - t0)
                proc.send_signal(signal.SIGCONT)
        finally:
            proc.send_signal(signal.SIGCONT)
            proc.stop()
    shutil.rmtree(work, ignore_errors=True)
    return ours, theirs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    topo = Topology.from_dict({"lan": ("tor", "node")}, prefix="ilb-bgp-bfdb")
    rows = []
    try:
        topo.add_address("tor", "lan", f"{TOR}/24")
        topo.add_address("node", "lan", f"{NODE}/24")
        for interval, mult in CASES:
            ours, theirs = run_case(topo, interval, mult, args.rounds)
            budget = interval * mult / 1000
            rows.append((interval, mult, budget, ours, theirs))
            print(
                f"{interval} ms x {mult}: ironlb detects in "
                + ", ".join(f"{t * 1000:.0f}" for t in ours)
                + " ms; FRR detects ironlb in "
                + ", ".join(f"{t * 1000:.0f}" for t in theirs)
                + " ms",
                flush=True,
            )
    finally:
        topo.teardown()
    print(
        "\ninterval x mult | budget | ironlb detects (median, max) | ratio max/budget | FRR detects"
    )
    for interval, mult, budget, ours, theirs in rows:
        if not ours:
            continue
        med, worst = statistics.median(ours), max(ours)
        frr = statistics.median(theirs) if theirs else float("nan")
        print(
            f"{interval:>5} ms x {mult}   | {budget * 1000:5.0f} ms | {med * 1000:6.0f} ms, "
            f"{worst * 1000:6.0f} ms | {worst / budget:.2f} | {frr * 1000:.0f} ms (polled)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
