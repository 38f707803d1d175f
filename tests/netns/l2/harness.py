"""An L2 lab in namespaces: a LAN bridge, node namespaces running real `ironlb speaker`s
against a Kubernetes API (the tests' real kube-apiserver), a client whose kernel resolves
ARP/NDP, and helpers to look at it.

Shared by tests/netns/l2 and bench/l2_failover.py. Addresses: nodes 198.51.100.1x and
2001:db8:100::1x on the LAN; Service addresses from 203.0.113.0/24 and 2001:db8:5::/64,
on-link for the client. The lab plays kube-proxy (IPVS-style): every node has the Service
addresses on `lo` with arp_ignore=1/arp_announce=2, so any node accepts the traffic but only
the speaker answers ARP/NDP for it. The API server listens on 127.0.0.1 in the root namespace;
a unix-socket forwarder (socat) makes the same 127.0.0.1:<port> reach it from each node.
The lab's Services, EndpointSlices and their Events live in `app_ns` (the test's own namespace).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ironlb.kube.client import Kube
from ironlb.kube.errors import AlreadyExists, NotFound
from ironlb.kube.resources import (
    ENDPOINTSLICES,
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    NAMESPACES,
    NODES,
    SECRETS,
    SERVICEL2STATUSES,
    SERVICES,
    Resource,
)
from ironlb.netns import Proc, Topology, wait_until

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PYTHON = sys.executable
NS = "metallb-system"
NODES3 = ("node1", "node2", "node3")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True)
VIP4 = "203.0.113.10"
VIP6 = "2001:db8:5::10"
SERVICE_ADDRS = (VIP4, VIP6, "203.0.113.20", "203.0.113.30", "2001:db8:5::20")
PORT = 8080
CLIENT4 = "198.51.100.100"


def node_ip(i: int) -> str:
    return f"198.51.100.{10 + i}"


def node_ip6(i: int) -> str:
    return f"2001:db8:100::{10 + i:x}"


class L2Lab:
    def __init__(
        self,
        topo: Topology,
        kube: Kube,
        api_url: str,
        kubeconfig: str,
        workdir: Path,
        nodes: Iterable[str] = NODES3,
        extra_hosts: Iterable[str] = (),
        app_ns: str = "default",
    ) -> None:
        self.topo = topo
        self.app_ns = app_ns
        self.kube = kube
        self.api_port = urlparse(api_url).port
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.nodes = tuple(nodes)
        self.extra_hosts = tuple(extra_hosts)
        self.speakers: dict[str, Proc] = {}
        self.servers: dict[str, Proc] = {}
        self.forwarders: list[Proc] = []
        self._log_start: dict[str, int] = {}
        self.bgp = False  # also wire in speaker/bgp (L2 must work regardless)
        self.pods = False  # give speakers Pod objects (--pod-name): statuses get owners
        self.speaker_args: tuple[str, ...] = ()  # extra flags for every speaker
        self._root_forwarder: subprocess.Popen[bytes] | None = None

    @classmethod
    def spec(cls, nodes: Iterable[str] = NODES3, extra: Iterable[str] = ()) -> dict[str, Any]:
        return {"lan": (*nodes, "client", *extra)}

    # ------------------------------------------------------------------ network

    def build_network(self) -> None:
        t = self.topo
        for i, node in enumerate(self.nodes, start=1):
            t.add_address(node, "lan", f"{node_ip(i)}/24")
            t.add_address(node, "lan", f"{node_ip6(i)}/64")
            for key in ("all", "lan"):
                t.sysctl(node, f"net.ipv4.conf.{key}.arp_ignore", 1)
                t.sysctl(node, f"net.ipv4.conf.{key}.arp_announce", 2)
            for addr in SERVICE_ADDRS:
                t.add_address(node, "lo", f"{addr}/{128 if ':' in addr else 32}")
        t.add_address("client", "lan", f"{CLIENT4}/24")
        t.add_address("client", "lan", "2001:db8:100::100/64")
        t.add_route("client", "203.0.113.0/24", dev="lan")
        t.add_route("client", "2001:db8:5::/64", dev="lan")
        for host in self.extra_hosts:
            t.add_address(host, "lan", f"198.51.100.{200 + self.extra_hosts.index(host)}/24")

    def start_api_forwarders(self) -> None:
        sock = self.workdir / "api.sock"
        self._root_forwarder = subprocess.Popen(
            ["socat", f"UNIX-LISTEN:{sock},fork,mode=600", f"TCP:127.0.0.1:{self.api_port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: None if sock.exists() else "api socket missing", 10)
        for node in self.nodes:
            listen = f"TCP-LISTEN:{self.api_port},bind=127.0.0.1,fork,reuseaddr"
            argv = ["socat", listen, f"UNIX-CONNECT:{sock}"]
            self.forwarders.append(self.topo.start(node, argv))

    def start_servers(self) -> None:
        for node in self.nodes:
            argv = [PYTHON, str(HERE / "echo_server.py"), node, str(PORT)]
            self.servers[node] = self.topo.start(node, argv)

    def close(self) -> None:
        for proc in [*self.speakers.values(), *self.servers.values(), *self.forwarders]:
            if proc.alive:
                proc.kill()
        if self._root_forwarder is not None and self._root_forwarder.poll() is None:
            self._root_forwarder.kill()
            self._root_forwarder.wait(5)

    # ------------------------------------------------------------------ API objects

    def create(self, resource: Resource, obj: dict[str, Any]) -> None:
        with contextlib.suppress(AlreadyExists):
            self.kube.create(resource, obj)
        if "status" in obj:
            meta = obj["metadata"]
            self.kube.patch(
                resource,
                meta["name"],
                {"status": obj["status"]},
                meta.get("namespace"),
                subresource="status",
            )

    def seed(self, key: bytes = b"lab-heartbeat-key") -> None:
        self.create(NAMESPACES, {"metadata": {"name": NS}})
        self.create(NAMESPACES, {"metadata": {"name": self.app_ns}})
        secret = {"secretkey": base64.b64encode(key).decode()}
        self.create(SECRETS, {"metadata": {"name": "memberlist", "namespace": NS}, "data": secret})
        self.create(
            IPADDRESSPOOLS,
            {
                "metadata": {"name": "lan", "namespace": NS},
                "spec": {"addresses": ["203.0.113.0/24", "2001:db8:5::/64"]},
            },
        )
        self.create(L2ADVERTISEMENTS, {"metadata": {"name": "l2", "namespace": NS}, "spec": {}})
        for i, node in enumerate(self.nodes, start=1):
            self.create(NODES, node_object(node, node_ip(i)))

    def service(self, name: str, ips: Iterable[str], local: bool = False) -> None:
        spec: dict[str, Any] = {
            "type": "LoadBalancer",
            "ports": [{"port": PORT, "protocol": "TCP"}],
            "ipFamilyPolicy": "PreferDualStack",
        }
        if local:
            spec["externalTrafficPolicy"] = "Local"
        ingress = [{"ip": ip, "ipMode": "VIP"} for ip in ips]
        self.create(
            SERVICES,
            {
                "metadata": {"name": name, "namespace": self.app_ns},
                "spec": spec,
                "status": {"loadBalancer": {"ingress": ingress}},
            },
        )

    def endpoints(self, service: str, nodes: Iterable[str]) -> None:
        obj = {
            "metadata": {
                "name": f"{service}-lab",
                "namespace": self.app_ns,
                "labels": {"kubernetes.io/service-name": service},
            },
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": [f"10.244.{i}.5"], "nodeName": n, "conditions": {"ready": True}}
                for i, n in enumerate(nodes, start=1)
            ],
            "ports": [{"port": PORT, "protocol": "TCP"}],
        }
        with contextlib.suppress(NotFound):
            self.kube.delete(ENDPOINTSLICES, obj["metadata"]["name"], self.app_ns)
        self.kube.create(ENDPOINTSLICES, obj)

    def l2_statuses(self) -> list[dict[str, Any]]:
        return self.kube.list(SERVICEL2STATUSES, NS)["items"]

    def events(self, reason: str) -> list[dict[str, Any]]:
        from ironlb.kube.resources import EVENTS

        events = self.kube.list(EVENTS, self.app_ns)["items"]
        return [e for e in events if e.get("reason") == reason]

    # ------------------------------------------------------------------ speakers

    def start_speaker(self, node: str, *extra: str) -> Proc:
        path = self.workdir / f"speaker-{node}.log"
        self._log_start[node] = path.stat().st_size if path.exists() else 0
        log = open(self.workdir / f"speaker-{node}.log", "ab")  # noqa: SIM115 - handed to the child
        argv = [
            PYTHON,
            "-m",
            "ironlb.cli.main",
            "speaker",
            "--node-name",
            node,
            "--kubeconfig",
            self.kubeconfig,
            "--namespace",
            NS,
            "--metrics-port",
            "7472",
            *([] if self.bgp else ["--no-bgp"]),
            *(["--pod-name", f"speaker-{node}"] if self.pods else []),
            *self.speaker_args,
            *extra,
        ]
        proc = self.topo.start(node, argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        log.close()
        self.speakers[node] = proc
        return proc

    def start_speakers(self) -> None:
        if self.pods:
            from ironlb.kube.resources import PODS

            # kube-controller-manager's job on a cluster: Pods need their ServiceAccount
            self.create(SERVICEACCOUNTS, {"metadata": {"name": "default", "namespace": NS}})
            for node in self.nodes:
                pod = {"metadata": {"name": f"speaker-{node}", "namespace": NS}}
                pod["spec"] = {"nodeName": node, "containers": [{"name": "s", "image": "ironlb"}]}
                self.create(PODS, pod)
        for node in self.nodes:
            self.start_speaker(node)
        self.wait_ready(self.nodes)

    def wait_ready(self, nodes: Iterable[str], timeout: float = 30.0) -> None:
        """Every speaker in `nodes` is ready and has heard all the others."""
        nodes = tuple(nodes)

        def check() -> str | None:
            for node in nodes:
                text = self.speaker_log(node, current=True)
                if not self.speakers[node].alive:
                    return f"speaker {node} exited: {text[-2000:]}"
                if "speaker.ready" not in text:
                    return f"speaker {node} not ready"
                heard = {n for n in nodes if f"member.up node={n}" in text}
                if heard != set(nodes) - {node}:
                    return f"speaker {node} has heard only {sorted(heard)}"
            return None

        wait_until(check, timeout, interval=0.1)

    def speaker_log(self, node: str, current: bool = False) -> str:
        """The speaker's log (only its current process's part if `current`)."""
        path = self.workdir / f"speaker-{node}.log"
        if not path.exists():
            return ""
        data = path.read_bytes()
        if current:
            data = data[self._log_start.get(node, 0) :]
        return data.decode(errors="replace")

    def kill9(self, node: str) -> None:
        self.speakers[node].send_signal(signal.SIGKILL)
        self.speakers[node].wait(5)

    def sigterm(self, node: str) -> None:
        self.speakers[node].send_signal(signal.SIGTERM)

    # ------------------------------------------------------------------ client view

    def request(self, ip: str, timeout: float = 0.5) -> str | None:
        out = self.client_loop(ip, count=1, interval=0.0, timeout=timeout)
        return out[0]["node"]

    def client_loop(
        self, ip: str, count: int, interval: float, timeout: float = 0.05
    ) -> list[dict[str, Any]]:
        argv = [PYTHON, str(HERE / "client.py"), ip, "--port", str(PORT), "--count", str(count)]
        argv += ["--interval", str(interval), "--timeout", str(timeout)]
        done = self.topo.exec("client", argv, timeout=30 + count * (interval + timeout) * 2)
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def start_client_loop(self, ip: str, count: int, interval: float, timeout: float = 0.05):
        argv = [PYTHON, str(HERE / "client.py"), ip, "--port", str(PORT), "--count", str(count)]
        argv += ["--interval", str(interval), "--timeout", str(timeout)]
        return self.topo.start("client", argv, stdout=subprocess.PIPE, text=True)

    def neighbour_mac(self, ip: str) -> str | None:
        fam = "-6" if ":" in ip else "-4"
        out = self.topo.exec("client", ["ip", fam, "-j", "neigh", "show", ip], check=False).stdout
        for entry in json.loads(out or "[]"):
            if entry.get("lladdr"):
                return str(entry["lladdr"])
        return None

    def flush_neighbour(self, ip: str) -> None:
        fam = "-6" if ":" in ip else "-4"
        self.topo.exec("client", ["ip", fam, "neigh", "flush", "to", ip], check=False)

    def arping(self, ip: str, count: int = 3) -> list[str]:
        """MACs that answered an ARP request for `ip` from the client (arping)."""
        argv = ["arping", "-c", str(count), "-w", "1", "-i", "lan", ip]
        out = self.topo.exec("client", argv, check=False, timeout=10).stdout
        return sorted({w.strip("[]").lower() for w in out.split() if w.count(":") == 5})

    def mac_of(self, node: str) -> str:
        return self.topo.mac(node, "lan").lower()

    def wait_owner(self, ip: str, timeout: float = 10.0) -> str:
        """Wait until the client reaches `ip` and return the node that served it."""
        seen: dict[str, str | None] = {}

        def check() -> str | None:
            seen["node"] = self.request(ip)
            return None if seen["node"] else f"{ip} not reachable from the client"

        wait_until(check, timeout, interval=0.1)
        return str(seen["node"])


def node_object(name: str, address: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": address},
                {"type": "Hostname", "address": name},
            ],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        },
    }


def spawn_env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO), **{k: v for k, v in os.environ.items() if k == "PATH"}}


def settle(seconds: float) -> None:
    """A fixed pause, only where the protocol itself defines the wait (never as a timing)."""
    time.sleep(seconds)
