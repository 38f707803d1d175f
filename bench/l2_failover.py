"""L2 failover benchmark: ironlb's speaker vs keepalived (VRRPv3), same topology, same run.

Topology (tests/netns/l2/harness.py): a bridge, three node namespaces each running an echo
server on :8080, a client namespace whose kernel does ARP. The client sends one request
every 10 ms (bounded count, 20 ms timeout each); outage = last success before the event to
first success after it. "Unplanned" = the owner dies: SIGKILL of the daemon (ironlb
speaker / keepalived parent + VRRP child) and its LAN link set down, so neither its data
path nor any goodbye survives. "Planned" = SIGTERM. Also: ARP reply latency (arping, median)
and replies/s under a bounded flood, for the speaker's address and for an address the
owner's kernel answers itself. The speakers watch a real etcd + kube-apiserver (the tests'
server, tests/plugins/kubeapi.py; binaries from tools/gobuild) on 127.0.0.1.

Run as root from the repository root:  .venv/bin/python bench/l2_failover.py [--runs 5]
(namespaces are named <prefix>-node1...; --prefix changes the prefix, ilb-l2-bench).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ironlb.kube.client import Kube, load_api_client  # noqa: E402
from ironlb.netns import Topology, wait_until  # noqa: E402
from ironlb.netns.peers.keepalived import Keepalived  # noqa: E402
from tests.netns.l2.harness import (  # noqa: E402
    HERE,
    NODES3,
    PYTHON,
    VIP4,
    L2Lab,
    node_ip,
)
from tests.plugins.kubeapi import KubeApiServer, cleanup_stale, resolve_binaries  # noqa: E402

PREFIX = "ilb-l2-bench"
KA_VIP = "203.0.113.50"
INTERVAL = 0.01
TIMEOUT = 0.02


# ---------------------------------------------------------------------- measurement


def outage(results: list[dict[str, Any]], t_event: float) -> tuple[float | None, int]:
    """(longest gap between successes from the last one before the event on, failed count).

    Requests that start just after the event may still succeed (the owner takes a moment to
    die); the outage is the gap that follows, up to the first success after it.
    """
    ok = [r["t"] for r in results if r["ok"]]
    failed = sum(1 for r in results if not r["ok"] and r["t"] >= t_event - TIMEOUT)
    before = [t for t in ok if t < t_event]
    if not before:
        return None, failed
    later = [t for t in ok if t >= before[-1]]
    gaps = [b - a for a, b in itertools.pairwise(later)]
    return (max(gaps) if gaps else None), failed


def run_client(lab: L2Lab, ip: str, count: int, event: Any, lead: float = 0.3):
    loop = lab.start_client_loop(ip, count=count, interval=INTERVAL, timeout=TIMEOUT)
    assert loop.popen.stdout is not None
    first = loop.popen.stdout.readline()  # the client is running: now start the clock
    time.sleep(lead)
    t_event = time.monotonic()
    event()
    out, _ = loop.popen.communicate(timeout=60)
    results = [json.loads(line) for line in (first + out).splitlines() if line.strip()]
    return outage(results, t_event)


def members_everywhere(lab: L2Lab, n: int) -> str | None:
    for node in lab.nodes:
        argv = [PYTHON, "-c", "import urllib.request as u;print(u.urlopen("
                "'http://127.0.0.1:7472/metrics',timeout=1).read().decode())"]  # fmt: skip
        done = lab.topo.exec(node, argv, check=False, timeout=10)
        m = re.search(r"^ironlb_speaker_members (\S+)", done.stdout, re.M)
        if not m or float(m.group(1)) != n:
            return f"{node} sees {m.group(1) if m else '?'} members"
    return None


def restore_ironlb(lab: L2Lab, node: str) -> None:
    lab.topo.link_set(node, "lan", True)
    if not lab.speakers[node].alive:
        lab.start_speaker(node)
    # Flap damping may hold a node that died 3 times in 30 s for 5 s: wait it out.
    wait_until(lambda: members_everywhere(lab, len(lab.nodes)), 40, interval=0.2)
    lab.wait_owner(VIP4)


def ironlb_unplanned(lab: L2Lab) -> tuple[float | None, int]:
    owner = lab.wait_owner(VIP4)

    def die() -> None:
        # Cut the wire first: data path and heartbeats stop at the same instant, as when a
        # node loses power; the kill only makes sure nothing comes back.
        lab.topo.link_set(owner, "lan", False)
        lab.kill9(owner)

    result = run_client(lab, VIP4, 250, die)
    restore_ironlb(lab, owner)
    return result


def ironlb_planned(lab: L2Lab) -> tuple[float | None, int]:
    owner = lab.wait_owner(VIP4)
    result = run_client(lab, VIP4, 100, lambda: lab.sigterm(owner))
    lab.speakers[owner].wait(10)
    restore_ironlb(lab, owner)
    return result


def speaker_cpu(lab: L2Lab, seconds: float = 5.0) -> float:
    """CPU seconds per second used by an idle speaker (heartbeats only), averaged over nodes."""
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    pids = [lab.speakers[n].pid for n in lab.nodes]
    before = [cpu(p) for p in pids]
    time.sleep(seconds)
    after = [cpu(p) for p in pids]
    return statistics.mean(b - a for a, b in zip(before, after, strict=True)) / seconds


def arping_latency_us(lab: L2Lab, ip: str, count: int = 50) -> float:
    argv = ["arping", "-c", str(count), "-W", "0.02", "-i", "lan", ip]
    out = lab.topo.exec("client", argv, check=False, timeout=30).stdout
    times = []
    for value, unit in re.findall(r"time=([\d.]+) (usec|msec|sec)", out):
        times.append(float(value) * {"usec": 1, "msec": 1e3, "sec": 1e6}[unit])
    if not times:
        raise RuntimeError(f"arping {ip}: no replies\n{out}")
    return statistics.median(times)


def flood(lab: L2Lab, ip: str) -> dict[str, float]:
    argv = [PYTHON, str(HERE / "arpflood.py"), ip, "--source", "198.51.100.100"]
    argv += ["--count", "20000", "--max-seconds", "3"]
    return json.loads(lab.topo.exec("client", argv, timeout=30).stdout)


# ---------------------------------------------------------------------- keepalived


class KaCluster:
    PRIORITIES = (200, 150, 100)

    def __init__(self, lab: L2Lab, advert: float, workdir: Path) -> None:
        self.lab, self.advert, self.workdir = lab, advert, workdir
        self.peers: dict[str, Keepalived] = {}

    def start(self, node: str) -> None:
        prio = self.PRIORITIES[self.lab.nodes.index(node)]
        d = self.workdir / f"ka-{self.advert:g}-{node}"
        d.mkdir(exist_ok=True)
        ka = Keepalived(
            self.lab.topo.netns(node),
            interface="lan",
            vips=[f"{KA_VIP}/32"],
            priority=prio,
            advert_int=self.advert,
            router_id=node,
            workdir=d,
        )
        self.peers[node] = ka.start()

    def start_all(self) -> None:
        for node in self.lab.nodes:
            self.start(node)
        self.wait_master(self.lab.nodes[0])

    def wait_master(self, node: str) -> None:
        def check() -> str | None:
            got = self.lab.request(KA_VIP, timeout=0.2)
            return None if got == node else f"{KA_VIP} served by {got}, want {node}"

        wait_until(check, 30, interval=0.1)

    def restore(self, node: str) -> None:
        self.lab.topo.link_set(node, "lan", True)
        # keepalived killed with SIGKILL leaves its VIP behind: clean up as a reboot would.
        if f"{KA_VIP}/32" in self.lab.topo.addresses(node, "lan"):
            self.lab.topo.del_address(node, "lan", f"{KA_VIP}/32")
        self.start(node)
        self.wait_master(node)

    def unplanned(self) -> tuple[float | None, int]:
        master = self.lab.nodes[0]
        count = int(max(250, 5 * self.advert / INTERVAL))

        def die() -> None:
            self.lab.topo.link_set(master, "lan", False)
            self.peers[master].kill9()

        result = run_client(self.lab, KA_VIP, count, die)
        self.restore(master)
        return result

    def planned(self) -> tuple[float | None, int]:
        master = self.lab.nodes[0]
        count = int(max(150, 3 * self.advert / INTERVAL))
        result = run_client(self.lab, KA_VIP, count, self.peers[master].stop)
        self.restore(master)
        return result

    def close(self) -> None:
        for ka in self.peers.values():
            ka.stop()


# ---------------------------------------------------------------------- membership cost


def _heartbeat_generator(port: int, peers: int, seconds: float, interval: float) -> None:
    """Another process playing `peers` speakers: each sends one signed heartbeat per interval."""
    import socket

    from speaker.membership.codec import Kind, Message, encode

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seq, end, nxt = 0, time.monotonic() + seconds, time.monotonic()
    while time.monotonic() < end:
        seq += 1
        for i in range(peers):
            msg = Message(Kind.HEARTBEAT, f"node-{i:04d}", 1, seq)
            sock.sendto(encode(msg, b"k" * 32), ("127.0.0.1", port))
        nxt += interval
        if (delay := nxt - time.monotonic()) > 0:
            time.sleep(delay)


async def _membership_cost(n: int, seconds: float = 5.0) -> str:
    import asyncio
    import multiprocessing
    import resource
    import socket

    from speaker.membership.protocol import Membership, Settings
    from speaker.membership.transport import MembershipTransport

    settings = Settings()
    core = Membership("self", b"k" * 32, 1, settings)
    transport = MembershipTransport(core, lambda _e: None, ("127.0.0.1", 0))
    await transport.start()
    port = transport._transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # peers that read nothing
    sink.bind(("127.0.0.2", 0))
    transport.set_peers(
        {f"node-{i:04d}": ("127.0.0.2", sink.getsockname()[1]) for i in range(n - 1)}
    )
    interval, timeout = settings.scaled(n - 1)
    gen = multiprocessing.Process(
        target=_heartbeat_generator, args=(port, n - 1, seconds, interval)
    )
    gen.start()
    await asyncio.sleep(0.5)
    r0, w0, in0, out0 = (
        resource.getrusage(resource.RUSAGE_SELF),
        time.monotonic(),
        core.received,
        core.sent,
    )
    await asyncio.sleep(seconds - 1.0)
    r1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / (w1 - w0)
    rin, rout = (core.received - in0) / (w1 - w0), (core.sent - out0) / (w1 - w0)
    gen.join()
    transport.close()
    sink.close()
    return (f"{n:5d} nodes: interval {interval * 1000:.0f} ms, detection {timeout * 1000:.0f} ms, "
            f"{rout:.0f} out + {rin:.0f} in datagrams/s, CPU {cpu * 100:.1f} % of a core, "
            f"{cpu / max(rin + rout, 1) * 1e6:.0f} us per datagram")  # fmt: skip


def membership_cost() -> None:
    """Measured: one real membership shell vs a generator playing N-1 peers (loopback)."""
    import asyncio

    print("Membership cost per node (real transport + core; generator plays the peers):")
    for n in (10, 100, 1000):
        print("  " + asyncio.run(_membership_cost(n)), flush=True)


# ---------------------------------------------------------------------- report


def med(values: list[tuple[float | None, int]]) -> tuple[float, int, int]:
    """(median outage ms, total failed requests, runs without a measurable outage)."""
    outs = [o * 1000 for o, _ in values if o is not None]
    return (
        (statistics.median(outs) if outs else float("nan")),
        sum(f for _, f in values),
        len([o for o, _ in values if o is None]),
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--skip-keepalived", action="store_true")
    p.add_argument("--prefix", default=PREFIX, help=f"network namespace prefix ({PREFIX})")
    p.add_argument("--membership-cost", action="store_true", help="only measure membership cost")
    p.add_argument(
        "--speaker-arg",
        action="append",
        default=[],
        help="extra argument for every speaker, e.g. --speaker-arg=--suspect-timeout=0.15",
    )
    args = p.parse_args()
    if args.membership_cost:
        membership_cost()
        return 0
    runs = max(1, min(args.runs, 50))
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    missing = [t for t in ("socat", "arping", "keepalived") if not shutil.which(t)]
    if missing:
        print(f"missing tools: {', '.join(missing)}", file=sys.stderr)
        return 2
    binaries = resolve_binaries()
    if isinstance(binaries, str):
        print(f"real kube-apiserver unavailable: {binaries}", file=sys.stderr)
        return 2
    cleanup_stale()
    work = Path(tempfile.mkdtemp(prefix="ilb-l2-bench-"))
    server = KubeApiServer(binaries).start()  # etcd + kube-apiserver, metallb.io CRDs
    topo = None
    lab = None
    try:
        topo = Topology.from_dict(L2Lab.spec(), prefix=args.prefix)
        kubeconfig = server.kubeconfig
        kube = Kube(load_api_client(kubeconfig))
        lab = L2Lab(topo, kube, server.url, kubeconfig, work, NODES3)
        lab.speaker_args = tuple(args.speaker_arg)
        lab.build_network()
        lab.start_api_forwarders()
        lab.start_servers()
        lab.seed()
        lab.service("web", [VIP4])
        lab.start_speakers()
        owner = lab.wait_owner(VIP4)
        print(f"# ironlb: {VIP4} owned by {owner}; {runs} runs each", flush=True)
        res: dict[str, list[tuple[float | None, int]]] = {}
        # Noise floor: the same client with no event at all (failures = load on this machine).
        res["baseline (no event)"] = [run_client(lab, VIP4, 100, lambda: None) for _ in range(runs)]
        res["ironlb unplanned"] = [ironlb_unplanned(lab) for _ in range(runs)]
        print(f"  unplanned: {res['ironlb unplanned']}", flush=True)
        res["ironlb planned"] = [ironlb_planned(lab) for _ in range(runs)]
        print(f"  planned:   {res['ironlb planned']}", flush=True)
        owner = lab.wait_owner(VIP4)
        own_ip = node_ip(lab.nodes.index(owner) + 1)
        lat_speaker = arping_latency_us(lab, VIP4)
        lat_kernel = arping_latency_us(lab, own_ip)
        fl_speaker = flood(lab, VIP4)
        fl_kernel = flood(lab, own_ip)
        # Same again with the answering loop at normal priority (--realtime-priority 0).
        for node in lab.nodes:
            lab.speakers[node].stop()
        for node in lab.nodes:
            lab.start_speaker(node, "--realtime-priority", "0")
        lab.wait_ready(lab.nodes)
        owner = lab.wait_owner(VIP4)
        lat_rt = arping_latency_us(lab, VIP4)
        idle_cpu = speaker_cpu(lab)
        lat_kernel_rt = arping_latency_us(lab, node_ip(lab.nodes.index(owner) + 1))
        for node in lab.nodes:
            lab.speakers[node].stop()
        if not args.skip_keepalived:
            for advert in (1.0, 0.1):
                ka = KaCluster(lab, advert, work)
                try:
                    ka.start_all()
                    res[f"keepalived {advert:g}s unplanned"] = [ka.unplanned() for _ in range(runs)]
                    res[f"keepalived {advert:g}s planned"] = [ka.planned() for _ in range(runs)]
                finally:
                    ka.close()
                print(f"  keepalived {advert:g}: done", flush=True)
        report(res, lat_speaker, lat_kernel, fl_speaker, fl_kernel, runs)
        print(f"ARP reply latency with --realtime-priority 0: speaker {lat_rt:.1f} us, kernel "
              f"{lat_kernel_rt:.1f} us, ratio {lat_rt / lat_kernel_rt:.2f}x")  # fmt: skip
        rate = 2 * (len(lab.nodes) - 1) / 0.05  # idle CPU measured at --realtime-priority 0
        print(f"Idle speaker CPU (3 nodes, {rate:.0f} heartbeat datagrams/s in+out): "
              f"{idle_cpu * 100:.2f} % of a core, {idle_cpu / rate * 1e6:.0f} us per datagram "
              "(all costs of the process included)")  # fmt: skip
        return 0
    finally:
        if lab is not None:
            lab.close()
        if topo is not None:
            topo.teardown()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(res, lat_speaker, lat_kernel, fl_speaker, fl_kernel, runs) -> None:
    print()
    print(f"L2 failover, {runs} runs each, request every {INTERVAL * 1000:g} ms "
          f"(timeout {TIMEOUT * 1000:g} ms)")  # fmt: skip
    print(f"{'case':34} {'median outage':>14} {'failed reqs':>12} {'no-outage runs':>15}")
    base = med(res["ironlb unplanned"])[0]
    for name, values in res.items():
        m, failed, none = med(values)
        print(f"{name:34} {m:11.1f} ms {failed:12d} {none:15d}")
    for name in res:
        if name.startswith("keepalived") and name.endswith("unplanned"):
            ratio = med(res[name])[0] / base if base else float("nan")
            print(f"  ratio {name} / ironlb unplanned = {ratio:.1f}x")
    print()
    print(f"ARP reply latency (arping median, default --realtime-priority 10): speaker "
          f"{lat_speaker:.1f} us, "
          f"kernel {lat_kernel:.1f} us, ratio {lat_speaker / lat_kernel:.2f}x")  # fmt: skip
    print(f"ARP flood ({fl_speaker['sent']} requests): speaker {fl_speaker['replies_per_s']:.0f} "
          f"replies/s ({fl_speaker['replies']} replies), kernel {fl_kernel['replies_per_s']:.0f} "
          f"replies/s ({fl_kernel['replies']}), ratio "
          f"{fl_speaker['replies_per_s'] / max(fl_kernel['replies_per_s'], 1):.2f}x")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
